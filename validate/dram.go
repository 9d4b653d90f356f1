package validate

import (
	"github.com/dtheap/dtheap/plan"
)

// nameMax is NAME_MAX (include/uapi/linux/limits.h), the longest file name component. The
// DMA-BUF heap core puts no limit of its own on a heap's name: dma_heap_add
// (drivers/dma-buf/dma-heap.c in 6.1, 6.12 and 7.3) only refuses an empty or duplicate one
// and hands it to device_create; dma_heap_devnode makes it the file dma_heap/<name> under
// devtmpfs, whose lookup refuses a component longer than NAME_MAX with ENAMETOOLONG.
const nameMax = 255

// dramSpans returns the banks as memblock.memory holds them: sorted, with touching and
// overlapping banks merged into one span (memblock_add -> memblock_merge_regions).
func dramSpans(banks []plan.Bank) []plan.Range {
	rs := make([]plan.Range, 0, len(banks))
	for _, b := range banks {
		rs = append(rs, b.Range)
	}
	return plan.MergeRanges(rs)
}

// touchesDRAM reports whether any part of r is memory. An alloc-ranges entry is only a window:
// __reserved_mem_alloc_in_range -> memblock_phys_alloc_range -> memblock_alloc_range_nid
// searches the free memory that intersects [start, end) (for_each_free_mem_range_reverse,
// clamped to the window), so a window running past the end of DRAM still holds whatever part
// of it is DRAM. Whether the pool fits there is the unplaceable rule's question.
func (c *Context) touchesDRAM(r plan.Range) bool {
	for _, m := range c.DRAM {
		if r.Overlaps(m) {
			return true
		}
	}
	return false
}

// checkReservedOutsideDRAM and checkOutsideDRAM report a fixed region that is not wholly
// inside memory. What that costs depends on what the region is. early_init_dt_reserve_memory
// (6.1 drivers/of/fdt.c; 6.12 and 7.3 drivers/of/of_reserved_mem.c) calls memblock_mark_nomap
// for a no-map region ("don't worry if the region isn't memory as it won't be mapped") and
// memblock_reserve otherwise; on addresses memblock.memory does not hold the first isolates
// nothing and the second records a range no allocator hands out, both return 0, and the
// region is saved for its driver as it is. That is how on-chip SRAM (remoteproc, firmware
// mailboxes) and holes the boot loader keeps are described, and it loses nothing: info. A CMA
// pool there is lost (cma_activate_area finds no valid pfn: "CMA area ... could not be
// activated"), and a dtheap heap would hand out memory that is not there: error.
func checkReservedOutsideDRAM(c *Context) {
	for _, r := range c.outsideDRAM() {
		if !plainReservation(r) {
			continue
		}
		how := "mark no-map"
		if !r.NoMap {
			how = "reserve"
		}
		c.report(r, r.Field("base"), "",
			"%s %q at %s is not (wholly) DRAM (%s): the kernel finds no memory there to %s and keeps the region for its driver (on-chip SRAM, or a hole the boot loader keeps)",
			what(r), r.Name, span(r.Range), c.banks(), how)
	}
}

func checkOutsideDRAM(c *Context) {
	for _, r := range c.outsideDRAM() {
		if plainReservation(r) {
			continue
		}
		why := "the memory is not there"
		if r.Kind == plan.KindCMA {
			why = "cma_activate_area finds no page there ('CMA area could not be activated')"
		}
		c.report(r, r.Field("base"), "check base and size against the memory banks", "%s %q at %s is not inside any DRAM bank (%s): %s", what(r), r.Name, span(r.Range), c.banks(), why)
	}
}

// needsPages reports whether a region must be whole pages. A CMA area and a dtheap heap hand
// out pages; a firmware region or plain reservation need not be: memblock reserves or marks
// no-map any byte range, and the linear map is built page-rounded around it (arm64
// __create_pgd_mapping masks the start with PAGE_MASK and page-aligns the end), so a 256-byte
// SCMI shared-memory region or a 128-byte mailbox loses nothing.
func needsPages(r *plan.Region) bool {
	return r.Kind == plan.KindCMA || r.Kind == plan.KindCarveout || r.Kind == plan.KindUnmapped || r.Heap != nil
}

// plainReservation is a region the kernel neither allocates from nor hands to a heap: a
// firmware region or a reservation without pool or heap. When two of them overlap,
// __rmem_check_for_overlap (6.1 drivers/of/of_reserved_mem.c, the same in 6.12 and 7.3)
// prints OVERLAP DETECTED and both stay reserved: the kernel loses nothing and puts nothing
// of its own there (early_init_dt_reserve_memory refuses only a no-map region over memory
// already reserved, "failed to reserve memory for node"), so it is a warning
// (reserved-overlap). Overlaps that touch a CMA pool or a heap are errors (overlap).
func plainReservation(r *plan.Region) bool {
	return r.Kind == plan.KindFirmware || (r.Kind == plan.KindReserved && r.Heap == nil)
}
