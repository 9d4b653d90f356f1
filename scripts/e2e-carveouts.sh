#!/usr/bin/env bash
# Carveout heaps of every mapping on a real boot (issue 14), on one reference kernel
# (`make e2e-carveouts` runs it on 6.1, 6.12 and 7.3):
# e2e/qemu-virt-arm64-carveouts.yaml has "dsp" write-combined (no-map), "frames" cached
# (reserved without no-map, in the linear map) and "secure" unmapped. One boot runs
# dtheap-check (every heap registered where planned, the live no-map of each node as the
# manifest says), the kernel's dmabuf-heap selftest on every mappable heap, then
# bench/guest/zerotest (no byte of one user reaches the next: across processes, churn,
# exhaustion while the zeroing worker is busy, frees racing allocations).
# A second boot gives the module the devicetree with no-map on "frames": the driver must
# refuse exactly that heap, with its reason.
#
# E2E_ARCH=riscv64 does the same on QEMU virt riscv64 under OpenSBI with
# e2e/qemu-virt-riscv64-carveouts.yaml (frames at 0xb6000000).
#
# KDIR, IMAGE, HDR and SELFTEST come from the environment, else from kernel/refkernel/build.sh.
# KVERSION (default 6.1) is the board's kernel: version, which must be the tree's.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
work=${E2E_DIR:-$top/out/e2e-carveouts}
rm -rf "$work" && mkdir -p "$work"
arch=${E2E_ARCH:-arm64}
board=e2e/qemu-virt-$arch-carveouts.yaml
# frames, the cached carveout, on each board.
case $arch in
arm64) frames=frames@76000000 ;;
riscv64) frames=frames@b6000000 ;;
*) echo "e2e-carveouts: no carveouts board for E2E_ARCH=$arch" >&2; exit 1 ;;
esac
if [ "${KVERSION:-6.1}" != 6.1 ]; then
	sed "s/version: \"6.1\"/version: \"$KVERSION\"/" "$board" >"$work/board.yaml"
	board=$work/board.yaml
fi
log() { echo "e2e-carveouts: $*" >&2; }
fail() { echo "e2e-carveouts: FAIL: $*" >&2; exit 1; }
. scripts/lib/e2e.sh
if [ -z "${KDIR:-}" ] || [ -z "${IMAGE:-}" ] || [ -z "${HDR:-}" ] || [ -z "${SELFTEST:-}" ]; then
	eval "$(kernel/refkernel/build.sh --version "${KVERSION:-6.1}" --arch "$arch")"
fi
kc=()
e2e_board_module
e2e_guest_initramfs zerotest

log "boot 1: $board (checker, selftest, zerotest)"
c=$work/console.txt
qstatus=0
e2e_boot "$work/board.dtb" "$c" "${QEMU_TIMEOUT:-600}" "dtheap.selftest=/usr/bin/dmabuf-heap dtheap.then=/usr/bin/zerotest" || qstatus=$?
grep -E "^(PASS|FAIL) |^dtheap|^zerotest|selftest: (Testing|.*(OK|FAIL))" "$c" >&2 || true
e2e_boot_passed "$c" "$qstatus"
for h in dsp frames secure; do
	grep -qE "^FAIL .*$h" "$c" && fail "heap $h failed a check"
	grep -qE "^PASS .*$h" "$c" || fail "heap $h has no passing check"
done
grep -q "dtheap: heap frames: zeroing through one mapping of the whole region" "$c" || fail "frames: no whole-region mapping"
e2e_selftest_passed "$c"
[ "$(grep -cE '^zerotest: PASS ' "$c")" -eq 8 ] || fail "zerotest: not 8 passes"
grep -q "^zerotest: END status=ok" "$c" || fail "zerotest did not pass"

log "boot 2 (frames must be refused): the same module, frames no-map in the devicetree"
dtc -q -I dtb -O dts "$work/board.dtb" | sed "/$frames {/a no-map;" | dtc -q -I dts -O dtb -o "$work/nomap.dtb" -
# The checker fails this boot (frames is missing) and does not power off: a short timeout.
e2e_boot "$work/nomap.dtb" "$work/console-nomap.txt" 90 "" || true
grep -q "^FAIL dt/pool/frames: $frames: no-map is true, manifest false" "$work/console-nomap.txt" ||
	fail "the checker did not report the no-map that differs from the manifest"
grep -q "dtheap: heap frames: refused: region $frames is no-map, but a cached heap needs its memory in the linear map" "$work/console-nomap.txt" ||
	fail "the driver did not refuse the cached heap on a no-map region"
grep -qE "dtheap: heap (dsp|secure): refused" "$work/console-nomap.txt" && fail "the driver refused another heap too"
grep -q "2 of 3 heaps registered" "$work/console-nomap.txt" || fail "not 2 of 3 heaps registered"
log "PASS"
