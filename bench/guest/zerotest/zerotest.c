// SPDX-License-Identifier: GPL-2.0
/*
 * zerotest: proves in the guest that a carveout heap never hands one user's
 * bytes to the next (issue 14), with its memory zeroed ahead of time by the
 * driver's worker. Run as PID 1 after dtheap-check (dtheap.then=); the heaps
 * come from ZEROTEST_HEAPS (comma-separated, default "dsp,frames").
 *
 * For each heap:
 *  cross-process  a child fills buffers with a pattern and exits; the parent's
 *                 next buffers must be zero
 *  churn          random sizes, every buffer checked, then dirtied, then freed
 *  exhaustion     fill the heap with dirty 1 MiB buffers until ENOMEM, free
 *                 them all (the worker is busy), fill it again at once
 *                 (served by zeroing in the allocating task) until ENOMEM;
 *                 then the whole pool in one buffer (it comes back whole)
 *  race           two processes allocate, check, dirty and free concurrently,
 *                 near exhaustion, so frees race allocations
 *
 * Prints "zerotest: PASS <heap> <test>" or "zerotest: FAIL ...", then
 * "zerotest: END status=ok|fail" and powers off.
 */
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

static int failures;

static int heap_alloc(int heap, size_t len)
{
	struct dma_heap_allocation_data d = { .len = len, .fd_flags = O_RDWR | O_CLOEXEC };

	if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d) < 0)
		return -errno;
	return (int)d.fd;
}

static unsigned long long debugfs_value(const char *heap, const char *file)
{
	char path[256];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/dtheap/%s/%s", heap, file);
	f = fopen(path, "r");
	if (!f)
		return ~0ULL;
	if (fscanf(f, "%llu", &v) != 1)
		v = ~0ULL;
	fclose(f);
	return v;
}

