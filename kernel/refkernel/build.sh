#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build a dtheap reference kernel: Linux 6.1, 6.12 or 7.3 for arm64 (QEMU
# virt), or riscv64 (QEMU virt with OpenSBI), from Debian's
# linux-source-<version> tarball, tinyconfig + qemu.config (+
# qemu-<version>.config if present), the dma_heap export patch where the tree
# needs it, plus its UAPI headers and the static kernel DMA-BUF heap selftest.
#
# riscv64 (--arch riscv64): ARCH=riscv, CROSS_COMPILE riscv64-linux-gnu-, and
# the fragments are qemu.config without its arm64 console (PL011 needs
# ARM_AMBA, which riscv lacks) followed by qemu-riscv64.config (the 8250
# console QEMU virt riscv64 has, SBI earlycon, the FPU the static user space
# needs). Same config intent otherwise, checked line by line the same way.
#
# The export patch is applied only to a tree whose drivers/dma-buf/dma-heap.c
# does not export dma_heap_add already (6.1 and 6.12 need it; 7.3 exports it
# in namespace "DMA_BUF_HEAP"): the tarball is asked, not a version table.
# The answer is cached per tarball identity, so the question costs one
# decompression per tarball.
#
# The result is cached outside the repository in
#   ${DTHEAP_CACHE:-$HOME/.cache/dtheap}/kernel-<version>-<key>
# where <key> hashes the tarball's identity (name, size, mtime), the config
# fragments, the patch (or its absence), this script and the cross
# compiler's version. An unchanged input set is reused in well under a
# second; any change rebuilds in a new directory. On 7.3 --no-export-patch
# is the same build as the default (no patch either way), so the same key.
# A riscv64 build lives in kernel-<version>-riscv64-<key>. The code lines that
# only riscv64 needs end in "# riscv64"; the arm64 key hashes the script
# without them, so adding riscv64 rebuilt no arm64 kernel (the arm64 keys are
# what they were before: 6.1 32dc50e4f91718d7, 6.12 7f1e99364575ea34,
# 7.3 f03321ec3bde085d).
#
# Usage: build.sh [--version V] [--arch A] [--no-export-patch] [--jobs N] [--force]
#   --version V        6.1 (default), 6.12 or 7.3; picks the tarball
#                      (/usr/src/linux-source-6.1.tar.xz, else the one
#                      scripts/fetch-linux-source.sh V fetches into
#                      $DTHEAP_CACHE/src) and the version fragment
#   --arch A           arm64 (default) or riscv64
#   --no-export-patch  build the variant WITHOUT the export patch (separate
#                      cache key where the patch is needed), to prove that a
#                      module build is refused
#   --jobs N           make -jN (default 2; the shared machine has 2 cores)
#   --force            rebuild even if a complete cache entry exists
#
# Environment: DTHEAP_CACHE, LINUX_SOURCE_TARBALL (overrides the tarball
# --version picks), CROSS_COMPILE (default aarch64-linux-gnu-, or
# riscv64-linux-gnu- for --arch riscv64).
#
# Progress and errors go to stderr; the full build log to <dir>/build.log.
# On success stdout carries only shell assignments for eval:
#   KDIR=... IMAGE=... HDR=... SELFTEST=... KERNEL_RELEASE=... KERNEL_VERSION=...
#   EXPORT_PATCH=yes|no|not-needed CACHE_KEY=... BUILD_LOG=...
# and, for riscv64 only, ARCH=riscv64.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
script="$here/$(basename "${BASH_SOURCE[0]}")"
fragment="$here/qemu.config"
patchfile="$here/../patches/0001-dma-buf-heaps-export-dma_heap_add.patch"
cache=${DTHEAP_CACHE:-$HOME/.cache/dtheap}
cross=${CROSS_COMPILE:-aarch64-linux-gnu-}
version=6.1
jobs=2
export_patch=yes
force=no
arch=arm64 # riscv64

die() { echo "build.sh: error: $*" >&2; exit 1; }
log() { echo "build.sh: $*" >&2; }

while [ $# -gt 0 ]; do
	case $1 in
	--no-export-patch) export_patch=no ;;
	--version) [ $# -ge 2 ] || die "--version needs 6.1, 6.12 or 7.3"; version=$2; shift ;;
	--version=*) version=${1#--version=} ;;
	--jobs) [ $# -ge 2 ] || die "--jobs needs a number"; jobs=$2; shift ;;
	--jobs=*) jobs=${1#--jobs=} ;;
	--force) force=yes ;;
	--arch) [ $# -ge 2 ] || die "--arch needs arm64 or riscv64"; arch=$2; shift ;; # riscv64
	--arch=*) arch=${1#--arch=} ;; # riscv64
	-h|--help) sed -n '2,/^set -euo/p' "$script" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument: $1 (see --help)" ;;
	esac
	shift
