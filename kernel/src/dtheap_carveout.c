// SPDX-License-Identifier: GPL-2.0
/*
 * dtheap: carveout and unmapped heaps over a reserved region.
 *
 * A gen_pool hands out page-granular, physically contiguous pieces of the
 * region. Unmapped buffers are never touched by the CPU (the memory may be
 * firewalled from it) and go straight back to the gen_pool when freed.
 *
 * Carveout memory is zeroed ahead of time. A bitmap marks the free pages
 * that are dirty: freed by a user and not zeroed since. A freed buffer goes
 * straight back to the gen_pool with its pages marked dirty, and the heap's
 * zeroing worker clears them: it takes a dirty run out of the gen_pool
 * (gen_pool_fixed_alloc(), so nobody can allocate it meanwhile), zeroes
 * it, unmarks it and gives it back. An allocation is placed by the
 * gen_pool's first fit over all free memory, exactly as if nothing were
 * dirty, so a pool packs as many buffers as before; the allocating task
 * then zeroes whatever pages of its range are still dirty. So an allocation
 * costs the gen_pool's bookkeeping alone when its memory was zeroed ahead,
 * and a memset of the dirty part otherwise. No byte of one user can reach
 * the next: a page is unmarked only by the one task that holds it allocated
 * and zeroes it.
 *
 * The worker runs at the lowest priority (nice 19), so that it zeroes while
 * the CPU would otherwise be idle rather than in a task's time slice.
 *
 * Zeroing goes through one kernel mapping of the whole region, made at
 * setup with the heap's memory attributes: for a cached heap, whose region
 * is in the linear map, memremap(MEMREMAP_WB) returns the linear map itself
 * (try_ram_remap() in kernel/iomem.c); for a write-combined heap, whose
 * region is no-map, it is a new write-combined mapping. Where the latter
 * cannot be made, each range is mapped on its own while it is zeroed.
 */
#define pr_fmt(fmt) "dtheap: " fmt

#include <linux/bitmap.h>
#include <linux/genalloc.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "dtheap_priv.h"

/* Zero in pieces of this size, with a chance to reschedule in between. */
#define DTHEAP_ZERO_CHUNK	SZ_1M
/*
 * The worker holds a run out of the gen_pool, and @zero_lock, while it
 * zeroes it; an allocation waits at most for this much zeroing.
 */
#define DTHEAP_WORKER_CHUNK	SZ_256K

/**
 * dtheap_carveout_map_region() - map a carveout region once for zeroing
 * @heap: a carveout heap
 *
 * Zeroing through one permanent mapping saves building a mapping for every
 * range and tearing it down again (page tables and a kernel TLB flush each
 * time). A cached heap's region is in the linear map, and memremap() with
 * MEMREMAP_WB returns that address without mapping anything. A
 * write-combined heap's region is no-map, not System RAM, and gets a new
 * write-combined mapping; it takes the region's size of kernel virtual
 * address space, which a small vmalloc area (32-bit ARM) may not have, and
 * @heap->region_vaddr then stays NULL so that dtheap_carveout_zero_range()
 * maps each range on its own. Logs which of the two is used.
 */
static void dtheap_carveout_map_region(struct dtheap_heap *heap)
{
	struct reserved_mem *rmem = heap->rmem;

	if (dtheap_heap_cpu_cached(heap))
		heap->region_vaddr = memremap(rmem->base, rmem->size, MEMREMAP_WB);
	else if (region_intersects(rmem->base, rmem->size, IORESOURCE_SYSTEM_RAM,
				   IORES_DESC_NONE) == REGION_DISJOINT)
		heap->region_vaddr = memremap(rmem->base, rmem->size, MEMREMAP_WC);

	if (heap->region_vaddr)
		pr_info("heap %s: zeroing through one mapping of the whole region\n",
			heap->desc->name);
	else
		pr_info("heap %s: cannot map the whole region, zeroing through a mapping per buffer\n",
			heap->desc->name);
}

/**
 * dtheap_carveout_zero_range() - zero a range of a carveout region
 * @heap: a carveout heap
 * @paddr: physical base, page aligned
 * @len: length, page aligned
 *
 * For a cached heap the zeroes may stay in the CPU caches: every CPU
 * mapping of its buffers is cached too, and dtheap_map_dma_buf() maps for
 * devices with cache maintenance, which writes them back before a
 * non-coherent device reads the buffer (as drivers/dma-buf/heaps/cma_heap.c
 * relies on for the memory it zeroes).
 *
 * Return: 0, or -ENOMEM when no mapping could be made.
 */
static int dtheap_carveout_zero_range(struct dtheap_heap *heap,
				      phys_addr_t paddr, size_t len)
{
	size_t off, n;
	void *vaddr;

	if (!heap->region_vaddr) {
		vaddr = dtheap_map_kernel(heap, paddr, len);
		if (!vaddr)
			return -ENOMEM;
		memset(vaddr, 0, len);
		vunmap(vaddr);
		return 0;
	}

	vaddr = heap->region_vaddr + (paddr - heap->rmem->base);
	for (off = 0; off < len; off += n) {
		n = min_t(size_t, len - off, DTHEAP_ZERO_CHUNK);
		memset(vaddr + off, 0, n);
		cond_resched();
	}

	return 0;
}

