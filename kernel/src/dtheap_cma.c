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
 *
 * Small buffers are carved from chunks the heap keeps. Every cma_alloc()
 * runs alloc_contig_range() (mm/page_alloc.c), which isolates the
 * pageblocks around the range, drains the per-CPU lists, takes the whole
 * free buddy block that holds the range and frees what it did not ask for
 * one page at a time (free_contig_range() on 6.1; split_free_pages(), then
 * free_contig_range() on 6.12). An unused pool is made of free
 * pageblock-sized buddies (4 MiB with 4 KiB pages), and cma_release() of a
 * small buffer merges its pages back into one, so every small allocation
 * paid for splitting a whole pageblock again: about 1000 single-page frees
 * for a 4 KiB buffer.
 *
 * So buffers of up to a chunk are carved from chunks: blocks of 1 MiB (or
 * PAGE_SIZE << CONFIG_CMA_ALIGNMENT, if less) that the heap takes from its
 * pool with dma_alloc_pages() and tracks with a bitmap each. A chunk is the
 * largest block cma_alloc() aligns to its own size (dma_alloc_contiguous()
 * asks for min(order, CONFIG_CMA_ALIGNMENT)), so it lands exactly where a
 * buffer of that size would: the pool's layout stays what buffers of their
 * own would make of it. Inside a chunk a buffer gets the alignment
 * cma_alloc() would have given it, and is zeroed at allocation through the
 * linear map, as the kernel's CMA heap zeroes its buffers.
 *
 * A chunk whose last buffer is freed stays, empty and warm, if it is the
 * heap's only empty chunk, and goes back to the pool otherwise: the split
 * is paid once per chunk taken, not once per buffer. Empty chunks go back
 * to the pool under memory pressure, through a shrinker (free CMA memory
 * serves movable allocations), and before any buffer larger than a chunk
 * (or any buffer no chunk could take) is allocated, so that it finds the
 * pool as if no chunk had been kept: a pool whose buffers are all freed
 * comes back whole for one large allocation. Pools smaller than four
 * chunks carve nothing.
 */
#define pr_fmt(fmt) "dtheap: " fmt

#include <linux/bitmap.h>
#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/list.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/of.h>
#include <linux/of_reserved_mem.h>
#include <linux/overflow.h>
#include <linux/shrinker.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include "dtheap_compat.h"
#include "dtheap_priv.h"

/* Largest chunk (see above). */
#define DTHEAP_CMA_CHUNK_MAX	SZ_1M
/* Empty chunks kept warm by a heap (returned by the shrinker). */
#define DTHEAP_CMA_WARM_CHUNKS	1

/* The largest alignment cma_alloc() gets from dma_alloc_contiguous(). */
#ifdef CONFIG_CMA_ALIGNMENT
#define DTHEAP_CMA_ALIGNMENT	CONFIG_CMA_ALIGNMENT
#else
#define DTHEAP_CMA_ALIGNMENT	0
#endif

/**
 * struct dtheap_cma_chunk - a piece of the pool that small buffers share
 * @list: entry in &dtheap_cma.chunks, in address order
 * @page: first page, from dma_alloc_pages()
 * @dma_handle: DMA address of @page for the heap's cma_dev
 * @used: pages of the chunk in live buffers
 * @map: one bit per page of the chunk, set while the page is in a buffer
 */
struct dtheap_cma_chunk {
	struct list_head list;
	struct page *page;
	dma_addr_t dma_handle;
	unsigned long used;
	unsigned long map[];
};

/**
 * struct dtheap_cma - the chunks of one cma heap
 * @heap: the heap
 * @lock: protects @chunks, @nr_empty and each chunk's @used and @map; never
 *	held across an allocation or a release of pool memory
 * @chunks: the chunks taken from the pool, in address order
 * @nr_empty: chunks in @chunks without a live buffer (read locklessly by
 *	the shrinker's count)
 * @chunk_pages: pages per chunk
 * @carve_max: largest buffer carved from a chunk, in bytes (a chunk); 0 if
 *	the pool is too small to carve
 * @shrinker: returns empty chunks to the pool under memory pressure
 */
