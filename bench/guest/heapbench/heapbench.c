// SPDX-License-Identifier: GPL-2.0
/*
 * heapbench: DMA-BUF heap benchmark for the dtheap guest (make bench-e2e).
 *
 * For every heap in /dev/dma_heap (the kernel's own "system" and default
 * CMA heap as well as dtheap's) and for 4 KiB, 64 KiB, 1 MiB and 8 MiB it
 * measures, with CLOCK_MONOTONIC around each single operation:
 *   alloc       DMA_HEAP_IOCTL_ALLOC + close() of the dma-buf fd
 *   mmap_touch  mmap() of a fresh buffer + one write per page (munmap and
 *               the allocation itself are not timed); heaps that refuse
 *               mmap (dtheap's unmapped heaps: EPERM) are reported skipped
 *   memset      memset(0) of an already faulted-in malloc'd buffer of the
 *               same size: the user-space floor for handing out zeroed memory
 *   cma_raw     for heaps over a CMA area (the kernel's and dtheap's cma
 *               heaps): cma_alloc + cma_release of the same page count on
 *               that area through CMA debugfs (<area>/alloc and free), no
 *               heap code at all, so heap overhead and area behaviour can
 *               be told apart (debugfs allocates with alignment 0, the
 *               heaps with min(order, CONFIG_CMA_ALIGNMENT))
 * and the two regimes of a heap that zeroes memory ahead of time (issue 14):
 *   alloc_paced     alloc + close like alloc, but each sample after an
 *                   untimed sleep of HEAPBENCH_PACE_US (default 5000 us), as
 *                   a pipeline at frame rate leaves the CPU idle between
 *                   buffers: a zeroing worker can run, so zeroed memory is
 *                   available. After the sleep, an untimed alloc + close of
 *                   one page on the same heap: under QEMU's TCG the first
 *                   run of a code path after any gap (a sleep or a busy
 *                   wait alike) costs 40 to 400 us more, the host's caches
 *                   having lost its translated code, which would drown the
 *                   difference measured. Only the same operation warms all
 *                   of it (a page held across the sample left 100 us on
 *                   every heap; with a page freed on another heap as well,
 *                   40 us of a carveout's own free path). The page it frees
 *                   is dirty when the sample runs,
 *                   as in a pipeline that frees a small buffer just before
 *                   allocating a frame. Every heap, and memset
 *                   (memset_paced, its warm-up a one-page memset), is paced
 *                   the same way.
 *   alloc_exhausted only heaps that zero ahead of time (dtheap debugfs has a
 *                   "dirty" file): the pool filled with buffers of the size
 *                   until ENOMEM, one freed (its memory is dirty, the only
 *                   free memory), then alloc + close in a tight loop: no
 *                   zeroed memory exists, each allocation zeroes what it
 *                   gets unless the worker got there first. For every other
 *                   heap this regime is the plain alloc loop (they never
 *                   zero ahead).
 *   memset_exhausted a memset(0) of a faulted-in buffer of the size after
 *                   each alloc_exhausted sample, reported under the heap's
 *                   name: the floor measured at the same moments, with the
 *                   same disturbance between samples.
 * For both, a REGIME line counts the samples before which the heap's
 * debugfs showed at least the size zeroed (untimed read).
 * and, for every heap backed by a fixed pool (dtheap heaps, the kernel's
 * CMA heap; not "system"), a seeded random alloc/free workload after which
 * the largest single allocation that still succeeds (binary search over
 * page counts) is compared with the free bytes the pool reports.
 *
 * The measurements are interleaved: each round runs every size on every
 * heap once, so drift of a shared machine (or of QEMU's emulation) hits all
 * heaps alike. Medians and p90 (nearest rank) are over all samples of all
 * rounds.
 *
 * Output: machine-readable lines, parsed by bench/guest (Go):
 *   BENCH-BEGIN version=2 rounds=R seed=S page=4096 heaps=H pace_us=US
 *   HEAP name=N provider=kernel|dtheap kind=system|cma|carveout|unmapped|other
 *   BENCH heap=N size=B op=alloc|mmap_touch|memset|cma_raw|alloc_paced|
 *         memset_paced|alloc_exhausted|memset_exhausted median_ns=.. p90_ns=..
 *         n=.. mibps=..
 *   REGIME heap=N size=B op=alloc_paced|alloc_exhausted zeroed_ready=K n=..
 *         (K of the n samples found the size zeroed in debugfs beforehand)
 *   SKIP heap=N size=B op=mmap_touch reason=EPERM
 *   MIGRATE heap=N pages=P   pages migrated (pgmigrate_success) during its allocs
 *   FRAG heap=N pool_bytes=.. free_bytes=.. largest_bytes=.. live=.. live_bytes=..
 *        cap_bytes=.. ops=.. failed=..
 *   FRAG heap=system na=no-pool
 *   BENCH-END status=ok|fail errors=E
 * then a human-readable table. Heap names never contain spaces.
 *
 * Usage: heapbench [--dir DIR] [--rounds N] [--seed S] [--pace-us US] [--quick]
 * The environment gives defaults the arguments override: HEAPBENCH_ROUNDS=N
 * HEAPBENCH_SEED=S HEAPBENCH_PACE_US=US (0: no paced samples)
 * HEAPBENCH_QUICK=1. As PID 1 (exec'd by dtheap-check through dtheap.then=)
 * that is the only way in: the kernel passes unknown
 * command-line words to init as environment variables. As PID 1 it powers
 * off at the end, since PID 1 must not exit. Exit status: 0 ok, 1 a measurement
 * failed, 2 usage error or no heap directory.
 *
 * Build: aarch64-linux-gnu-gcc -static -O2 -Wall -I<hdr>/include
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/dma-heap.h>
#include <linux/reboot.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define MAX_HEAPS 32
#define NAME_LEN 128
#define KiB 1024UL
#define MiB (1024UL * KiB)
#define DTHEAP_DEBUGFS "/sys/kernel/debug/dtheap"
#define CMA_DEBUGFS "/sys/kernel/debug/cma"

static const size_t sizes[] = { 4 * KiB, 64 * KiB, 1 * MiB, 8 * MiB };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))
/* Samples per round and size for alloc; mmap_touch and memset take fewer. */
static const int alloc_iters[NSIZES] = { 100, 50, 20, 6 };
static const int touch_iters[NSIZES] = { 40, 20, 8, 3 };
static const int memset_iters[NSIZES] = { 100, 50, 20, 6 };
/* Paced samples cost a sleep each: fewer of them. */
static const int paced_iters[NSIZES] = { 20, 20, 10, 4 };

