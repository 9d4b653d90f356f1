// SPDX-License-Identifier: GPL-2.0
/*
 * cmatest: proves in the guest that dtheap's CMA-pool heaps, which carve
 * small buffers from pool chunks they keep (issue 14), still pack a pool as
 * tightly as before, hand out zeroed memory, and give a freed pool back
 * whole for one large allocation. Run as PID 1 after dtheap-check
 * (dtheap.then=); the heaps come from CMATEST_HEAPS (comma-separated,
 * default "video@60000000,camera").
 *
 * For each heap:
 *  fill-64k       64 KiB buffers until ENOMEM: exactly size / 64 KiB fit (as
 *                 many as cma_alloc() fits), then one page more is refused;
 *                 free every other one, then all; then the whole pool in one
 *                 buffer
 *  fill-1m        the same with 1 MiB buffers
 *  mixed          seeded random sizes (4 KiB to 8 MiB, carved and not) with
 *                 random frees, until 64 allocations failed; free all in
 *                 random order; then the whole pool in one buffer
 *  cross-process  a child fills small buffers with a pattern and exits; the
 *                 parent's next buffers must be zero
 *  race           two processes allocate, check, dirty and free small
 *                 buffers concurrently
 *  shrinker       with the heap's warm empty chunk in place (the CMA area has
 *                 pages in use, no buffer is live), reclaim through
 *                 drop_caches gives it back to the pool (the heap's shrinker)
 * Every new buffer is checked to be all zero, then dirtied. The CMA area's
 * own count of used pages (CMA debugfs) is printed after each test: what
 * the heap holds with no buffer live.
 *
 * Prints "cmatest: PASS <heap> <test>" or "cmatest: FAIL ...", then
 * "cmatest: END status=ok|fail" and powers off when PID 1.
 */
#include <sys/resource.h>

#define HEAPIO_PROG "cmatest"
#include "../common/heapio.h"

#define KiB 1024UL
#define MiB (1024 * KiB)
#define MAX_LIVE 4000

static int live[MAX_LIVE];
static size_t live_len[MAX_LIVE];

static int read_word(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -1;
	ok = fscanf(f, "%127s", buf) == 1;
	fclose(f);
	(void)len;
	return ok ? 0 : -1;
}

static unsigned long long dtheap_value(const char *heap, const char *file)
{
	char path[256], word[128];

	snprintf(path, sizeof(path), "/sys/kernel/debug/dtheap/%s/%s", heap, file);
	if (read_word(path, word, sizeof(word)))
		return ~0ULL;
	return strtoull(word, NULL, 0);
}

/* Pages of the heap's CMA area in use (chunks and buffers), from CMA debugfs. */
static long long area_used(const char *heap)
{
	char path[256], region[128], word[128];

	snprintf(path, sizeof(path), "/sys/kernel/debug/dtheap/%s/region", heap);
	if (read_word(path, region, sizeof(region)))
		return -1;
	snprintf(path, sizeof(path), "/sys/kernel/debug/cma/%s/used", region);
	if (read_word(path, word, sizeof(word)))
		return -1;
	return strtoll(word, NULL, 0);
}

static void result(const char *name, const char *test, int bad)
{
	printf("cmatest: %s %s %s (CMA area: %lld pages used with no buffer live)\n",
	       bad ? "FAIL" : "PASS", name, test, area_used(name));
	if (bad)
		failures++;
}

/* The whole pool in one buffer, all zero: a freed pool comes back whole. */
static int whole_pool(const char *name, const char *test, int heap)
{
	unsigned long long size = dtheap_value(name, "size");
	int fd, bad;

	fd = heap_alloc(heap, size);
	if (fd < 0) {
		printf("cmatest: FAIL %s %s: the whole pool (%llu bytes) in one buffer: %s\n", name, test,
		       size, strerror(-fd));
		return -1;
	}
	bad = check_and_dirty(name, test, fd, size, 0x99);
	close(fd);
	return bad;
}

static int fill(const char *name, const char *test, int heap, size_t len)
{
	unsigned long long size = dtheap_value(name, "size");
	size_t want = size / len;
	int n = 0, i, fd, bad = 0;

	while ((size_t)n < want + 1 && n < MAX_LIVE) {
		fd = heap_alloc(heap, len);
		if (fd < 0)
			break;
		bad |= check_and_dirty(name, test, fd, len, 0xc3 + n);
		live[n++] = fd;
	}
	if ((size_t)n != want) {
		printf("cmatest: FAIL %s %s: %d buffers of %zu bytes fit, want %zu\n", name, test, n, len,
		       want);
		bad = -1;
	} else {
		fd = heap_alloc(heap, 4096);
		if (fd != -ENOMEM) {
			printf("cmatest: FAIL %s %s: one page past the full pool: %s, want ENOMEM\n", name,
			       test, fd < 0 ? strerror(-fd) : "allocated");
			bad = -1;
			if (fd >= 0)
				close(fd);
		}
		printf("cmatest: %s %s: %d x %zu bytes filled the pool\n", name, test, n, len);
	}
	for (i = 0; i < n; i += 2)
		close(live[i]);
	for (i = 1; i < n; i += 2)
		close(live[i]);
	return bad | whole_pool(name, test, heap);
}