struct dtheap_cma {
	struct dtheap_heap *heap;
	struct mutex lock; /* protects chunks, nr_empty, chunk maps */
	struct list_head chunks;
	unsigned long nr_empty;
	unsigned long chunk_pages;
	size_t carve_max;
#if DTHEAP_SHRINKER_ALLOC
	struct shrinker *shrinker;
#else
	struct shrinker shrinker;
#endif
};

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

static bool dtheap_cma_in_pool(const struct dtheap_heap *heap,
			       phys_addr_t paddr, size_t len)
{
	const struct reserved_mem *rmem = heap->rmem;

	return paddr >= rmem->base && len <= rmem->size &&
	       paddr - rmem->base <= rmem->size - len;
}

/**
 * dtheap_cma_get_pages() - take zeroed, contiguous pages from the pool
 * @heap: a cma heap
 * @len: bytes, page aligned
 * @dma_handle: set to the DMA address for @heap->cma_dev
 *
 * dma_alloc_pages() zeroes the memory through the linear mapping.
 *
 * Return: the first page, or NULL when the pool has no room (including
 * when the DMA layer fell back to memory outside the pool).
 */
static struct page *dtheap_cma_get_pages(struct dtheap_heap *heap, size_t len,
					 dma_addr_t *dma_handle)
{
	struct device *dev = heap->cma_dev;
	struct page *page;

	page = dma_alloc_pages(dev, len, dma_handle, DMA_BIDIRECTIONAL,
			       GFP_KERNEL | __GFP_NOWARN);
	if (!page)
		return NULL;
	if (!dtheap_cma_in_pool(heap, page_to_phys(page), len)) {
		dma_free_pages(dev, len, page, *dma_handle, DMA_BIDIRECTIONAL);
		return NULL;
	}

	return page;
}

static size_t dtheap_cma_chunk_size(const struct dtheap_cma *cma)
{
	return cma->chunk_pages << PAGE_SHIFT;
}

static struct dtheap_cma_chunk *dtheap_cma_chunk_new(struct dtheap_heap *heap)
{
	struct dtheap_cma *cma = heap->cma;
	struct dtheap_cma_chunk *chunk;

	chunk = kzalloc(struct_size(chunk, map, BITS_TO_LONGS(cma->chunk_pages)),
			GFP_KERNEL);
	if (!chunk)
		return NULL;
	chunk->page = dtheap_cma_get_pages(heap, dtheap_cma_chunk_size(cma),
					   &chunk->dma_handle);
	if (!chunk->page) {
		kfree(chunk);
		return NULL;
	}

	return chunk;
}

static void dtheap_cma_chunk_put(struct dtheap_heap *heap,
				 struct dtheap_cma_chunk *chunk)
{
	dma_free_pages(heap->cma_dev, dtheap_cma_chunk_size(heap->cma),
		       chunk->page, chunk->dma_handle, DMA_BIDIRECTIONAL);
	kfree(chunk);
}

/* Adds @chunk to @cma->chunks in address order; @cma->lock held. */
static void dtheap_cma_chunk_insert(struct dtheap_cma *cma,
				    struct dtheap_cma_chunk *chunk)
{
	struct dtheap_cma_chunk *pos;

	list_for_each_entry(pos, &cma->chunks, list)
		if (page_to_pfn(pos->page) > page_to_pfn(chunk->page))
			break;
	/* Before @pos, or at the tail when the loop ran off the list. */
	list_add_tail(&chunk->list, &pos->list);
	WRITE_ONCE(cma->nr_empty, cma->nr_empty + 1);
}

/**
 * dtheap_cma_chunk_take() - mark pages of a chunk as in a buffer
 * @cma: the heap's chunks, with @cma->lock held
 * @chunk: the chunk
 * @nr: pages wanted
 * @align_mask: the first page's index must have none of these bits set
 * @first: set to the index of the first page
 *
 * The chunk's start is aligned at least as much as @align_mask asks (see
 * dtheap_cma_align_mask()), so an aligned index is an aligned address.
 *
 * Return: true if the chunk had room.
 */
static bool dtheap_cma_chunk_take(struct dtheap_cma *cma,
				  struct dtheap_cma_chunk *chunk,
				  unsigned long nr, unsigned long align_mask,
				  unsigned long *first)
{
	unsigned long i;

	if (cma->chunk_pages - chunk->used < nr)
		return false;
	i = bitmap_find_next_zero_area(chunk->map, cma->chunk_pages, 0, nr,
				       align_mask);
	if (i > cma->chunk_pages - nr)
		return false;

	bitmap_set(chunk->map, i, nr);
	if (!chunk->used)
		WRITE_ONCE(cma->nr_empty, cma->nr_empty - 1);
	chunk->used += nr;
	*first = i;

	return true;
}

