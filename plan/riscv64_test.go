package plan

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/dtheap/dtheap/kmodel"
)

// TestRiscv64ReferenceBoot holds the planner to the make e2e boot of the riscv64 reference
// board (testdata/riscv64/qemu-virt-riscv64.6.12.log: Linux 6.12.117 riscv64 under QEMU 7.2
// virt with OpenSBI v1.1): every pool where the kernel put it, OpenSBI's own region where the
// board says the firmware puts it, ZONE_DMA32 where kmodel.DMA32Limit says it ends, and no
// region over the DTB, which riscv64 reserves only after the scan (kmodel.Arch.DTBTakenAtScan).
func TestRiscv64ReferenceBoot(t *testing.T) {
	logPath := filepath.Join("testdata", "riscv64", "qemu-virt-riscv64.6.12.log")
	got, err := parseBootLog(logPath)
	if err != nil {
		t.Fatal(err)
	}
	p := planFor(t, filepath.Join("..", "boards", "qemu-virt-riscv64.yaml"), "6.12")
	diffs, dynamic := comparePlan(p, got, logPath)
	for _, d := range diffs {
		t.Error(d)
	}
	if dynamic != 2 {
		t.Errorf("compared %d dynamic pools, want 2 (linux,cma and camera)", dynamic)
	}
	fw := false
	for _, r := range p.Regions {
		if r.Kind != KindFirmware || r.Emit {
			continue
		}
		k, ok := got[r.Node]
		if !ok {
			continue // the kernel image and initrd: memblock, not /reserved-memory
		}
		fw = true
		if k.base != r.Base || k.size != r.Size {
			t.Errorf("firmware region %s: board 0x%x size 0x%x, OpenSBI inserted 0x%x size 0x%x", r.Node, r.Base, r.Size, k.base, k.size)
		}
	}
	if !fw {
		t.Error("OpenSBI's mmode_resv0@80000000 is not in the log or not on the board")
	}

	text, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`DMA32 +\[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\]`).FindSubmatch(text)
	if m == nil {
		t.Fatal("no DMA32 zone line in the log")
	}
	zoneEnd, _ := strconv.ParseUint(string(m[2]), 16, 64)
	dramEnd := p.Memory[0].Base + p.Memory[0].Size
	if want := kmodel.DMA32Limit(dramEnd); zoneEnd+1 != want {
		t.Errorf("kernel's DMA32 zone ends at 0x%x, kmodel.DMA32Limit says 0x%x", zoneEnd+1, want)
	}

	m = regexp.MustCompile(`Domain0 Next Arg1 +: 0x([0-9a-f]+)`).FindSubmatch(text)
	if m == nil {
		t.Fatal("no OpenSBI 'Next Arg1' (the DTB address) in the log")
	}
	dtb, _ := strconv.ParseUint(string(m[1]), 16, 64)
	if kmodel.ArchFor("riscv64").DTBTakenAtScan {
		t.Fatal("kmodel says riscv64 reserves the DTB before the scan")
	}
	for _, r := range p.Regions {
		if r.Placed && r.Base <= dtb && dtb < r.Base+r.Size {
			t.Errorf("region %s 0x%x-0x%x covers the DTB at 0x%x, which the scan does not avoid on riscv64", r.Node, r.Base, r.Base+r.Size, dtb)
		}
	}
}
