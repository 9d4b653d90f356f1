package input

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok")
	os.WriteFile(ok, []byte("12345"), 0o644)
	fifo := filepath.Join(dir, "fifo")
	syscall.Mkfifo(fifo, 0o644)
	for _, tc := range []struct {
		path  string
		limit int64
		want  string
		is    error
	}{
		{ok, 5, "", nil},
		{ok, 4, "board file " + ok + ": file too large: 5 bytes, more than the 4 bytes limit", ErrTooLarge},
		{fifo, 5, "board file " + fifo + ": not a regular file: it is a FIFO; give a regular file", ErrNotRegular},
		{"/dev/zero", 5, "board file /dev/zero: not a regular file: it is a character device", ErrNotRegular},
		{dir, 5, "it is a directory", ErrNotRegular},
		{filepath.Join(dir, "none"), 5, "no such file or directory", os.ErrNotExist},
	} {
		done := make(chan struct{})
		var b []byte
		var err error
		go func() { b, err = ReadFile(tc.path, "board file", tc.limit); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("ReadFile(%s) hangs", tc.path)
		}
		if tc.is == nil {
			if err != nil || string(b) != "12345" {
				t.Errorf("ReadFile(%s) = %q, %v", tc.path, b, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.is) {
			t.Errorf("ReadFile(%s) = %v, want %q (%v)", tc.path, err, tc.want, tc.is)
		}
	}
	if _, err := ReadStream("-", "board file", 3, strings.NewReader("1234")); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadStream over the limit = %v", err)
	}
	if b, err := ReadStream("-", "board file", 4, strings.NewReader("1234")); err != nil || string(b) != "1234" {
		t.Errorf("ReadStream = %q %v", b, err)
	}
}

// TestReadFileSizeHint: the stat size is only a hint. /proc files say 0 and sysfs attributes a
// page, so the read goes to EOF whatever the size said, and the limit still holds.
func TestReadFileSizeHint(t *testing.T) {
	want, err := os.ReadFile("/proc/self/cmdline")
	if err != nil || len(want) == 0 {
		t.Skipf("no /proc/self/cmdline to read: %v", err)
	}
	if got, err := ReadFile("/proc/self/cmdline", "proc file", 1<<20); err != nil || string(got) != string(want) {
		t.Errorf("ReadFile(/proc/self/cmdline) = %q, %v; want %q", got, err, want)
	}
	if _, err := ReadFile("/proc/self/cmdline", "proc file", int64(len(want)-1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadFile(/proc/self/cmdline) one byte under its length = %v, want ErrTooLarge", err)
	}
	big := filepath.Join(t.TempDir(), "big")
	data := []byte(strings.Repeat("0123456789abcdef", 10000)) // 160,000 bytes: many reads
	os.WriteFile(big, data, 0o644)
	for _, limit := range []int64{int64(len(data)), int64(len(data)) + 1, 1 << 20} {
		if got, err := ReadFile(big, "blob", limit); err != nil || string(got) != string(data) {
			t.Errorf("ReadFile(big, limit %d) = %d bytes, %v; want %d bytes", limit, len(got), err, len(data))
		}
	}
	if _, err := ReadFile(big, "blob", int64(len(data))-1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadFile(big) one byte over the limit = %v, want ErrTooLarge", err)
	}
}
