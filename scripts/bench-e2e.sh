#!/usr/bin/env bash
# make bench-e2e: the guest-side benchmarks of issues #8 and #14 on the QEMU board, on the 6.1
# reference kernel (BENCH_KVERSION=6.12 or 7.3 for another cached reference kernel), the way
# scripts/e2e.sh boots it (every dtheap command gets that kernel's .config).
#
#   1. Heaps: boots BENCH_BOOTS times (default 3) an initramfs whose dtheap-check execs
#      bench/guest/heapbench after its checks (dtheap.then=/usr/bin/heapbench); heapbench
#      measures alloc+free, mmap+first touch, the memset floor and fragmentation on every heap
#      of /dev/dma_heap (the kernel's system and linux,cma heaps and dtheap's), HEAPBENCH_ROUNDS
#      interleaved rounds per boot (default 5), and powers off. BENCH_BOOTS=0 skips this part.
#      Alloc+free is measured three ways: a tight loop, paced (an untimed idle gap of
#      HEAPBENCH_PACE_US, default 5000, before each sample, every heap and memset alike: zeroed
#      memory is available to a heap that zeroes ahead of time) and, for such heaps, exhausted
#      (pool full but one dirty buffer).
#   2. Boot check: boots BOOT_BOOTS times (default 5) each of three /init variants, interleaved:
#      the minimal /init (bench/guest/mininit: mounts, powers off), the same loading the heap
#      module (MININIT_LOAD=1), and dtheap-check --timings; all with printk.time=1, timed from
#      the kernel's printk clock. Archives differ only in /init. BOOT_BOOTS=0 skips this part.
#      BENCH_CHECKER_BEFORE=PATH (a dtheap-check built elsewhere, e.g. from an older commit)
#      adds a fourth variant in the same rounds, "dtheap-check (before)": a before/after of the
#      checker on the same module, kernel and load.
#      The report's targets: issue #8's (< 10% over the minimal /init) and issue #14's (at most
#      100 ms over the minimal /init + module load).
#
# BENCH_BOARD (default boards/qemu-virt-arm64.yaml) boots another board, e.g.
# e2e/qemu-virt-arm64-carveouts.yaml for a cached carveout ("frames") next to a write-combined one.
#
# Then bench/guest/cmd/heapreport prints the Markdown tables (also to $BENCH_DIR/report.md) and
# writes $BENCH_DIR/results.json. Consoles stay in $BENCH_DIR (default out/bench).
#
# Everything runs under QEMU TCG (software emulation): absolute times are emulated, not
# hardware; ratios between heaps measured on the same boot are the meaningful part.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
work=${BENCH_DIR:-$top/out/bench}
board=${BENCH_BOARD:-boards/qemu-virt-arm64.yaml}
heap_boots=${BENCH_BOOTS:-3}
boot_boots=${BOOT_BOOTS:-5}
rounds=${HEAPBENCH_ROUNDS:-5}
seed=${HEAPBENCH_SEED:-1}
pace=${HEAPBENCH_PACE_US:-5000}
rm -rf "$work" && mkdir -p "$work"
log() { echo "bench-e2e: $*" >&2; }
fail() { echo "bench-e2e: FAIL: $*" >&2; exit 1; }
. scripts/lib/e2e.sh

log "machine: $(nproc) CPU(s), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(qemu-system-aarch64 --version | head -1)"
log "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
eval "$(kernel/refkernel/build.sh --version "${BENCH_KVERSION:-6.1}")"
log "kernel $KERNEL_RELEASE ($IMAGE)"
kc=(--kconfig "$KDIR/.config")
e2e_board_module
ko=$work/module/dtheap_heaps.ko

log "guest programs: heapbench, mininit (static, aarch64); dtheap-check (as dtheap initramfs builds it)"
aarch64-linux-gnu-gcc -static -O2 -Wall -Wextra -Werror -I"$HDR/include" -o "$work/heapbench" bench/guest/heapbench/heapbench.c
aarch64-linux-gnu-gcc -static -O2 -s -Wall -Wextra -Werror -o "$work/mininit" bench/guest/mininit/mininit.c
CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -trimpath -ldflags="-s -w" -o "$work/dtheap-check" ./cmd/dtheap-check

