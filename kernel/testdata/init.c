// SPDX-License-Identifier: GPL-2.0
/*
 * PID 1 of the dtheap smoke test (kernel/refkernel/smoke.sh).
 *
 * Mounts the pseudo file systems, loads /dtheap_heaps.ko with finit_module,
 * lists /dev/dma_heap, runs the kernel's DMA-BUF heap selftest on a private
 * /dev/dma_heap that holds only the CPU-mappable heaps, checks that an
 * unmapped heap allocates but refuses every CPU access, checks that a cma
 * heap fails cleanly when its pool is exhausted, prints debugfs, and powers
 * off. The last line is "SMOKE: PASS" or "SMOKE: FAIL (n)".
 *
 * Built statically: aarch64-linux-gnu-gcc -static -O2 -I<hdr>/include.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/reboot.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#define HEAPDIR "/dev/dma_heap"
#define DBGDIR "/sys/kernel/debug/dtheap"
#define MiB (1024UL * 1024UL)

static int failures;

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("SMOKE: FAIL: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	failures++;
}

static void ok(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("SMOKE: ok: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

static int read_str(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n'))
		buf[--n] = 0;
	return 0;
}

/* Kind of a heap as our debugfs says, "" for heaps that are not ours. */
static void heap_kind(const char *name, char *kind, size_t len)
{
	char path[512];

	snprintf(path, sizeof(path), DBGDIR "/%s/kind", name);
	if (read_str(path, kind, len))
		kind[0] = 0;
}

