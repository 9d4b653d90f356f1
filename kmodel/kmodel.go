// Package kmodel is the one home for kernel facts, per version: how a kernel places dynamic
// reserved-memory regions, which limits and rules it applies, which DMA-BUF heaps it registers
// itself and under which names, what it exports to modules, and what its dmabuf-heap selftest
// prints. plan, validate, the emitters, kernel and the checker ask here; no other package
// compares kernel versions.
//
// Every fact was read from the source of a proven version (/work/ksrc/6.1, 6.12 and 7.3: Debian's
// linux-source packages) and the comment next to it names the file and function. Three versions
// are proven: 6.1, 6.12 and 7.3. Any other version gets the model of the nearest OLDER proven
// version (6.6 and 6.11 -> 6.1; 6.18 and 7.0 -> 6.12; 7.4 -> 7.3), versions before 6.1 get 6.1's,
// and Model.Note says so, with the documented changes the model does not know about.
//
// What the three proven versions do alike (so it is no Model field; package plan replays it):
// every fixed (reg) region is reserved before any dynamic one is allocated; a dynamic region's
// alignment is its alignment property or SMP_CACHE_BYTES (early_init_dt_alloc_reserved_memory_arch)
// and, for a reusable shared-dma-pool without no-map and with CMA, at least
// CMA_MIN_ALIGNMENT_BYTES (6.1 and 6.12 __reserved_mem_alloc_size(), 7.3 rmem_cma_validate()),
// while its size is never rounded; alloc-ranges entries are tried in order, first fit wins;
// memblock_phys_alloc_range() never returns the first page and __reserved_mem_alloc_size()
// treats a base of 0 as failure ("failed to allocate memory for node"); a region whose setup
// fails is freed at once, before the next dynamic region is allocated.
package kmodel

import (
	"fmt"
	"strings"
)

// Placement is how a kernel orders the allocation of dynamic (size, not reg) regions.
type Placement int

const (
	// PlaceHeapsort: 6.1. drivers/of/fdt.c fdt_scan_reserved_mem() reserves every reg region
	// and saves every child (dynamic ones with base 0, size 0) into reserved_mem[] in DT order;
	// drivers/of/of_reserved_mem.c fdt_init_reserved_mem() sorts that array with
	// __rmem_check_for_overlap() -> sort() (lib/sort.c heapsort, not stable) by (base, size)
	// and allocates each dynamic entry as the walk reaches it: the heapsort permutation.
	PlaceHeapsort Placement = iota
	// PlaceDTOrder: 6.12 and 7.3. drivers/of/of_reserved_mem.c fdt_scan_reserved_mem()
	// reserves every reg region in one pass, saves the dynamic nodes into dynamic_nodes[] and
	// then allocates them in that array's order, which is DT order.
	PlaceDTOrder
)

func (p Placement) String() string {
	if p == PlaceHeapsort {
		return "heapsort order of the saved region array (6.1)"
	}
	return "devicetree order, after every fixed region (6.12 and later)"
}

// Outcome is what a kernel does with a region the devicetree binding does not allow.
type Outcome int

const (
	// Refused: the region is set up by nobody and its memory goes back to the kernel.
	Refused Outcome = iota
	// Lost: the kernel keeps the memory reserved (no-map) but makes nothing of it.
	Lost
	// Ignored: the offending property is ignored and the region is set up without it.
	Ignored
)

// SelftestFormat is how tools/testing/selftests/dmabuf-heaps/dmabuf-heap.c reports.
type SelftestFormat int

const (
	// SelftestLegacy: 6.1 prints "  Testing ...:  OK" or "FAIL (why)" with printf.
	SelftestLegacy SelftestFormat = iota
	// SelftestTAP: 6.12 and 7.3 use kselftest.h: "ok N name", "not ok N name",
	// "ok N # SKIP why", "# Totals: pass:P fail:F xfail:X xpass:Y skip:S error:E".
	SelftestTAP
)

// HeapPolicy says over which CMA areas the kernel's own CMA heap driver makes heaps.
type HeapPolicy int