/**
 * dtheap_carveout_take_dirty() - unmark the next dirty run of a range
 * @heap: a carveout heap
 * @first: first page (index in the region) to look at
 * @end: page index just past the range
 * @max: most pages to take
 * @run: set to the number of pages taken
 *
 * The caller must hold the run allocated in the gen_pool, or hold it out of
 * the gen_pool, and zero it after this returns.
 *
 * Return: index of the run's first page, or @end when no page of
 * [@first, @end) is dirty.
 */
static unsigned long dtheap_carveout_take_dirty(struct dtheap_heap *heap,
						unsigned long first,
						unsigned long end,
						unsigned long max,
						unsigned long *run)
{
	unsigned long start, stop;

	spin_lock(&heap->dirty_lock);
	start = find_next_bit(heap->dirty, end, first);
	if (start < end) {
		stop = find_next_zero_bit(heap->dirty, end, start);
		stop = min(stop, start + max);
		bitmap_clear(heap->dirty, start, stop - start);
		heap->dirty_bytes -= (u64)(stop - start) << PAGE_SHIFT;
		*run = stop - start;
	}
	spin_unlock(&heap->dirty_lock);

	return start;
}

/* Puts pages back as dirty: the zeroing of a run taken could not be done. */
static void dtheap_carveout_put_dirty(struct dtheap_heap *heap,
				      unsigned long start, unsigned long run)
{
	spin_lock(&heap->dirty_lock);
	bitmap_set(heap->dirty, start, run);
	heap->dirty_bytes += (u64)run << PAGE_SHIFT;
	spin_unlock(&heap->dirty_lock);
}

/**
 * dtheap_carveout_zero_work() - zero the free dirty pages of a heap
 * @work: &dtheap_heap.zero_work
 *
 * One pass over the bitmap, in runs of at most DTHEAP_WORKER_CHUNK. A run
 * is first taken out of the gen_pool at its fixed place; when part of it is
 * allocated (an allocation got there first and zeroes its own pages), it
 * is skipped, and its free pages are left for the next pass, which the
 * next free queues. @heap->zero_lock is held while a run is out of the
 * gen_pool, and allocations take it too: they never see the pool with a
 * hole the worker made, so they are placed, and fail, exactly as if the
 * worker did not exist.
 */
static void dtheap_carveout_zero_work(struct kthread_work *work)
{
	struct dtheap_heap *heap = container_of(work, struct dtheap_heap,
						zero_work);
	unsigned long pages = heap->rmem->size >> PAGE_SHIFT;
	unsigned long max = DTHEAP_WORKER_CHUNK >> PAGE_SHIFT;
	phys_addr_t base = heap->rmem->base;
	struct genpool_data_fixed fixed;
	unsigned long first, end, start, run, addr;

	for (first = 0; first < pages; first = end) {
		spin_lock(&heap->dirty_lock);
		first = find_next_bit(heap->dirty, pages, first);
		end = first < pages ?
		      min(find_next_zero_bit(heap->dirty, pages, first),
			  first + max) : pages;
		spin_unlock(&heap->dirty_lock);
		if (first >= pages)
			break;

		mutex_lock(&heap->zero_lock);
		fixed.offset = first << PAGE_SHIFT;
		addr = gen_pool_alloc_algo(heap->pool, (end - first) << PAGE_SHIFT,
					   gen_pool_fixed_alloc, &fixed);
		if (!addr) {
			mutex_unlock(&heap->zero_lock);
			continue;
		}

		/* Held out of the gen_pool: only this worker touches the run. */
		for (start = first;
		     (start = dtheap_carveout_take_dirty(heap, start, end, max,
							 &run)) < end;
		     start += run) {
			if (dtheap_carveout_zero_range(heap, base +
						       ((phys_addr_t)start << PAGE_SHIFT),
						       run << PAGE_SHIFT)) {
				dtheap_carveout_put_dirty(heap, start, run);
				break;
			}
		}
		gen_pool_free(heap->pool, addr, (end - first) << PAGE_SHIFT);
		mutex_unlock(&heap->zero_lock);
		cond_resched();
	}
}

/**
 * dtheap_carveout_start_worker() - start the zeroing worker of a heap
 * @heap: a carveout heap
 *
 * Return: 0, or a negative error code.
 */
static int dtheap_carveout_start_worker(struct dtheap_heap *heap)
{
	struct kthread_worker *worker;

	worker = kthread_create_worker(0, "dtheap-zero/%s", heap->desc->name);
	if (IS_ERR(worker))
		return PTR_ERR(worker);
	sched_set_normal(worker->task, MAX_NICE);
	heap->zero_worker = worker;

	return 0;
}

static int dtheap_carveout_setup(struct dtheap_heap *heap,
				 struct device *parent, int idx)
{
	struct reserved_mem *rmem = heap->rmem;
	unsigned long pages = rmem->size >> PAGE_SHIFT;
	int ret;

