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