enum op {
	OP_ALLOC, OP_TOUCH, OP_MEMSET, OP_CMA_RAW, OP_PACED, OP_MEMSET_PACED, OP_EXHAUSTED,
	OP_MEMSET_EXHAUSTED, NOPS
};
static const char *const op_names[NOPS] = {
	"alloc", "mmap_touch", "memset", "cma_raw", "alloc_paced", "memset_paced", "alloc_exhausted",
	"memset_exhausted"
};

struct samples {
	uint64_t *v;
	size_t n, cap;
};

struct heap {
	char name[NAME_LEN];
	char provider[16];
	char kind[16];
	int fd;			/* the heap's device, open for the whole run */
	int no_mmap;		/* errno of the refused mmap, 0 if it maps */
	uint64_t migrated;	/* pages the kernel migrated during timed allocs */
	int cma_alloc_fd;	/* CMA debugfs alloc/free of the heap's own area, */
	int cma_free_fd;	/* or -1 when the heap has none */
	int prezeroes;		/* zeroes ahead of time (debugfs "dirty" exists) */
	struct samples s[NOPS][NSIZES];
	/* samples of OP_PACED / OP_EXHAUSTED that found the size zeroed ahead */
	int ready[NOPS][NSIZES];
};

static struct heap heaps[MAX_HEAPS];
static int nheaps;
static struct samples memset_samples[NSIZES];
static struct samples memset_paced_samples[NSIZES];
static long pace_us = 5000;
static const char *heap_dir = "/dev/dma_heap";
static int rounds = 5, quick;
static uint64_t seed = 1;
static long page_size;
static int errors;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void add_sample(struct samples *s, uint64_t v)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v) {
			perror("heapbench: realloc");
			exit(2);
		}
	}
	s->v[s->n++] = v;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile (p in 1..100) of the samples; sorts them. */
