// SPDX-License-Identifier: GPL-2.0
/*
 * dtheap: cma heaps over any named CMA pool.
 *
 * cma_alloc() is not exported to modules. The supported way to a named
 * pool is a device that holds the pool as its CMA area: each cma heap gets
 * its own child device (a device holds one cma_area only), attached to the
 * pool with of_reserved_mem_device_init_by_idx(), and allocates with
 * dma_alloc_pages() on it. When the pool is exhausted the DMA layer may
 * fall back to ordinary pages; such an allocation is freed and refused.
 */
#define pr_fmt(fmt) "dtheap: " fmt

#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/gfp.h>
#include <linux/of.h>
#include <linux/of_reserved_mem.h>
#include <linux/slab.h>

#include "dtheap_priv.h"

static void dtheap_cma_dev_release(struct device *dev)
{
	kfree(dev);
}

/* Whether @dev got a CMA area; there is none without CONFIG_DMA_CMA. */
static bool dtheap_cma_dev_has_area(struct device *dev)
{
#ifdef CONFIG_DMA_CMA
	return dev->cma_area;
#else
	return false;
#endif
}

static int dtheap_cma_setup(struct dtheap_heap *heap, struct device *parent,
			    int idx)
{
	struct device *dev;
	int ret;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;
	device_initialize(dev);
	dev->release = dtheap_cma_dev_release;
	dev->parent = parent;
	dev->dma_mask = &dev->coherent_dma_mask;
	ret = dev_set_name(dev, "dtheap-%s", heap->desc->name);
	if (ret)
		goto put_dev;
	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret)
		goto put_dev;

	ret = of_reserved_mem_device_init_by_idx(dev, parent->of_node, idx);
	if (ret)
		goto put_dev;
	if (!dtheap_cma_dev_has_area(dev)) {
		/* Not a CMA pool after all, or a kernel without DMA_CMA. */
		ret = -EINVAL;
		goto release_mem;
	}

	heap->cma_dev = dev;
	heap->dev = dev;

	return 0;

release_mem:
	of_reserved_mem_device_release(dev);
put_dev:
	put_device(dev);
	return ret;
}

static void dtheap_cma_teardown(struct dtheap_heap *heap)
{
	of_reserved_mem_device_release(heap->cma_dev);
	put_device(heap->cma_dev);
	heap->cma_dev = NULL;
}

static bool dtheap_cma_in_pool(const struct dtheap_heap *heap,
			       phys_addr_t paddr, size_t len)
{
	const struct reserved_mem *rmem = heap->rmem;

	return paddr >= rmem->base && len <= rmem->size &&
	       paddr - rmem->base <= rmem->size - len;
}

/**
 * dtheap_cma_alloc() - take a zeroed buffer from the heap's CMA pool
 * @heap: a cma heap
 * @buf: the buffer, with @buf->len set
 *
 * Return: 0 with @buf->pages and @buf->paddr set, or -ENOMEM when the pool
 * has no room (including when the DMA layer fell back to other memory).
 */
static int dtheap_cma_alloc(struct dtheap_heap *heap, struct dtheap_buffer *buf)
{
	struct device *dev = heap->cma_dev;
	struct page *page;

	/* dma_alloc_pages() zeroes the memory through the linear mapping. */
	page = dma_alloc_pages(dev, buf->len, &buf->dma_handle,
			       DMA_BIDIRECTIONAL, GFP_KERNEL | __GFP_NOWARN);
	if (!page)
		return -ENOMEM;

	if (!dtheap_cma_in_pool(heap, page_to_phys(page), buf->len)) {
		/* The DMA layer fell back to memory outside the pool. */
		dma_free_pages(dev, buf->len, page, buf->dma_handle,
			       DMA_BIDIRECTIONAL);
		return -ENOMEM;
	}

	/*
	 * dma_alloc_pages() zeroed the buffer through the cached linear
	 * mapping, so the zeroes may sit in dirty cache lines. A cached heap
	 * leaves them there, as the kernel's own CMA heap does: every CPU
	 * mapping of its buffers is cached too, and map_dma_buf() cleans the
	 * cache through dma_map_sgtable() before a device sees the buffer. A
	 * write-combined heap maps with DMA_ATTR_SKIP_CPU_SYNC and user space
	 * writes past the cache, so the lines are written back now: evicted
	 * later, they would overwrite the user's data.
	 */
	if (!dtheap_heap_cpu_cached(heap))
		dma_sync_single_for_device(dev, buf->dma_handle, buf->len,
					   DMA_BIDIRECTIONAL);

	buf->pages = page;
	buf->paddr = page_to_phys(page);

	return 0;
}

static void dtheap_cma_free(struct dtheap_heap *heap, struct dtheap_buffer *buf)
{
	dma_free_pages(heap->cma_dev, buf->len, buf->pages, buf->dma_handle,
		       DMA_BIDIRECTIONAL);
}

const struct dtheap_backend dtheap_cma_backend = {
	.setup = dtheap_cma_setup,
	.teardown = dtheap_cma_teardown,
	.alloc = dtheap_cma_alloc,
	.free = dtheap_cma_free,
};
