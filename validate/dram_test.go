package validate_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/pipeline"
)

// TestNoFalseAlarms checks both sides of each boundary that decides whether a region the
// kernel accepts draws an error: touching banks, regions outside DRAM by kind, alloc-ranges
// windows past the end of DRAM, and heap name lengths.
func TestNoFalseAlarms(t *testing.T) {
	const head = "board: t\narch: arm64\nkernel: {version: \"6.1\", page-size: 4KiB, hugetlb: false, cma-areas: 7}\n"
	twoBanks := func(gap string) string {
		return "memory:\n  - {name: lo, base: 0x40000000, size: 512MiB}\n  - {name: hi, base: " + gap + ", size: 512MiB}\n"
	}
	oneBank := "memory:\n  - {name: dram, base: 0x40000000, size: 1GiB}\n"
	tests := []struct {
		name string
		yaml string
		want map[string]diag.Severity // rule -> severity; rules not listed must not fire (info excepted)
	}{
		// memblock merges touching banks: 0x5f000000-0x61000000 is RAM.
		{"span-touching-banks", twoBanks("0x60000000") + "pools:\n  - {name: v, kind: cma, base: 0x5f000000, size: 32MiB}\n", nil},
		// One page of hole between the banks: the pool is partly outside RAM.
		{"span-banks-with-hole", twoBanks("0x60001000") + "pools:\n  - {name: v, kind: cma, base: 0x5f000000, size: 32MiB}\n",
			map[string]diag.Severity{"outside-dram": diag.Error}},
		{"firmware-in-sram", oneBank + "firmware:\n  - {name: sram, base: 0x10000000, size: 64KiB, emit: false}\npools: []\n",
			map[string]diag.Severity{"reserved-outside-dram": diag.Info}},
		{"firmware-emitted-in-hole", twoBanks("0x70000000") + "firmware:\n  - {name: tee, base: 0x68000000, size: 1MiB}\npools: []\n",
			map[string]diag.Severity{"reserved-outside-dram": diag.Info}},
		{"reserved-nomap-in-sram", oneBank + "pools:\n  - {name: rproc, kind: reserved, base: 0x10000000, size: 64KiB}\n",
			map[string]diag.Severity{"reserved-outside-dram": diag.Info}},
		{"reserved-mapped-in-sram", oneBank + "pools:\n  - {name: rproc, kind: reserved, no-map: false, base: 0x10000000, size: 64KiB}\n",
			map[string]diag.Severity{"reserved-outside-dram": diag.Info}},
		{"cma-in-sram", oneBank + "pools:\n  - {name: c, kind: cma, base: 0x10000000, size: 4MiB}\n",
			map[string]diag.Severity{"outside-dram": diag.Error}},
		{"reserved-inside", oneBank + "pools:\n  - {name: rproc, kind: reserved, base: 0x50000000, size: 64KiB}\n", nil},
		// The window runs 256 MiB past the end of DRAM; the part inside holds the pool.
		{"alloc-range-past-end", oneBank + "pools:\n  - {name: c, kind: cma, size: 32MiB, alloc-ranges: [{base: 0x70000000, size: 512MiB}]}\n", nil},
		// The window starts exactly at the end of DRAM: no byte of it is memory.
		{"alloc-range-at-end", oneBank + "pools:\n  - {name: c, kind: cma, size: 32MiB, alloc-ranges: [{base: 0x80000000, size: 512MiB}]}\n",
			map[string]diag.Severity{"alloc-range-outside-dram": diag.Warning, "unplaceable": diag.Error}},
		// One page of the window is DRAM: too small for the pool, which is then unplaceable.
		{"alloc-range-one-page-in", oneBank + "pools:\n  - {name: c, kind: cma, size: 32MiB, alloc-ranges: [{base: 0x7ffff000, size: 512MiB}]}\n",
			map[string]diag.Severity{"unplaceable": diag.Error}},
		// Two plain reservations overlapping: both stay reserved, nothing is lost.
		{"reserved-over-reserved", oneBank + "pools:\n  - {name: a, kind: reserved, base: 0x50000000, size: 4MiB}\n  - {name: b, kind: reserved, base: 0x50200000, size: 4MiB}\n",
			map[string]diag.Severity{"reserved-overlap": diag.Warning}},
		// A CMA pool under a reservation: the pool hands out memory that is not its own.
		{"cma-over-reserved", oneBank + "pools:\n  - {name: a, kind: reserved, base: 0x50000000, size: 4MiB}\n  - {name: b, kind: cma, base: 0x50000000, size: 4MiB}\n",
			map[string]diag.Severity{"overlap": diag.Error}},
		// Overlapping banks: memblock_add merges them.
		{"banks-overlap", "memory:\n  - {name: lo, base: 0x40000000, size: 1GiB}\n  - {name: hi, base: 0x60000000, size: 1GiB}\npools: []\n",
			map[string]diag.Severity{"memory-overlap": diag.Warning}},
		{"heap-name-255", oneBank + "pools:\n  - {name: c, kind: carveout, base: 0x50000000, size: 16MiB, mapping: writecombine, heap: " + strings.Repeat("h", 255) + "}\n", nil},
		{"heap-name-256", oneBank + "pools:\n  - {name: c, kind: carveout, base: 0x50000000, size: 16MiB, mapping: writecombine, heap: " + strings.Repeat("h", 256) + "}\n",
			map[string]diag.Severity{"heap-name": diag.Error}},
		{"heap-name-65", oneBank + "pools:\n  - {name: c, kind: carveout, base: 0x50000000, size: 16MiB, mapping: writecombine, heap: " + strings.Repeat("h", 65) + "}\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "b.yaml")
			if err := os.WriteFile(path, []byte(head+tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := pipeline.Load(path, pipeline.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Plan == nil {
				t.Fatalf("did not load: %v", res.Findings)
			}
			got := map[string]diag.Severity{}
			for _, f := range res.Findings {
				got[f.Rule] = f.Severity
				if _, ok := tc.want[f.Rule]; !ok && f.Severity > diag.Info {
					t.Errorf("unexpected finding: %v", f)
				}
			}
			for rule, sev := range tc.want {
				if s, ok := got[rule]; !ok || s != sev {
					t.Errorf("want %s at %v, got %s", rule, sev, fmt.Sprint(res.Findings))
				}
			}
		})
	}
}