static uint64_t percentile(struct samples *s, int p)
{
	size_t rank;

	if (!s->n)
		return 0;
	qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
	rank = (s->n * p + 99) / 100;
	return s->v[rank ? rank - 1 : 0];
}

/* xorshift64*: the same seed gives the same workload on every boot and heap. */
static uint64_t rnd(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 2685821657736338717ULL;
}

/* Reads a small sysfs or debugfs file into buf, NUL-terminated. */
static int read_small(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return 0;
}

static int read_u64(const char *path, uint64_t *v)
{
	char buf[64];

	if (read_small(path, buf, sizeof(buf)))
		return -1;
	*v = strtoull(buf, NULL, 0);
	return 0;
}

/* The first word of the file, cut to fit out. */
static int read_word(const char *path, char *out, size_t len)
{
	char buf[64];
	size_t n;

	if (read_small(path, buf, sizeof(buf)))
		return -1;
	n = strcspn(buf, " \n");
	if (n >= len)
		n = len - 1;
	memcpy(out, buf, n);
	out[n] = 0;
	return 0;
}

/*
 * pgmigrate_success from /proc/vmstat: pages the kernel moved, which is
 * what a CMA allocation pays when movable pages sit in its range. 0 when
 * unreadable (no /proc, or a kernel without CONFIG_MIGRATION).
 */
static uint64_t migrated_pages(void)
{
	static char buf[16384];
	const char *key = "\npgmigrate_success ";
	ssize_t n;
	char *p;
	int fd = open("/proc/vmstat", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	buf[0] = '\n';
	n = read(fd, buf + 1, sizeof(buf) - 2);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n + 1] = 0;
	p = strstr(buf, key);
	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

/* Allocate len bytes; returns the dma-buf fd or -errno. */
static int heap_alloc(struct heap *h, size_t len)
{
	struct dma_heap_allocation_data data = {
		.len = len,
		.fd_flags = O_RDWR | O_CLOEXEC,
	};

	if (ioctl(h->fd, DMA_HEAP_IOCTL_ALLOC, &data) < 0)
		return -errno;
	return data.fd;
}

/*
 * Pool size and free bytes, as the pool itself counts them: dtheap's
 * debugfs (size, used) or the kernel's CMA debugfs (count, used in pages).
 * Returns -1 for heaps without a pool of their own (system).
 */
static int pool_state(const struct heap *h, uint64_t *size, uint64_t *free_b)
{
	char path[256];
	uint64_t used;

	if (!strcmp(h->provider, "dtheap")) {
		snprintf(path, sizeof(path), DTHEAP_DEBUGFS "/%s/size", h->name);
		if (read_u64(path, size))
			return -1;
		snprintf(path, sizeof(path), DTHEAP_DEBUGFS "/%s/used", h->name);
		if (read_u64(path, &used))
			return -1;
	} else if (!strcmp(h->kind, "cma")) {
		snprintf(path, sizeof(path), CMA_DEBUGFS "/%s/count", h->name);
		if (read_u64(path, size))
			return -1;
		snprintf(path, sizeof(path), CMA_DEBUGFS "/%s/used", h->name);
		if (read_u64(path, &used))
			return -1;
		*size *= page_size;
		used *= page_size;
	} else {
		return -1;
	}
	*free_b = used < *size ? *size - used : 0;
	return 0;
}

/* The CMA debugfs files of the heap's own CMA area, if it has one. */
static void open_cma_area(struct heap *h)
{
	char path[320], area[NAME_LEN];

	h->cma_alloc_fd = h->cma_free_fd = -1;
	if (strcmp(h->kind, "cma"))
		return;
	snprintf(area, sizeof(area), "%s", h->name);
	if (!strcmp(h->provider, "dtheap")) {
		snprintf(path, sizeof(path), DTHEAP_DEBUGFS "/%s/region", h->name);
		if (read_word(path, area, sizeof(area)))
			return;
	}
	snprintf(path, sizeof(path), CMA_DEBUGFS "/%s/alloc", area);
	h->cma_alloc_fd = open(path, O_WRONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), CMA_DEBUGFS "/%s/free", area);
	h->cma_free_fd = open(path, O_WRONLY | O_CLOEXEC);
	if (h->cma_alloc_fd < 0 || h->cma_free_fd < 0) {
		if (h->cma_alloc_fd >= 0)
			close(h->cma_alloc_fd);
		if (h->cma_free_fd >= 0)
			close(h->cma_free_fd);
		h->cma_alloc_fd = h->cma_free_fd = -1;
	}
}