	spin_lock_init(&heap->dirty_lock);
	mutex_init(&heap->zero_lock);
	kthread_init_work(&heap->zero_work, dtheap_carveout_zero_work);

	heap->pool = gen_pool_create(PAGE_SHIFT, -1);
	if (!heap->pool)
		return -ENOMEM;
	ret = gen_pool_add(heap->pool, rmem->base, rmem->size, -1);
	if (ret)
		goto destroy_pool;

	/* Unmapped heaps are never zeroed: the CPU must not touch them. */
	if (heap->desc->kind == DTHEAP_KIND_UNMAPPED)
		return 0;

	heap->dirty = bitmap_zalloc(pages, GFP_KERNEL);
	if (!heap->dirty) {
		ret = -ENOMEM;
		goto destroy_pool;
	}
	dtheap_carveout_map_region(heap);
	ret = dtheap_carveout_start_worker(heap);
	if (ret)
		goto unmap;

	/* The region holds whatever was there before boot: all of it dirty. */
	bitmap_set(heap->dirty, 0, pages);
	heap->dirty_bytes = rmem->size;
	kthread_queue_work(heap->zero_worker, &heap->zero_work);

	return 0;

unmap:
	if (heap->region_vaddr) {
		memunmap(heap->region_vaddr);
		heap->region_vaddr = NULL;
	}
	bitmap_free(heap->dirty);
	heap->dirty = NULL;
destroy_pool:
	gen_pool_destroy(heap->pool);
	heap->pool = NULL;
	return ret;
}

/* Only on a probe error path, before any allocation. */
static void dtheap_carveout_teardown(struct dtheap_heap *heap)
{
	if (heap->zero_worker) {
		kthread_destroy_worker(heap->zero_worker);
		heap->zero_worker = NULL;
	}
	if (heap->region_vaddr) {
		memunmap(heap->region_vaddr);
		heap->region_vaddr = NULL;
	}
	bitmap_free(heap->dirty);
	heap->dirty = NULL;
	gen_pool_destroy(heap->pool);
	heap->pool = NULL;
}

/**
 * dtheap_carveout_alloc() - take a buffer of zeroed memory
 * @heap: a carveout or unmapped heap
 * @buf: the buffer, with @buf->len set
 *
 * First fit over all free memory, then the pages of the range that are
 * still dirty are zeroed here. The range is allocated to this task, so the
 * worker cannot be zeroing any of it, and no free can mark it.
 *
 * Return: 0, or -ENOMEM.
 */
static int dtheap_carveout_alloc(struct dtheap_heap *heap,
				 struct dtheap_buffer *buf)
{
	unsigned long addr, first, end, start, run;

	if (heap->desc->kind == DTHEAP_KIND_UNMAPPED) {
		addr = gen_pool_alloc(heap->pool, buf->len);
		buf->paddr = addr;
		return addr ? 0 : -ENOMEM;
	}

	mutex_lock(&heap->zero_lock);
	addr = gen_pool_alloc(heap->pool, buf->len);
	mutex_unlock(&heap->zero_lock);
	if (!addr)
		return -ENOMEM;
	buf->paddr = addr;

	first = (addr - heap->rmem->base) >> PAGE_SHIFT;
	end = first + (buf->len >> PAGE_SHIFT);
	while ((start = dtheap_carveout_take_dirty(heap, first, end, end,
						   &run)) < end) {
		if (dtheap_carveout_zero_range(heap, heap->rmem->base +
					       ((phys_addr_t)start << PAGE_SHIFT),
					       run << PAGE_SHIFT)) {
			/* Give the whole range back, dirty pages marked again. */
			dtheap_carveout_put_dirty(heap, start, run);
			gen_pool_free(heap->pool, addr, buf->len);
			return -ENOMEM;
		}
		first = start + run;
	}

	return 0;
}

/**
 * dtheap_carveout_free() - give a buffer back
 * @heap: a carveout or unmapped heap
 * @buf: the buffer
 *
 * Carveout pages are marked dirty before they reach the gen_pool, so that
 * whoever allocates them next zeroes them unless the worker has.
 */
static void dtheap_carveout_free(struct dtheap_heap *heap,
				 struct dtheap_buffer *buf)
{
	if (heap->desc->kind == DTHEAP_KIND_CARVEOUT)
		dtheap_carveout_put_dirty(heap, (buf->paddr - heap->rmem->base) >>
					  PAGE_SHIFT, buf->len >> PAGE_SHIFT);
	gen_pool_free(heap->pool, buf->paddr, buf->len);
	if (heap->desc->kind == DTHEAP_KIND_CARVEOUT)
		kthread_queue_work(heap->zero_worker, &heap->zero_work);
}

/* Shared by carveout and unmapped heaps: they differ in the common code only. */
const struct dtheap_backend dtheap_carveout_backend = {
	.setup = dtheap_carveout_setup,
	.teardown = dtheap_carveout_teardown,
	.alloc = dtheap_carveout_alloc,
	.free = dtheap_carveout_free,
};
