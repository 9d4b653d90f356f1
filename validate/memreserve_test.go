package validate_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/pipeline"
)

// TestMemreserveRules: both sides of every /memreserve/ boundary, per version (6.1 reserves the
// entries before the reserved-memory scan, 6.12 and 7.3 after it: early_init_fdt_scan_reserved_mem()
// in drivers/of/fdt.c; booted in plan/testdata/bootcorpus/15-memreserve). DRAM is 1 GiB at
// 0x40000000; want is the warning- and error-level rules that fire, sorted; msg a phrase of the
// text.
func TestMemreserveRules(t *testing.T) {
	top := "memreserve:\n  - {name: loader, base: 0x7f000000, size: 16MiB}\n"
	for _, tt := range []struct {
		name, version, body string
		want, msg           string
	}{
		// A dynamic pool at the top of DRAM: 6.1 places it below the entry, 6.12 and 7.3 on it.
		{"dynamic 6.1 goes around", "6.1", top + "pools:\n  - {name: cam, kind: cma, size: 32MiB}\n", "", ""},
		{"dynamic 6.12 lands on it", "6.12", top + "pools:\n  - {name: cam, kind: cma, size: 32MiB}\n", "memreserve-overlap", "places dynamic pools before it reserves"},
		{"dynamic 7.3 lands on it", "7.3", top + "pools:\n  - {name: cam, kind: cma, size: 32MiB}\n", "memreserve-overlap", "Linux 7.3 places"},
		// An entry over most of DRAM: on 6.1 the pool no longer fits; on 6.12 it fits, on the entry.
		{"6.1 no room left", "6.1", "memreserve:\n  - {name: big, base: 0x40100000, size: 0x3ff00000}\npools:\n  - {name: cam, kind: cma, size: 32MiB}\n", "unplaceable", "fits nowhere"},
		{"6.12 room on the entry", "6.12", "memreserve:\n  - {name: big, base: 0x40100000, size: 0x3ff00000}\npools:\n  - {name: cam, kind: cma, size: 32MiB}\n", "memreserve-overlap", "overlaps /memreserve/ entry \"big\""},
		// alloc-ranges that stop right below the entry keep the pool off it on 6.12.
		{"dynamic 6.12 alloc-ranges below", "6.12", top + "pools:\n  - {name: cam, kind: cma, size: 32MiB, alloc-ranges: [{base: 0x40000000, size: 0x3f000000}]}\n", "", ""},
		// A firmware region (a /reserved-memory node) is reserved before placement on every version.
		{"firmware instead, 6.12", "6.12", "firmware:\n  - {name: loader, base: 0x7f000000, size: 16MiB}\npools:\n  - {name: cam, kind: cma, size: 32MiB}\n", "", ""},
		// Fixed pools: touching the entry is fine, one byte of overlap is not.
		{"fixed touching", "6.1", top + "pools:\n  - {name: wc, kind: carveout, base: 0x7e000000, size: 16MiB, mapping: writecombine, heap: wc}\n", "", ""},
		{"fixed no-map over it, 6.1", "6.1", top + "pools:\n  - {name: wc, kind: carveout, base: 0x7e000000, size: 0x1001000, mapping: writecombine, heap: wc}\n", "memreserve-overlap", "cannot mark the pool no-map"},
		{"fixed no-map over it, 6.12", "6.12", top + "pools:\n  - {name: wc, kind: carveout, base: 0x7e000000, size: 0x1001000, mapping: writecombine, heap: wc}\n", "memreserve-overlap", "reserves both without a word"},
		{"fixed mapped over it, 6.1", "6.1", top + "pools:\n  - {name: c, kind: carveout, base: 0x7f000000, size: 16MiB}\n", "memreserve-overlap", "reserves both without a word"},
		// A plain reservation is no pool: only the no-map failure on 6.1 is worth a word.
		{"no-map firmware over it, 6.1", "6.1", top + "firmware:\n  - {name: tz, base: 0x7f000000, size: 1MiB}\n", "memreserve-nomap", "refuses to mark it no-map"},
		{"no-map firmware over it, 6.12", "6.12", top + "firmware:\n  - {name: tz, base: 0x7f000000, size: 1MiB}\n", "", ""},
		{"firmware not emitted, 6.1", "6.1", top + "firmware:\n  - {name: tz, base: 0x7f000000, size: 1MiB, emit: false}\n", "", ""},
		{"mapped reservation, 6.1", "6.1", top + "pools:\n  - {name: r, kind: reserved, base: 0x7f000000, size: 1MiB, no-map: false}\n", "", ""},
		// Outside DRAM memblock_is_region_reserved() is not asked: early_init_dt_reserve_memory()
		// checks memblock_overlaps_region(&memblock.memory, ...) first.
		{"no-map outside DRAM, 6.1", "6.1", "memreserve:\n  - {name: sram, base: 0x20000000, size: 1MiB}\nfirmware:\n  - {name: tz, base: 0x20000000, size: 1MiB}\n", "", ""}, // memreserve-outside-dram is info: TestMemreserveOutsideDRAMInfo
		// Size 0 ends the kernel's loop: the entries after it are never reserved, so a dynamic pool
		// on 6.1 is placed on one (plan: TestMemreserveZeroSizeEndsLoop); memreserve-ignored says so.
		{"zero size last", "6.1", "memreserve:\n  - {name: a, base: 0x7f000000, size: 16MiB}\n  - {name: z, base: 0x7e000000, size: 0}\n", "memreserve-zero-size", "reserves nothing"},
		{"one byte", "6.1", "memreserve:\n  - {name: z, base: 0x7e000000, size: 1}\n", "", ""},
		{"zero size first", "6.1", "memreserve:\n  - {name: z, base: 0x7e000000, size: 0}\n  - {name: a, base: 0x7f000000, size: 16MiB}\npools:\n  - {name: cam, kind: cma, size: 32MiB}\n", "memreserve-ignored memreserve-zero-size", "never reserved"},
		// silence: on the entry or on the pool.
		{"silenced on the entry", "6.12", "memreserve:\n  - {name: loader, base: 0x7f000000, size: 16MiB, silence: [memreserve-overlap]}\npools:\n  - {name: cam, kind: cma, size: 32MiB}\n", "", ""},
		{"silenced on the pool", "6.12", top + "pools:\n  - {name: cam, kind: cma, size: 32MiB, silence: [memreserve-overlap]}\n", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, text := verdict(t, `{version: "`+tt.version+`"}`, tt.body)
			if got != tt.want {
				t.Fatalf("rules %q, want %q:\n%s", got, tt.want, text)
			}
			if !strings.Contains(text, tt.msg) {
				t.Errorf("findings lack %q:\n%s", tt.msg, text)
			}
		})
	}
}

