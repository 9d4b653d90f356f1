package kmodel

import (
	"fmt"
	"strings"
	"testing"
)

func mustFor(t *testing.T, v string) *Model {
	t.Helper()
	m, err := For(v)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseVersion(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Version
		bad  bool
	}{
		{in: "6.1", want: Version{6, 1}},
		{in: "6.12.117", want: Version{6, 12}},
		{in: "7.3.4-arm64", want: Version{7, 3}},
		{in: "6.13.0-rc1+", want: Version{6, 13}},
		{in: " 6.6\n", want: Version{6, 6}},
		{in: "6", bad: true},
		{in: "six.one", bad: true},
		{in: "6.x", bad: true},
		{in: "", bad: true},
	} {
		got, err := ParseVersion(tt.in)
		if (err != nil) != tt.bad || (!tt.bad && got != tt.want) {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.bad)
		}
	}
}

// TestModelChoice: every version gets the nearest proven model at or below it, on both sides of
// each proven version.
func TestModelChoice(t *testing.T) {
	for _, tt := range []struct {
		v     string
		model string
		rel   Relation
	}{
		{"5.15", "6.1", Older},
		{"6.0", "6.1", Older},
		{"6.1", "6.1", Exact},
		{"6.1.192", "6.1", Exact},
		{"6.2", "6.1", Between},
		{"6.6", "6.1", Between},
		{"6.11", "6.1", Between},
		{"6.12", "6.12", Exact},
		{"6.12.117", "6.12", Exact},
		{"6.13", "6.12", Between},
		{"6.18", "6.12", Between},
		{"7.0", "6.12", Between},
		{"7.2", "6.12", Between},
		{"7.3", "7.3", Exact},
		{"7.4", "7.3", Newer},
		{"8.0", "7.3", Newer},
	} {
		m := mustFor(t, tt.v)
		if m.Version.String() != tt.model || m.Relation != tt.rel {
			t.Errorf("%s: model %s relation %d, want %s %d", tt.v, m.Version, m.Relation, tt.model, tt.rel)
		}
		if (m.Note() == "") != (tt.rel == Exact) {
			t.Errorf("%s: note %q", tt.v, m.Note())
		}
		if tt.rel != Exact && !strings.Contains(m.Note(), tt.model) {
			t.Errorf("%s: note %q does not name model %s", tt.v, m.Note(), tt.model)
		}
	}
	// The note of a version between models names the documented changes it does not follow.
	if n := mustFor(t, "7.0").Note(); !strings.Contains(n, "6.19: the kernel registers a CMA heap for every CMA area") || strings.Contains(n, "6.11") {
		t.Errorf("7.0 note: %s", n)
	}
	if n := mustFor(t, "6.6").Note(); strings.Contains(n, "documented changes") {
		t.Errorf("6.6 note names changes after 6.6: %s", n)
	}
}

// TestRegionFacts: placement order, region limits and what happens to malformed regions, per
// version (drivers/of/fdt.c and drivers/of/of_reserved_mem.c of each; FACTS.md sections 2, 5).
func TestRegionFacts(t *testing.T) {
	for _, tt := range []struct {
		v                     string
		place                 Placement
		total, dynamic        int
		neighbour             bool
		nomapReusable, oddAR  Outcome
		fixedDefaultUnderCmdl bool
		keepsFailed           bool
	}{
		{"6.1", PlaceHeapsort, 64, 0, false, Refused, Refused, true, false},
		{"6.11", PlaceHeapsort, 64, 0, false, Refused, Refused, true, false},
		{"6.12", PlaceDTOrder, 0, 64, true, Refused, Refused, true, true},
		{"7.2", PlaceDTOrder, 0, 64, true, Refused, Refused, true, true},
		{"7.3", PlaceDTOrder, 0, 64, true, Lost, Ignored, false, false},
	} {
		m := mustFor(t, tt.v)
		if m.Placement != tt.place || m.RegionLimit != tt.total || m.DynamicLimit != tt.dynamic ||
			m.AllocRangesNeighbour != tt.neighbour || m.NoMapReusable != tt.nomapReusable ||
			m.OddAllocRanges != tt.oddAR || m.CmdlineCMAReservesDefault != tt.fixedDefaultUnderCmdl ||
			m.AddrSizeProp != (tt.oddAR == Ignored) || m.KeepsFailedInArray != tt.keepsFailed {
			t.Errorf("%s: got %+v", tt.v, *m)
		}
	}
}

