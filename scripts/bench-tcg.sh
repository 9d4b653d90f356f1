#!/usr/bin/env bash
# make bench-tcg: where the boot checker's cost under QEMU TCG goes to translation (issue #14,
# BENCHMARKS.md "Boot check"). Boots the QEMU board once on the 6.1 reference kernel
# (BENCH_KVERSION for another cached one) with dtheap-check as /init and QEMU's -d in_asm log
# on, then bench/guest/cmd/tcgprof counts the guest instructions QEMU translated after /init
# started, by package, phase and function, from the checker's unstripped ELF symbols and the
# kernel's System.map.
#
# Under TCG the first run of any guest instruction costs its translation, and the checker's
# cold start is most of its boot time. Unlike timings, the counts are exact and do not move
# with the host's load. BENCH_CHECKER_BEFORE=PATH (an unstripped dtheap-check built elsewhere,
# e.g. from an older commit) is profiled the same way first, for a before/after.
#
# Output: $BENCH_DIR (default out/bench-tcg)/profile.md (and profile-before.md); the in_asm
# logs (tens of MB) are deleted after profiling unless BENCH_KEEP_LOG=1.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
work=${BENCH_DIR:-$top/out/bench-tcg}
board=${BENCH_BOARD:-boards/qemu-virt-arm64.yaml}
rm -rf "$work" && mkdir -p "$work"
log() { echo "bench-tcg: $*" >&2; }
fail() { echo "bench-tcg: FAIL: $*" >&2; exit 1; }
. scripts/lib/e2e.sh

eval "$(kernel/refkernel/build.sh --version "${BENCH_KVERSION:-6.1}")"
log "kernel $KERNEL_RELEASE ($IMAGE)"
kc=(--kconfig "$KDIR/.config")
e2e_board_module
# The same build as the initramfs gets, but with its symbol table (no -s -w): the code is the same.
CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -trimpath -o "$work/dtheap-check" ./cmd/dtheap-check

phases=(main.main main.mountPseudoFS main.run
	github.com/dtheap/dtheap/provision/manifest.Read
	github.com/dtheap/dtheap/provision/check.Run
	'github.com/dtheap/dtheap/provision/check.(*runner).checkModules'
	'github.com/dtheap/dtheap/provision/check.(*runner).checkDT'
	'github.com/dtheap/dtheap/provision/check.(*runner).checkHeap'
	'github.com/dtheap/dtheap/provision/check.(*runner).checkCMATotal'
	main.finish)
profile() { # CHECKER OUT
	$dtheap initramfs "${kc[@]}" "$board" --module "$work/module/dtheap_heaps.ko" --checker "$1" -o "$work/tcg.cpio.gz" 2>/dev/null
	local status=0
	qemu_extra=(-d in_asm -D "$work/in_asm.log")
	e2e_boot "$work/board.dtb" "$work/console-$(basename "$2" .md).txt" "${QEMU_TIMEOUT:-600}" "" "$work/tcg.cpio.gz" || status=$?
	qemu_extra=()
	[ $status -eq 0 ] || fail "QEMU exited with status $status; console: $work/console-$(basename "$2" .md).txt"
	grep -q "^dtheap-check: verdict PASS" "$work/console-$(basename "$2" .md).txt" || fail "the checker did not pass"
	args=()
	for p in "${phases[@]}"; do args+=(--phase "$p"); done
	go run ./bench/guest/cmd/tcgprof --log "$work/in_asm.log" --binary "$1" --system-map "$KDIR/System.map" --top "${BENCH_TOP:-40}" "${args[@]}" >"$2"
	[ "${BENCH_KEEP_LOG:-0}" = 1 ] || rm -f "$work/in_asm.log"
	log "$(head -1 "$2")"
}
if [ -n "${BENCH_CHECKER_BEFORE:-}" ]; then
	profile "$BENCH_CHECKER_BEFORE" "$work/profile-before.md"
fi
profile "$work/dtheap-check" "$work/profile.md"
echo "bench-tcg: done: $work/profile.md"