done

case $version in
6.1 | 6.12 | 7.3) ;;
*) die "unsupported --version $version (6.1, 6.12 or 7.3)" ;;
esac
case $arch/$version in # riscv64
arm64/* | riscv64/*) ;; # riscv64
*) die "unsupported --arch $arch (arm64 or riscv64)" ;; # riscv64
esac # riscv64
[ "$arch" = arm64 ] || cross=${CROSS_COMPILE:-riscv64-linux-gnu-} # riscv64
if [ -n "${LINUX_SOURCE_TARBALL:-}" ]; then
	tarball=$LINUX_SOURCE_TARBALL
elif [ "$version" = 6.1 ]; then
	tarball=/usr/src/linux-source-6.1.tar.xz
else
	tarball="$cache/src/linux-source-$version.tar.xz"
	if [ ! -f "$tarball" ]; then
		log "fetching linux-source-$version (scripts/fetch-linux-source.sh)"
		tarball=$("$here/../../scripts/fetch-linux-source.sh" "$version") ||
			die "could not fetch linux-source-$version"
	fi
fi
[ -f "$tarball" ] || die "no kernel source tarball at $tarball (apt-get install linux-source-6.1, scripts/fetch-linux-source.sh $version, or set LINUX_SOURCE_TARBALL)"
[ -f "$fragment" ] || die "missing config fragment $fragment"
fragments=("$fragment")
[ ! -f "$here/qemu-$version.config" ] || fragments+=("$here/qemu-$version.config")
[ -f "$patchfile" ] || die "missing export patch $patchfile"
command -v "${cross}gcc" >/dev/null || die "cross compiler ${cross}gcc not found (apt-get install gcc-aarch64-linux-gnu)"
for t in make bc bison flex patch xz sha256sum flock cpio; do
	command -v "$t" >/dev/null || die "needed tool not found: $t"
done

tarball_id="$(basename "$tarball") $(stat -L -c '%s %Y' "$tarball")"
mkdir -p "$cache/src"
if [ "$arch" = riscv64 ]; then # riscv64
	# qemu.config's intent minus the arm64 console, then the riscv64 lines.
	[ -f "$here/qemu-riscv64.config" ] || die "missing config fragment $here/qemu-riscv64.config" # riscv64
	grep -v '^CONFIG_SERIAL_AMBA_PL011' "$fragment" >"$cache/src/qemu-common-riscv64.config" # riscv64
	fragments=("$cache/src/qemu-common-riscv64.config" "$here/qemu-riscv64.config") # riscv64
	# 6.1 has no RISCV_ISA_FALLBACK: its riscv_fill_hwcap() (arch/riscv/kernel/cpufeature.c) # riscv64
	# always reads "riscv,isa", the string the option keeps for later kernels. Its SBI # riscv64
	# earlycon needs the legacy SBI v0.1 console (RISCV_SBI_V01); "earlycon" without options # riscv64
	# takes the DT's stdout-path, the ns16550a, whose earlycon SERIAL_8250_CONSOLE has anyway. # riscv64
	if [ "$version" = 6.1 ]; then # riscv64
		grep -vE '^CONFIG_(RISCV_ISA_FALLBACK|SERIAL_EARLYCON_RISCV_SBI)=' "$here/qemu-riscv64.config" >"$cache/src/qemu-riscv64-6.1.config" # riscv64
		fragments[1]="$cache/src/qemu-riscv64-6.1.config" # riscv64
	fi # riscv64
else # riscv64
	# The arm64 key must not move when riscv64-only lines change.
	keyscript=$(mktemp) && trap 'rm -f "$keyscript"' EXIT # riscv64
	grep -v ' # riscv64$' "$script" >"$keyscript" && script=$keyscript # riscv64
fi # riscv64

# Does this tree export dma_heap_add already? Asked of the tarball once (the
# whole xz stream is read) and remembered per tarball identity.
probe="$cache/src/exports-$(echo "$tarball_id" | sha256sum | cut -c1-16)"
if [ ! -f "$probe" ]; then
	log "asking $(basename "$tarball") whether drivers/dma-buf/dma-heap.c exports dma_heap_add"
	if tar -xOf "$tarball" --wildcards '*/drivers/dma-buf/dma-heap.c' 2>/dev/null |
		grep -qE '^EXPORT_SYMBOL[A-Z_]*\(dma_heap_add[,)]'; then
		echo exported >"$probe.tmp"
	else
		echo missing >"$probe.tmp"
	fi
	mv "$probe.tmp" "$probe"