const (
	// HeapsDefaultOnly: 6.1 and 6.12 drivers/dma-buf/heaps/cma_heap.c add_default_cma_heap():
	// one heap over dev_get_cma_area(NULL), the default area, named cma_get_name() of it.
	HeapsDefaultOnly HeapPolicy = iota
	// HeapsEveryArea: 7.3 drivers/dma-buf/heaps/cma_heap.c add_cma_heaps(): the default area
	// as DEFAULT_CMA_NAME "default_cma_region", then every area of
	// dma_contiguous_get_area_by_idx() (every CMA area, the default one included) under
	// cma_get_name().
	HeapsEveryArea
)

// Model is what one proven kernel version does.
type Model struct {
	// Version is the proven version whose source the facts come from.
	Version Version
	// Requested is the version asked for; Relation says how it relates to Version.
	Requested Version
	Relation  Relation

	Placement Placement
	// RegionLimit caps all /reserved-memory children the kernel keeps, 0 for none. 6.1:
	// MAX_RESERVED_REGIONS (drivers/of/of_reserved_mem.c) = 64, fdt_reserved_mem_save_node()
	// prints "not enough space for all defined regions." and drops the rest.
	RegionLimit int
	// DynamicLimit caps the dynamic children, 0 for none. 6.12 and 7.3:
	// fdt_scan_reserved_mem() keeps at most MAX_RESERVED_REGIONS (drivers/of/of_private.h,
	// 64) in dynamic_nodes[] and prints "too many defined dynamic regions, skip '%s'"; the
	// region array itself is sized by alloc_reserved_mem_array() to the count, so fixed
	// regions have no limit.
	DynamicLimit int
	// AllocRangesNeighbour: 6.12 and 7.3 __reserved_mem_alloc_in_range() allocates an
	// alloc-ranges entry bottom-up when its start touches a region already in reserved_mem[]
	// (only dynamic regions allocated before it: fixed ones are saved later, in
	// fdt_scan_reserved_mem_reg_nodes() / fdt_scan_reserved_mem_late()), top-down when its end
	// does, and with memblock's default (top-down) when both or neither. 6.1 has no such rule.
	AllocRangesNeighbour bool
	// KeepsFailedInArray: a dynamic region whose setup failed stays in reserved_mem[] (and so
	// still counts for AllocRangesNeighbour). 6.12 fdt_reserved_mem_save_node() increments
	// reserved_mem_count after fdt_init_reserved_mem_node() whatever it did; 7.3
	// fdt_init_reserved_mem_node() returns before reserved_mem_count++ on a failure other than
	// -ENODEV.
	KeepsFailedInArray bool
	// NoMapReusable is what happens to a shared-dma-pool with both no-map and reusable.
	// 6.1 fdt_init_reserved_mem() and 6.12 fdt_init_reserved_mem_node(): rmem_cma_setup()
	// (kernel/dma/contiguous.c) and rmem_dma_setup() (kernel/dma/coherent.c) both return
	// -EINVAL, so "node %s compatible matching fail" and the memory is freed or its nomap
	// cleared: Refused. 7.3: rmem_cma_validate()/rmem_cma_setup() return -ENODEV (not a CMA
	// node) and rmem_dma_setup() -ENODEV (reusable), which fdt_init_reserved_mem_node() treats
	// as no driver: it logs "... nomap reusable NAME" and the memory stays reserved no-map,
	// used by nothing: Lost.
	NoMapReusable Outcome
	// OddAllocRanges is what happens to an alloc-ranges whose length is not a whole number of
	// (address, size) pairs. 6.1 and 6.12 __reserved_mem_alloc_size(): "invalid alloc-ranges
	// property in '%s', skipping node." (Refused). 7.3: of_flat_dt_get_addr_size_prop()
	// (drivers/of/fdt.c) returns NULL for it, so __reserved_mem_alloc_size() takes the
	// no-alloc-ranges branch and allocates anywhere (Ignored).
	OddAllocRanges Outcome
	// AddrSizeProp: reg and alloc-ranges are read through of_flat_dt_get_addr_size_prop()
	// (7.3 drivers/of/fdt.c), which returns no property at all when the length is not a whole
	// number of <address size> entries, and 7.3 __reserved_mem_reserve_reg() reserves only the
	// first reg entry ("only the first is used"). 6.1 and 6.12 walk the cells themselves:
	// every reg entry is reserved, an odd length is "invalid reg property".
	AddrSizeProp bool
	// CmdlineCMAReservesDefault: with cma= on the command line, a linux,cma-default node still
	// takes its memory for a while on 6.1 and 6.12: a fixed one is reserved by
	// __reserved_mem_reserve_reg() and freed only at its init, after the dynamic regions are
	// placed; a dynamic one is allocated and freed at once when rmem_cma_setup() says
	// "Reserved memory: bypass %s node, using cmdline CMA params instead". 7.3 asks
	// fdt_validate_reserved_mem_node() first, whose rmem_cma_validate() returns -EBUSY
	// ("Skipping dt linux,cma-default node in favor for \"cma=\" kernel param."), so the node
	// is neither reserved nor allocated.
	CmdlineCMAReservesDefault bool
	// MemreserveFirst: the entries of the blob's memory reservation block (/memreserve/ in DTS)
	// are reserved BEFORE the /reserved-memory scan, so every dynamic region is placed around
	// them and a no-map fixed region over one is refused. 6.1 drivers/of/fdt.c
	// early_init_fdt_scan_reserved_mem(): the fdt_get_mem_rsv() loop with memblock_reserve()
	// comes first, then fdt_scan_reserved_mem() and fdt_init_reserved_mem() (which allocates
	// the dynamic regions); early_init_dt_reserve_memory() returns -EBUSY for a no-map region
	// over memory memblock already has reserved ("failed to reserve memory for node"). 6.12
	// and 7.3 early_init_fdt_scan_reserved_mem(): fdt_scan_reserved_mem() first, which
	// reserves every reg region AND allocates every dynamic one
	// (drivers/of/of_reserved_mem.c), then the /memreserve/ loop: the entries are reserved
	// after placement, a dynamic region may land on one, and memblock_reserve() over it adds
	// nothing and says nothing. On every version the loop stops at the first entry of size 0
	// (if (!size) break;), and the entries are plain memblock_reserve(): in the linear map,
	// never no-map, never freed. (7.3 also stops, logging "Invalid memory reservation block
	// index %d", when fdt_get_mem_rsv() fails, i.e. for an entry past the end of the blob: a
	// block without its terminating entry, which dtheap's reader refuses as malformed.)
	MemreserveFirst bool

	// CMASlotsExtra is added to CONFIG_CMA_AREAS to give MAX_CMA_AREAS. 6.1
	// include/linux/cma.h: MAX_CMA_AREAS (1 + CONFIG_CMA_AREAS); 6.12 and 7.3:
	// MAX_CMA_AREAS CONFIG_CMA_AREAS. mm/cma.c cma_init_reserved_mem() prints "Not enough
	// slots for CMA reserved regions!" beyond it.
	CMASlotsExtra int
	// CMAAreasDefault and CMAAreasDefaultNUMA are mm/Kconfig's CMA_AREAS defaults: 6.1 7 and
	// 19; 6.12 and 7.3 8 and 20.
	CMAAreasDefault, CMAAreasDefaultNUMA int
	// MaxOrderInclusive says how CONFIG_ARCH_FORCE_MAX_ORDER counts. 6.1
	// include/linux/mmzone.h: MAX_ORDER = CONFIG_ARCH_FORCE_MAX_ORDER, orders 0..MAX_ORDER-1,
	// and pageblock-flags.h uses MAX_ORDER-1. 6.12 and 7.3: MAX_PAGE_ORDER =
	// CONFIG_ARCH_FORCE_MAX_ORDER, orders 0..MAX_PAGE_ORDER, and pageblock-flags.h uses
	// MAX_PAGE_ORDER itself. The same .config number means one order more from 6.8 on.
	MaxOrderInclusive bool
	// THPLowersPageblock: 6.12 and 7.3 include/linux/pageblock-flags.h have a
	// CONFIG_TRANSPARENT_HUGEPAGE branch, pageblock_order = min(HPAGE_PMD_ORDER,
	// MAX_PAGE_ORDER), used when CONFIG_HUGETLB_PAGE is off; 6.1 looks at HUGETLB_PAGE only.
	THPLowersPageblock bool
	// PageBlockMaxOrderOption: 7.3 mm/Kconfig PAGE_BLOCK_MAX_ORDER (include/linux/mmzone.h
	// PAGE_BLOCK_MAX_ORDER) caps pageblock_order further; default ARCH_FORCE_MAX_ORDER.
	PageBlockMaxOrderOption bool

	// KernelHeaps is which CMA areas the kernel's CMA heap driver covers.
	KernelHeaps HeapPolicy
	// DefaultHeapName is the fixed name of the default area's heap, "" when it is the area's
	// name. 7.3 drivers/dma-buf/heaps/cma_heap.c: DEFAULT_CMA_NAME "default_cma_region".
	DefaultHeapName string

	// HeapNameFormat: dma_heap_add hands the heap's name to device_create as its format
	// string, not as an argument of "%s": device_create(dma_heap_class, NULL,
	// heap->heap_devt, NULL, heap->name) in drivers/dma-buf/dma-heap.c dma_heap_add (6.1,
	// 6.12 and 7.3 alike). device_create -> device_create_groups_vargs -> kobject_set_name_vargs
	// (lib/kobject.c) expands it with kvasprintf_const, so a '%' in a name is a conversion:
	// "%%" becomes "%", and any other reads a variadic argument that was never passed.
	HeapNameFormat bool

	// ExportsHeapAPI: dma_heap_add, dma_heap_get_drvdata and dma_heap_get_name are exported
	// to modules. 6.1 and 6.12 drivers/dma-buf/dma-heap.c: no EXPORT_SYMBOL for them; 7.3:
	// EXPORT_SYMBOL_NS_GPL(dma_heap_add, "DMA_BUF_HEAP") and the same for the other two.
	ExportsHeapAPI bool
	// HeapNamespace is the namespace they are exported in ("" when not exported).
	HeapNamespace string
	// QuotedNamespaces: MODULE_IMPORT_NS takes a string. 7.3 include/linux/module.h:
	// #define MODULE_IMPORT_NS(ns) MODULE_INFO(import_ns, ns); 6.1 and 6.12:
	// MODULE_INFO(import_ns, __stringify(ns)), a bare token (MODULE_IMPORT_NS(DMA_BUF)).
	QuotedNamespaces bool

	Selftest SelftestFormat
}