/*
 * The alignment dma_alloc_contiguous() asks cma_alloc() for, as a mask of
 * page indexes: min(get_order(len), CONFIG_CMA_ALIGNMENT). A chunk is
 * allocated the same way and is at least as large, so its start is aligned at
 * least as much as any buffer carved from it.
 */
static unsigned long dtheap_cma_align_mask(size_t len)
{
	unsigned int order = min_t(unsigned int, get_order(len),
				   DTHEAP_CMA_ALIGNMENT);

	return (1UL << order) - 1;
}

/**
 * dtheap_cma_release_empty() - give empty chunks back to the pool
 * @heap: a cma heap
 * @max_pages: stop once this many pages are released
 * @trylock: give up rather than wait for the lock (from reclaim)
 *
 * Return: pages released.
 */
static unsigned long dtheap_cma_release_empty(struct dtheap_heap *heap,
					      unsigned long max_pages,
					      bool trylock)
{
	struct dtheap_cma *cma = heap->cma;
	struct dtheap_cma_chunk *chunk, *tmp;
	unsigned long released = 0;
	LIST_HEAD(empty);

	if (!trylock)
		mutex_lock(&cma->lock);
	else if (!mutex_trylock(&cma->lock))
		return 0;
	list_for_each_entry_safe(chunk, tmp, &cma->chunks, list) {
		if (released >= max_pages)
			break;
		if (chunk->used)
			continue;
		list_move(&chunk->list, &empty);
		WRITE_ONCE(cma->nr_empty, cma->nr_empty - 1);
		released += cma->chunk_pages;
	}
	mutex_unlock(&cma->lock);

	list_for_each_entry_safe(chunk, tmp, &empty, list) {
		list_del(&chunk->list);
		dtheap_cma_chunk_put(heap, chunk);
	}

	return released;
}

static struct dtheap_cma *dtheap_cma_of_shrinker(struct shrinker *shrinker)
{
#if DTHEAP_SHRINKER_ALLOC
	return shrinker->private_data;
#else
	return container_of(shrinker, struct dtheap_cma, shrinker);
#endif
}

static unsigned long dtheap_cma_shrink_count(struct shrinker *shrinker,
					     struct shrink_control *sc)
{
	struct dtheap_cma *cma = dtheap_cma_of_shrinker(shrinker);
	unsigned long pages = READ_ONCE(cma->nr_empty) * cma->chunk_pages;

	return pages ? pages : SHRINK_EMPTY;
}

static unsigned long dtheap_cma_shrink_scan(struct shrinker *shrinker,
					    struct shrink_control *sc)
{
	struct dtheap_cma *cma = dtheap_cma_of_shrinker(shrinker);
	unsigned long released;

	released = dtheap_cma_release_empty(cma->heap, sc->nr_to_scan, true);

	return released ? released : SHRINK_STOP;
}

/*
 * seeks = 0: an empty chunk takes no I/O to make again, only a cma_alloc(),
 * so reclaim asks for half of the empty chunks at any priority
 * (do_shrink_slab(), mm/vmscan.c on 6.1, mm/shrinker.c on 6.12): they go
 * back at the first reclaim, not just before the OOM killer.
 */
static int dtheap_cma_shrinker_add(struct dtheap_cma *cma, const char *name)
{
#if DTHEAP_SHRINKER_ALLOC
	cma->shrinker = shrinker_alloc(0, "dtheap-%s", name);
	if (!cma->shrinker)
		return -ENOMEM;
	cma->shrinker->count_objects = dtheap_cma_shrink_count;
	cma->shrinker->scan_objects = dtheap_cma_shrink_scan;
	cma->shrinker->seeks = 0;
	cma->shrinker->private_data = cma;
	shrinker_register(cma->shrinker);

	return 0;
#else
	cma->shrinker.count_objects = dtheap_cma_shrink_count;
	cma->shrinker.scan_objects = dtheap_cma_shrink_scan;
	cma->shrinker.seeks = 0;

	return register_shrinker(&cma->shrinker, "dtheap-%s", name);
#endif
}

