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
#define HEAPIO_PROG "zerotest"
#include "../common/heapio.h"

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

static void run(const char *name, const char *path, int heap)
{
	result(name, "cross-process", cross_process(name, heap));
	result(name, "churn", churn(name, heap, 1500, 1, 0x77));
	result(name, "exhaustion", exhaustion(name, heap));
	result(name, "race", race(name, path, churn, 600));
	printf("zerotest: %s at the end: zeroed %llu dirty %llu\n", name,
	       debugfs_value(name, "zeroed"), debugfs_value(name, "dirty"));
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for_each_heap(getenv("ZEROTEST_HEAPS"), "dsp,frames", run);
	return heapio_end();
}