static void classify(struct heap *h)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), DTHEAP_DEBUGFS "/%s/kind", h->name);
	if (!read_word(path, h->kind, sizeof(h->kind))) {
		snprintf(h->provider, sizeof(h->provider), "dtheap");
		snprintf(path, sizeof(path), DTHEAP_DEBUGFS "/%s/dirty", h->name);
		h->prezeroes = !stat(path, &st);
		return;
	}
	snprintf(h->provider, sizeof(h->provider), "kernel");
	snprintf(path, sizeof(path), CMA_DEBUGFS "/%s", h->name);
	if (!strcmp(h->name, "system"))
		snprintf(h->kind, sizeof(h->kind), "system");
	else if (!stat(path, &st))
		snprintf(h->kind, sizeof(h->kind), "cma");
	else
		snprintf(h->kind, sizeof(h->kind), "other");
}

static int cmp_heap(const void *a, const void *b)
{
	const struct heap *x = a, *y = b;

	/* kernel heaps first, then by name */
	if (strcmp(x->provider, y->provider))
		return -strcmp(x->provider, y->provider);
	return strcmp(x->name, y->name);
}

static int open_heaps(void)
{
	char path[512];
	struct dirent *de;
	DIR *d = opendir(heap_dir);

	if (!d) {
		fprintf(stderr, "heapbench: %s: %s\n", heap_dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) && nheaps < MAX_HEAPS) {
		struct heap *h = &heaps[nheaps];

		if (de->d_name[0] == '.' || strlen(de->d_name) >= NAME_LEN)
			continue;
		snprintf(path, sizeof(path), "%s/%s", heap_dir, de->d_name);
		h->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (h->fd < 0) {
			fprintf(stderr, "heapbench: %s: %s\n", path, strerror(errno));
			errors++;
			continue;
		}
		snprintf(h->name, sizeof(h->name), "%s", de->d_name);
		classify(h);
		open_cma_area(h);
		nheaps++;
	}
	closedir(d);
	qsort(heaps, nheaps, sizeof(heaps[0]), cmp_heap);
	return 0;
}

/*
 * One alloc + close of len bytes, timed into s. what ("", "paced ",
 * "exhausted ") names the measurement when the allocation fails: then it
 * is counted in errors and the result is -1.
 */
static int timed_alloc(struct heap *h, size_t len, struct samples *s, const char *what)
{
	uint64_t t0 = now_ns();
	int fd = heap_alloc(h, len);

	if (fd < 0) {
		fprintf(stderr, "heapbench: %s: %salloc %zu: %s\n", h->name, what, len, strerror(-fd));
		errors++;
		return -1;
	}
	close(fd);
	add_sample(s, now_ns() - t0);
	return 0;
}

/* One memset of len bytes of p to zero, timed into s. */
static void timed_memset(char *p, size_t len, struct samples *s)
{
	uint64_t t0 = now_ns();

	memset(p, 0, len);
	/* keep the compiler from dropping the memset */
	__asm__ volatile("" : : "r"(p) : "memory");
	add_sample(s, now_ns() - t0);
}

static void bench_alloc(struct heap *h, int si, int iters)
{
	uint64_t migrated = migrated_pages();
	int i;

	for (i = 0; i < iters; i++)
		if (timed_alloc(h, sizes[si], &h->s[OP_ALLOC][si], ""))
			return;
	h->migrated += migrated_pages() - migrated;
}

