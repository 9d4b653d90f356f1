package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMapCommand(t *testing.T) {
	dir := t.TempDir()
	qemu := "../../boards/qemu-virt-arm64.yaml"
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("board: x\narch: arm64\nmemory: [{name: d, base: 0x40000000, size: 1GiB}]\npools:\n  - {name: a, kind: carveout, base: 0x40000000, size: 16MiB}\n  - {name: b, kind: carveout, base: 0x40800000, size: 16MiB}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken.yaml")
	if err := os.WriteFile(broken, []byte("board: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		code    int
		file    string // output file that must exist afterwards, with this prefix
		prefix  string
		message string // substring of stdout+stderr
	}{
		{"svg from the extension", []string{"map", qemu, "-o", filepath.Join(dir, "m.svg")}, 0, "m.svg", "<?xml", ""},
		{"html from the extension", []string{"map", qemu, "-o", filepath.Join(dir, "r.html")}, 0, "r.html", "<!DOCTYPE html>", ""},
		{"format flag beats the extension", []string{"map", qemu, "--format", "html", "-o", filepath.Join(dir, "r.svg")}, 0, "r.svg", "<!DOCTYPE html>", ""},
		{"svg on stdout", []string{"map", qemu}, 0, "", "", "<svg xmlns"},
		{"two boards side by side", []string{"map", qemu, "../../e2e/qemu-virt-arm64-other.yaml", "-o", filepath.Join(dir, "two.svg")}, 0, "two.svg", "<?xml", ""},
		{"a board with errors is drawn, exit 1", []string{"map", bad, "-o", filepath.Join(dir, "bad.svg")}, 1, "bad.svg", "<?xml", "error[overlap]"},
		{"unknown extension", []string{"map", qemu, "-o", filepath.Join(dir, "m.png")}, 2, "", "", "name the file .svg or .html"},
		{"unknown format", []string{"map", qemu, "--format", "pdf"}, 2, "", "", `--format "pdf"`},
		{"unloadable board writes nothing", []string{"map", broken, "-o", filepath.Join(dir, "none.svg")}, 1, "", "", "nothing written"},
		{"no board", []string{"map"}, 2, "", "", "requires at least 1 arg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCapture(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %.300s\nstderr: %s", code, tt.code, out, errs)
			}
			if !strings.Contains(out+errs, tt.message) {
				t.Errorf("output lacks %q:\nstdout: %.300s\nstderr: %s", tt.message, out, errs)
			}
			if tt.file != "" {
				data, err := os.ReadFile(filepath.Join(dir, tt.file))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(string(data), tt.prefix) {
					t.Errorf("%s starts %.40q, want %q", tt.file, data, tt.prefix)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "none.svg")); err == nil {
		t.Error("a board that does not load left an output file")
	}

	// --check: up to date after a write, a diff once the file is stale.
	out := filepath.Join(dir, "check.svg")
	if code, _, errs := runCapture(t, "map", qemu, "-o", out); code != 0 {
		t.Fatalf("write: exit %d: %s", code, errs)
	}
	if code, stdout, _ := runCapture(t, "map", qemu, "-o", out, "--check"); code != 0 || !strings.Contains(stdout, "up to date") {
		t.Errorf("check of a fresh file: exit %d, %q", code, stdout)
	}
	if err := os.WriteFile(out, []byte("<svg/>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, _ := runCapture(t, "map", qemu, "-o", out, "--check"); code != 1 || !strings.Contains(stdout, "+<?xml") {
		t.Errorf("check of a stale file: exit %d, want 1 and a diff; got %.200q", code, stdout)
	}
}

func TestUseColor(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	t.Setenv("NO_COLOR", "")
	if useColor(w) {
		t.Error("colour on a pipe")
	}
	tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0)
	if err != nil {
		t.Logf("no controlling terminal (%v): only the pipe and NO_COLOR cases are checked", err)
		return
	}
	defer tty.Close()
	if !useColor(tty) {
		t.Error("no colour on a terminal")
	}
	t.Setenv("NO_COLOR", "1")
	if useColor(tty) {
		t.Error("colour on a terminal with NO_COLOR set")
	}
}