// TestMemreserveOutsideDRAMInfo: both sides of the DRAM bounds, at info level (an entry outside
// DRAM loses nothing: upstream Realtek trees reserve 0x0-0x1f000 below their /memory).
func TestMemreserveOutsideDRAMInfo(t *testing.T) {
	for _, tt := range []struct {
		name, entry, want string
	}{
		{"ends at the end of DRAM", "{name: a, base: 0x7ffff000, size: 4KiB}", ""},
		{"one byte past DRAM", "{name: a, base: 0x7ffff000, size: 0x1001}", "partly outside DRAM"},
		{"starts at DRAM", "{name: a, base: 0x40000000, size: 4KiB}", ""},
		{"one byte below DRAM", "{name: a, base: 0x3ffff000, size: 0x1001}", "partly outside DRAM"},
		{"below DRAM, touching it", "{name: a, base: 0x3ffff000, size: 4KiB}", "outside DRAM: there is no memory"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "b.yaml")
			src := "board: b\narch: arm64\nmemory:\n  - {name: dram, base: 0x40000000, size: 1GiB}\nmemreserve:\n  - " + tt.entry + "\n"
			if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := pipeline.Load(f, pipeline.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, fd := range res.Findings {
				if fd.Rule == "memreserve-outside-dram" {
					if fd.Severity != diag.Info {
						t.Errorf("severity %v, want info", fd.Severity)
					}
					got = append(got, fd.Message)
				} else if fd.Severity >= diag.Warning {
					t.Errorf("other finding: %v", fd)
				}
			}
			switch {
			case tt.want == "" && len(got) > 0:
				t.Errorf("fires: %v", got)
			case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want)):
				t.Errorf("got %v, want one with %q", got, tt.want)
			}
		})
	}
}
