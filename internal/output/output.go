// Package output writes generated files so that a reader never sees a half-written one, and
// implements --check: compare what would be written with what is on disk and show the difference.
package output

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/dtheap/dtheap/internal/input"
)

// Stdout is the path that means "write to the given writer" instead of a file.
const Stdout = "-"

// maxCompare bounds what --check reads of the file on disk: a file (or a device such as
// /dev/zero) larger than what would be written differs, and is not read further.
const maxCompare = 64 << 20

var (
	inputsMu sync.Mutex
	inputs   []inputFile
)

type inputFile struct {
	path string
	info os.FileInfo
}

// AddInput records a file the command reads: Write refuses to write over it, so `-o` naming
// the board (or a file it extends, or --base) cannot destroy the input.
func AddInput(path string) {
	if path == "" || path == Stdout {
		return
	}
	st, err := os.Stat(path)
	if err != nil {
		return
	}
	inputsMu.Lock()
	defer inputsMu.Unlock()
	inputs = append(inputs, inputFile{path, st})
}

// ResetInputs forgets the recorded inputs (tests run several commands in one process).
func ResetInputs() {
	inputsMu.Lock()
	defer inputsMu.Unlock()
	inputs = nil
}

func checkNotInput(path string, st os.FileInfo) error {
	inputsMu.Lock()
	defer inputsMu.Unlock()
	for _, in := range inputs {
		if os.SameFile(in.info, st) {
			return fmt.Errorf("-o %s is the input file %s: refusing to overwrite it; write somewhere else", path, in.path)
		}
	}
	return nil
}

// Resolve follows path's symbolic links to the file they name (which need not exist yet), so
// that the target is replaced, not the link. Non-symlink paths are returned as they are.
func Resolve(path string) (string, error) {
	for i := 0; i < 40; i++ {
		st, err := os.Lstat(path)
		if err != nil || st.Mode()&fs.ModeSymlink == 0 {
			return path, nil
		}
		dest, err := os.Readlink(path)
		if err != nil {
			return "", fmt.Errorf("writing %s: %w", path, err)
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(path), dest)
		}
		path = dest
	}
	return "", fmt.Errorf("writing %s: too many levels of symbolic links", path)
}

// Write puts data at path, or with check set compares it with the file on disk and writes a
// unified diff (or a one-line note for binary content) to w.
//
// What is at path is respected: "-" writes to w; a symbolic link is followed and its target
// replaced atomically (a temporary file in the target's directory, renamed over it, so readers
// see the old file or the new one, never half of one); a device, FIFO or socket is written
// through, never replaced by a regular file; a directory and any input the command recorded
// (AddInput) are refused. In write mode a file whose content is already data is left alone
// (its mtime too), so build systems do not rebuild for nothing.
//
// Returns changed = true when the file on disk differs from data (check mode) or was written.
func Write(path string, data []byte, check bool, w io.Writer) (changed bool, err error) {
	if path == Stdout || path == "" {
		if check {
			return false, errors.New("--check needs an output file (-o FILE) to compare with")
		}
		if _, err := w.Write(data); err != nil {
			return false, fmt.Errorf("writing to stdout: %w", err)
		}
		return true, nil
	}
	// Stat follows links in the kernel, which also understands /proc's magic links
	// (/dev/stdout -> /proc/self/fd/1 -> pipe:[N]) that no path resolution can.
	st, err := os.Stat(path)
	missing := errors.Is(err, fs.ErrNotExist)
	if err != nil && !missing {
		return false, fmt.Errorf("writing %s: %w", path, err)
	}
	if !missing {
		if err := checkNotInput(path, st); err != nil {
			return false, err
		}
		if st.IsDir() {
			return false, fmt.Errorf("-o %s is a directory: name a file", path)
		}
		if !st.Mode().IsRegular() {
			if check {
				return false, fmt.Errorf("--check -o %s: it is %s, there is no file to compare with", path, input.Kind(st.Mode()))
			}
			return true, writeThrough(path, st, data)
		}
	}
	target, err := Resolve(path)
	if err != nil {
		return false, err
	}
	var old []byte
	if !missing {
		old, err = readBounded(target, st, len(data))
		if err != nil {
			return false, err
		}
	}
	same := !missing && old != nil && bytes.Equal(old, data)
	if check {
		switch {
		case same:
			fmt.Fprintf(w, "%s: up to date\n", path)
			return false, nil
		case missing:
			fmt.Fprintf(w, "%s: missing (would write %d bytes)\n", path, len(data))
		case old == nil:
			fmt.Fprintf(w, "%s: differs (%d bytes on disk, %d would be written)\n", path, st.Size(), len(data))
		case isBinary(old) || isBinary(data):
			fmt.Fprintf(w, "%s: binary content differs (%d bytes on disk, %d would be written)\n", path, len(old), len(data))
		default:
			io.WriteString(w, UnifiedDiff(path+" (on disk)", path+" (generated)", string(old), string(data)))
		}
		return true, nil
	}
	if same {
		return false, nil
	}
	if err := WriteAtomic(target, data); err != nil {
		return false, err
	}
	return true, nil
}

