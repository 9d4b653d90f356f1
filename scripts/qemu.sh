#!/usr/bin/env bash
# Boot any board whose DRAM fits QEMU virt's window (one bank at 0x40000000 for arm64, at
# 0x80000000 for riscv64) on a reference kernel of its arch (arm64: 6.1 unless KERNEL_VERSION
# says 6.12 or 7.3; riscv64: 6.12, with OpenSBI), with dtheap's devicetree, module and boot
# checker, and print the checker's report: see a layout come up before the hardware arrives.
# The board is judged and emitted for that kernel (--kconfig its .config). The machines are
# scripts/lib/qemu-virt.sh's, the same scripts/e2e.sh boots.
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
# shellcheck source=scripts/lib/qemu-virt.sh
. "$top/scripts/lib/qemu-virt.sh"
go build -o bin/dtheap ./cmd/dtheap
arch=$(bin/dtheap plan --format json "$board" | python3 -c 'import json, sys; print(json.load(sys.stdin)["arch"])')
qemu_virt "$arch"
if [ -z "${KDIR:-}" ] || [ -z "${IMAGE:-}" ]; then
	default_version=6.1
	[ "$arch" = arm64 ] || default_version=6.12
	eval "$(kernel/refkernel/build.sh --version "${KERNEL_VERSION:-$default_version}" --arch "$arch")"
fi
kc=(--kconfig "$KDIR/.config")
bin/dtheap plan "${kc[@]}" --format json "$board" >"$work/plan.json"
mem=$(python3 - "$work/plan.json" "$dram_base" <<'PY'
import json, sys
p, base = json.load(open(sys.argv[1])), int(sys.argv[2], 16)
if len(p["memory"]) != 1 or p["memory"][0]["base"] != base:
    sys.exit(f"qemu.sh: QEMU virt {p['arch']} needs a board with one DRAM bank at 0x{base:x}")
print(p["memory"][0]["size"] >> 20)
PY
)
"${qemu[@]}" -M virt,dumpdtb="$work/virt.dtb" -m "$mem" -nic none -display none >/dev/null 2>&1
bin/dtheap dtb "${kc[@]}" "$board" --base "$work/virt.dtb" -o "$work/board.dtb"
initramfs=${INITRAMFS:-}
if [ -z "$initramfs" ]; then
	bin/dtheap build "${kc[@]}" "$board" --kdir "$KDIR" -o "$work/module" >/dev/null
	bin/dtheap initramfs "${kc[@]}" "$board" --module "$work/module/dtheap_heaps.ko" ${SELFTEST:+--selftest "$SELFTEST"} -o "$work/initramfs.cpio.gz"
	initramfs=$work/initramfs.cpio.gz
fi
console=${CONSOLE:-$work/console.txt}
timeout "${QEMU_TIMEOUT:-180}" "${qemu[@]}" -M virt -m "$mem" -nographic -nic none -no-reboot \
	-kernel "$IMAGE" -initrd "$initramfs" -dtb "$work/board.dtb" \
	-append "console=$console_dev earlycon panic=-1 ${SELFTEST:+dtheap.selftest=/usr/bin/dmabuf-heap}" | tr -d '\r' >"$console" || true
grep -E "^(PASS|FAIL|SKIP) |^dtheap|^selftest|Reserved memory|OVERLAP" "$console"
grep -q "^dtheap-check: verdict PASS" "$console"