static void dtheap_cma_shrinker_remove(struct dtheap_cma *cma)
{
#if DTHEAP_SHRINKER_ALLOC
	shrinker_free(cma->shrinker);
#else
	unregister_shrinker(&cma->shrinker);
#endif
}

/*
 * Chunk size: see the top of this file. With 4 KiB pages and the default
 * CONFIG_CMA_ALIGNMENT of 8, 1 MiB.
 */
static void dtheap_cma_init_chunks(struct dtheap_cma *cma, phys_addr_t pool)
{
	size_t chunk = min_t(size_t, PAGE_SIZE << DTHEAP_CMA_ALIGNMENT,
			     DTHEAP_CMA_CHUNK_MAX);

	cma->chunk_pages = chunk >> PAGE_SHIFT;
	cma->carve_max = pool >= 4 * (u64)chunk ? chunk : 0;
}

static int dtheap_cma_setup(struct dtheap_heap *heap, struct device *parent,
			    int idx)
{
	struct dtheap_cma *cma;
	struct device *dev;
	int ret;

	cma = kzalloc(sizeof(*cma), GFP_KERNEL);
	if (!cma)
		return -ENOMEM;
	cma->heap = heap;
	mutex_init(&cma->lock);
	INIT_LIST_HEAD(&cma->chunks);
	dtheap_cma_init_chunks(cma, heap->rmem->size);
	heap->cma = cma;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev) {
		ret = -ENOMEM;
		goto free_cma;
	}
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

	ret = dtheap_cma_shrinker_add(cma, heap->desc->name);
	if (ret)
		goto release_mem;

	heap->cma_dev = dev;
	heap->dev = dev;

	return 0;

release_mem:
	of_reserved_mem_device_release(dev);
put_dev:
	put_device(dev);
free_cma:
	heap->cma = NULL;
	mutex_destroy(&cma->lock);
	kfree(cma);
	return ret;
}

static void dtheap_cma_teardown(struct dtheap_heap *heap)
{
	struct dtheap_cma *cma = heap->cma;

	dtheap_cma_shrinker_remove(cma);
	/* Only empty chunks can be left: no buffer outlives a failed probe. */
	dtheap_cma_release_empty(heap, ULONG_MAX, false);
	of_reserved_mem_device_release(heap->cma_dev);
	put_device(heap->cma_dev);
	heap->cma_dev = NULL;
	heap->cma = NULL;
	mutex_destroy(&cma->lock);
	kfree(cma);
}

/* Zeroes @nr pages from @page through the linear map, as cma_heap.c does. */
static void dtheap_cma_clear(struct page *page, unsigned long nr)
{
	unsigned long pfn = page_to_pfn(page);

	if (!PageHighMem(page)) {
		memset(page_address(page), 0, nr << PAGE_SHIFT);
		return;
	}
	while (nr--)
		clear_highpage(pfn_to_page(pfn++));
}

/**
 * dtheap_cma_carve() - take a buffer from one of the heap's chunks
 * @heap: a cma heap
 * @buf: the buffer, with @buf->len set, at most @heap->cma->carve_max
 *
 * Takes a new chunk from the pool when no chunk has room.
 *
 * Return: 0 with the buffer zeroed, or -ENOMEM when no chunk has room and
 * the pool has none for a new one.
 */
static int dtheap_cma_carve(struct dtheap_heap *heap, struct dtheap_buffer *buf)
{
	unsigned long align_mask = dtheap_cma_align_mask(buf->len);
	unsigned long nr = buf->len >> PAGE_SHIFT;
	struct dtheap_cma *cma = heap->cma;
	struct dtheap_cma_chunk *chunk;
	unsigned long first;
	bool taken;

	mutex_lock(&cma->lock);
	list_for_each_entry(chunk, &cma->chunks, list)
		if (dtheap_cma_chunk_take(cma, chunk, nr, align_mask, &first))
			goto carved;
	mutex_unlock(&cma->lock);

	/*
	 * Without the lock: cma_alloc() may migrate pages and so reclaim,
	 * which may call this heap's shrinker.
	 */
	chunk = dtheap_cma_chunk_new(heap);
	if (!chunk)
		return -ENOMEM;
	mutex_lock(&cma->lock);
	dtheap_cma_chunk_insert(cma, chunk);
	/* An empty chunk has room for anything up to carve_max. */
	taken = dtheap_cma_chunk_take(cma, chunk, nr, align_mask, &first);
	if (WARN_ON_ONCE(!taken)) {
		mutex_unlock(&cma->lock);
		return -ENOMEM;
	}
carved:
	mutex_unlock(&cma->lock);

	buf->chunk = chunk;
	buf->pages = pfn_to_page(page_to_pfn(chunk->page) + first);
	buf->paddr = page_to_phys(buf->pages);
	buf->dma_handle = chunk->dma_handle + ((dma_addr_t)first << PAGE_SHIFT);
	dtheap_cma_clear(buf->pages, nr);

	return 0;
}