// TestMemreserveOrder: 6.1's early_init_fdt_scan_reserved_mem() (drivers/of/fdt.c) reserves
// the /memreserve/ entries before fdt_scan_reserved_mem(); 6.12's and 7.3's after it, i.e.
// after every dynamic region is allocated. A version between takes the older model's order.
func TestMemreserveOrder(t *testing.T) {
	for _, tt := range []struct {
		v     string
		first bool
	}{
		{"6.1", true}, {"6.11", true}, {"6.12", false}, {"7.2", false}, {"7.3", false}, {"7.4", false},
	} {
		if got := mustFor(t, tt.v).MemreserveFirst; got != tt.first {
			t.Errorf("%s: MemreserveFirst = %v, want %v", tt.v, got, tt.first)
		}
	}
}

// TestCMASlots: MAX_CMA_AREAS = 1 + CONFIG_CMA_AREAS on 6.1, CONFIG_CMA_AREAS from 6.12
// (include/linux/cma.h); defaults from mm/Kconfig CMA_AREAS (6.1: 7, 19 with NUMA; 6.12 and
// 7.3: 8, 20).
func TestCMASlots(t *testing.T) {
	for _, tt := range []struct {
		v           string
		cfg         Config
		areas, slot int
	}{
		{"6.1", Config{CMAAreas: 16}, 16, 17}, // FACTS: CMA_AREAS=16 allowed 17 pools on 6.1
		{"6.1", Config{}, 7, 8},
		{"6.1", Config{NUMA: true}, 19, 20},
		{"6.11", Config{}, 7, 8},
		{"6.12", Config{CMAAreas: 16}, 16, 16},
		{"6.12", Config{}, 8, 8},
		{"6.12", Config{NUMA: true}, 20, 20},
		{"7.3", Config{CMAAreas: 16}, 16, 16},
		{"7.3", Config{}, 8, 8},
	} {
		m := mustFor(t, tt.v)
		if a, s := m.CMAAreas(tt.cfg), m.CMASlots(tt.cfg); a != tt.areas || s != tt.slot {
			t.Errorf("%s %+v: CMA_AREAS %d slots %d, want %d %d", tt.v, tt.cfg, a, s, tt.areas, tt.slot)
		}
		if got := m.CMAAreasFor(tt.slot); got != tt.areas {
			t.Errorf("%s: CMAAreasFor(%d) = %d, want %d", tt.v, tt.slot, got, tt.areas)
		}
	}
}

// TestCMAAlignment: pageblock_order per include/linux/pageblock-flags.h and the meaning of
// CONFIG_ARCH_FORCE_MAX_ORDER per include/linux/mmzone.h of each version.
func TestCMAAlignment(t *testing.T) {
	const K, M = 1 << 10, 1 << 20
	for _, tt := range []struct {
		v     string
		cfg   Config
		order int
		align uint64
	}{
		// 4 KiB pages: 4 MiB without huge pages, 2 MiB with hugetlb (FACTS section 2).
		{"6.1", Config{}, 10, 4 * M},
		{"6.1", Config{Hugetlb: true}, 9, 2 * M},
		{"6.1", Config{THP: true}, 10, 4 * M}, // 6.1 has no THP branch
		{"6.12", Config{}, 10, 4 * M},
		{"6.12", Config{Hugetlb: true}, 9, 2 * M},
		{"6.12", Config{THP: true}, 9, 2 * M}, // 6.12 added the THP branch
		{"7.3", Config{THP: true}, 9, 2 * M},
		// The same .config number: 6.1 counts MAX_ORDER exclusive, 6.12 MAX_PAGE_ORDER inclusive.
		{"6.1", Config{MaxOrder: 11}, 10, 4 * M},
		{"6.1", Config{MaxOrder: 10}, 9, 2 * M},
		{"6.12", Config{MaxOrder: 10}, 10, 4 * M},
		{"6.12", Config{MaxOrder: 11}, 11, 8 * M},
		{"7.3", Config{MaxOrder: 10}, 10, 4 * M},
		// arm64 16 KiB and 64 KiB pages, the arch defaults.
		{"6.1", Config{PageSize: 16 * K}, 11, 32 * M},
		{"6.12", Config{PageSize: 16 * K}, 11, 32 * M},
		{"6.1", Config{PageSize: 64 * K}, 13, 512 * M},
		{"7.3", Config{PageSize: 64 * K, Hugetlb: true}, 13, 512 * M},
		// 7.3's PAGE_BLOCK_MAX_ORDER; 6.12 has no such option.
		{"7.3", Config{PageBlockMaxOrder: 8}, 8, 1 * M},
		{"6.12", Config{PageBlockMaxOrder: 8}, 10, 4 * M},
		// A board that states the order.
		{"6.12", Config{PageblockOrder: 5, PageblockOrderSet: true}, 5, 128 * K},
	} {
		m := mustFor(t, tt.v)
		if o, a := m.PageblockOrder(tt.cfg), m.CMAAlignment(tt.cfg); o != tt.order || a != tt.align {
			t.Errorf("%s %+v: pageblock order %d alignment %d, want %d %d", tt.v, tt.cfg, o, a, tt.order, tt.align)
		}
	}
}

