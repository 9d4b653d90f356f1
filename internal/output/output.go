// Package output writes generated files so that a reader never sees a half-written one, and
// implements --check: compare what would be written with what is on disk and show the difference.
package output

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Stdout is the path that means "write to the given writer" instead of a file.
const Stdout = "-"

// Write puts data at path atomically, or with check set compares it with the file on disk and
// writes a unified diff (or a one-line note for binary content) to w.
//
// Returns changed = true when the file on disk differs from data (check mode) or was replaced
// (write mode). In write mode a file whose content is already data is left alone (its mtime too),
// so build systems do not rebuild for nothing. With path "-" data goes to w; check mode refuses it.
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
	old, err := os.ReadFile(path)
	missing := errors.Is(err, fs.ErrNotExist)
	if err != nil && !missing {
		return false, fmt.Errorf("reading %s: %w", path, err)
	}
	same := !missing && bytes.Equal(old, data)
	if check {
		switch {
		case same:
			fmt.Fprintf(w, "%s: up to date\n", path)
			return false, nil
		case missing:
			fmt.Fprintf(w, "%s: missing (would write %d bytes)\n", path, len(data))
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
	if err := WriteAtomic(path, data); err != nil {
		return false, err
	}
	return true, nil
}

// WriteAtomic writes data to a temporary file in path's directory, syncs it and renames it over
// path: rename within one directory is atomic, so readers see the old file or the new one. The
// mode of an existing file is kept (0644 for a new one).
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
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	// Sync the directory so the rename itself survives a crash; not every file system allows
	// it, and the data is already safe, so a failure here is not an error.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// isBinary reports content a line diff would only garble (a NUL byte, as in every DTB).
func isBinary(b []byte) bool { return bytes.IndexByte(b, 0) >= 0 }
