package dtbind

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/u-root/u-root/pkg/dt"
)

// memreserveLayout is the boot-corpus layout whose /memreserve/ entries were booted on 6.1,
// 6.12 and 7.3 (plan/testdata/bootcorpus/15-memreserve.*.log).
var memreserveLayout = filepath.Join(repoRoot, "plan", "testdata", "bootcorpus", "15-memreserve.yaml")

// TestPatchMemreserve: the patched blob's reservation block holds the base's entries, then the
// board's in board order; patching again adds nothing (an entry the base already has is kept,
// not repeated); dtc reads the block back; import carries the entries into the board.
func TestPatchMemreserve(t *testing.T) {
	p := loadBoard(t, memreserveLayout)
	f, err := readFDT(readFile(t, qemuBase))
	if err != nil {
		t.Fatal(err)
	}
	f.ReserveEntries = append(f.ReserveEntries, dt.ReserveEntry{Address: 0x40000000, Size: 0x1000})
	base, err := writeFDT(f)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Patch(p, base)
	if err != nil {
		t.Fatal(err)
	}
	want := []dt.ReserveEntry{{Address: 0x40000000, Size: 0x1000}, {Address: 0x7f000000, Size: 16 << 20}, {Address: 0x7c800000, Size: 4 << 20}}
	got, err := readFDT(res.DTB)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.ReserveEntries, want) {
		t.Fatalf("reservation block %v, want %v", got.ReserveEntries, want)
	}
	again, err := Patch(p, res.DTB)
	if err != nil {
		t.Fatal(err)
	}
	if string(again.DTB) != string(res.DTB) {
		t.Error("patching the patched blob again changed it")
	}
	if n := len(again.Notes); n == 0 || !strings.Contains(strings.Join(again.Notes, "\n"), "kept /memreserve/ 0x7f000000 0x1000000 (loader) from the base") {
		t.Errorf("second patch notes %q: want the kept entries named", again.Notes)
	}
	dts := decompile(t, res.DTB)
	for _, l := range []string{"/memreserve/\t0x0000000040000000 0x0000000000001000;", "/memreserve/\t0x000000007f000000 0x0000000001000000;", "/memreserve/\t0x000000007c800000 0x0000000000400000;"} {
		if !strings.Contains(dts, l) {
			t.Errorf("dtc does not read %q back:\n%s", l, dts[:min(len(dts), 400)])
		}
	}
	b, err := Import(res.DTB, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Memreserve) != 3 || b.Memreserve[1].Base != 0x7f000000 || b.Memreserve[2].Size != 4<<20 || b.Memreserve[2].Name != "memreserve2" {
		t.Errorf("import: %+v", b.Memreserve)
	}
}

// TestPatchNoMemreserve: a board without entries leaves the base's block as it was (empty).
func TestPatchNoMemreserve(t *testing.T) {
	p := loadBoard(t, filepath.Join(repoRoot, "boards", "qemu-virt-arm64.yaml"))
	res, err := Patch(p, readFile(t, qemuBase))
	if err != nil {
		t.Fatal(err)
	}
	got, err := readFDT(res.DTB)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.ReserveEntries) != 0 {
		t.Errorf("reservation block %v, want none", got.ReserveEntries)
	}
}

// TestMemreserveDTS: dtheap dts --memreserve compiles with dtc right after /dts-v1/ and gives
// the entries in board order; the .dtsi (included at the end, where DTS allows no
// /memreserve/) and the overlay name them in a comment only, and compile as before. A board
// without entries gets no such comment.
func TestMemreserveDTS(t *testing.T) {
	p := loadBoard(t, memreserveLayout)
	mr := Memreserve(p)
	golden(t, "15-memreserve.memreserve.dtsi", mr)
	src := "/dts-v1/;\n/include/ \"mr.dtsi\"\n/ {\n\t#address-cells = <2>;\n\t#size-cells = <2>;\n};\n/include/ \"rm.dtsi\"\n"
	dtsi, err := DTSI(p)
	if err != nil {
		t.Fatal(err)
	}
	blob := compileDTS(t, src, map[string][]byte{"mr.dtsi": mr, "rm.dtsi": dtsi})
	f, err := readFDT(blob)
	if err != nil {
		t.Fatal(err)
	}
	want := []dt.ReserveEntry{{Address: 0x7f000000, Size: 16 << 20}, {Address: 0x7c800000, Size: 4 << 20}}
	if !slices.Equal(f.ReserveEntries, want) {
		t.Errorf("compiled block %v, want %v", f.ReserveEntries, want)
	}
	ov, err := Overlay(p)
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string][]byte{"dtsi": dtsi, "overlay": ov} {
		if !strings.Contains(string(out), " *   /memreserve/ 0x7f000000 0x1000000; (loader)\n") {
			t.Errorf("%s does not name the entries:\n%s", name, out)
		}
	}
	plain := loadBoard(t, filepath.Join(repoRoot, "boards", "qemu-virt-arm64.yaml"))
	d, _ := DTSI(plain)
	if strings.Contains(string(d), "memreserve") {
		t.Error("a board without /memreserve/ entries gets a memreserve comment")
	}
}
