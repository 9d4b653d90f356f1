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
 * zeroing worker clears them: it zeroes each dirty page and unmarks it in
 * one hold of the heap's dirty_lock, and never takes anything out of the
 * gen_pool. An allocation is placed by the gen_pool's first fit over all
 * free memory, exactly as if nothing were dirty and no worker existed, so a
 * pool packs as many buffers as before; the allocating task then unmarks
 * whatever pages of its range are still dirty and zeroes them. So an
 * allocation costs the gen_pool's bookkeeping alone when its memory was
 * zeroed ahead, and a memset of the dirty part otherwise. No byte of one
 * user can reach the next: a page is unmarked either by the worker in the
 * same hold of the lock that zeroes it, or by the one task that holds it
 * allocated and zeroes it before handing it out; the worker touches only
 * pages still marked.
 *
 * The worker is SCHED_IDLE and holds nothing an allocation waits for while
 * it can be preempted; see dtheap_carveout_zero_work().
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
#include <uapi/linux/sched/types.h>

#include "dtheap_priv.h"

/* Zero in pieces of this size, with a chance to reschedule in between. */
#define DTHEAP_ZERO_CHUNK	SZ_1M
/*
 * The worker zeroes at most this much per hold of the dirty_lock, with
 * preemption off: it bounds what an allocation on another CPU can spin for
 * and how long a task woken on this CPU waits for the worker to yield.
 */
#define DTHEAP_WORKER_CHUNK	SZ_64K

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
 * The caller must hold the range allocated in the gen_pool and zero the run
 * after this returns: once unmarked, the worker no longer touches it.
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

	raw_spin_lock(&heap->dirty_lock);
	start = find_next_bit(heap->dirty, end, first);
	if (start < end) {
		stop = find_next_zero_bit(heap->dirty, end, start);
		stop = min(stop, start + max);
		bitmap_clear(heap->dirty, start, stop - start);
		heap->dirty_bytes -= (u64)(stop - start) << PAGE_SHIFT;
		*run = stop - start;
	}
	raw_spin_unlock(&heap->dirty_lock);

	return start;
}

/* Puts pages back as dirty: they were freed, or could not be zeroed. */
static void dtheap_carveout_put_dirty(struct dtheap_heap *heap,
				      unsigned long start, unsigned long run)
{
	raw_spin_lock(&heap->dirty_lock);
	bitmap_set(heap->dirty, start, run);
	heap->dirty_bytes += (u64)run << PAGE_SHIFT;
	raw_spin_unlock(&heap->dirty_lock);
}

/**
 * dtheap_carveout_scrub() - zero and unmark the dirty pages of a window
 * @heap: a carveout heap
 * @vaddr: kernel address of page @first, mapped at least up to @end
 * @first: first page (index in the region) of the window
 * @end: page index just past the window
 *
 * Called with @heap->dirty_lock held. A page still marked is free, or
 * allocated to a task that has not yet looked at its marks and so has not
 * handed it out: zeroing it under the lock that its allocation must take
 * to see it unmarked is never seen by a user, and never overwrites one.
 */
static void dtheap_carveout_scrub(struct dtheap_heap *heap, void *vaddr,
				  unsigned long first, unsigned long end)
{
	unsigned long start, stop;

	lockdep_assert_held(&heap->dirty_lock);
	for (start = find_next_bit(heap->dirty, end, first); start < end;
	     start = find_next_bit(heap->dirty, end, stop)) {
		stop = find_next_zero_bit(heap->dirty, end, start);
		memset(vaddr + ((start - first) << PAGE_SHIFT), 0,
		       (stop - start) << PAGE_SHIFT);
		bitmap_clear(heap->dirty, start, stop - start);
		heap->dirty_bytes -= (u64)(stop - start) << PAGE_SHIFT;
	}
	if (!dtheap_heap_cpu_cached(heap)) {
		/*
		 * Write-combined zeroes must be in memory before another CPU
		 * sees the pages unmarked: the unlock's release orders them on
		 * arm64 and riscv, but not where write-combined stores can
		 * pass a plain store (x86).
		 */
		wmb();
	}
}