static int mixed(const char *name, int heap, unsigned int seed)
{
	static const size_t sizes[] = { 4 * KiB, 8 * KiB, 12 * KiB, 64 * KiB, 192 * KiB,
					512 * KiB, 1 * MiB, 2 * MiB, 3 * MiB, 8 * MiB };
	int n = 0, failed = 0, k, fd, bad = 0;

	while (failed < 64) {
		size_t len = sizes[rand_r(&seed) % (sizeof(sizes) / sizeof(sizes[0]))];

		if (n && (rand_r(&seed) % 100 < 30 || n == MAX_LIVE)) {
			k = rand_r(&seed) % n;
			close(live[k]);
			live[k] = live[n - 1];
			live_len[k] = live_len[n - 1];
			n--;
			continue;
		}
		fd = heap_alloc(heap, len);
		if (fd < 0) {
			if (fd != -ENOMEM) {
				printf("cmatest: FAIL %s mixed: %zu bytes: %s, want ENOMEM\n", name, len,
				       strerror(-fd));
				bad = -1;
			}
			failed++;
			continue;
		}
		bad |= check_and_dirty(name, "mixed", fd, len, 0x5c);
		live[n] = fd;
		live_len[n] = len;
		n++;
	}
	printf("cmatest: %s mixed: %d buffers live at the first failures, used %llu of %llu bytes\n",
	       name, n, dtheap_value(name, "used"), dtheap_value(name, "size"));
	while (n > 0) {
		k = rand_r(&seed) % n;
		close(live[k]);
		live[k] = live[--n];
	}
	return bad | whole_pool(name, "mixed", heap);
}

static int churn(const char *name, int heap, int rounds, unsigned int seed, unsigned char pat)
{
	static const size_t sizes[] = { 4 * KiB, 8 * KiB, 64 * KiB, 256 * KiB, 1 * MiB };
	int fds[16] = { 0 }, i, k, bad = 0;
	size_t lens[16];

	for (i = 0; i < 16; i++)
		fds[i] = -1;
	for (i = 0; i < rounds; i++) {
		k = rand_r(&seed) % 16;
		if (fds[k] >= 0) {
			close(fds[k]);
			fds[k] = -1;
			continue;
		}
		lens[k] = sizes[rand_r(&seed) % (sizeof(sizes) / sizeof(sizes[0]))];
		fds[k] = heap_alloc(heap, lens[k]);
		if (fds[k] < 0) {
			printf("cmatest: FAIL %s churn: %zu bytes: %s\n", name, lens[k], strerror(-fds[k]));
			return -1;
		}
		bad |= check_and_dirty(name, "churn", fds[k], lens[k], pat);
	}
	for (k = 0; k < 16; k++)
		if (fds[k] >= 0)
			close(fds[k]);
	return bad;
}

static int cross_process(const char *name, int heap)
{
	int bad = 0, i, fd, status;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		for (i = 0; i < 64; i++) {
			fd = heap_alloc(heap, (size_t)(i % 4 + 1) * 4 * KiB);
			/* The child's data: 0xa5 everywhere; its buffers are freed at exit. */
			if (fd < 0 || check_and_dirty(name, "cross-process(child)", fd,
						      (size_t)(i % 4 + 1) * 4 * KiB, 0xa5))
				_exit(1);
		}
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	for (i = 0; i < 64; i++) {
		fd = heap_alloc(heap, (size_t)(i % 4 + 1) * 4 * KiB);
		if (fd < 0)
			return -1;
		bad |= check_and_dirty(name, "cross-process", fd, (size_t)(i % 4 + 1) * 4 * KiB, 0x5a);
		live[i] = fd;
	}
	for (i = 0; i < 64; i++)
		close(live[i]);
	return bad;
}

/*
 * With the heap's warm empty chunk in place, reclaim (drop_caches 2 runs
 * every shrinker: drop_slab(), mm/vmscan.c) must give it back to the pool,
 * and the next small buffer takes a chunk again.
 */
static int shrinker(const char *name, int heap)
{
	long long before, after;
	int fd, sysctl;

	/* A small buffer allocated and freed leaves the warm chunk. */
	fd = heap_alloc(heap, 4096);
	if (fd < 0)
		return -1;
	close(fd);
	before = area_used(name);
	sysctl = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (sysctl < 0 || write(sysctl, "2", 1) != 1) {
		printf("cmatest: FAIL %s shrinker: drop_caches: %s\n", name, strerror(errno));
		if (sysctl >= 0)
			close(sysctl);
		return -1;
	}
	close(sysctl);
	after = area_used(name);
	printf("cmatest: %s shrinker: CMA area pages used with no buffer live: %lld, after reclaim %lld\n",
	       name, before, after);
	if (before <= 0 || after != 0) {
		printf("cmatest: FAIL %s shrinker: want a warm chunk before reclaim and none after\n", name);
		return -1;
	}
	fd = heap_alloc(heap, 4096);
	if (fd < 0)
		return -1;
	close(fd);
	return area_used(name) > 0 ? 0 : -1;
}

static void run(const char *name, const char *path, int heap)
{
	result(name, "fill-64k", fill(name, "fill-64k", heap, 64 * KiB));
	result(name, "fill-1m", fill(name, "fill-1m", heap, MiB));
	result(name, "mixed", mixed(name, heap, 7));
	result(name, "cross-process", cross_process(name, heap));
	result(name, "race", race(name, path, churn, 800));
	result(name, "shrinker", shrinker(name, heap));
}

int main(void)
{
	struct rlimit rl;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* 768 buffers of 64 KiB live at once: more than the default 1024 files is not needed. */
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for_each_heap(getenv("CMATEST_HEAPS"), "video@60000000,camera", run);
	return heapio_end();
}