$dtheap initramfs "${kc[@]}" "$board" --module "$ko" --checker "$work/dtheap-check" \
	--file "$work/heapbench:/usr/bin/heapbench" -o "$work/bench.cpio.gz" 2>/dev/null
$dtheap initramfs "${kc[@]}" "$board" --module "$ko" --checker "$work/dtheap-check" -o "$work/check.cpio.gz" 2>/dev/null
$dtheap initramfs "${kc[@]}" "$board" --module "$ko" --checker "$work/mininit" -o "$work/base.cpio.gz" 2>/dev/null
before=${BENCH_CHECKER_BEFORE:-}
if [ -n "$before" ]; then
	$dtheap initramfs "${kc[@]}" "$board" --module "$ko" --checker "$before" -o "$work/before.cpio.gz" 2>/dev/null
fi

# boot INITRAMFS CONSOLE CMDLINE-EXTRA: the console (CR stripped) lands in CONSOLE.
boot() {
	local status=0
	e2e_boot "$work/board.dtb" "$2" "${QEMU_TIMEOUT:-600}" "printk.time=1 $3" "$1" || status=$?
	rm -f "$2.raw"
	[ $status -eq 0 ] || fail "QEMU exited with status $status (timeout or crash); console: $2"
	grep -q "reboot: Power down" "$2" || fail "the guest did not power off cleanly: $2"
	if grep -nE "WARNING:|BUG:|Oops|Kernel panic|Unable to handle" "$2" >&2; then
		fail "kernel log has a warning, bug or oops: $2"
	fi
}

args=()
for i in $(seq 1 "$heap_boots"); do
	c=$work/heap-$i.txt
	log "heaps: boot $i of $heap_boots ($rounds rounds; load $(cut -d' ' -f1 /proc/loadavg))"
	boot "$work/bench.cpio.gz" "$c" "dtheap.then=/usr/bin/heapbench HEAPBENCH_ROUNDS=$rounds HEAPBENCH_SEED=$seed HEAPBENCH_PACE_US=$pace"
	grep -q "^dtheap-check: verdict PASS" "$c" || fail "the checker did not pass before the benchmark: $c"
	grep -q "^BENCH-END status=ok" "$c" || fail "heapbench did not finish cleanly: $c"
	args+=(--heap "$c")
done

for i in $(seq 1 "$boot_boots"); do
	log "boot check: round $i of $boot_boots (load $(cut -d' ' -f1 /proc/loadavg))"
	boot "$work/base.cpio.gz" "$work/base-$i.txt" ""
	boot "$work/base.cpio.gz" "$work/base-module-$i.txt" "MININIT_LOAD=1"
	grep -q "^mininit: mounted, 1 module(s) loaded" "$work/base-module-$i.txt" || fail "mininit did not load the module: $work/base-module-$i.txt"
	boot "$work/check.cpio.gz" "$work/check-$i.txt" "dtheap.timings"
	grep -q "^dtheap-check: verdict PASS" "$work/check-$i.txt" || fail "the checker did not pass: $work/check-$i.txt"
	args+=(--baseline "$work/base-$i.txt" --extra "minimal /init + module load=$work/base-module-$i.txt" --checker "$work/check-$i.txt")
	if [ -n "$before" ]; then
		boot "$work/before.cpio.gz" "$work/before-$i.txt" "dtheap.timings"
		grep -q "^dtheap-check: verdict PASS" "$work/before-$i.txt" || fail "the before checker did not pass: $work/before-$i.txt"
		args+=(--extra "dtheap-check (before)=$work/before-$i.txt")
	fi
done
log "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"

go run ./bench/guest/cmd/heapreport "${args[@]}" \
	--binary "dtheap-check (stripped, static Go)=$work/dtheap-check" \
	--binary "mininit (stripped, static C, glibc)=$work/mininit" \
	--binary "heapbench (static C, glibc)=$work/heapbench" \
	--json "$work/results.json" | tee "$work/report.md"
echo "bench-e2e: done: $heap_boots heap boot(s) x $rounds rounds, $boot_boots x 3 timing boots; $work/report.md, $work/results.json"
