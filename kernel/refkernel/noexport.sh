#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The reference kernel WITHOUT the dma_heap export patch, for the proof that
# `dtheap build` refuses such a tree before compiling. Derived from the cached
# patched build of the same version (build.sh --version V): a copy of its
# tree, the export patch reversed, and `make Image modules` again. make's own
# dependency tracking rebuilds drivers/dma-buf/dma-heap.o, relinks vmlinux
# and rewrites Module.symvers, so the result is the unpatched kernel as a
# clean build would make it, in a minute or two instead of a full build
# (build.sh --no-export-patch still builds it from scratch).
#
# Cached next to the patched build in
#   ${DTHEAP_CACHE:-$HOME/.cache/dtheap}/kernel-<version>-<key>-noexport-derived
# keyed by the patched build's key, the patch and this script.
#
# Usage: noexport.sh [--version V] [--jobs N]
# Prints the same assignments as build.sh (EXPORT_PATCH=no) for eval. A
# version whose tree exports dma_heap_add itself (7.3) has nothing to take
# away: refused with exit status 2.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
script="$here/$(basename "${BASH_SOURCE[0]}")"
patchfile="$here/../patches/0001-dma-buf-heaps-export-dma_heap_add.patch"
cache=${DTHEAP_CACHE:-$HOME/.cache/dtheap}
cross=${CROSS_COMPILE:-aarch64-linux-gnu-}
version=6.1
jobs=2

die() { echo "noexport.sh: error: $*" >&2; exit 1; }
log() { echo "noexport.sh: $*" >&2; }

while [ $# -gt 0 ]; do
	case $1 in
	--version) [ $# -ge 2 ] || die "--version needs 6.1, 6.12 or 7.3"; version=$2; shift ;;
	--version=*) version=${1#--version=} ;;
	--jobs) [ $# -ge 2 ] || die "--jobs needs a number"; jobs=$2; shift ;;
	--jobs=*) jobs=${1#--jobs=} ;;
	-h|--help) sed -n '2,/^set -euo/p' "$script" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument: $1 (see --help)" ;;
	esac
	shift
done

eval "$("$here/build.sh" --version "$version" --jobs "$jobs")"
if [ "$EXPORT_PATCH" != yes ]; then
	log "Linux $KERNEL_RELEASE exports dma_heap_add itself: there is no unpatched variant to make"
	exit 2
fi
key=$({
	echo "from $CACHE_KEY"
	cat "$patchfile"
	grep -vE '^[[:space:]]*#' "$script"
} | sha256sum | cut -c1-16)
dir="$cache/kernel-$version-$key-noexport-derived"
stamp="$dir/.complete"

exec 9>"$dir.lock"
flock 9
if [ -f "$stamp" ]; then
	log "reusing cached kernel $dir"
	cat "$stamp"
	exit 0
fi
rm -rf "$dir"
mkdir -p "$dir"
buildlog="$dir/build.log"
start=$(date +%s)
src="$dir/linux"
log "copying the patched $version tree"
cp -a "$KDIR" "$src"
log "reversing the export patch"
patch -d "$src" -p1 -R -i "$patchfile" >>"$buildlog" 2>&1 || { tail -n 20 "$buildlog" >&2; die "the export patch does not reverse cleanly"; }
log "rebuilding Image and modules (make -j$jobs)"
make -C "$src" ARCH=arm64 CROSS_COMPILE="$cross" -j"$jobs" Image modules >>"$buildlog" 2>&1 ||
	{ tail -n 40 "$buildlog" >&2; die "rebuild failed; full log in $buildlog"; }
exported() { grep -qE '^0x[0-9a-f]+[[:space:]]+dma_heap_add[[:space:]]' "$1/Module.symvers"; }
exported "$KDIR" || die "$KDIR/Module.symvers does not export dma_heap_add: not a patched build"
if exported "$src"; then
	die "$src/Module.symvers still exports dma_heap_add after reversing the patch"
fi
cp "$src/arch/arm64/boot/Image" "$dir/Image"
log "kernel $KERNEL_RELEASE without the export patch rebuilt in $(($(date +%s) - start)) s"
cat >"$stamp.tmp" <<EOF
KDIR=$src
IMAGE=$dir/Image
HDR=$HDR
SELFTEST=$SELFTEST
KERNEL_RELEASE=$KERNEL_RELEASE
KERNEL_VERSION=$version
EXPORT_PATCH=no
CACHE_KEY=$key
BUILD_LOG=$buildlog
EOF
mv "$stamp.tmp" "$stamp"
cat "$stamp"