static void bench_touch(struct heap *h, int si, int iters)
{
	size_t len = sizes[si], off;
	volatile char *p;
	int i, fd;

	for (i = 0; i < iters && !h->no_mmap; i++) {
		uint64_t t0, t1;

		fd = heap_alloc(h, len);
		if (fd < 0) {
			fprintf(stderr, "heapbench: %s: alloc %zu: %s\n", h->name, len,
				strerror(-fd));
			errors++;
			return;
		}
		t0 = now_ns();
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			h->no_mmap = errno;
			close(fd);
			if (h->no_mmap != EPERM) {
				fprintf(stderr, "heapbench: %s: mmap: %s\n", h->name,
					strerror(h->no_mmap));
				errors++;
			}
			return;
		}
		for (off = 0; off < len; off += page_size)
			p[off] = 1;
		t1 = now_ns();
		munmap((void *)p, len);
		close(fd);
		add_sample(&h->s[OP_TOUCH][si], t1 - t0);
	}
}

static void bench_cma_raw(struct heap *h, int si, int iters)
{
	char count[32];
	int i, n;

	if (h->cma_alloc_fd < 0)
		return;
	n = snprintf(count, sizeof(count), "%zu", sizes[si] / page_size);
	for (i = 0; i < iters; i++) {
		uint64_t t0 = now_ns();

		if (write(h->cma_alloc_fd, count, n) != n) {
			fprintf(stderr, "heapbench: %s: CMA debugfs alloc %s pages: %s\n", h->name,
				count, strerror(errno));
			errors++;
			return;
		}
		if (write(h->cma_free_fd, count, n) != n) {
			fprintf(stderr, "heapbench: %s: CMA debugfs free %s pages: %s\n", h->name,
				count, strerror(errno));
			errors++;
			return;
		}
		add_sample(&h->s[OP_CMA_RAW][si], now_ns() - t0);
	}
}

/*
 * The memset floor: tight, or paced like bench_paced so the floor sees the
 * same idle gaps.
 */
static void bench_memset(int si, int iters, int paced)
{
	size_t len = sizes[si];
	char *p = aligned_alloc(page_size, len);
	int i;

	if (!p) {
		errors++;
		return;
	}
	memset(p, 1, len); /* fault it in: only the zeroing is timed */
	for (i = 0; i < iters && (!paced || pace_us > 0); i++) {
		if (paced) {
			usleep(pace_us);
			memset(p, 0, page_size);
			__asm__ volatile("" : : "r"(p) : "memory");
		}
		timed_memset(p, len, paced ? &memset_paced_samples[si] : &memset_samples[si]);
	}
	free(p);
}

/* Whether the heap's debugfs shows at least len bytes zeroed ahead of time. */
static int zeroed_ready(const struct heap *h, size_t len)
{
	char path[256];
	uint64_t v;

	if (!h->prezeroes)
		return 0;
	snprintf(path, sizeof(path), DTHEAP_DEBUGFS "/%s/zeroed", h->name);
	return !read_u64(path, &v) && v >= len;
}

/*
 * alloc + close after an untimed idle gap, as a pipeline at frame rate
 * leaves the CPU between buffers: what a heap that zeroes ahead of time
 * gives when zeroed memory is available.
 */
static void bench_paced(struct heap *h, int si, int iters)
{
	int i, fd;

	for (i = 0; i < iters && pace_us > 0; i++) {
		usleep(pace_us);
		h->ready[OP_PACED][si] += zeroed_ready(h, sizes[si]);
		fd = heap_alloc(h, page_size);
		if (fd >= 0)
			close(fd);
		if (timed_alloc(h, sizes[si], &h->s[OP_PACED][si], "paced "))
			return;
	}
}

/*
 * The pool full of buffers of this size but one, freed: its memory is dirty
 * and the only free memory, so no zeroed memory exists and every allocation
 * in the tight loop zeroes what it gets, unless the worker got there first
 * (counted in ready). Only heaps that zero ahead of time: for the others the
 * plain alloc loop is this regime.
 */
