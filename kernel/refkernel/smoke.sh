#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# dtheap smoke test: build the reference kernel (or reuse the cache), build
# dtheap_heaps.ko from kernel/src + kernel/testdata/dtheap_board.c against
# it (W=1, -Werror), patch QEMU virt's own devicetree with
# kernel/testdata/board.dtsi, assemble an initramfs (testdata/init.c as
# PID 1, the kernel's DMA-BUF heap selftest, the module) and boot it in
# QEMU. Passes when the guest prints "SMOKE: PASS".
#
# Usage: smoke.sh [--builtin] [--board-c FILE] [--dtsi FILE] [--keep DIR]
#   --builtin       instead of the module: copy the kernel built WITHOUT the
#                   export patch, add the driver in drivers/dma-buf/heaps
#                   (src/Kconfig.builtin, src/Makefile.builtin), enable it
#                   and rebuild the Image (about 1.5 GiB of copy, ~1-2 min)
#   --board-c FILE  per-board table to build into the module
#                   (default kernel/testdata/dtheap_board.c)
#   --dtsi FILE     nodes appended to the virt devicetree
#                   (default kernel/testdata/board.dtsi)
#   --keep DIR      work in DIR and keep it (default: a temp dir, removed)
# Environment: as build.sh; QEMU_TIMEOUT (seconds, default 300).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ktop=$(cd "$here/.." && pwd)
board_c="$ktop/testdata/dtheap_board.c"
dtsi="$ktop/testdata/board.dtsi"
work=""
keep=no
builtin=no
cross=${CROSS_COMPILE:-aarch64-linux-gnu-}

die() { echo "smoke.sh: error: $*" >&2; exit 1; }
log() { echo "smoke.sh: $*" >&2; }

while [ $# -gt 0 ]; do
	case $1 in
	--builtin) builtin=yes ;;
	--board-c) board_c=$(realpath "$2"); shift ;;
	--dtsi) dtsi=$(realpath "$2"); shift ;;
	--keep) work=$2; keep=yes; shift ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument: $1" ;;
	esac
	shift
done

for t in qemu-system-aarch64 dtc timeout; do
	command -v "$t" >/dev/null || die "needed tool not found: $t"
done

if [ -z "$work" ]; then
	work=$(mktemp -d /tmp/dtheap-smoke.XXXXXX)
	trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"
work=$(realpath "$work")

t0=$(date +%s.%N)
if [ "$builtin" = yes ]; then
	eval "$("$here/build.sh" --no-export-patch)"
else
	eval "$("$here/build.sh")"
fi
t1=$(date +%s.%N)
log "reference kernel $KERNEL_RELEASE ready ($(printf '%.1f' "$(echo "$t1 - $t0" | bc)") s): $KDIR"

