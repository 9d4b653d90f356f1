/* SPDX-License-Identifier: GPL-2.0 */
/*
 * heapio.h: what the guest heap tests (cmatest, zerotest) share: allocating
 * from a DMA heap, checking a new buffer is all zero before dirtying it,
 * two processes churning one heap at once, the loop over the heaps named in
 * an environment variable and the closing "END" line with the power-off.
 *
 * Header-only, included by path ("../common/heapio.h") so each test stays
 * one static binary built from one .c file. Define HEAPIO_PROG, the name
 * every line the helpers print starts with, before including it.
 */
#ifndef DTHEAP_BENCH_GUEST_HEAPIO_H
#define DTHEAP_BENCH_GUEST_HEAPIO_H

#ifndef HEAPIO_PROG
#error "define HEAPIO_PROG (the program's name, for its output) before including heapio.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <linux/dma-heap.h>
#include <linux/reboot.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <unistd.h>

/* Failed tests and heaps that would not open; END says fail if any. */
static int failures;

/* A new buffer of len bytes from the heap: its fd, or -errno. */
static inline int heap_alloc(int heap, size_t len)
{
	struct dma_heap_allocation_data d = { .len = len, .fd_flags = O_RDWR | O_CLOEXEC };

	if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d) < 0)
		return -errno;
	return (int)d.fd;
}

/* Maps buf, checks it is all zero, then fills it with pat. Returns 0 if zero. */
static inline int check_and_dirty(const char *name, const char *test, int fd, size_t len,
				  unsigned char pat)
{
	uint64_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	size_t i, n = len / sizeof(*p);
	int bad = 0;

	if (p == MAP_FAILED) {
		printf(HEAPIO_PROG ": FAIL %s %s: mmap: %s\n", name, test, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (p[i]) {
			printf(HEAPIO_PROG ": FAIL %s %s: byte offset 0x%zx of a new 0x%zx-byte buffer holds 0x%016llx\n",
			       name, test, i * sizeof(*p), len, (unsigned long long)p[i]);
			bad = -1;
			break;
		}
	}
	memset(p, pat, len);
	munmap(p, len);
	return bad;
}

/* One process's share of race(): rounds of churn on heap, seeded, dirtying with pat. */
typedef int (*heapio_churn_fn)(const char *name, int heap, int rounds, unsigned int seed,
			       unsigned char pat);

/*
 * Two processes, each with its own open of the heap, churn it at once with
 * different seeds and patterns, so frees race allocations. Nonzero if
 * either child failed.
 */
static inline int race(const char *name, const char *path, heapio_churn_fn churn, int rounds)
{
	pid_t pids[2];
	int i, status, bad = 0;

	for (i = 0; i < 2; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			int heap = open(path, O_RDONLY | O_CLOEXEC);

			_exit(heap < 0 || churn(name, heap, rounds, 100 + i, 0x11 * (i + 1)) ? 1 : 0);
		}
	}
	for (i = 0; i < 2; i++)
		if (pids[i] < 0 || waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			bad = -1;
	return bad;
}

/*
 * Runs run() on every heap of the comma-separated list (def when list is
 * NULL) that opens as /dev/dma_heap/<name>; a heap that does not open is a
 * failure, named.
 */
static inline void for_each_heap(const char *list, const char *def,
				 void (*run)(const char *name, const char *path, int heap))
{
	char buf[256], *name, *save;

	snprintf(buf, sizeof(buf), "%s", list ? list : def);
	for (name = strtok_r(buf, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		char path[128];
		int heap;

		snprintf(path, sizeof(path), "/dev/dma_heap/%s", name);
		heap = open(path, O_RDONLY | O_CLOEXEC);
		if (heap < 0) {
			printf(HEAPIO_PROG ": FAIL %s: open %s: %s\n", name, path, strerror(errno));
			failures++;
			continue;
		}
		run(name, path, heap);
		close(heap);
	}
}

/*
 * The closing line the e2e scripts wait for, then power off as PID 1 (the
 * boot ends there). Returns the exit status for a run as a plain command.
 */
static inline int heapio_end(void)
{
	printf(HEAPIO_PROG ": END status=%s\n", failures ? "fail" : "ok");
	sync();
	if (getpid() == 1)
		reboot(LINUX_REBOOT_CMD_POWER_OFF);
	return failures ? 1 : 0;
}

#endif /* DTHEAP_BENCH_GUEST_HEAPIO_H */