static void bench_exhausted(struct heap *h, int si, int iters)
{
	size_t len = sizes[si];
	int *fds, n = 0, max, i, fd = 0;
	uint64_t pool, free_b;
	char *p;

	if (!h->prezeroes || pool_state(h, &pool, &free_b))
		return;
	max = free_b / len + 1;
	fds = calloc(max, sizeof(*fds));
	p = aligned_alloc(page_size, len);
	if (!fds || !p) {
		errors++;
		free(fds);
		free(p);
		return;
	}
	memset(p, 1, len);
	while (n < max && (fd = heap_alloc(h, len)) >= 0)
		fds[n++] = fd;
	if (!n || fd != -ENOMEM) {
		/* EMFILE would leave zeroed memory behind: not this regime. */
		fprintf(stderr, "heapbench: %s: exhausted %zu: the fill ended after %d buffers with %s, not ENOMEM\n",
			h->name, len, n, fd < 0 ? strerror(-fd) : "no error");
		errors++;
		while (n > 0)
			close(fds[--n]);
		free(fds);
		free(p);
		return;
	}
	close(fds[--n]);
	for (i = 0; i < iters; i++) {
		h->ready[OP_EXHAUSTED][si] += zeroed_ready(h, len);
		if (timed_alloc(h, len, &h->s[OP_EXHAUSTED][si], "exhausted "))
			break;
		timed_memset(p, len, &h->s[OP_MEMSET_EXHAUSTED][si]);
	}
	while (n > 0)
		close(fds[--n]);
	free(fds);
	free(p);
}

struct live {
	int fd;
	size_t len;
};

/*
 * Seeded random alloc/free on a pool heap, keeping at most FRAG_CAP (or 60%
 * of the free bytes, if less) live; then the largest allocation that still
 * succeeds. Every heap starts from the same seed, so heaps with room for
 * the cap see the same sequence of requests.
 */
#define FRAG_CAP (16 * MiB)

static void fragmentation(struct heap *h)
{
	const int nops = quick ? 100 : 400;
	uint64_t pool, free0, free1, live_bytes = 0, cap, state = seed;
	uint64_t lo, hi, mid, largest;
	struct live *live;
	int i, nlive = 0, failed = 0, fd;

	if (pool_state(h, &pool, &free0)) {
		printf("FRAG heap=%s na=no-pool\n", h->name);
		return;
	}
	cap = free0 / 10 * 6;
	if (cap > FRAG_CAP)
		cap = FRAG_CAP;
	live = calloc(nops, sizeof(*live));
	if (!live) {
		errors++;
		return;
	}
	for (i = 0; i < nops; i++) {
		/* 1..2^10 pages (4 KiB .. 4 MiB), log-uniform-ish */
		uint64_t order = rnd(&state) % 10;
		uint64_t pages = (1ULL << order) + rnd(&state) % (1ULL << order);
		size_t len = pages * page_size;

		if (nlive && (rnd(&state) % 100 < 45 || live_bytes + len > cap)) {
			int k = rnd(&state) % nlive;

			close(live[k].fd);
			live_bytes -= live[k].len;
			live[k] = live[--nlive];
			continue;
		}
		fd = heap_alloc(h, len);
		if (fd < 0) {
			failed++;
			continue;
		}
		live[nlive].fd = fd;
		live[nlive].len = len;
		nlive++;
		live_bytes += len;
	}
	if (pool_state(h, &pool, &free1)) {
		errors++;
		free1 = 0;
	}
	/* largest page count that allocates, by binary search */
	lo = 0;
	hi = free1 / page_size;
	while (lo < hi) {
		mid = lo + (hi - lo + 1) / 2;
		fd = heap_alloc(h, mid * page_size);
		if (fd >= 0) {
			close(fd);
			lo = mid;
		} else {
			hi = mid - 1;
		}
	}
	largest = lo * page_size;
	printf("FRAG heap=%s pool_bytes=%llu free_bytes=%llu largest_bytes=%llu live=%d live_bytes=%llu cap_bytes=%llu ops=%d failed=%d\n",
	       h->name, (unsigned long long)pool, (unsigned long long)free1,
	       (unsigned long long)largest, nlive, (unsigned long long)live_bytes,
	       (unsigned long long)cap, nops, failed);
	while (nlive > 0)
		close(live[--nlive].fd);
	free(live);
}

static const char *errname(int e)
{
	static char buf[16];

	if (e == EPERM)
		return "EPERM";
	if (e == EINVAL)
		return "EINVAL";
	if (e == ENODEV)
		return "ENODEV";
	snprintf(buf, sizeof(buf), "errno-%d", e);
	return buf;
}

