// SPDX-License-Identifier: GPL-2.0
/*
 * dtheap: DMA-BUF heaps over devicetree reserved memory.
 *
 * One platform driver, bound through the "dtheap,dma-heaps" node, turns
 * each reserved-memory region that node lists into /dev/dma_heap/<name>:
 *
 *  - cma: a reusable shared-dma-pool, allocated through a child device that
 *    holds the pool as its CMA area;
 *  - carveout: a region managed by a gen_pool, CPU-mappable: cached (the
 *    region stays in the linear map, where cache maintenance works) or
 *    write-combined (the region is no-map);
 *  - unmapped: a no-map region that is handed to devices only, never
 *    mapped by the CPU (secure or firewalled memory).
 *
 * The heaps the module may register are fixed at build time by the
 * generated table in dtheap_board.c; each is checked against the live
 * region at probe and refused, alone, when they differ.
 *
 * A dma-heap cannot be removed, so the module is permanent and the device
 * cannot be unbound.
 */
#define pr_fmt(fmt) "dtheap: " fmt

#include <linux/debugfs.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/genalloc.h>
#include <linux/highmem.h>
#include <linux/iosys-map.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/of_reserved_mem.h>
#include <linux/platform_device.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "dtheap.h"
#define DTHEAP_COMPAT_IMPORTS
#include "dtheap_compat.h"
#include "dtheap_priv.h"

/**
 * struct dtheap_attachment - one device attached to a buffer
 * @dev: the attached device
 * @table: one-entry scatter list over the buffer
 * @list: entry in &dtheap_buffer.attachments
 * @mapped: true while the table is DMA-mapped for @dev; only mapped
 *	attachments get cache maintenance in begin/end_cpu_access
 */
struct dtheap_attachment {
	struct device *dev;
	struct sg_table table;
	struct list_head list;
	bool mapped;
};

static const char * const dtheap_kind_names[] = {
	[DTHEAP_KIND_CMA] = "cma",
	[DTHEAP_KIND_CARVEOUT] = "carveout",
	[DTHEAP_KIND_UNMAPPED] = "unmapped",
};

static const char * const dtheap_mapping_names[] = {
	[DTHEAP_MAP_CACHED] = "cached",
	[DTHEAP_MAP_WRITECOMBINE] = "writecombine",
	[DTHEAP_MAP_NONE] = "none",
};

static const char * const dtheap_stat_names[] = {
	[DTHEAP_STAT_REGION] = "region",
	[DTHEAP_STAT_KIND] = "kind",
	[DTHEAP_STAT_BASE] = "base",
	[DTHEAP_STAT_SIZE] = "size",
	[DTHEAP_STAT_USED] = "used",
	[DTHEAP_STAT_PEAK] = "peak",
	[DTHEAP_STAT_ALLOCATIONS] = "allocations",
	[DTHEAP_STAT_FAILURES] = "failures",
	[DTHEAP_STAT_ZEROED] = "zeroed",
	[DTHEAP_STAT_DIRTY] = "dirty",
};

static struct dentry *dtheap_debugfs_root;

static bool dtheap_desc_cached(const struct dtheap_heap_desc *desc)
{
	return desc->mapping == DTHEAP_MAP_CACHED;
}

static bool dtheap_heap_unmapped(const struct dtheap_heap *heap)
{
	return heap->desc->kind == DTHEAP_KIND_UNMAPPED;
}

/**
 * dtheap_heap_cpu_cached() - whether the CPU maps @heap's buffers cacheable
 * @heap: the heap
 *
 * Only such heaps need cache maintenance: write-combined buffers are never
 * in a CPU cache through our mappings, and unmapped ones are never touched.
 *
 * Return: true for a cached mapping.
 */
bool dtheap_heap_cpu_cached(const struct dtheap_heap *heap)
{
	return dtheap_desc_cached(heap->desc);
}

