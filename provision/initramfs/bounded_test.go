package initramfs

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInputsBounded is issue 16's --module, --checker, --selftest and --append cases: each
// was read whole, so /dev/zero ran out of memory and a FIFO hung. Now each must be a regular
// file within its limit, and the error names which input it is.
func TestInputsBounded(t *testing.T) {
	dir, base := hostFiles(t)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		set  func(o *Options)
		want string
	}{
		{"module /dev/zero", func(o *Options) { o.Modules = []string{"/dev/zero"} }, "module /dev/zero: not a regular file: it is a character device"},
		{"checker FIFO", func(o *Options) { o.Checker = fifo }, "checker " + fifo + ": not a regular file: it is a FIFO"},
		{"selftest /dev/zero", func(o *Options) { o.Selftest = "/dev/zero" }, "selftest /dev/zero: not a regular file"},
		{"append /dev/zero", func(o *Options) { o.Append = "/dev/zero" }, "--append /dev/zero: not a regular file"},
		{"extra file FIFO", func(o *Options) { o.Extra = []File{{Src: fifo, Dst: "/x"}} }, "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			o.Output = filepath.Join(t.TempDir(), "out.cpio.gz")
			tc.set(&o)
			done := make(chan error, 1)
			go func() { done <- Build(o) }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Build = %v, want %q", err, tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Build hangs")
			}
			if _, err := os.Stat(o.Output); err == nil {
				t.Fatal("an archive was written")
			}
		})
	}
}
