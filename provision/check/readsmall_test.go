package check

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestReadSmall: readSmall (raw open/read/close) reads a whole small file, stops at 1 MiB,
// reports a missing file as os.ErrNotExist with its path (the placement check's "missing"
// branch depends on it), and returns at once on a FIFO instead of waiting for a writer.
func TestReadSmall(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "base")
	if err := os.WriteFile(small, []byte("0x70000000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := readSmall(small); err != nil || s != "0x70000000\n" {
		t.Errorf("small file: %q, %v", s, err)
	}
	// Longer than the first 512-byte buffer, and longer than the limit.
	for _, n := range []int{511, 512, 513, 5000, 1 << 20, 1<<20 + 7} {
		p := filepath.Join(dir, "big")
		want := strings.Repeat("x", n)
		if err := os.WriteFile(p, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := readSmall(p)
		if n > 1<<20 {
			want = want[:1<<20]
		}
		if err != nil || s != want {
			t.Errorf("%d bytes: read %d bytes, %v", n, len(s), err)
		}
	}
	_, err := readSmall(filepath.Join(dir, "missing"))
	var pe *os.PathError
	if !errors.Is(err, os.ErrNotExist) || !errors.As(err, &pe) || pe.Path != filepath.Join(dir, "missing") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := readSmall(dir); err == nil || !strings.Contains(err.Error(), "read "+dir) {
		t.Errorf("directory: %v", err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := readSmall(fifo); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("FIFO: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("readSmall blocked on a FIFO")
	}
}