/**
 * dtheap_map_kernel() - map physically contiguous memory for the kernel
 * @heap: the heap the memory belongs to (gives the memory attributes)
 * @paddr: physical base, page aligned
 * @len: length, page aligned
 *
 * Return: the kernel address, or NULL. Undo with vunmap().
 */
void *dtheap_map_kernel(const struct dtheap_heap *heap, phys_addr_t paddr,
			size_t len)
{
	unsigned long pfn = PHYS_PFN(paddr);
	pgoff_t i, count = len >> PAGE_SHIFT;
	struct page **pages;
	pgprot_t prot;
	void *vaddr;

	pages = kvmalloc_array(count, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return NULL;
	for (i = 0; i < count; i++)
		pages[i] = pfn_to_page(pfn + i);

	prot = PAGE_KERNEL;
	if (!dtheap_heap_cpu_cached(heap))
		prot = pgprot_writecombine(prot);
	vaddr = vmap(pages, count, VM_MAP, prot);
	kvfree(pages);

	return vaddr;
}

/* DMA attributes for device mappings: no CPU cache maintenance unless cached. */
static unsigned long dtheap_dma_attrs(const struct dtheap_heap *heap)
{
	return dtheap_heap_cpu_cached(heap) ? 0 : DMA_ATTR_SKIP_CPU_SYNC;
}

static int dtheap_attach(struct dma_buf *dmabuf,
			 struct dma_buf_attachment *attachment)
{
	struct dtheap_buffer *buffer = dmabuf->priv;
	struct dtheap_attachment *a;
	int ret;

	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;

	ret = sg_alloc_table(&a->table, 1, GFP_KERNEL);
	if (ret) {
		kfree(a);
		return ret;
	}
	sg_set_page(a->table.sgl, pfn_to_page(PHYS_PFN(buffer->paddr)),
		    buffer->len, 0);

	a->dev = attachment->dev;
	INIT_LIST_HEAD(&a->list);
	a->mapped = false;
	attachment->priv = a;

	mutex_lock(&buffer->lock);
	list_add(&a->list, &buffer->attachments);
	mutex_unlock(&buffer->lock);

	return 0;
}

static void dtheap_detach(struct dma_buf *dmabuf,
			  struct dma_buf_attachment *attachment)
{
	struct dtheap_buffer *buffer = dmabuf->priv;
	struct dtheap_attachment *a = attachment->priv;

	mutex_lock(&buffer->lock);
	list_del(&a->list);
	mutex_unlock(&buffer->lock);

	sg_free_table(&a->table);
	kfree(a);
}

static struct sg_table *dtheap_map_dma_buf(struct dma_buf_attachment *attachment,
					   enum dma_data_direction direction)
{
	struct dtheap_buffer *buffer = attachment->dmabuf->priv;
	struct dtheap_attachment *a = attachment->priv;
	struct sg_table *table = &a->table;
	int ret;

	ret = dma_map_sgtable(attachment->dev, table, direction,
			      dtheap_dma_attrs(buffer->heap));
	if (ret)
		return ERR_PTR(ret);
	a->mapped = true;

	return table;
}

static void dtheap_unmap_dma_buf(struct dma_buf_attachment *attachment,
				 struct sg_table *table,
				 enum dma_data_direction direction)
{
	struct dtheap_buffer *buffer = attachment->dmabuf->priv;
	struct dtheap_attachment *a = attachment->priv;

	a->mapped = false;
	dma_unmap_sgtable(attachment->dev, table, direction,
			  dtheap_dma_attrs(buffer->heap));
}

static int dtheap_begin_cpu_access(struct dma_buf *dmabuf,
				   enum dma_data_direction direction)
{
	struct dtheap_buffer *buffer = dmabuf->priv;
	struct dtheap_attachment *a;

	if (dtheap_heap_unmapped(buffer->heap))
		return -EPERM;
	if (!dtheap_heap_cpu_cached(buffer->heap))
		return 0;

	mutex_lock(&buffer->lock);
	if (buffer->vmap_cnt)
		invalidate_kernel_vmap_range(buffer->vaddr, buffer->len);
	list_for_each_entry(a, &buffer->attachments, list) {
		if (!a->mapped)
			continue;
		dma_sync_sgtable_for_cpu(a->dev, &a->table, direction);
	}
	mutex_unlock(&buffer->lock);

	return 0;
}

static int dtheap_end_cpu_access(struct dma_buf *dmabuf,
				 enum dma_data_direction direction)
{
	struct dtheap_buffer *buffer = dmabuf->priv;
	struct dtheap_attachment *a;

	if (dtheap_heap_unmapped(buffer->heap))
		return -EPERM;
	if (!dtheap_heap_cpu_cached(buffer->heap))
		return 0;

	mutex_lock(&buffer->lock);
	if (buffer->vmap_cnt)
		flush_kernel_vmap_range(buffer->vaddr, buffer->len);
	list_for_each_entry(a, &buffer->attachments, list) {
		if (!a->mapped)
			continue;
		dma_sync_sgtable_for_device(a->dev, &a->table, direction);
	}
	mutex_unlock(&buffer->lock);

	return 0;
}

static int dtheap_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	struct dtheap_buffer *buffer = dmabuf->priv;
	unsigned long size = vma->vm_end - vma->vm_start;
	unsigned long pages = buffer->len >> PAGE_SHIFT;

	if (dtheap_heap_unmapped(buffer->heap))
		return -EPERM;
	if ((vma->vm_flags & (VM_SHARED | VM_MAYSHARE)) == 0)
		return -EINVAL;
	if (vma->vm_pgoff >= pages ||
	    (size >> PAGE_SHIFT) > pages - vma->vm_pgoff)
		return -EINVAL;

	if (!dtheap_heap_cpu_cached(buffer->heap))
		vma->vm_page_prot = pgprot_writecombine(vma->vm_page_prot);

	return remap_pfn_range(vma, vma->vm_start,
			       PHYS_PFN(buffer->paddr) + vma->vm_pgoff,
			       size, vma->vm_page_prot);
}