// Relation says how a requested version relates to the proven model it got.
type Relation int

const (
	Exact   Relation = iota // a proven version
	Between                 // between two proven versions: the older one's model
	Older                   // before 6.1: 6.1's model, assumed
	Newer                   // after 7.3: 7.3's model, assumed
)

// Proven are the versions whose source was read and which were booted (FACTS.md sections 2
// and 5), oldest first.
var Proven = []Version{{6, 1}, {6, 12}, {7, 3}}

var models = map[Version]Model{
	{6, 1}: {
		Placement:                 PlaceHeapsort,
		RegionLimit:               64,
		NoMapReusable:             Refused,
		OddAllocRanges:            Refused,
		CmdlineCMAReservesDefault: true,
		MemreserveFirst:           true,
		CMASlotsExtra:             1,
		CMAAreasDefault:           7,
		CMAAreasDefaultNUMA:       19,
		KernelHeaps:               HeapsDefaultOnly,
		HeapNameFormat:            true,
		Selftest:                  SelftestLegacy,
	},
	{6, 12}: {
		Placement:                 PlaceDTOrder,
		DynamicLimit:              64,
		AllocRangesNeighbour:      true,
		KeepsFailedInArray:        true,
		NoMapReusable:             Refused,
		OddAllocRanges:            Refused,
		CmdlineCMAReservesDefault: true,
		CMAAreasDefault:           8,
		CMAAreasDefaultNUMA:       20,
		MaxOrderInclusive:         true,
		THPLowersPageblock:        true,
		KernelHeaps:               HeapsDefaultOnly,
		HeapNameFormat:            true,
		Selftest:                  SelftestTAP,
	},
	{7, 3}: {
		Placement:               PlaceDTOrder,
		DynamicLimit:            64,
		AllocRangesNeighbour:    true,
		NoMapReusable:           Lost,
		OddAllocRanges:          Ignored,
		AddrSizeProp:            true,
		CMAAreasDefault:         8,
		CMAAreasDefaultNUMA:     20,
		MaxOrderInclusive:       true,
		THPLowersPageblock:      true,
		PageBlockMaxOrderOption: true,
		KernelHeaps:             HeapsEveryArea,
		DefaultHeapName:         "default_cma_region",
		HeapNameFormat:          true,
		ExportsHeapAPI:          true,
		HeapNamespace:           "DMA_BUF_HEAP",
		QuotedNamespaces:        true,
		Selftest:                SelftestTAP,
	},
}

