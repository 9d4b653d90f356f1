// SPDX-License-Identifier: GPL-2.0
/*
 * dtheap: carveout and unmapped heaps over a no-map reserved region.
 *
 * A gen_pool hands out page-granular, physically contiguous pieces of the
 * region. Carveout buffers are zeroed through a kernel mapping with the
 * heap's memory attributes before they are handed out, so no data passes
 * from one user to the next; unmapped buffers are never touched by the
 * CPU (the memory may be firewalled from it).
 *
 * The kernel mapping used for zeroing is made once, over the whole region,
 * when the heap is set up. Where that mapping cannot be made, each buffer
 * is mapped on its own while it is zeroed.
 */
#define pr_fmt(fmt) "dtheap: " fmt

#include <linux/dma-mapping.h>
#include <linux/genalloc.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "dtheap_priv.h"

/**
 * dtheap_carveout_map_region() - map a carveout region once for zeroing
 * @heap: a carveout heap
 *
 * Zeroing through one permanent mapping saves building a mapping for every
 * buffer and tearing it down again (page tables and a kernel TLB flush per
 * allocation). The mapping has the heap's memory attributes: write-back for
 * a cached heap, write-combined otherwise. It takes the region's size of
 * kernel virtual address space, which a small vmalloc area (32-bit ARM) may
 * not have; memremap() must also not alias System RAM with other attributes.
 * In either case @heap->region_vaddr stays NULL and dtheap_carveout_clear()
 * maps each buffer on its own instead. Logs which of the two is used.
 */
static void dtheap_carveout_map_region(struct dtheap_heap *heap)
{
	struct reserved_mem *rmem = heap->rmem;
	unsigned long flags;

	flags = dtheap_heap_cpu_cached(heap) ? MEMREMAP_WB : MEMREMAP_WC;
	if (region_intersects(rmem->base, rmem->size, IORESOURCE_SYSTEM_RAM,
			      IORES_DESC_NONE) == REGION_DISJOINT)
		heap->region_vaddr = memremap(rmem->base, rmem->size, flags);

	if (heap->region_vaddr)
		pr_info("heap %s: zeroing through one mapping of the whole region\n",
			heap->desc->name);
	else
		pr_info("heap %s: cannot map the whole region, zeroing through a mapping per buffer\n",
			heap->desc->name);
}

static int dtheap_carveout_setup(struct dtheap_heap *heap,
				 struct device *parent, int idx)
{
	struct reserved_mem *rmem = heap->rmem;
	int ret;

	heap->pool = gen_pool_create(PAGE_SHIFT, -1);
	if (!heap->pool)
		return -ENOMEM;

	ret = gen_pool_add(heap->pool, rmem->base, rmem->size, -1);
	if (ret)
		goto destroy_pool;

	/* Unmapped heaps are never zeroed: the CPU must not touch them. */
	if (heap->desc->kind == DTHEAP_KIND_CARVEOUT)
		dtheap_carveout_map_region(heap);

	return 0;

destroy_pool:
	gen_pool_destroy(heap->pool);
	heap->pool = NULL;
	return ret;
}

static void dtheap_carveout_teardown(struct dtheap_heap *heap)
{
	if (heap->region_vaddr) {
		memunmap(heap->region_vaddr);
		heap->region_vaddr = NULL;
	}
	gen_pool_destroy(heap->pool);
	heap->pool = NULL;
}

/**
 * dtheap_carveout_clear() - zero a buffer before it is handed out
 * @heap: a carveout heap
 * @buf: the buffer, with @buf->paddr and @buf->len set
 *
 * Zeroes through the mapping of the whole region if there is one, else
 * through a mapping of @buf alone. For a cached heap, the zeroes are then
 * written back to memory as well, so that devices and later mappings see
 * them and no dirty line of the previous user survives.
 *
 * Return: 0, or -ENOMEM when no mapping could be made.
 */
static int dtheap_carveout_clear(struct dtheap_heap *heap,
				 struct dtheap_buffer *buf)
{
	dma_addr_t dma;
	void *vaddr;

	if (heap->region_vaddr) {
		memset(heap->region_vaddr + (buf->paddr - heap->rmem->base), 0,
		       buf->len);
	} else {
		vaddr = dtheap_map_kernel(heap, buf->paddr, buf->len);
		if (!vaddr)
			return -ENOMEM;
		memset(vaddr, 0, buf->len);
		vunmap(vaddr);
	}

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
