#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot dtheap-check as /init on the reference kernel under QEMU virt (arm64): builds (or reuses)
# the kernel via kernel/refkernel/build.sh, the module from kernel/src with
# kernel/testdata/dtheap_board.c, a devicetree from QEMU's own plus qemu-virt-test.dtsi, and an
# initramfs from qemu-virt-test.json with provision/testdata/mkinitramfs. Passes when the guest
# prints "dtheap-check: verdict PASS".
#
# Usage: boot-check.sh [--keep DIR] [--append "EXTRA KERNEL ARGS"] [--manifest FILE] [--dtsi FILE]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
cross=${CROSS_COMPILE:-aarch64-linux-gnu-}
manifest="$here/qemu-virt-test.json"
dtsi="$here/qemu-virt-test.dtsi"
extra=""
work=""
while [ $# -gt 0 ]; do
	case $1 in
	--keep) work=$2; shift ;;
	--append) extra=$2; shift ;;
	--manifest) manifest=$(realpath "$2"); shift ;;
	--dtsi) dtsi=$(realpath "$2"); shift ;;
	*) echo "boot-check.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
if [ -z "$work" ]; then
	work=$(mktemp -d /tmp/dtheap-boot-check.XXXXXX)
	trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"

eval "$("$top/kernel/refkernel/build.sh")"

mod="$work/module"
rm -rf "$mod" && mkdir -p "$mod"
cp "$top"/kernel/src/*.c "$top"/kernel/src/*.h "$top/kernel/src/Kbuild" "$top/kernel/src/Makefile" "$mod/"
cp "$top/kernel/testdata/dtheap_board.c" "$mod/"
make -C "$KDIR" ARCH=arm64 CROSS_COMPILE="$cross" M="$mod" -j2 modules >"$work/module-build.log" 2>&1 ||
	{ cat "$work/module-build.log" >&2; exit 1; }

qemu_m=(-M virt -cpu cortex-a57 -m 1024 -nic none)
qemu-system-aarch64 -M virt,dumpdtb="$work/virt.dtb" -cpu cortex-a57 -m 1024 -nic none -display none >/dev/null 2>&1
dtc -q -I dtb -O dts -o "$work/virt.dts" "$work/virt.dtb"
cat "$work/virt.dts" "$dtsi" >"$work/board.dts"
dtc -q -I dts -O dtb -o "$work/board.dtb" "$work/board.dts"

(cd "$top" && go run ./provision/testdata/mkinitramfs -manifest "$manifest" -o "$work/initramfs.cpio.gz" \
	-module "$mod/dtheap_heaps.ko" -selftest "$SELFTEST")

status=0
timeout "${QEMU_TIMEOUT:-120}" qemu-system-aarch64 "${qemu_m[@]}" -nographic -no-reboot \
	-kernel "$IMAGE" -initrd "$work/initramfs.cpio.gz" -dtb "$work/board.dtb" \
	-append "console=ttyAMA0 earlycon panic=-1 $extra" >"$work/console.log" 2>&1 || status=$?
tr -d '\r' <"$work/console.log" >"$work/console.txt"
echo "boot-check.sh: QEMU exited with $status" >&2
grep -E "^(PASS|FAIL|SKIP) |dtheap|selftest:|Kernel panic" "$work/console.txt" || true
grep -q "^dtheap-check: verdict PASS" "$work/console.txt"