static int dtheap_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct dtheap_buffer *buffer = dmabuf->priv;
	void *vaddr;
	int ret = 0;

	if (dtheap_heap_unmapped(buffer->heap))
		return -EPERM;

	mutex_lock(&buffer->lock);
	if (buffer->vmap_cnt) {
		buffer->vmap_cnt++;
		iosys_map_set_vaddr(map, buffer->vaddr);
		goto out;
	}

	vaddr = dtheap_map_kernel(buffer->heap, buffer->paddr, buffer->len);
	if (!vaddr) {
		ret = -ENOMEM;
		goto out;
	}
	buffer->vaddr = vaddr;
	buffer->vmap_cnt++;
	iosys_map_set_vaddr(map, buffer->vaddr);
out:
	mutex_unlock(&buffer->lock);

	return ret;
}

static void dtheap_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct dtheap_buffer *buffer = dmabuf->priv;

	mutex_lock(&buffer->lock);
	if (buffer->vmap_cnt && !--buffer->vmap_cnt) {
		vunmap(buffer->vaddr);
		buffer->vaddr = NULL;
	}
	mutex_unlock(&buffer->lock);
	iosys_map_clear(map);
}

static void dtheap_stat_free(struct dtheap_heap *heap, size_t len)
{
	spin_lock(&heap->stat_lock);
	heap->used -= len;
	spin_unlock(&heap->stat_lock);
}

static void dtheap_release(struct dma_buf *dmabuf)
{
	struct dtheap_buffer *buffer = dmabuf->priv;
	struct dtheap_heap *heap = buffer->heap;

	if (buffer->vmap_cnt > 0) {
		pr_err("heap %s: buffer released while mapped in the kernel\n",
		       heap->desc->name);
		vunmap(buffer->vaddr);
		buffer->vaddr = NULL;
	}

	heap->backend->free(heap, buffer);
	dtheap_stat_free(heap, buffer->len);
	kfree(buffer);
}