// readBounded reads the regular file at path for comparison with want bytes. It returns nil
// (and no error) when the file is larger than want and too large to diff: it differs.
func readBounded(path string, st os.FileInfo, want int) ([]byte, error) {
	if st.Size() != int64(want) && st.Size() > maxCompare {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max(int64(want), maxCompare)+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(b) > max(want, maxCompare) {
		return nil, nil
	}
	return b, nil
}

// writeThrough writes data into an existing device, FIFO or socket instead of replacing it:
// `-o /dev/null` as root must leave /dev/null a device.
func writeThrough(path string, st os.FileInfo, data []byte) error {
	var wc io.WriteCloser
	if st.Mode()&fs.ModeSocket != 0 {
		c, err := net.Dial("unix", path)
		if err != nil {
			return fmt.Errorf("writing %s (a socket): %w", path, err)
		}
		wc = c
	} else {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("writing %s (%s): %w", path, input.Kind(st.Mode()), err)
		}
		wc = f
	}
	_, err := wc.Write(data)
	if cerr := wc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s (%s): %w", path, input.Kind(st.Mode()), err)
	}
	return nil
}

// testHookBeforeRename, when set, runs after the temporary file is complete and before it is
// renamed into place (the signal test stops there).
var testHookBeforeRename func(tmp string)

// WriteAtomic writes data to a temporary file in path's directory, syncs it and renames it over
// path: rename within one directory is atomic, so readers see the old file or the new one. The
// mode of an existing file is kept (0644 for a new one). The temporary file is removed on any
// error, and on SIGINT or SIGTERM once CleanupOnSignal is installed.
func WriteAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	mode := fs.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	track(tmp.Name())
	defer untrack(tmp.Name())
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = tmp.Chmod(mode); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s: sync: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if testHookBeforeRename != nil {
		testHookBeforeRename(tmp.Name())
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	syncDir(dir)
	return nil
}

// syncDir syncs a directory so a rename in it survives a crash; not every file system allows
// it, and the data is already safe, so a failure is not an error.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

var (
	liveMu sync.Mutex
	live   = map[string]bool{}
)

func track(name string) {
	liveMu.Lock()
	live[name] = true
	liveMu.Unlock()
}

func untrack(name string) {
	liveMu.Lock()
	delete(live, name)
	liveMu.Unlock()
}

// CleanupOnSignal removes every temporary file or directory still being written when SIGINT
// or SIGTERM arrives, then exits with 128 + the signal number, as the shell would report.
// Commands call it once at start.
func CleanupOnSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := <-ch
		liveMu.Lock()
		for name := range live {
			os.RemoveAll(name)
		}
		liveMu.Unlock()
		code := 130
		if sig == syscall.SIGTERM {
			code = 143
		}
		os.Exit(code)
	}()
}

// isBinary reports content a line diff would only garble (a NUL byte, as in every DTB).
func isBinary(b []byte) bool { return bytes.IndexByte(b, 0) >= 0 }

// File is one file of a set WriteDir writes.
type File struct {
	Name string
	Data []byte
}

