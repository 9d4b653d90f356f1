#!/usr/bin/env bash
# Boot any board whose DRAM fits QEMU virt's window (one bank at 0x40000000) on a reference
# arm64 kernel (6.1 unless KERNEL_VERSION says 6.12 or 7.3), with dtheap's devicetree, module
# and boot checker, and print the checker's report: see a layout come up before the hardware
# arrives. The board is judged and emitted for that kernel (--kconfig its .config).
#
# Usage: scripts/qemu.sh BOARD.yaml            (make qemu BOARD=BOARD.yaml [KERNEL_VERSION=7.3])
# Environment: KERNEL_VERSION; KDIR/IMAGE to use your own kernel build instead of the
# reference kernel; INITRAMFS to boot that image instead of building dtheap's (e.g. the u-root
# one of scripts/e2e-uroot.sh); CONSOLE to keep the whole console (CR stripped) in that file.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
board=${1:?usage: scripts/qemu.sh BOARD.yaml}
board=$(realpath "$board")
cd "$top"
work=$(mktemp -d /tmp/dtheap-qemu.XXXXXX)
trap 'rm -rf "$work"' EXIT
if [ -z "${KDIR:-}" ] || [ -z "${IMAGE:-}" ]; then
	eval "$(kernel/refkernel/build.sh --version "${KERNEL_VERSION:-6.1}")"
fi
kc=(--kconfig "$KDIR/.config")
go build -o bin/dtheap ./cmd/dtheap
bin/dtheap plan "${kc[@]}" --format json "$board" >"$work/plan.json"
mem=$(python3 - "$work/plan.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
if p["arch"] != "arm64" or len(p["memory"]) != 1 or p["memory"][0]["base"] != 0x40000000:
    sys.exit("qemu.sh: QEMU virt needs an arm64 board with one DRAM bank at 0x40000000")
print(p["memory"][0]["size"] >> 20)
PY
)
qemu-system-aarch64 -M virt,dumpdtb="$work/virt.dtb" -cpu cortex-a57 -m "$mem" -nic none -display none >/dev/null 2>&1
bin/dtheap dtb "${kc[@]}" "$board" --base "$work/virt.dtb" -o "$work/board.dtb"
initramfs=${INITRAMFS:-}
if [ -z "$initramfs" ]; then
	bin/dtheap build "${kc[@]}" "$board" --kdir "$KDIR" -o "$work/module" >/dev/null
	bin/dtheap initramfs "${kc[@]}" "$board" --module "$work/module/dtheap_heaps.ko" ${SELFTEST:+--selftest "$SELFTEST"} -o "$work/initramfs.cpio.gz"
	initramfs=$work/initramfs.cpio.gz
fi
console=${CONSOLE:-$work/console.txt}
timeout "${QEMU_TIMEOUT:-180}" qemu-system-aarch64 -M virt -cpu cortex-a57 -m "$mem" -nographic -nic none -no-reboot \
	-kernel "$IMAGE" -initrd "$initramfs" -dtb "$work/board.dtb" \
	-append "console=ttyAMA0 earlycon panic=-1 ${SELFTEST:+dtheap.selftest=/usr/bin/dmabuf-heap}" | tr -d '\r' >"$console" || true
grep -E "^(PASS|FAIL|SKIP) |^dtheap|^selftest|Reserved memory|OVERLAP" "$console"
grep -q "^dtheap-check: verdict PASS" "$console"
