// Package input reads the files dtheap is given (board files and their extends: bases, kernel
// .config files, devicetree blobs, modules, binaries, the boot manifest) through one gate: the
// path must name a regular file (a FIFO would hang the read, /dev/zero would never end), and
// no more than a per-kind limit is read, before anything parses it. Errors name the file, what
// it is, and the limit.
//
// It is a leaf package on the standard library only, so the boot checker can use it.
package input

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// Limits per kind of file: far above any real one, far below what would hurt the machine.
const (
	BoardLimit    = 32 << 20  // a board YAML (100,000 synthetic pools are 10.2 MiB)
	KconfigLimit  = 16 << 20  // a kernel .config (6.1 allyesconfig is about 300 KiB)
	BlobLimit     = 64 << 20  // a devicetree blob or source
	ModuleLimit   = 256 << 20 // a kernel module (with debug info)
	BinaryLimit   = 256 << 20 // the checker, the selftest, an initramfs to append to, extra files
	ManifestLimit = 4 << 20   // the boot manifest (128 heaps are about 40 KiB)
)

// Stdin is the path that means standard input where a command allows it.
const Stdin = "-"

// Error is a file that could not be read or was refused.
type Error struct {
	Path, What string
	Err        error
}

func (e *Error) Error() string { return fmt.Sprintf("%s %s: %v", e.What, e.Path, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// ErrTooLarge is wrapped by the error for a file over its limit.
var ErrTooLarge = errors.New("file too large")

// ErrNotRegular is wrapped by the error for a path that is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// Kind names a file type for messages.
func Kind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a block device"
	case m&os.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "not a regular file"
}

// ReadFile reads the regular file path, at most limit bytes; what names the kind of file for
// errors ("board file", "--base"). It opens without blocking, so a FIFO is refused rather than
// waited on.
//
// It goes through raw open/fstat/read/close rather than an *os.File: the boot checker reads
// its manifest, the live devicetree and the modules index with it as PID 1 under TCG, where
// os.File's first use also sets up the runtime's network poller (epoll_create1, then an
// epoll_ctl that a regular file refuses, on every open), code the checker otherwise never
// runs and pays to translate.
func ReadFile(path, what string, limit int64) ([]byte, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &Error{path, what, err}
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, &Error{path, what, err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, &Error{path, what, fmt.Errorf("%w: it is %s; give a regular file", ErrNotRegular, kindOfMode(st.Mode))}
	}
	if st.Size > limit {
		return nil, &Error{path, what, tooLarge(st.Size, limit)}
	}
	// The size is a hint: /proc files say 0, sysfs attributes a page, and a file may grow
	// while it is read. One byte past the limit tells "too large" from "exactly the limit".
	b := make([]byte, 0, min(max(st.Size, 512), limit)+1)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := syscall.Read(fd, b[len(b):min(cap(b), int(limit)+1)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &Error{path, what, err}
		}
		if n == 0 {
			break
		}
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			return nil, &Error{path, what, tooLarge(-1, limit)}
		}
	}
	return b, nil
}

// kindOfMode is Kind for a raw st_mode.
func kindOfMode(mode uint32) string {
	switch mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		return Kind(os.ModeDir)
	case syscall.S_IFIFO:
		return Kind(os.ModeNamedPipe)
	case syscall.S_IFSOCK:
		return Kind(os.ModeSocket)
	case syscall.S_IFCHR:
		return Kind(os.ModeDevice | os.ModeCharDevice)
	case syscall.S_IFBLK:
		return Kind(os.ModeDevice)
	case syscall.S_IFLNK:
		return Kind(os.ModeSymlink)
	}
	return Kind(os.ModeIrregular)
}

// ReadStream reads path as ReadFile does, or standard input r when path is "-": a stream the
// command allows explicitly, read through the same limit.
func ReadStream(path, what string, limit int64, r io.Reader) ([]byte, error) {
	if path == Stdin {
		return readLimited(r, "standard input", what, limit)
	}
	return ReadFile(path, what, limit)
}

func readLimited(r io.Reader, path, what string, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, &Error{path, what, unwrapPath(err)}
	}
	if int64(len(b)) > limit {
		return nil, &Error{path, what, tooLarge(-1, limit)}
	}
	return b, nil
}

// CheckRegular returns an error unless path is a regular file no larger than limit, for files
// another program reads (dtc, the compiler).
func CheckRegular(path, what string, limit int64) error {
	st, err := os.Stat(path)
	if err != nil {
		return &Error{path, what, unwrapPath(err)}
	}
	if !st.Mode().IsRegular() {
		return &Error{path, what, fmt.Errorf("%w: it is %s; give a regular file", ErrNotRegular, Kind(st.Mode()))}
	}
	if st.Size() > limit {
		return &Error{path, what, tooLarge(st.Size(), limit)}
	}
	return nil
}

func tooLarge(size, limit int64) error {
	if size < 0 {
		return fmt.Errorf("%w: more than the %s limit", ErrTooLarge, human(limit))
	}
	return fmt.Errorf("%w: %s, more than the %s limit", ErrTooLarge, human(size), human(limit))
}

func human(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
