#!/usr/bin/env bash
# dtheap's CMA-pool heaps on a real boot (issue 14), on one reference kernel where dtheap serves
# CMA (`make e2e-cma` runs it on 6.1 and 6.12; 7.3 registers its CMA heaps itself). One boot of
# boards/qemu-virt-arm64.yaml runs dtheap-check, the kernel's dmabuf-heap selftest on every
# mappable heap, then bench/guest/cmatest on "video@60000000" and "camera": the heaps carve small
# buffers from chunks they keep, and must still fit exactly as many 64 KiB and 1 MiB buffers as
# the pool holds, hand out only zeroed memory (across processes, under concurrent churn), and give
# a freed pool back whole for one pool-sized allocation (after the fills and after a seeded mix of
# carved and large buffers), and give the chunk they keep warm back when reclaim asks (the
# heap's shrinker, run through drop_caches). E2E_ARCH=riscv64 does the same with
# boards/qemu-virt-riscv64.yaml (video@a0000000 and camera) on QEMU virt riscv64 under OpenSBI.
#
# KDIR, IMAGE, HDR and SELFTEST come from the environment, else from kernel/refkernel/build.sh
# --version KVERSION (default 6.1). Every dtheap command gets the tree's .config (--kconfig).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
work=${E2E_DIR:-$top/out/e2e-cma}
rm -rf "$work" && mkdir -p "$work"
arch=${E2E_ARCH:-arm64}
case $arch in
arm64) board=boards/qemu-virt-arm64.yaml video=video@60000000 ;;
riscv64) board=boards/qemu-virt-riscv64.yaml video=video@a0000000 ;;
*) echo "e2e-cma: no board for E2E_ARCH=$arch" >&2; exit 1 ;;
esac
log() { echo "e2e-cma: $*" >&2; }
fail() { echo "e2e-cma: FAIL: $*" >&2; exit 1; }
. scripts/lib/e2e.sh
if [ -z "${KDIR:-}" ] || [ -z "${IMAGE:-}" ] || [ -z "${HDR:-}" ] || [ -z "${SELFTEST:-}" ]; then
	eval "$(kernel/refkernel/build.sh --version "${KVERSION:-6.1}" --arch "$arch")"
fi
kc=(--kconfig "$KDIR/.config")
e2e_board_module
e2e_guest_initramfs cmatest

log "boot: $board (checker, selftest, cmatest)"
c=$work/console.txt
qstatus=0
e2e_boot "$work/board.dtb" "$c" "${QEMU_TIMEOUT:-600}" "dtheap.selftest=/usr/bin/dmabuf-heap dtheap.then=/usr/bin/cmatest CMATEST_HEAPS=$video,camera" || qstatus=$?
grep -E "^(PASS|FAIL) |^dtheap|^cmatest|selftest: (# )?(Testing|Totals)" "$c" >&2 || true
e2e_boot_passed "$c" "$qstatus"
for h in $video camera; do
	grep -q "dtheap: heap $h: cma on " "$c" || fail "dtheap did not register the cma heap $h"
done
e2e_selftest_passed "$c"
[ "$(grep -cE '^cmatest: PASS ' "$c")" -eq 12 ] || fail "cmatest: not 12 passes"
grep -q "^cmatest: END status=ok" "$c" || fail "cmatest did not pass"
log "PASS"