// WriteDir writes a set of generated files into the directory dir as a whole: the new set is
// written to a sibling temporary directory and swapped in (renameat2 RENAME_EXCHANGE, or two
// renames where the file system cannot exchange), so a build never sees old and new files
// mixed and a failed or interrupted run leaves dir as it was. Files in dir that ours(name) does
// not claim (a build's objects, the user's notes) are carried into the new directory; files it
// claims that the new set lacks (a variant's leftovers) are dropped. A dir whose files are all
// up to date is left alone. With check set nothing is written: each file is compared as Write
// compares it.
func WriteDir(dir string, files []File, ours func(name string) bool, check bool, w io.Writer) (changed bool, err error) {
	target, err := Resolve(dir)
	if err != nil {
		return false, err
	}
	st, err := os.Stat(target)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("writing %s: %w", dir, err)
	}
	if exists && !st.IsDir() {
		return false, fmt.Errorf("-o %s is %s: name a directory", dir, input.Kind(st.Mode()))
	}
	if check {
		differ := false
		for _, f := range files {
			c, err := Write(filepath.Join(target, f.Name), f.Data, true, w)
			if err != nil {
				return false, err
			}
			differ = differ || c
		}
		return differ, nil
	}
	want := map[string]bool{}
	for _, f := range files {
		if f.Name == "" || f.Name != filepath.Base(f.Name) || f.Name == "." || f.Name == ".." {
			return false, fmt.Errorf("writing %s: %q is not a file name", dir, f.Name)
		}
		want[f.Name] = true
	}
	var old []os.DirEntry
	if exists {
		if old, err = os.ReadDir(target); err != nil {
			return false, fmt.Errorf("writing %s: %w", dir, err)
		}
		if upToDate(target, files, old, want, ours) {
			return false, nil
		}
	}
	tmp, err := os.MkdirTemp(filepath.Dir(target), "."+filepath.Base(target)+".tmp*")
	if err != nil {
		return false, fmt.Errorf("writing %s: %w", dir, err)
	}
	track(tmp)
	defer untrack(tmp)
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	for _, f := range files {
		if err = writeSynced(filepath.Join(tmp, f.Name), f.Data); err != nil {
			return false, fmt.Errorf("writing %s: %w", dir, err)
		}
	}
	mode := fs.FileMode(0o755)
	if exists {
		mode = st.Mode().Perm()
		for _, e := range old {
			if want[e.Name()] || ours(e.Name()) {
				continue
			}
			from, to := filepath.Join(target, e.Name()), filepath.Join(tmp, e.Name())
			if e.Type().IsRegular() && os.Link(from, to) == nil {
				continue
			}
			if err = os.Rename(from, to); err != nil {
				return false, fmt.Errorf("writing %s: carrying %s over: %w", dir, e.Name(), err)
			}
		}
	}
	if err = os.Chmod(tmp, mode); err != nil {
		return false, fmt.Errorf("writing %s: %w", dir, err)
	}
	syncDir(tmp)
	if testHookBeforeRename != nil {
		testHookBeforeRename(tmp)
	}
	if !exists {
		if err = os.Rename(tmp, target); err != nil {
			return false, fmt.Errorf("writing %s: %w", dir, err)
		}
		syncDir(filepath.Dir(target))
		return true, nil
	}
	if xerr := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, target, unix.RENAME_EXCHANGE); xerr != nil {
		// No exchange on this file system: move the old set aside, then the new one in.
		aside := tmp + ".old"
		if err = os.Rename(target, aside); err != nil {
			return false, fmt.Errorf("writing %s: %w", dir, err)
		}
		if err = os.Rename(tmp, target); err != nil {
			os.Rename(aside, target)
			return false, fmt.Errorf("writing %s: %w", dir, err)
		}
		tmp = aside
	}
	// tmp now holds the old set (and hard links to what was carried over).
	os.RemoveAll(tmp)
	syncDir(filepath.Dir(target))
	return true, nil
}

// upToDate reports whether dir already holds exactly files (by content) and none of ours
// that the set lacks.
func upToDate(dir string, files []File, old []os.DirEntry, want map[string]bool, ours func(string) bool) bool {
	for _, e := range old {
		if !want[e.Name()] && ours(e.Name()) {
			return false
		}
	}
	for _, f := range files {
		p := filepath.Join(dir, f.Name)
		st, err := os.Lstat(p)
		if err != nil || !st.Mode().IsRegular() || st.Size() != int64(len(f.Data)) {
			return false
		}
		b, err := readBounded(p, st, len(f.Data))
		if err != nil || !bytes.Equal(b, f.Data) {
			return false
		}
	}
	return true
}

func writeSynced(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