// TestKernelCMAHeaps: drivers/dma-buf/heaps/cma_heap.c of each version; 7.3 seen on a boot
// (FACTS section 5: default_cma_region, linux,cma, video@60000000, camera).
func TestKernelCMAHeaps(t *testing.T) {
	areas := []CMAArea{{Node: "camera"}, {Node: "linux,cma", Default: true}, {Node: "video@60000000"}}
	noDefault := []CMAArea{{Node: "camera"}}
	cmdline := []CMAArea{{Node: "camera"}, {Node: CmdlineCMAName, Default: true}}
	long := strings.Repeat("x", 70)
	for _, tt := range []struct {
		v     string
		areas []CMAArea
		want  string
	}{
		{"6.1", areas, "linux,cma@1"},
		{"6.1", noDefault, ""},
		{"6.1", cmdline, "reserved@1"},
		{"6.12", areas, "linux,cma@1"},
		{"7.2", areas, "linux,cma@1"},
		{"7.3", areas, "default_cma_region@1 camera@0 linux,cma@1 video@60000000@2"},
		{"7.3", noDefault, "camera@0"},
		{"7.3", cmdline, "default_cma_region@1 camera@0 reserved@1"},
		{"7.3", []CMAArea{{Node: long}}, strings.Repeat("x", 63) + "@0"},
	} {
		var got []string
		for _, h := range mustFor(t, tt.v).KernelCMAHeaps(tt.areas) {
			got = append(got, fmt.Sprintf("%s@%d", h.Name, h.Area))
		}
		if s := strings.Join(got, " "); s != tt.want {
			t.Errorf("%s %v: heaps %q, want %q", tt.v, tt.areas, s, tt.want)
		}
	}
}

// TestModuleFacts: exports (drivers/dma-buf/dma-heap.c), the MODULE_IMPORT_NS form
// (include/linux/module.h) and the selftest's output (tools/testing/selftests/dmabuf-heaps).
func TestModuleFacts(t *testing.T) {
	for _, tt := range []struct {
		v             string
		exports       bool
		ns            string
		quoted        bool
		fromKernel    bool
		selftest      SelftestFormat
		defaultHeapNm string
	}{
		{"6.1", false, "", false, false, SelftestLegacy, ""},
		{"6.11", false, "", false, false, SelftestLegacy, ""},
		{"6.12", false, "", false, false, SelftestTAP, ""},
		{"7.2", false, "", false, false, SelftestTAP, ""},
		{"7.3", true, "DMA_BUF_HEAP", true, true, SelftestTAP, "default_cma_region"},
		{"7.4", true, "DMA_BUF_HEAP", true, true, SelftestTAP, "default_cma_region"},
	} {
		m := mustFor(t, tt.v)
		if m.ExportsHeapAPI != tt.exports || m.NeedsExportPatch() == tt.exports || m.HeapNamespace != tt.ns ||
			m.QuotedNamespaces != tt.quoted || m.CMAHeapsFromKernel() != tt.fromKernel || m.Selftest != tt.selftest ||
			m.DefaultHeapName != tt.defaultHeapNm {
			t.Errorf("%s: got %+v", tt.v, *m)
		}
	}
}

func TestCmdlineCMA(t *testing.T) {
	for s, want := range map[string]bool{
		"console=ttyAMA0 cma=64M":   true,
		"cma=0":                     true,
		"console=ttyAMA0":           false,
		"hugetlb_cma=1G":            false,
		"console=ttyAMA0 xcma=64M ": false,
		"\tcma=1":                   true,
		"x\ncma=1":                  true,
		"x\fcma=1":                  true,
		"x\rcma=1":                  true,
		"x\vcma=1":                  false, // RE2's \s has no \v
		"xcma=1 cma=2":              true,
		"xcma=1 ycma=2":             false,
		"cma":                       false,
		"":                          false,
		" cma=":                     true,
	} {
		if CmdlineCMA(s) != want {
			t.Errorf("CmdlineCMA(%q) = %v", s, !want)
		}
	}
}

// TestDefaultHeapNames: the cma= area's name (dma_contiguous_reserve_area() "reserved") and
// 7.3's DEFAULT_CMA_NAME, each once.
func TestDefaultHeapNames(t *testing.T) {
	got := strings.Join(DefaultHeapNames(), ",")
	if got != "default_cma_region,reserved" {
		t.Errorf("DefaultHeapNames = %s", got)
	}
}
