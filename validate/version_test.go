package validate_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/pipeline"
)

// verdict loads a board body under a kernel section and returns its warning- and error-level
// findings as "rule" (sorted, deduplicated) and the full text.
func verdict(t *testing.T, kernel, body string) (string, string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "b.yaml")
	src := "board: b\narch: arm64\nkernel: " + kernel + "\nmemory:\n  - {name: dram, base: 0x40000000, size: 1GiB}\n" + body
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := pipeline.Load(f, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var rules []string
	var text strings.Builder
	for _, fd := range res.Findings {
		if fd.Severity < diag.Warning {
			continue
		}
		fmt.Fprintf(&text, "%s: %s\n", fd.Rule, fd.Message)
		if !seen[fd.Rule] {
			seen[fd.Rule] = true
			rules = append(rules, fd.Rule)
		}
	}
	sort.Strings(rules)
	return strings.Join(rules, " "), text.String()
}

func fixedPools(n int, base uint64) string {
	var b strings.Builder
	b.WriteString("pools:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {name: f%d, kind: reserved, base: 0x%x, size: 1MiB}\n", i, base+uint64(i)<<20)
	}
	return b.String()
}

func dynamicPools(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "  - {name: d%d, kind: carveout, size: 1MiB}\n", i)
	}
	return b.String()
}

// TestVerdictsByVersion: the same board validated for 6.1, 6.12 and 7.3 gets each kernel's
// verdict where the kernels differ. Each case names the source or boot it comes from.
func TestVerdictsByVersion(t *testing.T) {
	type want struct{ v61, v612, v73 string }
	cases := []struct {
		name, why string
		kernel    string // kernel section without the version
		body      string
		want      want
		msgs      map[string]string // version -> substring of the finding text
	}{
		{
			name: "66 fixed children",
			why:  "6.1 of_reserved_mem.c fdt_reserved_mem_save_node(): MAX_RESERVED_REGIONS 64; 6.12/7.3 size the array to the count (alloc_reserved_mem_array()); FACTS.md section 5: 66 children booted on 6.12 and 7.3 without a word",
			body: fixedPools(66, 0x50000000),
			want: want{"too-many-regions", "", ""},
			msgs: map[string]string{"6.1": "Linux 6.1 keeps only 64 ('not enough space for all defined regions.'): \"f64\""},
		},
		{
			name: "62 fixed children and 2 firmware inserts: 64, kept",
			why:  "6.1 fdt_reserved_mem_save_node() counts every child of the tree it scans, the ones firmware inserted at boot included",
			body: "firmware:\n  - {name: optee-core, base: 0x48000000, size: 1MiB, inserted: true}\n  - {name: optee-shm, base: 0x48100000, size: 1MiB, inserted: true}\n" + fixedPools(62, 0x50000000),
			want: want{"", "", ""},
		},
		{
			name: "63 fixed children and 2 firmware inserts: 65, one dropped",
			why:  "6.1 fdt_reserved_mem_save_node(): the inserted nodes come first (fdt_add_subnode() adds a first child), so the board's last child is the one dropped",
			body: "firmware:\n  - {name: optee-core, base: 0x48000000, size: 1MiB, inserted: true}\n  - {name: optee-shm, base: 0x48100000, size: 1MiB, inserted: true}\n" + fixedPools(63, 0x50000000),
			want: want{"too-many-regions", "", ""},
			msgs: map[string]string{"6.1": "65 /reserved-memory children, Linux 6.1 keeps only 64 ('not enough space for all defined regions.'): \"f62\""},
		},
		{
			name: "60 fixed and 10 dynamic children",
			why:  "6.12/7.3 fdt_scan_reserved_mem() limits only dynamic_nodes[] to 64",
			body: fixedPools(60, 0x50000000) + dynamicPools(10),
			want: want{"too-many-regions", "", ""},
		},
		{
			name: "65 dynamic children",
			why:  "6.12/7.3 fdt_scan_reserved_mem(): \"too many defined dynamic regions, skip '%s'\"",
			body: "pools:\n" + dynamicPools(65),
			want: want{"too-many-regions", "too-many-regions", "too-many-regions"},
			msgs: map[string]string{"6.12": "65 dynamic /reserved-memory children, Linux 6.12 allocates only 64 ('too many defined dynamic regions, skip'): \"d64\"",
				"7.3": "Linux 7.3 allocates only 64"},
		},
		{
			name: "no-map and reusable",
			why:  "6.1/6.12 fdt_init_reserved_mem(_node): 'compatible matching fail'; 7.3 rmem_cma_validate() -ENODEV, logged 'nomap reusable' (FACTS.md section 5)",
			body: "pools:\n  - {name: secure, kind: cma, base: 0x70000000, size: 16MiB, no-map: true}\n",
			want: want{"nomap-reusable", "nomap-reusable", "nomap-reusable"},
			msgs: map[string]string{"6.1": "compatible matching fail", "6.12": "compatible matching fail", "7.3": "logs 'nomap reusable'"},
		},
		{
			name: "cma heap named other than its node",
			why:  "7.3 drivers/dma-buf/heaps/cma_heap.c add_cma_heaps() names each area's heap cma_get_name(): the node's full name",
			body: "pools:\n  - {name: video, kind: cma, base: 0x60000000, size: 48MiB, heap: cma-video}\n",
			want: want{"", "", "cma-heap-name"},
			msgs: map[string]string{"7.3": "becomes /dev/dma_heap/video@60000000, and no heap \"cma-video\" will exist"},
		},
		{
			name: "cma heaps named after their nodes (the QEMU board)",
			why:  "FACTS.md section 5: on 7.3 the kernel itself registered default_cma_region, linux,cma, video@60000000 and camera",
			body: "pools:\n" +
				"  - {name: \"linux,cma\", kind: cma, default: true, size: 64MiB}\n" +
				"  - {name: video, kind: cma, base: 0x60000000, size: 48MiB, heap: video@60000000}\n" +
				"  - {name: camera, kind: cma, size: 48MiB, heap: camera}\n" +
				"  - {name: dsp, kind: carveout, base: 0x70000000, size: 48MiB, heap: dsp, mapping: writecombine}\n",
			want: want{"", "", ""},
		},
		{
			name: "a carveout heap under a name 7.3 gives a CMA area",
			why:  "7.3 add_cma_heaps(): the default area is also default_cma_region; dma_heap_add() device_create()s before its name check",
			body: "pools:\n" +
				"  - {name: \"linux,cma\", kind: cma, default: true, size: 64MiB}\n" +
				"  - {name: dsp, kind: carveout, base: 0x70000000, size: 48MiB, heap: default_cma_region, mapping: writecombine}\n",
			want: want{"", "", "heap-name-kernel"},
		},
		{
			name: "a carveout heap named after a CMA node",
			why:  "7.3 add_cma_heaps() registers every area; 6.1/6.12 add_default_cma_heap() only the default one",
			body: "pools:\n" +
				"  - {name: camera, kind: cma, size: 48MiB}\n" +
				"  - {name: dsp, kind: carveout, base: 0x70000000, size: 48MiB, heap: camera, mapping: writecombine}\n",
			want: want{"", "", "heap-name-kernel"},
		},
		{
			name: "9 CMA pools, CMA_AREAS at its default",
			why:  "mm/Kconfig CMA_AREAS default 7 (6.1) / 8 (6.12, 7.3); include/linux/cma.h MAX_CMA_AREAS 1 + CMA_AREAS (6.1), CMA_AREAS (6.12, 7.3)",
			body: "pools:\n" + strings.Repeat("", 0) + cmaPools(9),
			want: want{"cma-slots", "cma-slots", "cma-slots"},
		},
		{
			name: "8 CMA pools, CMA_AREAS at its default",
			why:  "6.1: 7 + 1 slots; 6.12/7.3: 8",
			body: "pools:\n" + cmaPools(8),
			want: want{"", "", ""},
		},
		{
			name:   "9 CMA pools, CMA_AREAS=8",
			why:    "6.1 has one slot more than CONFIG_CMA_AREAS, 6.12 dropped it",
			kernel: "cma-areas: 8",
			body:   "pools:\n" + cmaPools(9),
			want:   want{"", "cma-slots", "cma-slots"},
		},
		{
			name:   "a 2 MiB-aligned CMA pool with THP",
			why:    "6.12/7.3 include/linux/pageblock-flags.h: pageblock_order = min(HPAGE_PMD_ORDER, MAX_PAGE_ORDER) with TRANSPARENT_HUGEPAGE; 6.1 has no such branch",
			kernel: "thp: true",
			body:   "pools:\n  - {name: video, kind: cma, base: 0x60200000, size: 6MiB}\n",
			want:   want{"cma-alignment", "", ""},
		},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			for _, v := range []struct{ version, want string }{{"6.1", tt.want.v61}, {"6.12", tt.want.v612}, {"7.3", tt.want.v73}} {
				k := fmt.Sprintf("{version: %q", v.version)
				if tt.kernel != "" {
					k += ", " + tt.kernel
				}
				got, text := verdict(t, k+"}", tt.body)
				if got != v.want {
					t.Errorf("Linux %s: rules %q, want %q (%s)\n%s", v.version, got, v.want, tt.why, text)
				}
				if m := tt.msgs[v.version]; m != "" && !strings.Contains(text, m) {
					t.Errorf("Linux %s: findings do not say %q:\n%s", v.version, m, text)
				}
			}
		})
	}
}

