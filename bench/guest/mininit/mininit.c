// SPDX-License-Identifier: GPL-2.0
/*
 * mininit: the smallest useful /init, the baseline the boot check is timed
 * against (make bench-e2e). It mounts what dtheap-check mounts (proc,
 * sysfs, devtmpfs, debugfs), optionally loads the heap module(s), prints
 * one line and powers off, so the difference in boot time between this and
 * dtheap-check as /init is what the check itself costs.
 *
 * MININIT_LOAD=1 (an unknown word on the kernel command line, which the
 * kernel hands to /init as an environment variable) also loads every
 * module in /lib/modules/$(uname -r)/updates (where dtheap initramfs puts
 * them) with finit_module, as the checker does:
 * that splits the checker's time into "loading the driver", which any boot
 * that uses the heaps pays, and "checking".
 *
 * Run other than as PID 1 it only prints a line and exits 0.
 *
 * Build: aarch64-linux-gnu-gcc -static -O2 -s
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/reboot.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

static int load_modules(void)
{
	char dir[320], path[640];
	struct utsname u;
	struct dirent *de;
	int fd, n = 0;
	DIR *d;

	if (uname(&u))
		return 0;
	snprintf(dir, sizeof(dir), "/lib/modules/%s/updates", u.release);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len < 4 || strcmp(de->d_name + len - 3, ".ko"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || syscall(SYS_finit_module, fd, "", 0))
			perror(path);
		else
			n++;
		if (fd >= 0)
			close(fd);
	}
	closedir(d);
	return n;
}

int main(void)
{
	const char *load = getenv("MININIT_LOAD");
	int n = 0;

	if (getpid() != 1) {
		/* Not a boot: touch nothing (a host test runs it this way). */
		printf("mininit: not PID 1, nothing to do\n");
		return 0;
	}
	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/dev", 0755);
	mount("proc", "/proc", "proc", MS_NOSUID | MS_NOEXEC, NULL);
	mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NOEXEC, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, NULL);
	mount("debugfs", "/sys/kernel/debug", "debugfs", MS_NOSUID | MS_NOEXEC, NULL);
	if (load && !strcmp(load, "1"))
		n = load_modules();
	printf("mininit: mounted, %d module(s) loaded, powering off\n", n);
	fflush(stdout);
	sync();
	reboot(LINUX_REBOOT_CMD_POWER_OFF);
	for (;;)
		pause();
}
