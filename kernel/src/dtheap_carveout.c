// SPDX-License-Identifier: GPL-2.0
/*
 * dtheap: carveout and unmapped heaps over a reserved region.
 *
 * A gen_pool hands out page-granular, physically contiguous pieces of the
 * region. Unmapped buffers are never touched by the CPU (the memory may be
 * firewalled from it) and go straight back to the gen_pool when freed.
 *
 * Carveout memory is zeroed ahead of time. The gen_pool holds only zeroed
 * memory: a freed buffer stays allocated in it, on the heap's dirty list,
 * until the heap's zeroing worker has cleared it and given it back. So an
 * allocation costs the gen_pool's bookkeeping alone while zeroed memory is
 * available. When the gen_pool cannot serve a request, the allocating task
 * zeroes dirty ranges itself, one at a time, retrying after each, so the
 * heap fails only when all of its free memory together cannot serve it. No
 * byte of one user can reach the next: memory reaches the gen_pool only
 * after it has been zeroed, at probe or by dtheap_carveout_zero_range().
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

#include <linux/genalloc.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "dtheap_priv.h"

/* Zero in pieces of this size, with a chance to reschedule in between. */
#define DTHEAP_ZERO_CHUNK	SZ_1M

/**
 * struct dtheap_dirty - a freed carveout range that is not zeroed yet
 * @list: entry in &dtheap_heap.dirty
 * @paddr: physical base
 * @len: length in bytes, page aligned
 */
struct dtheap_dirty {
	struct list_head list;
	phys_addr_t paddr;
	size_t len;
};

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
 * dtheap_carveout_clean_one() - zero one dirty range and give it back
 * @heap: a carveout heap
 *
 * The range leaves the dirty list under @heap->dirty_lock, so that the
 * worker and allocating tasks never zero the same range; @heap->zero_lock
 * is held while it is zeroed, so that a task that finds the dirty list
 * empty can wait for ranges being zeroed by others (see
 * dtheap_carveout_alloc()).
 *
 * Return: true if a range was zeroed (or, failing a mapping, put back).
 */
static bool dtheap_carveout_clean_one(struct dtheap_heap *heap)
{
	struct dtheap_dirty *d;

	mutex_lock(&heap->zero_lock);
	spin_lock(&heap->dirty_lock);
	d = list_first_entry_or_null(&heap->dirty, struct dtheap_dirty, list);
	if (d)
		list_del(&d->list);
	spin_unlock(&heap->dirty_lock);
	if (!d) {
		mutex_unlock(&heap->zero_lock);
		return false;
	}

	if (dtheap_carveout_zero_range(heap, d->paddr, d->len)) {
		/* No mapping now: keep the range dirty, never hand it out. */
		spin_lock(&heap->dirty_lock);
		list_add_tail(&d->list, &heap->dirty);
		spin_unlock(&heap->dirty_lock);
		mutex_unlock(&heap->zero_lock);
		return false;
	}
	gen_pool_free(heap->pool, d->paddr, d->len);
	spin_lock(&heap->dirty_lock);
	heap->dirty_bytes -= d->len;
	spin_unlock(&heap->dirty_lock);
	mutex_unlock(&heap->zero_lock);
	kfree(d);

	return true;
}

