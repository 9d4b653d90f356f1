/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dtheap: DMA-BUF heaps over devicetree reserved memory.
 *
 * The per-board table that dtheap generates (dtheap_board.c) describes the
 * heaps the module was built for; the driver checks each against the live
 * devicetree before registering it.
 */
#ifndef _DTHEAP_H
#define _DTHEAP_H

#include <linux/kernel.h>
#include <linux/types.h>

/**
 * enum dtheap_kind - what kind of memory a heap hands out
 * @DTHEAP_KIND_CMA: a reusable shared-dma-pool (CMA) region
 * @DTHEAP_KIND_CARVEOUT: a no-map region that the CPU may map
 * @DTHEAP_KIND_UNMAPPED: a no-map region that is never mapped by the CPU
 */
enum dtheap_kind {
	DTHEAP_KIND_CMA,
	DTHEAP_KIND_CARVEOUT,
	DTHEAP_KIND_UNMAPPED,
};

/**
 * enum dtheap_mapping - how user space and the kernel map a heap's buffers
 * @DTHEAP_MAP_CACHED: normal cacheable memory, with cache maintenance
 * @DTHEAP_MAP_WRITECOMBINE: write-combined (uncached, bufferable)
 * @DTHEAP_MAP_NONE: never mapped (unmapped heaps)
 */
enum dtheap_mapping {
	DTHEAP_MAP_CACHED,
	DTHEAP_MAP_WRITECOMBINE,
	DTHEAP_MAP_NONE,
};

/**
 * struct dtheap_heap_desc - one heap as the module was generated for it
 * @name: heap name, the device node is /dev/dma_heap/<name>
 * @region: full name of the reserved-memory node (e.g. "video@70000000")
 * @kind: kind of heap
 * @mapping: CPU mapping of the buffers
 * @base: fixed base, or the planner's prediction when @fixed is false
 * @size: size of the region in bytes
 * @fixed: true if @base must match the live region
 */
struct dtheap_heap_desc {
	const char *name;
	const char *region;
	enum dtheap_kind kind;
	enum dtheap_mapping mapping;
	u64 base;
	u64 size;
	bool fixed;
};

/**
 * struct dtheap_board - the generated table of heaps for one board
 * @name: board name
 * @heaps: the heaps
 * @nr_heaps: number of entries in @heaps
 */
struct dtheap_board {
	const char *name;
	const struct dtheap_heap_desc *heaps;
	unsigned int nr_heaps;
};

/* Defined by the generated dtheap_board.c. */
extern const struct dtheap_board dtheap_board;

#endif /* _DTHEAP_H */
