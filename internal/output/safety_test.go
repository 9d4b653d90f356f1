package output

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The cases of issue 16 "-o clobbers": every one replaced a device, a link or the input with
// a regular file, read an endless device, or left a temporary file behind.

func TestWriteDashIsStdout(t *testing.T) {
	var buf bytes.Buffer
	if changed, err := Write("-", []byte("x\n"), false, &buf); err != nil || !changed || buf.String() != "x\n" {
		t.Fatalf("changed=%v err=%v out=%q", changed, err, buf.String())
	}
}

func TestWriteThroughDevNull(t *testing.T) {
	before, err := os.Lstat("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write("/dev/null", []byte("data\n"), false, io.Discard); err != nil {
		t.Fatal(err)
	}
	after, err := os.Lstat("/dev/null")
	if err != nil || after.Mode() != before.Mode() || after.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is now %v (was %v): %v", after.Mode(), before.Mode(), err)
	}
	// /dev/stdout is a symlink to a device here: followed, written through, the link kept.
	if st, err := os.Lstat("/dev/stdout"); err == nil && st.Mode()&os.ModeSymlink != 0 {
		if _, err := Write("/dev/stdout", nil, false, io.Discard); err != nil {
			t.Fatal(err)
		}
		if st2, err := os.Lstat("/dev/stdout"); err != nil || st2.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("/dev/stdout is no longer a link: %v %v", st2.Mode(), err)
		}
	}
}

func TestWriteDevFullFailsWithoutReading(t *testing.T) {
	done := make(chan error, 1)
	go func() { _, err := Write("/dev/full", []byte("data\n"), false, io.Discard); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "no space left") {
			t.Fatalf("Write(/dev/full) = %v, want the device's ENOSPC", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Write(/dev/full) did not return (reading the device?)")
	}
	if _, err := Write("/dev/zero", []byte("x"), true, io.Discard); err == nil || !strings.Contains(err.Error(), "character device") {
		t.Fatalf("--check on /dev/zero = %v, want a refusal", err)
	}
}

func TestWriteThroughFIFOAndSocket(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		b, _ := os.ReadFile(fifo)
		got <- string(b)
	}()
	if _, err := Write(fifo, []byte("through the fifo\n"), false, io.Discard); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "through the fifo\n" {
		t.Fatalf("FIFO reader got %q", s)
	}
	if st, _ := os.Lstat(fifo); st.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the FIFO became %v", st.Mode())
	}

	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(c)
		c.Close()
		got <- string(b)
	}()
	if _, err := Write(sock, []byte("through the socket\n"), false, io.Discard); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "through the socket\n" {
		t.Fatalf("socket reader got %q", s)
	}
	if st, _ := os.Lstat(sock); st.Mode()&os.ModeSocket == 0 {
		t.Fatalf("the socket became %v", st.Mode())
	}
}

func TestWriteFollowsSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real.dtsi")
	os.WriteFile(target, []byte("old\n"), 0o600)
	link := filepath.Join(dir, "link.dtsi")
	os.Symlink("real.dtsi", link)
	if _, err := Write(link, []byte("new\n"), false, io.Discard); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Lstat(link); st.Mode()&os.ModeSymlink == 0 {
		t.Fatal("the link was replaced by a file")
	}
	if b, _ := os.ReadFile(target); string(b) != "new\n" {
		t.Fatalf("target holds %q", b)
	}
	if st, _ := os.Stat(target); st.Mode().Perm() != 0o600 {
		t.Fatalf("target mode %v, want 0600 kept", st.Mode().Perm())
	}
	// A dangling link: its target is created.
	dangling := filepath.Join(dir, "dangling")
	os.Symlink("sub/../made.dtsi", dangling)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	if _, err := Write(dangling, []byte("x\n"), false, io.Discard); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "made.dtsi")); err != nil || string(b) != "x\n" {
		t.Fatalf("dangling target: %q %v", b, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 5 {
		t.Fatalf("%d entries (temporary files left?)", len(ents))
	}
}

func TestWriteRefusesInput(t *testing.T) {
	defer ResetInputs()
	dir := t.TempDir()
	in := filepath.Join(dir, "board.yaml")
	os.WriteFile(in, []byte("board: x\n"), 0o644)
	AddInput(in)
	link := filepath.Join(dir, "alias.yaml")
	os.Symlink(in, link)
	for _, out := range []string{in, link, dir + "/./board.yaml"} {
		if _, err := Write(out, []byte("generated\n"), false, io.Discard); err == nil || !strings.Contains(err.Error(), "is the input file") {
			t.Errorf("Write(%s) = %v, want a refusal", out, err)
		}
	}
	if b, _ := os.ReadFile(in); string(b) != "board: x\n" {
		t.Fatalf("the input was overwritten: %q", b)
	}
}

func TestCheckReadsBounded(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	f, _ := os.Create(big)
	f.Truncate(8 << 30) // sparse: reading it would take 8 GiB of memory
	f.Close()
	var buf bytes.Buffer
	changed, err := Write(big, []byte("small\n"), true, &buf)
	if err != nil || !changed || !strings.Contains(buf.String(), "differs") {
		t.Fatalf("changed=%v err=%v out=%q", changed, err, buf.String())
	}
}

// TestTempRemovedOnSignal runs a child that stops between writing the temporary file and
// renaming it, sends it SIGINT and SIGTERM, and expects no temporary file left.
func TestTempRemovedOnSignal(t *testing.T) {
	if dir := os.Getenv("DTHEAP_SIGNAL_CHILD"); dir != "" {
		CleanupOnSignal()
		testHookBeforeRename = func(tmp string) {
			fmt.Println(tmp)
			time.Sleep(time.Minute)
		}
		if os.Getenv("DTHEAP_SIGNAL_DIR") != "" {
			WriteDir(filepath.Join(dir, "kernel"), []File{{"a.c", []byte("x")}}, func(string) bool { return false }, false, io.Discard)
		}
		WriteAtomic(filepath.Join(dir, "out.dtsi"), []byte("data"))
		os.Exit(3)
	}
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
		dir  bool
	}{{syscall.SIGINT, 130, false}, {syscall.SIGTERM, 143, false}, {syscall.SIGTERM, 143, true}} {
		dir := t.TempDir()
		c := exec.Command(os.Args[0], "-test.run", "^TestTempRemovedOnSignal$")
		c.Env = append(os.Environ(), "DTHEAP_SIGNAL_CHILD="+dir)
		if tc.dir {
			c.Env = append(c.Env, "DTHEAP_SIGNAL_DIR=1")
		}
		out, _ := c.StdoutPipe()
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		line := make([]byte, 4096)
		n, _ := out.Read(line)
		tmp := strings.TrimSpace(string(line[:n]))
		if _, err := os.Stat(tmp); err != nil {
			t.Fatalf("child's temporary file %q: %v", tmp, err)
		}
		c.Process.Signal(tc.sig)
		err := c.Wait()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != tc.code {
			t.Fatalf("child exit %v, want %d", err, tc.code)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Fatalf("left behind after %v: %v", tc.sig, ents)
		}
	}
}

func TestWriteDirSwapsTheSet(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kernel")
	ours := func(n string) bool { return n == "a.c" || n == "b.c" || n == "stale.patch" }
	if ch, err := WriteDir(dir, []File{{"a.c", []byte("a1")}, {"stale.patch", []byte("p")}}, ours, false, io.Discard); err != nil || !ch {
		t.Fatal(ch, err)
	}
	os.WriteFile(filepath.Join(dir, "a.o"), []byte("object"), 0o644) // a build's output
	os.Mkdir(filepath.Join(dir, ".tmp_versions"), 0o755)
	inode := func(p string) uint64 {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return st.Sys().(*syscall.Stat_t).Ino
	}
	before := inode(dir)
	// Same set: nothing touched.
	if ch, err := WriteDir(dir, []File{{"a.c", []byte("a1")}, {"stale.patch", []byte("p")}}, ours, false, io.Discard); err != nil || ch || inode(dir) != before {
		t.Fatalf("unchanged set rewritten: %v %v", ch, err)
	}
	// New set: swapped whole; a.o and the directory carried over, stale.patch gone.
	if ch, err := WriteDir(dir, []File{{"a.c", []byte("a2")}, {"b.c", []byte("b2")}}, ours, false, io.Discard); err != nil || !ch {
		t.Fatal(ch, err)
	}
	var names []string
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != ".tmp_versions a.c a.o b.c" {
		t.Fatalf("directory holds %v", names)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.o")); string(b) != "object" {
		t.Fatalf("a.o = %q", b)
	}
	if inode(dir) == before {
		t.Fatal("the directory was edited in place, not swapped")
	}
	if ents, _ := os.ReadDir(filepath.Dir(dir)); len(ents) != 1 {
		t.Fatalf("siblings left: %v", ents)
	}
	// A file where the directory should be is refused.
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := WriteDir(f, []File{{"a.c", nil}}, ours, false, io.Discard); err == nil {
		t.Fatal("WriteDir over a file succeeded")
	}
}
