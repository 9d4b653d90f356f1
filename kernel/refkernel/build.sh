#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the dtheap reference kernel: Linux 6.1 for arm64 (QEMU virt) from
# Debian's linux-source-6.1 tarball, tinyconfig + qemu.config + the
# dma_heap export patch, plus its UAPI headers and the static kernel
# DMA-BUF heap selftest.
#
# The result is cached outside the repository in
#   ${DTHEAP_CACHE:-$HOME/.cache/dtheap}/kernel-<key>
# where <key> hashes the tarball's identity (name, size, mtime), the config
# fragment, the patch (or its absence), this script and the cross
# compiler's version. An unchanged input set is reused in well under a
# second; any change rebuilds in a new directory.
#
# Usage: build.sh [--no-export-patch] [--jobs N] [--force]
#   --no-export-patch  build the variant WITHOUT the export patch (separate
#                      cache key), to prove that a module build is refused
#   --jobs N           make -jN (default 2; the shared machine has 2 cores)
#   --force            rebuild even if a complete cache entry exists
#
# Environment: DTHEAP_CACHE, LINUX_SOURCE_TARBALL (default
# /usr/src/linux-source-6.1.tar.xz), CROSS_COMPILE (default
# aarch64-linux-gnu-).
#
# Progress and errors go to stderr; the full build log to <dir>/build.log.
# On success stdout carries only shell assignments for eval:
#   KDIR=... IMAGE=... HDR=... SELFTEST=... KERNEL_RELEASE=... EXPORT_PATCH=yes|no
#   CACHE_KEY=... BUILD_LOG=...
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
script="$here/$(basename "${BASH_SOURCE[0]}")"
fragment="$here/qemu.config"
patchfile="$here/../patches/0001-dma-buf-heaps-export-dma_heap_add.patch"
tarball=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
cache=${DTHEAP_CACHE:-$HOME/.cache/dtheap}
cross=${CROSS_COMPILE:-aarch64-linux-gnu-}
jobs=2
export_patch=yes
force=no

die() { echo "build.sh: error: $*" >&2; exit 1; }
log() { echo "build.sh: $*" >&2; }

while [ $# -gt 0 ]; do
	case $1 in
	--no-export-patch) export_patch=no ;;
	--jobs) [ $# -ge 2 ] || die "--jobs needs a number"; jobs=$2; shift ;;
	--jobs=*) jobs=${1#--jobs=} ;;
	--force) force=yes ;;
	-h|--help) sed -n '2,/^set -euo/p' "$script" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument: $1 (see --help)" ;;
	esac
	shift
done

[ -f "$tarball" ] || die "no kernel source tarball at $tarball (apt-get install linux-source-6.1, or set LINUX_SOURCE_TARBALL)"
[ -f "$fragment" ] || die "missing config fragment $fragment"
[ -f "$patchfile" ] || die "missing export patch $patchfile"
command -v "${cross}gcc" >/dev/null || die "cross compiler ${cross}gcc not found (apt-get install gcc-aarch64-linux-gnu)"
for t in make bc bison flex patch xz sha256sum flock cpio; do
	command -v "$t" >/dev/null || die "needed tool not found: $t"
done

key=$({
	echo "tarball $(basename "$tarball") $(stat -L -c '%s %Y' "$tarball")"
	echo "fragment"; cat "$fragment"
	if [ "$export_patch" = yes ]; then echo "patch"; cat "$patchfile"; else echo "no-export-patch"; fi
	echo "script"; cat "$script"
	echo "cc $("${cross}gcc" -dumpfullversion 2>/dev/null || "${cross}gcc" -dumpversion)"
} | sha256sum | cut -c1-16)
[ "$export_patch" = yes ] || key="$key-noexport"

dir="$cache/kernel-$key"
stamp="$dir/.complete"
mkdir -p "$cache"

emit() {
	cat "$stamp"
}

# One builder per key at a time; a second caller waits and then reuses.
exec 9>"$dir.lock"
if ! flock -n 9; then
	log "another build of $dir is running; waiting for it"
	flock 9
fi

if [ "$force" = no ] && [ -f "$stamp" ]; then
	log "reusing cached kernel $dir"
	emit
	exit 0
fi

rm -rf "$dir"
mkdir -p "$dir"
buildlog="$dir/build.log"
: >"$buildlog"
src="$dir/linux"
start=$(date +%s)

step() {
	local what=$1
	shift
	log "$what"
	echo "=== $what: $*" >>"$buildlog"
	if ! "$@" >>"$buildlog" 2>&1; then
		tail -n 40 "$buildlog" >&2
		die "$what failed; full log in $buildlog"
	fi
}

kmake() { make -C "$src" ARCH=arm64 CROSS_COMPILE="$cross" "$@"; }

mkdir -p "$src"
step "unpacking $(basename "$tarball")" tar -xf "$tarball" -C "$src" --strip-components=1
if [ "$export_patch" = yes ]; then
	step "applying export patch" patch -d "$src" -p1 --forward -i "$patchfile"
else
	log "NOT applying the export patch (--no-export-patch)"
fi

step "tinyconfig" kmake tinyconfig
step "merging qemu.config" env ARCH=arm64 CROSS_COMPILE="$cross" \
	sh -c 'cd "$1" && scripts/kconfig/merge_config.sh -m .config "$2"' sh "$src" "$fragment"
step "olddefconfig" kmake olddefconfig

# Every fragment line must have survived (a dropped dependency silently
# turns an option off otherwise).
missing=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)
		grep -qxF -- "$line" "$src/.config" || {
			opt=${line%%=*}
			got=$(grep -E "^(# )?$opt[= ]" "$src/.config" || echo "absent")
			log "config line lost: '$line' (got: $got)"
			missing=1
		}
		;;
	"# CONFIG_"*" is not set")
		grep -qxF -- "$line" "$src/.config" || { log "config line lost: '$line'"; missing=1; }
		;;
	esac
done <"$fragment"
[ $missing = 0 ] || die "the kernel config does not contain every line of $fragment"
log "all qemu.config lines present in .config"

step "building Image and modules (make -j$jobs)" kmake -j"$jobs" Image modules
# What "make headers_install" does, without its dependency on rsync.
step "make headers" kmake headers
mkdir -p "$dir/hdr"
step "installing UAPI headers to $dir/hdr" \
	sh -c 'cd "$1/usr" && find include -name "*.h" | cpio -pdm --quiet "$2"' sh "$src" "$dir/hdr"

selftest_src="$src/tools/testing/selftests/dmabuf-heaps/dmabuf-heap.c"
step "building the static DMA-BUF heap selftest" \
	"${cross}gcc" -static -O3 -Wall -I"$dir/hdr/include" -o "$dir/dmabuf-heap" "$selftest_src"

release=$(kmake -s kernelrelease 2>/dev/null)
cp "$src/arch/arm64/boot/Image" "$dir/Image"
end=$(date +%s)
log "kernel $release built in $((end - start)) s"

cat >"$stamp.tmp" <<EOF
KDIR=$src
IMAGE=$dir/Image
HDR=$dir/hdr
SELFTEST=$dir/dmabuf-heap
KERNEL_RELEASE=$release
EXPORT_PATCH=$export_patch
CACHE_KEY=$key
BUILD_LOG=$buildlog
EOF
mv "$stamp.tmp" "$stamp"
emit