static int heap_alloc(const char *name, size_t len, int *dmabuf)
{
	struct dma_heap_allocation_data data = {
		.len = len,
		.fd_flags = O_RDWR | O_CLOEXEC,
	};
	char path[512];
	int fd, ret;

	snprintf(path, sizeof(path), HEAPDIR "/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = ioctl(fd, DMA_HEAP_IOCTL_ALLOC, &data);
	ret = ret < 0 ? -errno : 0;
	close(fd);
	if (!ret)
		*dmabuf = data.fd;
	return ret;
}

static void test_unmapped(const char *name)
{
	struct dma_buf_sync sync = { .flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW };
	int buf, ret;
	void *p;

	ret = heap_alloc(name, MiB, &buf);
	if (ret) {
		fail("unmapped heap %s: 1 MiB allocation: %s", name, strerror(-ret));
		return;
	}
	ok("unmapped heap %s: 1 MiB allocation succeeded", name);

	p = mmap(NULL, MiB, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	if (p != MAP_FAILED) {
		fail("unmapped heap %s: mmap succeeded", name);
		munmap(p, MiB);
	} else if (errno != EPERM) {
		fail("unmapped heap %s: mmap failed with %s, want EPERM", name, strerror(errno));
	} else {
		ok("unmapped heap %s: mmap refused with EPERM", name);
	}

	ret = ioctl(buf, DMA_BUF_IOCTL_SYNC, &sync);
	if (ret == 0)
		fail("unmapped heap %s: DMA_BUF_IOCTL_SYNC start succeeded", name);
	else if (errno != EPERM)
		fail("unmapped heap %s: sync failed with %s, want EPERM", name, strerror(errno));
	else
		ok("unmapped heap %s: begin_cpu_access refused with EPERM", name);
	close(buf);
}

/* Fill the heap with 1 MiB buffers, one more must fail with ENOMEM. */
static void test_exhaust(const char *name, const char *kind)
{
	char path[512], val[64];
	unsigned long size, n, i;
	int *bufs, ret, extra;

	snprintf(path, sizeof(path), DBGDIR "/%s/size", name);
	if (read_str(path, val, sizeof(val))) {
		fail("heap %s: no debugfs size", name);
		return;
	}
	size = strtoul(val, NULL, 0);
	n = size / MiB;
	bufs = calloc(n, sizeof(*bufs));
	for (i = 0; i < n; i++) {
		ret = heap_alloc(name, MiB, &bufs[i]);
		if (ret) {
			fail("%s heap %s: buffer %lu of %lu: %s", kind, name, i + 1, n,
			     strerror(-ret));
			break;
		}
	}
	if (i == n) {
		ok("%s heap %s: %lu x 1 MiB filled the pool", kind, name, n);
		ret = heap_alloc(name, 4096, &extra);
		if (!ret) {
			fail("%s heap %s: allocation past the pool's end succeeded", kind, name);
			close(extra);
		} else if (ret != -ENOMEM) {
			fail("%s heap %s: allocation past the end: %s, want ENOMEM", kind, name,
			     strerror(-ret));
		} else {
			ok("%s heap %s: allocation past the end refused with ENOMEM", kind, name);
		}
	}
	while (i > 0)
		close(bufs[--i]);
	free(bufs);

	ret = heap_alloc(name, size + 4096, &extra);
	if (!ret) {
		fail("%s heap %s: allocation larger than the pool succeeded", kind, name);
		close(extra);
	} else {
		ok("%s heap %s: allocation larger than the pool refused (%s)", kind, name,
		   strerror(-ret));
	}
}

/* Dirty a buffer, free it, allocate again: the memory must come back zeroed. */
static void test_zeroed(const char *name, size_t len)
{
	struct dma_buf_sync sync = { .flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW };
	int buf, ret, round;
	size_t i, dirty = 0;
	unsigned char *p;

	for (round = 0; round < 2; round++) {
		ret = heap_alloc(name, len, &buf);
		if (ret) {
			fail("heap %s: zero test allocation: %s", name, strerror(-ret));
			return;
		}
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
		if (p == MAP_FAILED) {
			fail("heap %s: zero test mmap: %s", name, strerror(errno));
			close(buf);
			return;
		}
		ioctl(buf, DMA_BUF_IOCTL_SYNC, &sync);
		if (round == 0) {
			memset(p, 0xa5, len);
		} else {
			for (i = 0; i < len; i++)
				dirty += p[i] != 0;
		}
		sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW;
		ioctl(buf, DMA_BUF_IOCTL_SYNC, &sync);
		sync.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW;
		munmap(p, len);
		close(buf);
	}
	if (dirty)
		fail("heap %s: %zu of %zu bytes not zeroed after reuse", name, dirty, len);
	else
		ok("heap %s: %zu bytes zeroed after reuse", name, len);
}

static int run(const char *prog)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		execl(prog, prog, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void print_debugfs(void)
{
	static const char * const files[] = {
		"region", "kind", "base", "size", "used", "peak", "allocations", "failures",
	};
	struct dirent *de;
	char path[512], val[128];
	unsigned int i;
	DIR *d = opendir(DBGDIR);

	if (!d) {
		fail("no " DBGDIR);
		return;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		printf("debugfs %s:", de->d_name);
		for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			snprintf(path, sizeof(path), DBGDIR "/%s/%s", de->d_name, files[i]);
			if (read_str(path, val, sizeof(val)))
				snprintf(val, sizeof(val), "?");
			printf(" %s=%s", files[i], val);
		}
		printf("\n");
	}
	closedir(d);
}

int main(void)
{
	char kind[32], path[512];
	struct dirent *de;
	struct stat st;
	int fd, ret, nheaps = 0;
	DIR *d;

	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	mount("tmpfs", "/run", "tmpfs", 0, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("SMOKE: init started\n");

	fd = open("/dtheap_heaps.ko", O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		/* smoke.sh --builtin: the driver is part of the kernel. */
		if (stat(DBGDIR, &st))
			fail("no module and no built-in dtheap (" DBGDIR ")");
		else
			ok("dtheap is built in");
	} else {
		ret = fd < 0 ? -1 : syscall(SYS_finit_module, fd, "", 0);
		if (ret)
			fail("finit_module(dtheap_heaps.ko): %s", strerror(errno));
		else
			ok("dtheap_heaps.ko loaded");
		if (fd >= 0)
			close(fd);
	}

	/* The private heap directory: every heap except the unmapped ones. */
	mkdir("/run/heaps", 0755);
	d = opendir(HEAPDIR);
	if (!d) {
		fail("no " HEAPDIR);
	} else {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			heap_kind(de->d_name, kind, sizeof(kind));
			printf("SMOKE: heap %s kind %s\n", de->d_name, kind[0] ? kind : "kernel");
			snprintf(path, sizeof(path), HEAPDIR "/%s", de->d_name);
			if (stat(path, &st) || strcmp(kind, "unmapped") == 0)
				continue;
			snprintf(path, sizeof(path), "/run/heaps/%s", de->d_name);
			if (mknod(path, S_IFCHR | 0600, st.st_rdev))
				fail("mknod %s: %s", path, strerror(errno));
			nheaps++;
		}
		closedir(d);
	}

	if (mount("/run/heaps", HEAPDIR, NULL, MS_BIND, NULL)) {
		fail("bind mount of /run/heaps: %s", strerror(errno));
	} else {
		printf("SMOKE: running the selftest on %d mappable heaps\n", nheaps);
		ret = run("/dmabuf-heap");
		if (ret)
			fail("selftest exited with %d", ret);
		else
			ok("selftest exited with 0");
		umount(HEAPDIR);
	}

	d = opendir(HEAPDIR);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		heap_kind(de->d_name, kind, sizeof(kind));
		if (strcmp(kind, "unmapped") == 0) {
			test_unmapped(de->d_name);
			test_exhaust(de->d_name, kind);
		} else if (kind[0]) {
			test_zeroed(de->d_name, 3 * MiB + 4096);
			test_exhaust(de->d_name, kind);
		}
	}
	if (d)
		closedir(d);

	print_debugfs();
	printf("SMOKE: /proc/meminfo Cma lines:\n");
	fd = open("/proc/meminfo", O_RDONLY);
	if (fd >= 0) {
		char buf[4096], *line;
		ssize_t n = read(fd, buf, sizeof(buf) - 1);

		buf[n > 0 ? n : 0] = 0;
		for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
			if (strncmp(line, "Cma", 3) == 0)
				printf("%s\n", line);
		close(fd);
	}

	if (failures)
		printf("SMOKE: FAIL (%d)\n", failures);
	else
		printf("SMOKE: PASS\n");
	fflush(stdout);
	sync();
	reboot(LINUX_REBOOT_CMD_POWER_OFF);
	for (;;)
		pause();
}