func cmaPools(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "  - {name: c%d, kind: cma, base: 0x%x, size: 4MiB}\n", i, 0x60000000+uint64(i)*(4<<20))
	}
	return b.String()
}

// TestSilencedOverlapKeepsOtherFindings is the regression test for issue 13: silence: [overlap]
// on the second pool of an overlapping pair made the checker attach the pair's related
// position to whatever finding came last (and panic, index -1, when there was none).
func TestSilencedOverlapKeepsOtherFindings(t *testing.T) {
	for _, body := range []string{
		// Nothing else reported: the old code indexed c.out[-1].
		"pools:\n  - {name: a, kind: carveout, base: 0x50000000, size: 16MiB}\n  - {name: b, kind: carveout, base: 0x50800000, size: 16MiB, silence: [overlap]}\n",
		// An earlier finding (zero-size) that must keep its own related positions (none).
		"pools:\n  - {name: z, kind: carveout, base: 0x48000000, size: 0}\n  - {name: a, kind: carveout, base: 0x50000000, size: 16MiB}\n  - {name: b, kind: carveout, base: 0x50800000, size: 16MiB, silence: [overlap]}\n",
	} {
		f := filepath.Join(t.TempDir(), "b.yaml")
		os.WriteFile(f, []byte("board: b\narch: arm64\nmemory:\n  - {name: dram, base: 0x40000000, size: 1GiB}\n"+body), 0o644)
		res, err := pipeline.Load(f, pipeline.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, fd := range res.Findings {
			if fd.Rule == "overlap" {
				t.Errorf("silenced overlap reported: %v", fd)
			}
			if len(fd.Related) > 0 {
				t.Errorf("finding %s got a related position from the silenced overlap: %v", fd.Rule, fd.Related)
			}
		}
	}
}