static const struct dma_buf_ops dtheap_buf_ops = {
	.attach = dtheap_attach,
	.detach = dtheap_detach,
	.map_dma_buf = dtheap_map_dma_buf,
	.unmap_dma_buf = dtheap_unmap_dma_buf,
	.begin_cpu_access = dtheap_begin_cpu_access,
	.end_cpu_access = dtheap_end_cpu_access,
	.mmap = dtheap_mmap,
	.vmap = dtheap_vmap,
	.vunmap = dtheap_vunmap,
	.release = dtheap_release,
};

static void dtheap_stat_alloc(struct dtheap_heap *heap, size_t len, bool ok)
{
	spin_lock(&heap->stat_lock);
	if (ok) {
		heap->used += len;
		heap->peak = max(heap->peak, heap->used);
		heap->allocations++;
	} else {
		heap->failures++;
	}
	spin_unlock(&heap->stat_lock);
}

static struct dma_buf *dtheap_allocate(struct dma_heap *dma_heap,
				       unsigned long len,
				       DTHEAP_FD_FLAGS_T fd_flags,
				       DTHEAP_HEAP_FLAGS_T heap_flags)
{
	struct dtheap_heap *heap = dma_heap_get_drvdata(dma_heap);
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct dtheap_buffer *buffer;
	struct dma_buf *dmabuf;
	int ret;

	if (!len || len > heap->rmem->size) {
		ret = -ENOMEM;
		goto fail;
	}

	buffer = kzalloc(sizeof(*buffer), GFP_KERNEL);
	if (!buffer) {
		ret = -ENOMEM;
		goto fail;
	}
	INIT_LIST_HEAD(&buffer->attachments);
	mutex_init(&buffer->lock);
	buffer->heap = heap;
	buffer->len = PAGE_ALIGN(len);

	ret = heap->backend->alloc(heap, buffer);
	if (ret)
		goto free_buffer;

	exp_info.exp_name = dma_heap_get_name(dma_heap);
	exp_info.ops = &dtheap_buf_ops;
	exp_info.size = buffer->len;
	exp_info.flags = fd_flags;
	exp_info.priv = buffer;
	dmabuf = dma_buf_export(&exp_info);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto free_memory;
	}
	dtheap_stat_alloc(heap, buffer->len, true);

	return dmabuf;

free_memory:
	heap->backend->free(heap, buffer);
free_buffer:
	kfree(buffer);
fail:
	dtheap_stat_alloc(heap, 0, false);
	return ERR_PTR(ret);
}

static const struct dma_heap_ops dtheap_heap_ops = {
	.allocate = dtheap_allocate,
};

static int dtheap_stat_show(struct seq_file *s, void *unused)
{
	struct dtheap_stat_file *file = s->private;
	struct dtheap_heap *heap = file->heap;
	u64 value;

	switch (file->stat) {
	case DTHEAP_STAT_REGION:
		seq_printf(s, "%s\n", heap->desc->region);
		return 0;
	case DTHEAP_STAT_KIND:
		seq_printf(s, "%s\n", dtheap_kind_names[heap->desc->kind]);
		return 0;
	case DTHEAP_STAT_BASE:
		seq_printf(s, "0x%llx\n", (unsigned long long)heap->rmem->base);
		return 0;
	case DTHEAP_STAT_SIZE:
		seq_printf(s, "%llu\n", (unsigned long long)heap->rmem->size);
		return 0;
	case DTHEAP_STAT_ZEROED:
	case DTHEAP_STAT_DIRTY:
		/*
		 * Dirty pages are free pages, but an allocation holds its
		 * range before it unmarks it: never show a negative.
		 */
		raw_spin_lock(&heap->dirty_lock);
		value = heap->dirty_bytes;
		raw_spin_unlock(&heap->dirty_lock);
		if (file->stat == DTHEAP_STAT_ZEROED) {
			u64 avail = gen_pool_avail(heap->pool);

			value = avail > value ? avail - value : 0;
		}
		seq_printf(s, "%llu\n", value);
		return 0;
	default:
		break;
	}

	spin_lock(&heap->stat_lock);
	switch (file->stat) {
	case DTHEAP_STAT_USED:
		value = heap->used;
		break;
	case DTHEAP_STAT_PEAK:
		value = heap->peak;
		break;
	case DTHEAP_STAT_ALLOCATIONS:
		value = heap->allocations;
		break;
	default:
		value = heap->failures;
		break;
	}
	spin_unlock(&heap->stat_lock);
	seq_printf(s, "%llu\n", value);

	return 0;
}
DEFINE_SHOW_ATTRIBUTE(dtheap_stat);

