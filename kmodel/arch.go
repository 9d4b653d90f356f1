package kmodel

// Arch is what an architecture's early boot does that placement and validation depend on:
// which page sizes it builds, whether CONFIG_ARCH_FORCE_MAX_ORDER exists, its DMA zones, and
// what memblock already holds when early_init_fdt_scan_reserved_mem() places the dynamic
// reserved-memory regions. Read from arch/arm64 and arch/riscv of 6.1, 6.12 and 7.3; the three
// versions agree on every fact below (the comments cite 6.12's file and function, the tests
// name the lines of the other two where they moved).
type Arch struct {
	Name string
	// PageSizes are the base page sizes the architecture builds. arm64: ARM64_4K_PAGES,
	// ARM64_16K_PAGES, ARM64_64K_PAGES (arch/arm64/Kconfig, choice "Page size"). riscv64: 4 KiB
	// only (6.12 and 7.3 arch/riscv/Kconfig select HAVE_PAGE_SIZE_4KB and nothing else; 6.1
	// arch/riscv/include/asm/page.h #define PAGE_SHIFT (12)).
	PageSizes []uint64
	// ForceMaxOrder: CONFIG_ARCH_FORCE_MAX_ORDER exists (arm64: arch/arm64/Kconfig). riscv has
	// no such option in any of the three versions, so include/linux/mmzone.h's default holds:
	// 6.1 MAX_ORDER 11 (exclusive), 6.12 and 7.3 MAX_PAGE_ORDER 10 (inclusive), the same
	// largest order 10 (Model.LargestOrder).
	ForceMaxOrder bool
	// PMDShift is PMD_SHIFT for a page shift: HPAGE_PMD_ORDER and HUGETLB_PAGE_ORDER are
	// PMD_SHIFT - PAGE_SHIFT (pageblock_order with huge pages). arm64
	// arch/arm64/include/asm/pgtable-hwdef.h: ARM64_HW_PGTABLE_LEVEL_SHIFT(2) = 2*PAGE_SHIFT-3
	// (21, 25, 29 for 4, 16, 64 KiB pages). riscv64 arch/riscv/include/asm/pgtable-64.h:
	// #define PMD_SHIFT 21 (Sv39, Sv48 and Sv57 alike).
	PMDShift func(pageShift int) int
	// ZoneDMA: the architecture has a ZONE_DMA below ZONE_DMA32. arm64: mm/Kconfig ZONE_DMA
	// "default y if ARM64 || X86", its limit from the DT's dma-ranges (zone_sizes_init() in
	// arch/arm64/mm/init.c, of_dma_get_max_cpu_address()). riscv64: arch/riscv/Kconfig selects
	// ZONE_DMA32 if 64BIT and no ZONE_DMA; zone_sizes_init() in arch/riscv/mm/init.c (7.3:
	// arch_zone_limits_init()) sets only ZONE_DMA32 and ZONE_NORMAL.
	ZoneDMA bool
	// DTBTakenAtScan: the DTB is in memblock.reserved when the reserved-memory scan places the
	// dynamic regions, so none lands on it. arm64: setup_machine_fdt()
	// (arch/arm64/kernel/setup.c) does memblock_reserve(dt_phys, size) before
	// arm64_memblock_init() runs early_init_fdt_scan_reserved_mem(). riscv64: setup_bootmem()
	// (arch/riscv/mm/init.c) calls early_init_fdt_scan_reserved_mem() and only then
	// memblock_reserve(dtb_early_pa, fdt_totalsize(dtb_early_va)): a dynamic pool can be placed
	// over the DTB, so a riscv64 board must NOT list the DTB as a firmware region (the plan
	// would avoid memory the kernel does not), and should keep its dynamic pools away from where
	// the boot loader puts the DTB.
	DTBTakenAtScan bool
	// InitrdTakenAtScan: the initrd is reserved before the scan. arm64: arm64_memblock_init()
	// memblock_reserve(base, size) of the page-rounded initrd; riscv64: setup_bootmem() calls
	// reserve_initrd_mem() (init/initramfs.c, memblock_reserve(start, size)) before
	// early_init_fdt_scan_reserved_mem().
	InitrdTakenAtScan bool
	// KernelImageRoundsToPMD: the kernel image's reservation ends on a PMD boundary when
	// CONFIG_STRICT_KERNEL_RWX is on. riscv64 setup_bootmem(): "vmlinux_end = (vmlinux_end +
	// PMD_SIZE - 1) & PMD_MASK" if 64BIT && STRICT_KERNEL_RWX, then memblock_reserve(
	// vmlinux_start, vmlinux_end - vmlinux_start). arm64 arm64_memblock_init():
	// memblock_reserve(__pa_symbol(_text), _end - _text), unrounded.
	KernelImageRoundsToPMD bool
}

// DMA32Limit is where ZONE_DMA32 ends (exclusive) on both architectures for a DRAM that ends
// at dramEnd: riscv64 setup_bootmem() dma32_phys_limit = min(4UL * SZ_1G,
// PFN_PHYS(max_low_pfn)); arm64 zone_sizes_init() dma32_phys_limit =
// max_zone_phys(DMA_BIT_MASK(32)) = min(4 GiB - 1, memblock_end_of_DRAM() - 1) + 1. A CMA
// area that spans it cannot be activated (mm/cma.c cma_activate_area(): every pfn must be in
// the zone of the first). A DT linux,cma-default node is NOT held below it: rmem_cma_setup()
// (kernel/dma/contiguous.c) takes the region wherever of_reserved_mem placed it, top-down over
// all DRAM; only the command line's or Kconfig's default area (dma_contiguous_reserve(),
// riscv64 passes dma32_phys_limit, arm64 arm64_dma_phys_limit) is.
func DMA32Limit(dramEnd uint64) uint64 {
	const fourG = 4 << 30
	return min(fourG, dramEnd)
}

var arches = map[string]*Arch{
	"arm64": {
		Name:                   "arm64",
		PageSizes:              []uint64{4 << 10, 16 << 10, 64 << 10},
		ForceMaxOrder:          true,
		PMDShift:               func(ps int) int { return 2*ps - 3 },
		ZoneDMA:                true,
		DTBTakenAtScan:         true,
		InitrdTakenAtScan:      true,
		KernelImageRoundsToPMD: false,
	},
	"riscv64": {
		Name:                   "riscv64",
		PageSizes:              []uint64{4 << 10},
		ForceMaxOrder:          false,
		PMDShift:               func(int) int { return 21 },
		ZoneDMA:                false,
		DTBTakenAtScan:         false,
		InitrdTakenAtScan:      true,
		KernelImageRoundsToPMD: true,
	},
}

// ArchFor returns the facts of arm64 or riscv64, nil for an architecture dtheap has not read
// (32-bit arm).
func ArchFor(name string) *Arch { return arches[name] }

// SupportsPageSize reports whether the architecture builds with base pages of size ps.
func (a *Arch) SupportsPageSize(ps uint64) bool {
	for _, s := range a.PageSizes {
		if s == ps {
			return true
		}
	}
	return false
}