static double mibps(size_t len, uint64_t ns)
{
	return ns ? (double)len / MiB / ((double)ns / 1e9) : 0;
}

static void report_line(const char *heap, size_t len, enum op op, struct samples *s)
{
	uint64_t med, p90;

	if (!s->n)
		return;
	med = percentile(s, 50);
	p90 = percentile(s, 90);
	printf("BENCH heap=%s size=%zu op=%s median_ns=%llu p90_ns=%llu n=%zu mibps=%.1f\n",
	       heap, len, op_names[op], (unsigned long long)med, (unsigned long long)p90, s->n,
	       mibps(len, med));
}

static void report_regime(const struct heap *h, int si, enum op op)
{
	if (h->prezeroes && h->s[op][si].n)
		printf("REGIME heap=%s size=%zu op=%s zeroed_ready=%d n=%zu\n", h->name, sizes[si],
		       op_names[op], h->ready[op][si], h->s[op][si].n);
}

static void size_name(size_t len, char *buf, size_t n)
{
	if (len >= MiB)
		snprintf(buf, n, "%zu MiB", len / MiB);
	else
		snprintf(buf, n, "%zu KiB", len / KiB);
}

static void table(void)
{
	char sz[32];
	unsigned int si;
	int i;

	printf("\n%-16s %-8s %-7s %12s %12s %10s %14s\n", "heap", "kind", "size",
	       "alloc med us", "alloc p90 us", "MiB/s", "mmap+touch us");
	for (si = 0; si < NSIZES; si++) {
		size_name(sizes[si], sz, sizeof(sz));
		for (i = 0; i < nheaps; i++) {
			struct heap *h = &heaps[i];
			struct samples *a = &h->s[OP_ALLOC][si], *t = &h->s[OP_TOUCH][si];
			char touch[32];

			if (h->no_mmap)
				snprintf(touch, sizeof(touch), "(%s)", errname(h->no_mmap));
			else
				snprintf(touch, sizeof(touch), "%.1f", percentile(t, 50) / 1e3);
			printf("%-16s %-8s %-7s %12.1f %12.1f %10.1f %14s\n", h->name, h->kind, sz,
			       percentile(a, 50) / 1e3, percentile(a, 90) / 1e3,
			       mibps(sizes[si], percentile(a, 50)), touch);
		}
		printf("%-16s %-8s %-7s %12.1f %12.1f %10.1f %14s\n", "memset", "floor", sz,
		       percentile(&memset_samples[si], 50) / 1e3,
		       percentile(&memset_samples[si], 90) / 1e3,
		       mibps(sizes[si], percentile(&memset_samples[si], 50)), "-");
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: heapbench [--dir DIR] [--rounds N] [--seed S] [--pace-us US] [--quick]\n");
	return 2;
}

static int parse_args(int argc, char **argv)
{
	const char *e;
	int i;

	e = getenv("HEAPBENCH_ROUNDS");
	if (e)
		rounds = atoi(e);
	e = getenv("HEAPBENCH_SEED");
	if (e)
		seed = strtoull(e, NULL, 0);
	e = getenv("HEAPBENCH_QUICK");
	if (e)
		quick = atoi(e);
	e = getenv("HEAPBENCH_PACE_US");
	if (e)
		pace_us = atol(e);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			quick = 1;
		} else if (i + 1 < argc && !strcmp(argv[i], "--dir")) {
			heap_dir = argv[++i];
		} else if (i + 1 < argc && !strcmp(argv[i], "--rounds")) {
			rounds = atoi(argv[++i]);
		} else if (i + 1 < argc && !strcmp(argv[i], "--seed")) {
			seed = strtoull(argv[++i], NULL, 0);
		} else if (i + 1 < argc && !strcmp(argv[i], "--pace-us")) {
			pace_us = atol(argv[++i]);
		} else {
			return -1;
		}
	}
	if (rounds < 1 || rounds > 1000 || !seed || pace_us < 0 || pace_us > 1000000)
		return -1;
	return 0;
}