/* Gives a carved buffer's pages back to its chunk. */
static void dtheap_cma_uncarve(struct dtheap_heap *heap,
			       struct dtheap_buffer *buf)
{
	struct dtheap_cma_chunk *chunk = buf->chunk;
	unsigned long first = page_to_pfn(buf->pages) - page_to_pfn(chunk->page);
	unsigned long nr = buf->len >> PAGE_SHIFT;
	struct dtheap_cma *cma = heap->cma;
	bool release = false;

	mutex_lock(&cma->lock);
	bitmap_clear(chunk->map, first, nr);
	chunk->used -= nr;
	if (!chunk->used) {
		if (cma->nr_empty >= DTHEAP_CMA_WARM_CHUNKS) {
			list_del(&chunk->list);
			release = true;
		} else {
			WRITE_ONCE(cma->nr_empty, cma->nr_empty + 1);
		}
	}
	mutex_unlock(&cma->lock);

	if (release)
		dtheap_cma_chunk_put(heap, chunk);
}

/**
 * dtheap_cma_alloc() - take a zeroed buffer from the heap's CMA pool
 * @heap: a cma heap
 * @buf: the buffer, with @buf->len set
 *
 * Buffers up to a chunk are carved from one (see the top of this file).
 * Larger ones, and small ones no chunk could take, get pages of their own,
 * after the empty chunks went back to the pool.
 *
 * Return: 0 with @buf->pages, @buf->paddr and @buf->dma_handle set, or
 * -ENOMEM when the pool has no room.
 */
static int dtheap_cma_alloc(struct dtheap_heap *heap, struct dtheap_buffer *buf)
{
	struct page *page;

	if (buf->len <= heap->cma->carve_max && !dtheap_cma_carve(heap, buf))
		goto zeroed;

	dtheap_cma_release_empty(heap, ULONG_MAX, false);
	page = dtheap_cma_get_pages(heap, buf->len, &buf->dma_handle);
	if (!page)
		return -ENOMEM;
	buf->chunk = NULL;
	buf->pages = page;
	buf->paddr = page_to_phys(page);

zeroed:
	/*
	 * The buffer was zeroed through the cached linear mapping, so the
	 * zeroes may sit in dirty cache lines. A cached heap leaves them
	 * there, as the kernel's own CMA heap does: every CPU mapping of its
	 * buffers is cached too, and map_dma_buf() cleans the cache through
	 * dma_map_sgtable() before a device sees the buffer. A write-combined
	 * heap maps with DMA_ATTR_SKIP_CPU_SYNC and user space writes past the
	 * cache, so the lines are written back now: evicted later, they would
	 * overwrite the user's data.
	 */
	if (!dtheap_heap_cpu_cached(heap))
		dma_sync_single_for_device(heap->cma_dev, buf->dma_handle,
					   buf->len, DMA_BIDIRECTIONAL);

	return 0;
}

static void dtheap_cma_free(struct dtheap_heap *heap, struct dtheap_buffer *buf)
{
	if (buf->chunk) {
		dtheap_cma_uncarve(heap, buf);
		return;
	}
	dma_free_pages(heap->cma_dev, buf->len, buf->pages, buf->dma_handle,
		       DMA_BIDIRECTIONAL);
}

const struct dtheap_backend dtheap_cma_backend = {
	.setup = dtheap_cma_setup,
	.teardown = dtheap_cma_teardown,
	.alloc = dtheap_cma_alloc,
	.free = dtheap_cma_free,
};