/**
 * dtheap_carveout_zero_work() - zero the free dirty pages of a heap
 * @work: &dtheap_heap.zero_work
 *
 * One pass over the bitmap, in windows of DTHEAP_WORKER_CHUNK. Each window
 * is zeroed and unmarked in one hold of @heap->dirty_lock, and the worker
 * holds nothing else: it never takes memory out of the gen_pool, so
 * allocations are placed, and fail, exactly as if it did not exist, and
 * they never wait on it for longer than one window.
 *
 * Why that bound holds although the worker is SCHED_IDLE (weight 3 against
 * 1024 for a nice-0 task, set_load_weight() in kernel/sched/core.c, so about
 * 0.3% of a CPU that normal tasks keep busy): __raw_spin_lock()
 * (include/linux/spinlock_api_smp.h) disables preemption, so once the worker
 * holds the lock it runs the window to its end whatever its weight; on a
 * CONFIG_PREEMPT_NONE kernel (the reference 6.1 and 6.12 builds) it can in
 * any case only be switched out at cond_resched(), which it calls with
 * nothing held. The mutex the worker used to hold across a run, and across a
 * cond_resched() in it, let it be switched out while holding it (anywhere on
 * a preemptible kernel: 7.3's reference build is PREEMPT_LAZY) and then wait
 * behind every normal task with an allocation blocked on it. @dirty_lock is
 * a raw spinlock because PREEMPT_RT makes a spinlock_t an rt_mutex, which
 * would be preemptible and would not boost the worker for a normal waiter
 * (__waiter_prio() in kernel/locking/rtmutex.c gives every non-RT waiter
 * DEFAULT_PRIO).
 *
 * Why SCHED_IDLE, so that zeroing happens only in time the CPU would
 * otherwise idle: a waking SCHED_IDLE task never preempts a normal one,
 * and a waking normal task always preempts a SCHED_IDLE one
 * (check_preempt_wakeup() on 6.1, check_preempt_wakeup_fair() on 6.12,
 * wakeup_preempt_fair() on 7.3, kernel/sched/fair.c), so on a busy CPU the
 * worker yields at the next cond_resched() after a window. On a
 * PREEMPT_LAZY kernel that preemption is lazy (resched_curr_lazy()) and
 * takes effect at the next tick (sched_tick() in kernel/sched/core.c), as
 * it would for any other kernel thread. At nice 19 (weight 15) the worker
 * was entitled to five times the share it has now.
 */
static void dtheap_carveout_zero_work(struct kthread_work *work)
{
	struct dtheap_heap *heap = container_of(work, struct dtheap_heap,
						zero_work);
	unsigned long pages = heap->rmem->size >> PAGE_SHIFT;
	unsigned long max = DTHEAP_WORKER_CHUNK >> PAGE_SHIFT;
	phys_addr_t base = heap->rmem->base;
	unsigned long first, end;
	void *vaddr;

	for (first = 0; first < pages; first = end) {
		raw_spin_lock(&heap->dirty_lock);
		first = find_next_bit(heap->dirty, pages, first);
		end = min(first + max, pages);
		if (first < pages && heap->region_vaddr)
			dtheap_carveout_scrub(heap, heap->region_vaddr +
					      (first << PAGE_SHIFT), first, end);
		raw_spin_unlock(&heap->dirty_lock);
		if (first >= pages)
			break;

		if (!heap->region_vaddr) {
			/* Mapping may sleep: map the window before the lock. */
			vaddr = dtheap_map_kernel(heap, base +
						  ((phys_addr_t)first << PAGE_SHIFT),
						  (end - first) << PAGE_SHIFT);
			if (!vaddr)
				break;
			raw_spin_lock(&heap->dirty_lock);
			dtheap_carveout_scrub(heap, vaddr, first, end);
			raw_spin_unlock(&heap->dirty_lock);
			vunmap(vaddr);
		}
		cond_resched();
	}
}

/**
 * dtheap_carveout_start_worker() - start the zeroing worker of a heap
 * @heap: a carveout heap
 *
 * SCHED_IDLE needs sched_setattr_nocheck() (EXPORT_SYMBOL_GPL in
 * kernel/sched/core.c on 6.1, kernel/sched/syscalls.c on 6.12 and 7.3):
 * sched_set_normal() only sets a nice level. See
 * dtheap_carveout_zero_work() for why the worker may be this weak.
 *
 * Return: 0, or a negative error code.
 */
static int dtheap_carveout_start_worker(struct dtheap_heap *heap)
{
	struct sched_attr attr = { .sched_policy = SCHED_IDLE };
	struct kthread_worker *worker;
	int ret;

	worker = kthread_create_worker(0, "dtheap-zero/%s", heap->desc->name);
	if (IS_ERR(worker))
		return PTR_ERR(worker);
	ret = sched_setattr_nocheck(worker->task, &attr);
	if (ret) {
		kthread_destroy_worker(worker);
		return ret;
	}
	heap->zero_worker = worker;

	return 0;
}

static int dtheap_carveout_setup(struct dtheap_heap *heap,
				 struct device *parent, int idx)
{
	struct reserved_mem *rmem = heap->rmem;
	unsigned long pages = rmem->size >> PAGE_SHIFT;
	int ret;

	raw_spin_lock_init(&heap->dirty_lock);
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

/*
 * Only on a probe error path, before any allocation. The region is given
 * up: its marks are dropped first, so that the worker ends its pass after
 * the window it is in instead of zeroing the rest at SCHED_IDLE while probe
 * waits for it.
 */
static void dtheap_carveout_teardown(struct dtheap_heap *heap)
{
	if (heap->zero_worker) {
		raw_spin_lock(&heap->dirty_lock);
		bitmap_zero(heap->dirty, heap->rmem->size >> PAGE_SHIFT);
		heap->dirty_bytes = 0;
		raw_spin_unlock(&heap->dirty_lock);
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
 * still dirty are unmarked and zeroed here. The range is allocated to this
 * task, so no free can mark it, and the worker zeroes only pages still
 * marked, under the lock that unmarks them: it is done with any page of
 * the range before this task sees the page unmarked.
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

	addr = gen_pool_alloc(heap->pool, buf->len);
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
