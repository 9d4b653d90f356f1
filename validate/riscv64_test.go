package validate_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/pipeline"
)

// TestRiscv64Zones: riscv64 has ZONE_DMA32 only, ending at min(4 GiB, end of DRAM)
// (kmodel.DMA32Limit: setup_bootmem() dma32_phys_limit, zone_sizes_init() in
// arch/riscv/mm/init.c), so a CMA pool is refused exactly when it spans 4 GiB, and a pool in
// low memory is fine (no ZONE_DMA limit below it as arm64 may have).
func TestRiscv64Zones(t *testing.T) {
	for _, tt := range []struct {
		base  uint64
		cross bool
	}{
		{0xfc000000, false},  // ends exactly at 4 GiB
		{0xfc400000, true},   // 4 MiB past it
		{0xfe000000, true},   // straddles it
		{0x100000000, false}, // starts at it
		{0x80400000, false},  // low memory: no ZONE_DMA on riscv64
	} {
		t.Run(fmt.Sprintf("%#x", tt.base), func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "b.yaml")
			src := fmt.Sprintf("board: rv\narch: riscv64\nkernel: {version: \"6.12\", page-size: 4KiB, cma-areas: 16}\n"+
				"memory: [{name: dram, base: 0x80000000, size: 4GiB}]\n"+
				"pools: [{name: video, kind: cma, base: %#x, size: 64MiB, heap: video}]\n", tt.base)
			if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := pipeline.Load(f, pipeline.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Plan == nil {
				t.Fatalf("did not load: %v", res.Findings)
			}
			if got := hasRule(res.Findings, "cma-zone-crossing"); got != tt.cross {
				t.Errorf("cma-zone-crossing reported: %v, want %v (%v)", got, tt.cross, res.Findings)
			}
			if n := res.Findings.Count(diag.Error); !tt.cross && n != 0 {
				t.Errorf("%d errors on a pool that does not cross: %v", n, res.Findings)
			}
		})
	}
}