static int run(int argc, char **argv)
{
	struct rlimit rl;
	unsigned int si;
	int r, i, div;

	page_size = sysconf(_SC_PAGESIZE);
	if (parse_args(argc, argv))
		return usage();
	if (quick)
		rounds = 1;
	/* The exhausted regime fills a pool with 4 KiB buffers: one fd each. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < 65536) {
		rl.rlim_cur = rl.rlim_max = rl.rlim_max < 65536 ? 65536 : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl)) {
			getrlimit(RLIMIT_NOFILE, &rl);
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	if (open_heaps())
		return 2;
	printf("BENCH-BEGIN version=2 rounds=%d seed=%llu page=%ld heaps=%d pace_us=%ld\n", rounds,
	       (unsigned long long)seed, page_size, nheaps, pace_us);
	for (i = 0; i < nheaps; i++)
		printf("HEAP name=%s provider=%s kind=%s\n", heaps[i].name, heaps[i].provider,
		       heaps[i].kind);
	fflush(stdout);

	div = quick ? 10 : 1;
	for (r = 0; r < rounds; r++) {
		for (si = 0; si < NSIZES; si++) {
			bench_memset(si, (memset_iters[si] + div - 1) / div, 0);
			bench_memset(si, (paced_iters[si] + div - 1) / div, 1);
			for (i = 0; i < nheaps; i++) {
				bench_alloc(&heaps[i], si, (alloc_iters[si] + div - 1) / div);
				bench_touch(&heaps[i], si, (touch_iters[si] + div - 1) / div);
				bench_cma_raw(&heaps[i], si, (touch_iters[si] + div - 1) / div);
				bench_paced(&heaps[i], si, (paced_iters[si] + div - 1) / div);
				bench_exhausted(&heaps[i], si, (alloc_iters[si] + div - 1) / div);
			}
		}
		fprintf(stderr, "heapbench: round %d of %d done\n", r + 1, rounds);
	}

	for (si = 0; si < NSIZES; si++) {
		report_line("-", sizes[si], OP_MEMSET, &memset_samples[si]);
		report_line("-", sizes[si], OP_MEMSET_PACED, &memset_paced_samples[si]);
		for (i = 0; i < nheaps; i++) {
			struct heap *h = &heaps[i];

			report_line(h->name, sizes[si], OP_ALLOC, &h->s[OP_ALLOC][si]);
			if (h->no_mmap)
				printf("SKIP heap=%s size=%zu op=mmap_touch reason=%s\n", h->name,
				       sizes[si], errname(h->no_mmap));
			else
				report_line(h->name, sizes[si], OP_TOUCH, &h->s[OP_TOUCH][si]);
			report_line(h->name, sizes[si], OP_CMA_RAW, &h->s[OP_CMA_RAW][si]);
			report_line(h->name, sizes[si], OP_PACED, &h->s[OP_PACED][si]);
			report_line(h->name, sizes[si], OP_EXHAUSTED, &h->s[OP_EXHAUSTED][si]);
			report_line(h->name, sizes[si], OP_MEMSET_EXHAUSTED,
				    &h->s[OP_MEMSET_EXHAUSTED][si]);
			report_regime(h, si, OP_PACED);
			report_regime(h, si, OP_EXHAUSTED);
		}
	}
	for (i = 0; i < nheaps; i++)
		printf("MIGRATE heap=%s pages=%llu\n", heaps[i].name,
		       (unsigned long long)heaps[i].migrated);
	for (i = 0; i < nheaps; i++)
		fragmentation(&heaps[i]);
	printf("BENCH-END status=%s errors=%d\n", errors ? "fail" : "ok", errors);
	table();
	printf("heapbench: %s (%d heaps, %d rounds, %d errors)\n", errors ? "FAIL" : "done",
	       nheaps, rounds, errors);
	return errors ? 1 : 0;
}

int main(int argc, char **argv)
{
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = run(argc, argv);
	if (getpid() != 1)
		return ret;
	/* PID 1 (exec'd by dtheap-check): never exit, power off. */
	fflush(stdout);
	sync();
	reboot(LINUX_REBOOT_CMD_POWER_OFF);
	for (;;)
		pause();
}