/* Maps buf, checks it is all zero, then fills it with pat. Returns 0 if zero. */
static int check_and_dirty(const char *name, const char *test, int fd, size_t len, unsigned char pat)
{
	uint64_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	size_t i, n = len / sizeof(*p);
	int bad = 0;

	if (p == MAP_FAILED) {
		printf("zerotest: FAIL %s %s: mmap: %s\n", name, test, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (p[i]) {
			printf("zerotest: FAIL %s %s: byte offset 0x%zx of a new 0x%zx-byte buffer holds 0x%016llx\n",
			       name, test, i * sizeof(*p), len, (unsigned long long)p[i]);
			bad = -1;
			break;
		}
	}
	memset(p, pat, len);
	munmap(p, len);
	return bad;
}

static size_t rand_size(unsigned int *seed)
{
	static const size_t sizes[] = { 4096, 8192, 65536, 262144, 1 << 20, 3 << 20 };

	return sizes[rand_r(seed) % (sizeof(sizes) / sizeof(sizes[0]))];
}

static void result(const char *name, const char *test, int bad)
{
	printf("zerotest: %s %s %s\n", bad ? "FAIL" : "PASS", name, test);
	if (bad)
		failures++;
}

static int cross_process(const char *name, int heap)
{
	int bad = 0, i, fd, status;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		for (i = 0; i < 16; i++) {
			fd = heap_alloc(heap, (size_t)(i % 4 + 1) << 20);
			if (fd < 0)
				_exit(2);
			/* The child's data: 0xa5 everywhere. */
			if (check_and_dirty(name, "cross-process(child)", fd, (size_t)(i % 4 + 1) << 20, 0xa5))
				_exit(1);
			close(fd);
		}
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	printf("zerotest: %s after the child: zeroed %llu dirty %llu\n", name,
	       debugfs_value(name, "zeroed"), debugfs_value(name, "dirty"));
	for (i = 0; i < 16; i++) {
		fd = heap_alloc(heap, (size_t)(i % 4 + 1) << 20);
		if (fd < 0)
			return -1;
		bad |= check_and_dirty(name, "cross-process", fd, (size_t)(i % 4 + 1) << 20, 0x5a);
		close(fd);
	}
	return bad;
}

static int churn(const char *name, int heap, int rounds, unsigned int seed, unsigned char pat)
{
	int live[8], i, k, bad = 0;
	size_t len[8];

	for (k = 0; k < 8; k++)
		live[k] = -1;
	for (i = 0; i < rounds && !bad; i++) {
		k = rand_r(&seed) % 8;
		if (live[k] >= 0) {
			close(live[k]);
			live[k] = -1;
			continue;
		}
		len[k] = rand_size(&seed);
		live[k] = heap_alloc(heap, len[k]);
		if (live[k] == -ENOMEM) {
			live[k] = -1;
			continue;
		}
		if (live[k] < 0)
			return -1;
		bad |= check_and_dirty(name, "churn", live[k], len[k], pat);
	}
	for (k = 0; k < 8; k++)
		if (live[k] >= 0)
			close(live[k]);
	return bad;
}

/*
 * Fills the empty heap with dirty 1 MiB buffers until ENOMEM: placement is
 * first fit whatever is dirty, so exactly size / 1 MiB must fit, and
 * debugfs must then show nothing free (zeroed + dirty = 0).
 */
static int fill(const char *name, const char *test, int heap, int *fds, int *n)
{
	unsigned long long size = debugfs_value(name, "size"), free_bytes;
	int fd, bad = 0;

	*n = 0;
	while (*n < 1024 && (fd = heap_alloc(heap, 1 << 20)) >= 0) {
		bad |= check_and_dirty(name, test, fd, 1 << 20, 0xc3 + *n);
		fds[(*n)++] = fd;
	}
	if (fd != -ENOMEM) {
		printf("zerotest: FAIL %s %s: the allocation that ended the fill answered %d, not ENOMEM\n",
		       name, test, fd);
		bad = -1;
	}
	free_bytes = debugfs_value(name, "zeroed") + debugfs_value(name, "dirty");
	printf("zerotest: %s %s: %d MiB in 1 MiB buffers, %llu bytes free\n",
	       name, test, *n, free_bytes);
	if (((unsigned long long)*n << 20) != size || free_bytes) {
		printf("zerotest: FAIL %s %s: %d MiB allocated + %llu free != %llu\n",
		       name, test, *n, free_bytes, size);
		bad = -1;
	}
	return bad;
}

static int exhaustion(const char *name, int heap)
{
	unsigned long long size = debugfs_value(name, "size");
	int fds[1024], n, i, fd, bad = 0;

	bad |= fill(name, "exhaustion(fill)", heap, fds, &n);
	for (i = 0; i < n; i++)
		close(fds[i]);
	printf("zerotest: %s all freed: zeroed %llu dirty %llu\n", name,
	       debugfs_value(name, "zeroed"), debugfs_value(name, "dirty"));
	/* At once, while the worker has everything just freed to zero. */
	bad |= fill(name, "exhaustion", heap, fds, &n);
	for (i = 0; i < n; i++)
		close(fds[i]);
	/* The whole pool in one buffer: a freed pool comes back whole. */
	fd = heap_alloc(heap, size);
	if (fd < 0) {
		printf("zerotest: FAIL %s exhaustion: the whole pool in one buffer: %s\n", name, strerror(-fd));
		return -1;
	}
	bad |= check_and_dirty(name, "exhaustion(whole pool)", fd, size, 0x99);
	close(fd);
	return bad;
}

static int race(const char *name, const char *path)
{
	pid_t pids[2];
	int i, status, bad = 0;

	for (i = 0; i < 2; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			int heap = open(path, O_RDONLY | O_CLOEXEC);

			_exit(heap < 0 || churn(name, heap, 600, 100 + i, 0x11 * (i + 1)) ? 1 : 0);
		}
	}
	for (i = 0; i < 2; i++)
		if (pids[i] < 0 || waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			bad = -1;
	return bad;
}

int main(void)
{
	const char *list = getenv("ZEROTEST_HEAPS");
	char buf[256], *name, *save;

	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(buf, sizeof(buf), "%s", list ? list : "dsp,frames");
	for (name = strtok_r(buf, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		char path[128];
		int heap;

		snprintf(path, sizeof(path), "/dev/dma_heap/%s", name);
		heap = open(path, O_RDONLY | O_CLOEXEC);
		if (heap < 0) {
			printf("zerotest: FAIL %s: open %s: %s\n", name, path, strerror(errno));
			failures++;
			continue;
		}
		result(name, "cross-process", cross_process(name, heap));
		result(name, "churn", churn(name, heap, 1500, 1, 0x77));
		result(name, "exhaustion", exhaustion(name, heap));
		result(name, "race", race(name, path));
		printf("zerotest: %s at the end: zeroed %llu dirty %llu\n", name,
		       debugfs_value(name, "zeroed"), debugfs_value(name, "dirty"));
		close(heap);
	}
	printf("zerotest: END status=%s\n", failures ? "fail" : "ok");
	sync();
	if (getpid() == 1)
		reboot(LINUX_REBOOT_CMD_POWER_OFF);
	return failures ? 1 : 0;
}