static void dtheap_debugfs_add(struct dtheap_heap *heap)
{
	int i;

	heap->debugfs = debugfs_create_dir(heap->desc->name, dtheap_debugfs_root);
	for (i = 0; i < DTHEAP_STAT_NR; i++) {
		/* Only carveout heaps zero ahead of time. */
		if ((i == DTHEAP_STAT_ZEROED || i == DTHEAP_STAT_DIRTY) &&
		    heap->desc->kind != DTHEAP_KIND_CARVEOUT)
			continue;
		heap->files[i].heap = heap;
		heap->files[i].stat = i;
		debugfs_create_file(dtheap_stat_names[i], 0444, heap->debugfs,
				    &heap->files[i], &dtheap_stat_fops);
	}
}

/**
 * dtheap_check_region() - compare a live region with the generated table
 * @desc: what the module was generated for
 * @np: the heap node
 * @idx: index of the heap in the node's lists
 * @rmemp: set to the live region on success
 *
 * Logs the reason of a refusal in the "heap <name>: refused: <reason>"
 * format.
 *
 * Return: 0 if the heap may be registered, a negative error code otherwise.
 */
static int dtheap_check_region(const struct dtheap_heap_desc *desc,
			       struct device_node *np, int idx,
			       struct reserved_mem **rmemp)
{
	const char *kind = dtheap_kind_names[desc->kind];
	const char *mapping = dtheap_mapping_names[desc->mapping];
	struct device_node *region;
	struct reserved_mem *rmem;
	bool reusable, no_map;
	const char *str;
	int ret = -EINVAL;

	if (of_property_read_string_index(np, "dtheap,heap-kinds", idx, &str)) {
		pr_err("heap %s: refused: no entry %d in dtheap,heap-kinds of %pOF\n",
		       desc->name, idx, np);
		return -EINVAL;
	}
	if (strcmp(str, kind)) {
		pr_err("heap %s: refused: kind %s in the devicetree, module built for %s\n",
		       desc->name, str, kind);
		return -EINVAL;
	}
	if (of_property_read_string_index(np, "dtheap,heap-mappings", idx, &str)) {
		pr_err("heap %s: refused: no entry %d in dtheap,heap-mappings of %pOF\n",
		       desc->name, idx, np);
		return -EINVAL;
	}
	if (strcmp(str, mapping)) {
		pr_err("heap %s: refused: mapping %s in the devicetree, module built for %s\n",
		       desc->name, str, mapping);
		return -EINVAL;
	}

	region = of_parse_phandle(np, "memory-region", idx);
	if (!region) {
		pr_err("heap %s: refused: no memory-region entry %d in %pOF\n",
		       desc->name, idx, np);
		return -EINVAL;
	}
	if (strcmp(kbasename(region->full_name), desc->region)) {
		pr_err("heap %s: refused: memory-region %d is %pOF, module built for %s\n",
		       desc->name, idx, region, desc->region);
		goto out;
	}
	if (!of_device_is_available(region)) {
		pr_err("heap %s: refused: region %s is disabled\n",
		       desc->name, desc->region);
		goto out;
	}
	rmem = of_reserved_mem_lookup(region);
	if (!rmem) {
		pr_err("heap %s: refused: region %s was not reserved at boot (see the reserved-memory messages)\n",
		       desc->name, desc->region);
		goto out;
	}