fi
tree_exports=$(cat "$probe")
if [ "$tree_exports" = exported ]; then
	[ "$export_patch" = no ] || log "$(basename "$tarball") exports dma_heap_add itself: no export patch"
	export_patch=not-needed
fi

key=$({
	echo "tarball $tarball_id"
	for f in "${fragments[@]}"; do echo "fragment $(basename "$f")"; cat "$f"; done
	case $export_patch in
	yes) echo "patch"; cat "$patchfile" ;;
	*) echo "no-export-patch" ;;
	esac
	# The script's code, not its comments: a reworded comment rebuilds nothing.
	echo "script"; grep -vE '^[[:space:]]*#' "$script"
	echo "cc $("${cross}gcc" -dumpfullversion 2>/dev/null || "${cross}gcc" -dumpversion)"
} | sha256sum | cut -c1-16)
[ "$export_patch" != no ] || key="$key-noexport"

dir="$cache/kernel-$version-$key"
[ "$arch" = arm64 ] || dir="$cache/kernel-$version-$arch-$key" # riscv64
stamp="$dir/.complete"

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
[ "$arch" = arm64 ] || kmake() { make -C "$src" ARCH=riscv CROSS_COMPILE="$cross" "$@"; } # riscv64

mkdir -p "$src"
step "unpacking $(basename "$tarball")" tar -xf "$tarball" -C "$src" --strip-components=1
case $export_patch in
yes) step "applying export patch" patch -d "$src" -p1 --forward -i "$patchfile" ;;
no) log "NOT applying the export patch (--no-export-patch)" ;;
not-needed) log "no export patch: this tree exports dma_heap_add itself" ;;
esac

step "tinyconfig" kmake tinyconfig
step "merging ${fragments[*]##*/}" env ARCH=arm64 CROSS_COMPILE="$cross" \
	sh -c 'cd "$1" && shift && scripts/kconfig/merge_config.sh -m .config "$@"' sh "$src" "${fragments[@]}"
step "olddefconfig" kmake olddefconfig

# Every fragment line must have survived (a dropped dependency or a renamed
# option silently turns an option off otherwise). A version fragment may
# override a line of the common one: the last fragment that sets an option
# is the one checked.
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
done < <(cat "${fragments[@]}" | awk '
	/^CONFIG_[A-Za-z0-9_]*=/ { o = $0; sub(/=.*/, "", o) }
	/^# CONFIG_[A-Za-z0-9_]* is not set$/ { o = $2 }
	/^CONFIG_|^# CONFIG_.* is not set$/ { if (!(o in last)) order[n++] = o; last[o] = $0 }
	END { for (i = 0; i < n; i++) print last[order[i]] }')
[ $missing = 0 ] || die "the kernel config does not contain every line of ${fragments[*]}"
log "all lines of ${fragments[*]##*/} present in .config"

step "building Image and modules (make -j$jobs)" kmake -j"$jobs" Image modules
# What "make headers_install" does, without its dependency on rsync.
step "make headers" kmake headers
mkdir -p "$dir/hdr"
step "installing UAPI headers to $dir/hdr" \
	sh -c 'cd "$1/usr" && find include -name "*.h" | cpio -pdm --quiet "$2"' sh "$src" "$dir/hdr"

selftest_src="$src/tools/testing/selftests/dmabuf-heaps/dmabuf-heap.c"
step "building the static DMA-BUF heap selftest" \
	"${cross}gcc" -static -O3 -Wall -I"$dir/hdr/include" -I"$src/tools/testing/selftests" \
	-o "$dir/dmabuf-heap" "$selftest_src"

release=$(kmake -s kernelrelease 2>/dev/null)
# The copy below names arm64's Image; riscv's is under arch/riscv/boot.
[ "$arch" = arm64 ] || ln -sfn ../../riscv/boot/Image "$src/arch/arm64/boot/Image" # riscv64
cp "$src/arch/arm64/boot/Image" "$dir/Image"
end=$(date +%s)
log "kernel $release built in $((end - start)) s"

cat >"$stamp.tmp" <<EOF
KDIR=$src
IMAGE=$dir/Image
HDR=$dir/hdr
SELFTEST=$dir/dmabuf-heap
KERNEL_RELEASE=$release
KERNEL_VERSION=$version
EXPORT_PATCH=$export_patch
CACHE_KEY=$key
BUILD_LOG=$buildlog
EOF
[ "$arch" = arm64 ] || echo "ARCH=$arch" >>"$stamp.tmp" # riscv64
mv "$stamp.tmp" "$stamp"
emit
