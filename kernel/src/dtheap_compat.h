/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dtheap: every difference between kernel versions, in one place.
 *
 * 6.1 - 6.10: dma_heap_ops.allocate takes unsigned long fd_flags and
 *             heap_flags; the dma-buf namespace is a bare token.
 * 6.7:        shrinkers are allocated by shrinker_alloc() and registered
 *             with shrinker_register() (mm/shrinker.c); before, the caller
 *             embeds a struct shrinker and calls register_shrinker().
 * 6.11:       allocate takes u32 fd_flags and u64 heap_flags.
 * 6.13:       MODULE_IMPORT_NS() takes a quoted string.
 * 6.18:       dma_heap_add() and friends are exported, in namespace
 *             DMA_BUF_HEAP. Before that they are not exported at all: an
 *             out-of-tree build needs the kernel patch in kernel/patches,
 *             or the driver is built in (obj-y).
 */
#ifndef _DTHEAP_COMPAT_H
#define _DTHEAP_COMPAT_H

#include <linux/module.h>
#include <linux/types.h>
#include <linux/version.h>

/* Major and minor version as one number, comparable with DTHEAP_KV(). */
#define DTHEAP_KV(major, minor)	((major) * 256 + (minor))
#define DTHEAP_KV_BUILD		DTHEAP_KV(LINUX_VERSION_MAJOR, LINUX_VERSION_PATCHLEVEL)
/* True when building for kernel major.minor or later. */
#define DTHEAP_KV_AT_LEAST(major, minor)	\
	(DTHEAP_KV(major, minor) <= DTHEAP_KV_BUILD)

/* Types of the fd_flags and heap_flags arguments of dma_heap_ops.allocate. */
#if DTHEAP_KV_AT_LEAST(6, 11)
#define DTHEAP_FD_FLAGS_T	u32
#define DTHEAP_HEAP_FLAGS_T	u64
#else
#define DTHEAP_FD_FLAGS_T	unsigned long
#define DTHEAP_HEAP_FLAGS_T	unsigned long
#endif

/* The shrinker API: see above. */
#if DTHEAP_KV_AT_LEAST(6, 7)
#define DTHEAP_SHRINKER_ALLOC	1
#else
#define DTHEAP_SHRINKER_ALLOC	0
#endif

/*
 * Namespace imports, only where DTHEAP_COMPAT_IMPORTS is defined before
 * the include (dtheap_core.c), so that each modinfo tag appears once.
 */
#ifdef DTHEAP_COMPAT_IMPORTS
#if DTHEAP_KV_AT_LEAST(6, 13)
MODULE_IMPORT_NS("DMA_BUF");
#else
MODULE_IMPORT_NS(DMA_BUF);
#endif

#if DTHEAP_KV_AT_LEAST(6, 18)
MODULE_IMPORT_NS("DMA_BUF_HEAP");
#endif
#endif /* DTHEAP_COMPAT_IMPORTS */

#endif /* _DTHEAP_COMPAT_H */