	reusable = of_property_read_bool(region, "reusable");
	no_map = of_property_read_bool(region, "no-map");
	if (desc->kind == DTHEAP_KIND_CMA &&
	    (!reusable || !of_device_is_compatible(region, "shared-dma-pool"))) {
		pr_err("heap %s: refused: region %s is not a reusable shared-dma-pool, needed by kind cma\n",
		       desc->name, desc->region);
		goto out;
	}
	if (desc->kind != DTHEAP_KIND_CMA && reusable) {
		pr_err("heap %s: refused: region %s is reusable, which kind %s cannot be\n",
		       desc->name, desc->region, kind);
		goto out;
	}
	/*
	 * Cache maintenance for a non-coherent device goes through the linear
	 * map (arch_sync_dma_for_device() cleans phys_to_virt() of the buffer
	 * on arm64), and no-map memory is left out of it: a cached heap needs
	 * a region without no-map. Write-combined and unmapped heaps need
	 * no-map, or the linear map keeps a cacheable alias of their memory.
	 */
	if (dtheap_desc_cached(desc) && no_map) {
		pr_err("heap %s: refused: region %s is no-map, but a cached heap needs its memory in the linear map for cache maintenance\n",
		       desc->name, desc->region);
		goto out;
	}
	if (desc->kind != DTHEAP_KIND_CMA && !dtheap_desc_cached(desc) && !no_map) {
		pr_err("heap %s: refused: region %s is not no-map, needed by a %s heap (no cacheable alias in the linear map)\n",
		       desc->name, desc->region, mapping);
		goto out;
	}
	if ((u64)rmem->size != desc->size) {
		pr_err("heap %s: refused: region %s has size 0x%llx, module built for 0x%llx\n",
		       desc->name, desc->region, (unsigned long long)rmem->size,
		       (unsigned long long)desc->size);
		goto out;
	}
	if (desc->fixed && (u64)rmem->base != desc->base) {
		pr_err("heap %s: refused: region %s is at 0x%llx, module built for 0x%llx\n",
		       desc->name, desc->region, (unsigned long long)rmem->base,
		       (unsigned long long)desc->base);
		goto out;
	}
	if (!rmem->base || !PAGE_ALIGNED(rmem->base) || !PAGE_ALIGNED(rmem->size)) {
		pr_err("heap %s: refused: region %s at 0x%llx size 0x%llx is not page aligned\n",
		       desc->name, desc->region, (unsigned long long)rmem->base,
		       (unsigned long long)rmem->size);
		goto out;
	}

	*rmemp = rmem;
	ret = 0;
out:
	of_node_put(region);
	return ret;
}

static const struct dtheap_backend *dtheap_backend_of(enum dtheap_kind kind)
{
	return kind == DTHEAP_KIND_CMA ? &dtheap_cma_backend :
					 &dtheap_carveout_backend;
}

static bool dtheap_desc_valid(const struct dtheap_heap_desc *desc)
{
	if (!desc->name || !desc->name[0] || !desc->region)
		return false;
	if (desc->kind > DTHEAP_KIND_UNMAPPED || desc->mapping > DTHEAP_MAP_NONE)
		return false;
	return (desc->kind == DTHEAP_KIND_UNMAPPED) ==
	       (desc->mapping == DTHEAP_MAP_NONE);
}

/**
 * dtheap_add_heap() - check, set up and register one heap
 * @pdev: the heap node's platform device
 * @desc: the generated description
 *
 * Return: 0 when the heap is registered (it is then permanent), a negative
 * error code when it was refused; everything is undone in that case.
 */
