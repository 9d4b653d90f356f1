package kmodel

import (
	"math/bits"
	"strings"
)

// Config holds the kernel configuration facts that change the answers. Zero values mean the
// kernel's default for its version.
type Config struct {
	// Arch is arm64 or riscv64 (ArchFor); "" or another: arm64's page-table geometry.
	Arch     string
	PageSize uint64 // 4096, 16384 or 65536; 0: 4096
	Hugetlb  bool   // CONFIG_HUGETLB_PAGE
	THP      bool   // CONFIG_TRANSPARENT_HUGEPAGE
	// MaxOrder is CONFIG_ARCH_FORCE_MAX_ORDER as the .config writes it; 0: the architecture's
	// default. What it means depends on the version (Model.MaxOrderInclusive).
	MaxOrder int
	// PageBlockMaxOrder is CONFIG_PAGE_BLOCK_MAX_ORDER (7.3); 0: its default.
	PageBlockMaxOrder int
	// PageblockOrder overrides the derivation when PageblockOrderSet (a board that knows it).
	PageblockOrder    int
	PageblockOrderSet bool
	CMAAreas          int  // CONFIG_CMA_AREAS; 0: the version's default
	NUMA              bool // CONFIG_NUMA: raises the CMA_AREAS default
}

func (c Config) pageShift() int {
	if c.PageSize == 0 {
		return 12
	}
	return bits.TrailingZeros64(c.PageSize)
}

// LargestOrder is the buddy allocator's largest order: 6.1's MAX_ORDER-1, 6.12's and 7.3's
// MAX_PAGE_ORDER.
func (m *Model) LargestOrder(c Config) int {
	if a := ArchFor(c.Arch); a != nil && !a.ForceMaxOrder {
		// riscv: no ARCH_FORCE_MAX_ORDER, so mmzone.h's default (6.1 MAX_ORDER 11 exclusive,
		// 6.12 and 7.3 MAX_PAGE_ORDER 10 inclusive) whatever a .config might carry.
		return 10
	}
	if c.MaxOrder > 0 {
		if m.MaxOrderInclusive {
			return c.MaxOrder
		}
		return c.MaxOrder - 1
	}
	// The arm64 defaults: 6.1 arch/arm64/Kconfig ARCH_FORCE_MAX_ORDER "14" (64K), "12" (16K),
	// "11", exclusive; 6.12 and 7.3 "13", "11", "10", inclusive: the same largest order.
	// Without the option (riscv) 6.1 mmzone.h MAX_ORDER 11 and 6.12/7.3 MAX_PAGE_ORDER 10: 10.
	switch c.pageShift() {
	case 14:
		return 11
	case 16:
		return 13
	}
	return 10
}

// hugeOrder is HUGETLB_PAGE_ORDER and HPAGE_PMD_ORDER: PMD_SHIFT - PAGE_SHIFT (Arch.PMDShift;
// arm64's geometry for an architecture dtheap has not read).
func (c Config) hugeOrder() int {
	a := ArchFor(c.Arch)
	if a == nil {
		a = ArchFor("arm64")
	}
	return a.PMDShift(c.pageShift()) - c.pageShift()
}

// PageblockOrder is pageblock_order (include/linux/pageblock-flags.h of each version):
// 6.1: min(HUGETLB_PAGE_ORDER, MAX_ORDER-1) with CONFIG_HUGETLB_PAGE, else MAX_ORDER-1.
// 6.12: min(HUGETLB_PAGE_ORDER, MAX_PAGE_ORDER) with HUGETLB_PAGE, else min(HPAGE_PMD_ORDER,
// MAX_PAGE_ORDER) with TRANSPARENT_HUGEPAGE, else MAX_PAGE_ORDER. 7.3: the same with
// PAGE_BLOCK_MAX_ORDER (default MAX_PAGE_ORDER) in place of MAX_PAGE_ORDER.
func (m *Model) PageblockOrder(c Config) int {
	if c.PageblockOrderSet {
		return c.PageblockOrder
	}
	top := m.LargestOrder(c)
	if m.PageBlockMaxOrderOption && c.PageBlockMaxOrder > 0 && c.PageBlockMaxOrder < top {
		top = c.PageBlockMaxOrder
	}
	if c.Hugetlb || (m.THPLowersPageblock && c.THP) {
		return min(c.hugeOrder(), top)
	}
	return top
}

// CMAAlignment is CMA_MIN_ALIGNMENT_BYTES = PAGE_SIZE << pageblock_order
// (include/linux/cma.h: PAGE_SIZE * CMA_MIN_ALIGNMENT_PAGES, pageblock_nr_pages; the same in
// 6.1, 6.12 and 7.3). A reusable shared-dma-pool's alignment is raised to it (6.1 and 6.12
// __reserved_mem_alloc_size(), 7.3 rmem_cma_validate()) and rmem_cma_setup() refuses a base or
// size that is not a multiple ("Reserved memory: incorrect alignment of CMA region").
func (m *Model) CMAAlignment(c Config) uint64 {
	ps := c.PageSize
	if ps == 0 {
		ps = 4096
	}
	return ps << m.PageblockOrder(c)
}

// CMAAreas is CONFIG_CMA_AREAS: the configured value, or the version's default.
func (m *Model) CMAAreas(c Config) int {
	switch {
	case c.CMAAreas > 0:
		return c.CMAAreas
	case c.NUMA:
		return m.CMAAreasDefaultNUMA
	}
	return m.CMAAreasDefault
}

// CMASlots is MAX_CMA_AREAS: how many CMA areas the kernel can set up.
func (m *Model) CMASlots(c Config) int { return m.CMAAreas(c) + m.CMASlotsExtra }

// CMAAreasFor is the CONFIG_CMA_AREAS that gives n slots.
func (m *Model) CMAAreasFor(n int) int { return max(n-m.CMASlotsExtra, 1) }

// CmdlineCMA reports whether a kernel command line sets cma=, which makes its own default CMA
// area ("reserved", kernel/dma/contiguous.c dma_contiguous_reserve()) and bypasses a
// linux,cma-default node (6.1 and 6.12 rmem_cma_setup(), 7.3 __rmem_cma_verify_node()).
//
// It is the regular expression `(^|\s)cma=` written out: a package-level regexp would be
// compiled by every program importing kmodel, and the boot checker (dtheap-check, through the
// doctor) pays that at each boot (about 10 ms under TCG).
func CmdlineCMA(cmdline string) bool {
	for i := 0; ; i++ {
		j := strings.Index(cmdline[i:], "cma=")
		if j < 0 {
			return false
		}
		i += j
		if i == 0 || strings.IndexByte("\t\n\f\r ", cmdline[i-1]) >= 0 {
			return true
		}
	}
}

// CmdlineCMAName is the name of the area cma= makes: dma_contiguous_reserve_area() passes
// "reserved" to cma_declare_contiguous() (kernel/dma/contiguous.c, 6.1, 6.12 and 7.3).
const CmdlineCMAName = "reserved"