mod="$work/module"
rm -rf "$mod"
if [ "$builtin" = no ]; then
	# The module, built out of tree in a copy (the repo stays clean).
	mkdir -p "$mod"
	cp "$ktop"/src/*.c "$ktop"/src/*.h "$ktop/src/Kbuild" "$ktop/src/Makefile" "$mod/"
	cp "$board_c" "$mod/dtheap_board.c"
	log "building dtheap_heaps.ko (W=1, -Werror)"
	if ! make -C "$KDIR" ARCH=arm64 CROSS_COMPILE="$cross" M="$mod" W=1 -j2 modules \
		>"$work/module-build.log" 2>&1; then
		cat "$work/module-build.log" >&2
		die "module build failed"
	fi
	if grep -E "warning:|error:" "$work/module-build.log" >&2; then
		die "module build printed warnings"
	fi
	modline="file /dtheap_heaps.ko $mod/dtheap_heaps.ko 0644 0 0"
	t2=$(date +%s.%N)
	log "module built ($(printf '%.1f' "$(echo "$t2 - $t1" | bc)") s)"
else
	# The in-tree variant, in a copy of the cached tree (the cache stays as is).
	tree="$work/linux"
	rm -rf "$tree"
	log "copying $KDIR to $tree"
	cp -a "$KDIR" "$tree"
	heaps="$tree/drivers/dma-buf/heaps"
	cp "$ktop"/src/*.c "$ktop"/src/*.h "$heaps/"
	cp "$board_c" "$heaps/dtheap_board.c"
	{ echo; grep -v '^#' "$ktop/src/Kconfig.builtin"; } >>"$heaps/Kconfig"
	{ echo; cat "$ktop/src/Makefile.builtin"; for o in core carveout cma board; do echo "CFLAGS_dtheap_$o.o += -Werror"; done; } >>"$heaps/Makefile"
	"$tree/scripts/config" --file "$tree/.config" --enable DMABUF_HEAPS_DTHEAP
	make -C "$tree" ARCH=arm64 CROSS_COMPILE="$cross" olddefconfig >"$work/builtin-build.log" 2>&1
	grep -qx CONFIG_DMABUF_HEAPS_DTHEAP=y "$tree/.config" || die "CONFIG_DMABUF_HEAPS_DTHEAP did not stick"
	log "building the Image with dtheap built in (no export patch)"
	if ! make -C "$tree" ARCH=arm64 CROSS_COMPILE="$cross" -j2 Image >>"$work/builtin-build.log" 2>&1; then
		tail -40 "$work/builtin-build.log" >&2
		die "built-in kernel build failed"
	fi
	if grep -E "dtheap.*(warning|error):" "$work/builtin-build.log" >&2; then
		die "built-in build printed warnings"
	fi
	IMAGE="$tree/arch/arm64/boot/Image"
	KDIR="$tree"
	modline=""
	t2=$(date +%s.%N)
	log "built-in kernel built ($(printf '%.1f' "$(echo "$t2 - $t1" | bc)") s)"
fi

# PID 1.
"${cross}gcc" -static -O2 -Wall -Werror -I"$HDR/include" -o "$work/init" "$ktop/testdata/init.c"

# The devicetree: QEMU virt's own, plus the reserved memory and heap node.
qemu_m=(-M virt -cpu cortex-a57 -m 1024 -nic none)
qemu-system-aarch64 "${qemu_m[@]/#virt/virt,dumpdtb=$work/virt.dtb}" -display none >/dev/null 2>&1 ||
	die "qemu could not dump the virt devicetree"
dtc -q -I dtb -O dts -o "$work/virt.dts" "$work/virt.dtb"
cat "$work/virt.dts" "$dtsi" >"$work/board.dts"
dtc -q -I dts -O dtb -o "$work/board.dtb" "$work/board.dts"

# The initramfs, with the kernel's own gen_init_cpio (no root needed).
cat >"$work/initramfs.list" <<LIST
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
dir /proc 0755 0 0
dir /sys 0755 0 0
dir /run 0755 0 0
file /init $work/init 0755 0 0
file /dmabuf-heap $SELFTEST 0755 0 0
$modline
LIST
"$KDIR/usr/gen_init_cpio" "$work/initramfs.list" | gzip -9 >"$work/initramfs.cpio.gz"

log "booting QEMU (console log: $work/console.log)"
status=0
timeout "${QEMU_TIMEOUT:-300}" qemu-system-aarch64 "${qemu_m[@]}" -nographic -no-reboot \
	-kernel "$IMAGE" -initrd "$work/initramfs.cpio.gz" -dtb "$work/board.dtb" \
	-append "console=ttyAMA0 earlycon panic=-1" >"$work/console.log" 2>&1 || status=$?
t3=$(date +%s.%N)
tr -d '\r' <"$work/console.log" >"$work/console.txt"
log "QEMU exited with $status after $(printf '%.1f' "$(echo "$t3 - $t2" | bc)") s"

grep -E "dtheap|debugfs |Cma|Reserved memory|reserved mem|SMOKE|Testing|OK$|FAIL|SKIP|Skip|Oops|WARNING|BUG|Unable|panic" \
	"$work/console.txt" || true
if grep -qx "SMOKE: PASS" "$work/console.txt"; then
	log "PASS"
	exit 0
fi
[ "$keep" = yes ] || { cp "$work/console.txt" /tmp/dtheap-smoke-console.txt; log "console saved in /tmp/dtheap-smoke-console.txt"; }
die "smoke test failed"
