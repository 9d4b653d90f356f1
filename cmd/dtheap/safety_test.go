package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestOutputRespectsInputs is issue 16's "-o equal to the input overwrites the board": the
// board, a file it extends and --base are refused as outputs, and left as they were.
func TestOutputRespectsInputs(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.yaml")
	os.WriteFile(base, []byte("board: base\narch: arm64\nmemory: [{name: dram, base: 0x40000000, size: 1GiB}]\n"), 0o644)
	brd := filepath.Join(dir, "board.yaml")
	os.WriteFile(brd, []byte("extends: base.yaml\nboard: x\npools:\n  - {name: v, kind: carveout, base: 0x50000000, size: 16MiB, heap: v}\n"), 0o644)
	link := filepath.Join(dir, "link.yaml")
	os.Symlink("board.yaml", link)
	for _, args := range [][]string{
		{"dts", brd, "-o", brd},
		{"dts", brd, "-o", base},
		{"dts", brd, "-o", link},
		{"map", brd, "-o", brd, "--format", "svg"},
		{"manifest", brd, "-o", brd},
		{"import", filepath.Join(dir, "tree.dtb"), "-o", filepath.Join(dir, "tree.dtb")},
	} {
		if args[0] == "import" {
			os.WriteFile(args[1], []byte("not a tree"), 0o644)
		}
		code, out, errs := runCapture(t, args...)
		if args[0] == "import" {
			if b, _ := os.ReadFile(args[1]); string(b) != "not a tree" {
				t.Errorf("%v overwrote its input", args)
			}
			continue
		}
		if code != exitUsage || !strings.Contains(errs, "is the input file") {
			t.Errorf("%v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errs)
		}
	}
	if b, _ := os.ReadFile(brd); !strings.HasPrefix(string(b), "extends: base.yaml") {
		t.Fatalf("board overwritten: %q", b)
	}
	if b, _ := os.ReadFile(base); !strings.HasPrefix(string(b), "board: base\narch: arm64") {
		t.Fatalf("base overwritten: %q", b)
	}
}

// TestInputsAreBounded is issue 16's "unbounded reads and hangs": a FIFO as the board (which
// hung), /dev/zero as the board or --base (which ran out of memory) are refused at once, naming
// what they are.
func TestInputsAreBounded(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "board.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.yaml")
	f, _ := os.Create(big)
	f.Truncate(1 << 30)
	f.Close()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"validate", fifo}, "board file " + fifo + ": not a regular file: it is a FIFO"},
		{[]string{"validate", "/dev/zero"}, "board file /dev/zero: not a regular file: it is a character device"},
		{[]string{"validate", big}, "file too large: 1024 MiB, more than the 32 MiB limit"},
		{[]string{"dtb", "../../boards/qemu-virt-arm64.yaml", "--base", "/dev/zero", "-o", filepath.Join(dir, "o.dtb")}, "--base /dev/zero: not a regular file"},
		{[]string{"import", "/dev/zero"}, "devicetree /dev/zero: not a regular file"},
		{[]string{"import", fifo}, "not a regular file: it is a FIFO"},
		{[]string{"validate", "--kconfig", "/dev/zero", "../../boards/qemu-virt-arm64.yaml"}, "--kconfig /dev/zero: not a regular file"},
	} {
		code, out, errs := runCapture(t, tc.args...)
		if code != exitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d\nstdout: %s\nstderr: %s\nwant %q", tc.args, code, out, errs, tc.want)
		}
	}
	// extends: naming a FIFO is a positioned finding.
	brd := filepath.Join(dir, "ext.yaml")
	os.WriteFile(brd, []byte("extends: board.yaml\nboard: x\n"), 0o644)
	code, out, errs := runCapture(t, "validate", brd)
	if code != exitFindings || !strings.Contains(out+errs, "ext.yaml:1:10: error[extends]: base file "+fifo+" is a FIFO") {
		t.Errorf("extends FIFO: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
}

// TestKernelDirSwapped: kernel -o DIR leaves no temporary sibling and replaces the set.
func TestKernelDirSwapped(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "kernel")
	if code, _, errs := runCapture(t, "kernel", "../../boards/qemu-virt-arm64.yaml", "-o", out, "--export-patch"); code != 0 {
		t.Fatal(errs)
	}
	if _, err := os.Stat(filepath.Join(out, "0001-dma-buf-heaps-export-dma_heap_add.patch")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(out, "dtheap_core.o"), []byte("obj"), 0o644)
	if code, _, errs := runCapture(t, "kernel", "../../boards/qemu-virt-arm64.yaml", "-o", out); code != 0 {
		t.Fatal(errs)
	}
	if _, err := os.Stat(filepath.Join(out, "0001-dma-buf-heaps-export-dma_heap_add.patch")); err == nil {
		t.Fatal("the export patch of the previous run is still there")
	}
	if _, err := os.Stat(filepath.Join(out, "dtheap_core.o")); err != nil {
		t.Fatal("the build's object was dropped")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("siblings left: %v", ents)
	}
	if code, out, _ := runCapture(t, "kernel", "../../boards/qemu-virt-arm64.yaml", "-o", out, "--check"); code != 0 {
		t.Fatalf("--check after writing: exit %d: %s", code, out)
	}
}
