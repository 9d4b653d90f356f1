package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestManifestConfinedToRoot is issue 16's "--manifest with .. escapes --root": a manifest or
// modules directory outside the root is refused, and nothing outside is read.
func TestManifestConfinedToRoot(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "manifest.json"), []byte(`{"generator":"dtheap"}`), 0o644)
	root := filepath.Join(t.TempDir(), "root")
	os.MkdirAll(root, 0o755)
	rel, _ := filepath.Rel(root, filepath.Join(outside, "manifest.json"))
	for _, args := range [][]string{
		{"--root", root, "--manifest", rel},
		{"--root", root, "--manifest", "/" + rel},
		{"--root", root, "--manifest", "/etc/../../" + rel},
		{"--root", root, "--modules-dir", "/../../lib/modules"},
	} {
		var o options
		fs := newFlagSet(&o)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		if run(o, &out, &errb) {
			t.Fatalf("%v passed", args)
		}
		if !strings.Contains(out.String(), "FAIL manifest: --") || !strings.Contains(out.String(), "escapes --root") {
			t.Errorf("%v:\n%s", args, out.String())
		}
	}
	// A symbolic link inside the root that points out of it, relative or absolute, is refused.
	os.MkdirAll(filepath.Join(root, "etc/dtheap"), 0o755)
	for i, target := range []string{filepath.Join(outside, "manifest.json"), "../../" + rel} {
		link := filepath.Join(root, "etc/dtheap", fmt.Sprintf("link%d.json", i))
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		if _, err := inRoot(root, fmt.Sprintf("/etc/dtheap/link%d.json", i), "--manifest"); err == nil || !strings.Contains(err.Error(), "through a symbolic link") {
			t.Errorf("link to %s: inRoot error = %v, want an escape through a symbolic link", target, err)
		}
	}
	// A link that stays inside the root is followed, and a missing file is left to the reader.
	os.WriteFile(filepath.Join(root, "etc/dtheap/real.json"), []byte("{}"), 0o644)
	os.Symlink("real.json", filepath.Join(root, "etc/dtheap/inside.json"))
	for _, p := range []string{"/etc/dtheap/inside.json", "/etc/dtheap/missing.json"} {
		if _, err := inRoot(root, p, "--manifest"); err != nil {
			t.Errorf("inRoot(%s) = %v, want no error", p, err)
		}
	}
	// Inside the root, .. that stays inside is fine (and reads the root's file).
	if p, err := inRoot(root, "/etc/../etc/dtheap/manifest.json", "--manifest"); err != nil || p != filepath.Join(root, "etc/dtheap/manifest.json") {
		t.Errorf("inRoot = %q, %v", p, err)
	}
	// The boot's root "/" skips the link walk (nothing leaves /) but still refuses "..".
	for _, r := range []string{"/", "//", "/."} {
		if p, err := inRoot(r, "etc/dtheap/manifest.json", "--manifest"); err != nil || p != "/etc/dtheap/manifest.json" {
			t.Errorf("inRoot(%q) = %q, %v", r, p, err)
		}
		if _, err := inRoot(r, "../etc/shadow", "--manifest"); err == nil || !strings.Contains(err.Error(), "escapes --root") {
			t.Errorf("inRoot(%q, ../etc/shadow) = %v, want an escape", r, err)
		}
	}
}

// TestManifestIsBounded: the checker's manifest is a regular file read through a limit (as PID
// 1, a FIFO or /dev/zero there would stall the boot).
func TestManifestIsBounded(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc/dtheap"), 0o755)
	syscall.Mkfifo(filepath.Join(root, "etc/dtheap/manifest.json"), 0o644)
	var o options
	fs := newFlagSet(&o)
	fs.Parse([]string{"--root", root})
	var out, errb bytes.Buffer
	done := make(chan bool)
	go func() { done <- run(o, &out, &errb) }()
	select {
	case ok := <-done:
		if ok || !strings.Contains(out.String(), "not a regular file: it is a FIFO") {
			t.Errorf("output:\n%s", out.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the checker hangs on a FIFO manifest")
	}
}

func TestDeadlineFlag(t *testing.T) {
	var o options
	fs := newFlagSet(&o)
	fs.Parse(nil)
	if errs := applyCmdline(fs, "console=ttyAMA0 dtheap.deadline=3s"); len(errs) > 0 || o.deadline != 3*time.Second {
		t.Fatalf("dtheap.deadline=3s: %v, deadline %v", errs, o.deadline)
	}
}