static int dtheap_add_heap(struct platform_device *pdev,
			   const struct dtheap_heap_desc *desc)
{
	struct device_node *np = pdev->dev.of_node;
	struct dma_heap_export_info exp_info;
	struct dtheap_heap *heap;
	struct reserved_mem *rmem;
	int idx, ret;

	if (!dtheap_desc_valid(desc)) {
		pr_err("heap %s: refused: invalid entry in the generated table\n",
		       desc->name ? desc->name : "(null)");
		return -EINVAL;
	}
	idx = of_property_match_string(np, "dtheap,heap-names", desc->name);
	if (idx < 0) {
		pr_err("heap %s: refused: not in dtheap,heap-names of %pOF\n",
		       desc->name, np);
		return -ENOENT;
	}

	ret = dtheap_check_region(desc, np, idx, &rmem);
	if (ret)
		return ret;

	heap = kzalloc(sizeof(*heap), GFP_KERNEL);
	if (!heap)
		return -ENOMEM;
	heap->desc = desc;
	heap->backend = dtheap_backend_of(desc->kind);
	heap->dev = &pdev->dev;
	heap->rmem = rmem;
	spin_lock_init(&heap->stat_lock);

	ret = heap->backend->setup(heap, &pdev->dev, idx);
	if (ret) {
		pr_err("heap %s: refused: cannot set up region %s: %d\n",
		       desc->name, desc->region, ret);
		goto free_heap;
	}

	exp_info.name = desc->name;
	exp_info.ops = &dtheap_heap_ops;
	exp_info.priv = heap;
	heap->heap = dma_heap_add(&exp_info);
	if (IS_ERR(heap->heap)) {
		ret = PTR_ERR(heap->heap);
		pr_err("heap %s: refused: dma_heap_add failed: %d\n",
		       desc->name, ret);
		goto teardown;
	}

	dtheap_debugfs_add(heap);
	pr_info("heap %s: %s on %s base 0x%llx size 0x%llx\n", desc->name,
		dtheap_kind_names[desc->kind], desc->region,
		(unsigned long long)rmem->base, (unsigned long long)rmem->size);

	return 0;

teardown:
	heap->backend->teardown(heap);
free_heap:
	kfree(heap);
	return ret;
}

static int dtheap_probe(struct platform_device *pdev)
{
	struct device_node *np = pdev->dev.of_node;
	unsigned int i, added = 0;
	int n, count;

	n = of_count_phandle_with_args(np, "memory-region", NULL);
	count = of_property_count_strings(np, "dtheap,heap-names");
	if (n < 0 || count != n)
		dev_warn(&pdev->dev, "%d memory-region entries but %d dtheap,heap-names\n",
			 n, count);

	/* A 64-bit mask: the carveouts may lie anywhere, cache maintenance only. */
	if (dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64)))
		dev_warn(&pdev->dev, "cannot set a 64-bit DMA mask\n");

	dtheap_debugfs_root = debugfs_create_dir("dtheap", NULL);

	for (i = 0; i < dtheap_board.nr_heaps; i++)
		if (!dtheap_add_heap(pdev, &dtheap_board.heaps[i]))
			added++;

	dev_info(&pdev->dev, "board %s: %u of %u heaps registered\n",
		 dtheap_board.name, added, dtheap_board.nr_heaps);
	if (!added) {
		debugfs_remove(dtheap_debugfs_root);
		dtheap_debugfs_root = NULL;
		return -ENODEV;
	}

	return 0;
}

static const struct of_device_id dtheap_of_match[] = {
	{ .compatible = "dtheap,dma-heaps" },
	{ /* sentinel */ }
};
MODULE_DEVICE_TABLE(of, dtheap_of_match);

static struct platform_driver dtheap_driver = {
	.probe = dtheap_probe,
	.driver = {
		.name = "dtheap",
		.of_match_table = dtheap_of_match,
		/* Registered heaps cannot be removed: never unbind. */
		.suppress_bind_attrs = true,
	},
};

/* No module_exit: a dma-heap cannot be removed, so the module is permanent. */
static int __init dtheap_init(void)
{
	return platform_driver_register(&dtheap_driver);
}
module_init(dtheap_init);

MODULE_DESCRIPTION("DMA-BUF heaps over devicetree reserved memory (dtheap)");
MODULE_LICENSE("GPL");
