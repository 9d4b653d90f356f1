// SPDX-License-Identifier: GPL-2.0
/*
 * dtheap: carveout and unmapped heaps over a no-map reserved region.
 *
 * A gen_pool hands out page-granular, physically contiguous pieces of the
 * region. Carveout buffers are zeroed through a kernel mapping with the
 * heap's memory attributes before they are handed out, so no data passes
 * from one user to the next; unmapped buffers are never touched by the
 * CPU (the memory may be firewalled from it).
 */
#define pr_fmt(fmt) "dtheap: " fmt

#include <linux/dma-mapping.h>
#include <linux/genalloc.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "dtheap_priv.h"

static int dtheap_carveout_setup(struct dtheap_heap *heap,
				 struct device *parent, int idx)
{
	struct reserved_mem *rmem = heap->rmem;
	int ret;

	heap->pool = gen_pool_create(PAGE_SHIFT, -1);
	if (!heap->pool)
		return -ENOMEM;

	ret = gen_pool_add(heap->pool, rmem->base, rmem->size, -1);
	if (ret) {
		gen_pool_destroy(heap->pool);
		heap->pool = NULL;
		return ret;
	}

	return 0;
}

static void dtheap_carveout_teardown(struct dtheap_heap *heap)
{
	gen_pool_destroy(heap->pool);
	heap->pool = NULL;
}

/*
 * Zero a buffer before it is handed out. For a cached heap, write the
 * zeroes back to memory as well, so that devices and later mappings see
 * them and no dirty line of the previous user survives.
 */
static int dtheap_carveout_clear(struct dtheap_heap *heap,
				 struct dtheap_buffer *buf)
{
	dma_addr_t dma;
	void *vaddr;

	vaddr = dtheap_map_kernel(heap, buf->paddr, buf->len);
	if (!vaddr)
		return -ENOMEM;
	memset(vaddr, 0, buf->len);
	vunmap(vaddr);

	if (!dtheap_heap_cpu_cached(heap))
		return 0;

	dma = dma_map_page(heap->dev, pfn_to_page(PHYS_PFN(buf->paddr)), 0,
			   buf->len, DMA_TO_DEVICE);
	if (dma_mapping_error(heap->dev, dma))
		return -ENOMEM;
	dma_unmap_page(heap->dev, dma, buf->len, DMA_TO_DEVICE);

	return 0;
}

static int dtheap_carveout_alloc(struct dtheap_heap *heap,
				 struct dtheap_buffer *buf)
{
	unsigned long addr;
	int ret;

	addr = gen_pool_alloc(heap->pool, buf->len);
	if (!addr)
		return -ENOMEM;
	buf->paddr = addr;

	if (heap->desc->kind == DTHEAP_KIND_UNMAPPED)
		return 0;

	ret = dtheap_carveout_clear(heap, buf);
	if (ret) {
		gen_pool_free(heap->pool, addr, buf->len);
		return ret;
	}

	return 0;
}

static void dtheap_carveout_free(struct dtheap_heap *heap,
				 struct dtheap_buffer *buf)
{
	gen_pool_free(heap->pool, buf->paddr, buf->len);
}

/* Shared by carveout and unmapped heaps: they differ in the common code only. */
const struct dtheap_backend dtheap_carveout_backend = {
	.setup = dtheap_carveout_setup,
	.teardown = dtheap_carveout_teardown,
	.alloc = dtheap_carveout_alloc,
	.free = dtheap_carveout_free,
};