// For returns the model for a kernel version string ("6.12", "6.12.117", "7.3.4-arm64").
func For(version string) (*Model, error) {
	v, err := ParseVersion(version)
	if err != nil {
		return nil, err
	}
	return ForVersion(v), nil
}

// ForVersion returns the model of the nearest proven version at or below v (6.1's below 6.1).
func ForVersion(v Version) *Model {
	p, rel := Proven[0], Older
	switch {
	case v.Less(Proven[0]):
	default:
		for _, pv := range Proven {
			if pv.Less(v) || pv == v {
				p = pv
			}
		}
		switch {
		case p == v:
			rel = Exact
		case p == Proven[len(Proven)-1]:
			rel = Newer
		default:
			rel = Between
		}
	}
	m := models[p]
	m.Version, m.Requested, m.Relation = p, v, rel
	return &m
}

// change is a documented DMA-BUF heap change between proven versions (FACTS.md section 1 and
// the comments of kernel/src/dtheap_compat.h), NOT read from source here: the model of an
// unproven version does not follow it, and Note names it so the user knows.
type change struct {
	v    Version
	what string
}

var unmodelled = []change{
	{Version{6, 11}, "dma_heap_ops.allocate takes u32 fd_flags and u64 heap_flags"},
	{Version{6, 13}, "MODULE_IMPORT_NS takes a quoted string"},
	{Version{6, 17}, "the default CMA area's heap is renamed default_cma_region (a legacy option keeps the old name)"},
	{Version{6, 18}, "dma_heap_add is exported in namespace DMA_BUF_HEAP"},
	{Version{6, 19}, "the kernel registers a CMA heap for every CMA area, under its node name"},
}

// Note says which model a version got and why, or "" for a proven version.
func (m *Model) Note() string {
	switch m.Relation {
	case Exact:
		return ""
	case Older:
		return fmt.Sprintf("kernel %s is older than every proven model: dtheap assumes it behaves like %s (read from %s's source and booted); not checked", m.Requested, m.Version, m.Version)
	case Newer:
		return fmt.Sprintf("kernel %s is newer than every proven model: dtheap assumes it behaves like %s (read from %s's source and booted); changes after %s are not known", m.Requested, m.Version, m.Version, m.Version)
	}
	var missed []string
	for _, c := range unmodelled {
		if m.Version.Less(c.v) && c.v.Less(m.Requested) || c.v == m.Requested {
			missed = append(missed, fmt.Sprintf("%s: %s", c.v, c.what))
		}
	}
	s := fmt.Sprintf("kernel %s is not a proven model: dtheap uses %s's, the nearest older one (read from its source and booted)", m.Requested, m.Version)
	if len(missed) > 0 {
		s += "; documented changes since then that this model does not follow: " + strings.Join(missed, "; ")
	}
	return s
}
