/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dtheap: driver internals shared by the core and the heap backends.
 */
#ifndef _DTHEAP_PRIV_H
#define _DTHEAP_PRIV_H

#include <linux/device.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/of_reserved_mem.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include "dtheap.h"

struct dentry;
struct dma_heap;
struct gen_pool;
struct page;
struct dtheap_heap;
struct dtheap_buffer;
struct dtheap_cma;
struct dtheap_cma_chunk;

/* The debugfs files of a heap, in /sys/kernel/debug/dtheap/<heap>/. */
enum dtheap_stat {
	DTHEAP_STAT_REGION,
	DTHEAP_STAT_KIND,
	DTHEAP_STAT_BASE,
	DTHEAP_STAT_SIZE,
	DTHEAP_STAT_USED,
	DTHEAP_STAT_PEAK,
	DTHEAP_STAT_ALLOCATIONS,
	DTHEAP_STAT_FAILURES,
	DTHEAP_STAT_ZEROED,
	DTHEAP_STAT_DIRTY,
	DTHEAP_STAT_NR,
};

/**
 * struct dtheap_stat_file - private data of one debugfs file
 * @heap: the heap shown
 * @stat: which value the file shows
 */
struct dtheap_stat_file {
	struct dtheap_heap *heap;
	enum dtheap_stat stat;
};

/**
 * struct dtheap_backend - what differs between the kinds of heap
 * @setup: claim the checked region for @heap; called once at probe
 * @teardown: undo @setup; only on a probe error path, since registered
 *	heaps are permanent
 * @alloc: take @buf->len bytes of physically contiguous memory from the
 *	region and set @buf->paddr; the memory is zeroed unless the heap is
 *	unmapped
 * @free: give @buf's memory back
 *
 * Everything else (dma-buf ops, mappings, statistics) is common code.
 */
struct dtheap_backend {
	int (*setup)(struct dtheap_heap *heap, struct device *parent, int idx);
	void (*teardown)(struct dtheap_heap *heap);
	int (*alloc)(struct dtheap_heap *heap, struct dtheap_buffer *buf);
	void (*free)(struct dtheap_heap *heap, struct dtheap_buffer *buf);
};

/**
 * struct dtheap_heap - one registered (or being registered) heap
 * @desc: the generated description the heap was checked against
 * @backend: the kind-specific operations
 * @heap: the dma-heap, once registered
 * @dev: device used for the DMA API cache maintenance of the region
 * @rmem: the live reserved-memory region
 * @pool: carveout and unmapped heaps: allocator over the region
 * @region_vaddr: carveout heaps: the whole region mapped for zeroing, with
 *	the heap's memory attributes (the linear map for a cached heap); NULL
 *	when each range is mapped on its own instead (and always for unmapped
 *	heaps)
 * @dirty: carveout heaps: bitmap of the region's pages, set for a page freed
 *	by a user and not zeroed since
 * @dirty_lock: protects @dirty and @dirty_bytes; the worker also holds it
 *	while it zeroes the pages it unmarks (at most 64 KiB), so it is raw:
 *	it must not become preemptible on PREEMPT_RT (dtheap_carveout.c)
 * @dirty_bytes: bytes marked in @dirty
 * @zero_worker: carveout heaps: the worker that zeroes @dirty (SCHED_IDLE,
 *	so it zeroes only in time the CPU would otherwise idle)
 * @zero_work: the worker's work item
 * @cma_dev: cma heaps: the child device that holds the pool as its cma_area
 * @cma: cma heaps: the chunks small buffers are carved from (dtheap_cma.c)
 * @stat_lock: protects @used, @peak, @allocations and @failures
 * @used: bytes in live buffers
 * @peak: highest @used seen
 * @allocations: buffers handed out since boot
 * @failures: allocations refused for lack of memory or mapping errors
 * @debugfs: this heap's debugfs directory
 * @files: private data of the debugfs files
 */
struct dtheap_heap {
	const struct dtheap_heap_desc *desc;
	const struct dtheap_backend *backend;
	struct dma_heap *heap;
	struct device *dev;
	struct reserved_mem *rmem;
	struct gen_pool *pool;
	void *region_vaddr;
	unsigned long *dirty;
	raw_spinlock_t dirty_lock; /* protects dirty, dirty_bytes */
	u64 dirty_bytes;
	struct kthread_worker *zero_worker;
	struct kthread_work zero_work;
	struct device *cma_dev;
	struct dtheap_cma *cma;
	spinlock_t stat_lock; /* protects the four counters below */
	u64 used;
	u64 peak;
	u64 allocations;
	u64 failures;
	struct dentry *debugfs;
	struct dtheap_stat_file files[DTHEAP_STAT_NR];
};

/**
 * struct dtheap_buffer - one allocated buffer (the dma-buf's private data)
 * @heap: the heap it came from
 * @attachments: list of &struct dtheap_attachment
 * @lock: protects @attachments, @vmap_cnt and @vaddr
 * @paddr: physical base; the buffer is physically contiguous
 * @len: length in bytes, page aligned
 * @pages: cma heaps: first page of the buffer
 * @dma_handle: cma heaps: DMA address of @pages for @heap->cma_dev
 * @chunk: cma heaps: the chunk the buffer was carved from, or NULL for a
 *	buffer of its own from dma_alloc_pages()
 * @vmap_cnt: kernel mappings outstanding
 * @vaddr: kernel mapping while @vmap_cnt > 0
 */
struct dtheap_buffer {
	struct dtheap_heap *heap;
	struct list_head attachments;
	struct mutex lock; /* protects attachments, vmap_cnt, vaddr */
	phys_addr_t paddr;
	size_t len;
	struct page *pages;
	dma_addr_t dma_handle;
	struct dtheap_cma_chunk *chunk;
	int vmap_cnt;
	void *vaddr;
};

extern const struct dtheap_backend dtheap_carveout_backend;
extern const struct dtheap_backend dtheap_cma_backend;

bool dtheap_heap_cpu_cached(const struct dtheap_heap *heap);
void *dtheap_map_kernel(const struct dtheap_heap *heap, phys_addr_t paddr,
			size_t len);

#endif /* _DTHEAP_PRIV_H */