static void dtheap_carveout_zero_work(struct kthread_work *work)
{
	struct dtheap_heap *heap = container_of(work, struct dtheap_heap,
						zero_work);

	while (dtheap_carveout_clean_one(heap))
		cond_resched();
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

/* Frees the dirty list's entries; only on the setup error path. */
static void dtheap_carveout_drop_dirty(struct dtheap_heap *heap)
{
	struct dtheap_dirty *d, *tmp;

	list_for_each_entry_safe(d, tmp, &heap->dirty, list) {
		list_del(&d->list);
		kfree(d);
	}
	heap->dirty_bytes = 0;
}

/**
 * dtheap_carveout_add_dirty_region() - put a whole new region on the dirty list
 * @heap: a carveout heap whose gen_pool is still empty
 *
 * Adds the region to the gen_pool and takes it all out again as pieces of
 * DTHEAP_ZERO_CHUNK bytes on the dirty list, so that allocations can use
 * each piece as soon as it is zeroed.
 *
 * Return: 0, or a negative error code (the dirty list may then hold
 * entries: dtheap_carveout_drop_dirty()).
 */
static int dtheap_carveout_add_dirty_region(struct dtheap_heap *heap)
{
	struct reserved_mem *rmem = heap->rmem;
	struct dtheap_dirty *d;
	phys_addr_t off;
	int ret;

	ret = gen_pool_add(heap->pool, rmem->base, rmem->size, -1);
	if (ret)
		return ret;
	if (gen_pool_alloc(heap->pool, rmem->size) != rmem->base)
		return -ENOMEM;

	for (off = 0; off < rmem->size; off += d->len) {
		d = kmalloc(sizeof(*d), GFP_KERNEL);
		if (!d)
			return -ENOMEM;
		d->paddr = rmem->base + off;
		d->len = min_t(phys_addr_t, rmem->size - off, DTHEAP_ZERO_CHUNK);
		list_add_tail(&d->list, &heap->dirty);
		heap->dirty_bytes += d->len;
	}

	return 0;
}

static int dtheap_carveout_setup(struct dtheap_heap *heap,
				 struct device *parent, int idx)
{
	struct reserved_mem *rmem = heap->rmem;
	int ret;

	INIT_LIST_HEAD(&heap->dirty);
	spin_lock_init(&heap->dirty_lock);
	mutex_init(&heap->zero_lock);
	kthread_init_work(&heap->zero_work, dtheap_carveout_zero_work);

	heap->pool = gen_pool_create(PAGE_SHIFT, -1);
	if (!heap->pool)
		return -ENOMEM;

	/* Unmapped heaps are never zeroed: the CPU must not touch them. */
	if (heap->desc->kind == DTHEAP_KIND_UNMAPPED)
		return gen_pool_add(heap->pool, rmem->base, rmem->size, -1);

	dtheap_carveout_map_region(heap);
	ret = dtheap_carveout_start_worker(heap);
	if (ret)
		goto unmap;
	/*
	 * The region holds whatever was there before boot. The gen_pool must
	 * hold zeroed memory only, so the whole region starts dirty, taken
	 * from the gen_pool in pieces the worker zeroes and gives back.
	 */
	ret = dtheap_carveout_add_dirty_region(heap);
	if (ret)
		goto stop_worker;
	kthread_queue_work(heap->zero_worker, &heap->zero_work);

	return 0;

stop_worker:
	kthread_destroy_worker(heap->zero_worker);
	heap->zero_worker = NULL;
	dtheap_carveout_drop_dirty(heap);
unmap:
	if (heap->region_vaddr) {
		memunmap(heap->region_vaddr);
		heap->region_vaddr = NULL;
	}
	gen_pool_destroy(heap->pool);
	heap->pool = NULL;
	return ret;
}

/* Only on a probe error path: nothing was allocated or freed yet. */
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
	gen_pool_destroy(heap->pool);
	heap->pool = NULL;
}

/**
 * dtheap_carveout_alloc() - take a buffer of zeroed memory
 * @heap: a carveout or unmapped heap
 * @buf: the buffer, with @buf->len set
 *
 * Takes zeroed memory from the gen_pool. When it cannot serve @buf->len,
 * zeroes dirty ranges here, one at a time, and retries after each; taking
 * @heap->zero_lock also waits for a range the worker is zeroing, so a
 * request fails only when every free byte of the heap has been tried.
 *
 * Return: 0, or -ENOMEM.
 */
static int dtheap_carveout_alloc(struct dtheap_heap *heap,
				 struct dtheap_buffer *buf)
{
	unsigned long addr;

	for (;;) {
		addr = gen_pool_alloc(heap->pool, buf->len);
		if (addr)
			break;
		if (heap->desc->kind == DTHEAP_KIND_UNMAPPED)
			return -ENOMEM;
		if (!dtheap_carveout_clean_one(heap)) {
			/* Nothing dirty left; one last try after others' frees. */
			addr = gen_pool_alloc(heap->pool, buf->len);
			if (!addr)
				return -ENOMEM;
			break;
		}
	}
	buf->paddr = addr;

	return 0;
}

/**
 * dtheap_carveout_free() - give a buffer back
 * @heap: a carveout or unmapped heap
 * @buf: the buffer
 *
 * Unmapped memory goes straight back. Carveout memory goes on the dirty
 * list for the worker; if there is no memory for the list entry, it is
 * zeroed here instead, and if even that fails it is leaked rather than
 * handed out unzeroed.
 */
static void dtheap_carveout_free(struct dtheap_heap *heap,
				 struct dtheap_buffer *buf)
{
	struct dtheap_dirty *d;

	if (heap->desc->kind == DTHEAP_KIND_UNMAPPED) {
		gen_pool_free(heap->pool, buf->paddr, buf->len);
		return;
	}

	d = kmalloc(sizeof(*d), GFP_KERNEL);
	if (!d) {
		if (dtheap_carveout_zero_range(heap, buf->paddr, buf->len)) {
			pr_err("heap %s: cannot zero a freed buffer, 0x%zx bytes lost\n",
			       heap->desc->name, buf->len);
			return;
		}
		gen_pool_free(heap->pool, buf->paddr, buf->len);
		return;
	}
	d->paddr = buf->paddr;
	d->len = buf->len;
	spin_lock(&heap->dirty_lock);
	list_add_tail(&d->list, &heap->dirty);
	heap->dirty_bytes += d->len;
	spin_unlock(&heap->dirty_lock);
	kthread_queue_work(heap->zero_worker, &heap->zero_work);
}

/* Shared by carveout and unmapped heaps: they differ in the common code only. */
const struct dtheap_backend dtheap_carveout_backend = {
	.setup = dtheap_carveout_setup,
	.teardown = dtheap_carveout_teardown,
	.alloc = dtheap_carveout_alloc,
	.free = dtheap_carveout_free,
};
