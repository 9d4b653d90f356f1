#!/usr/bin/env bash
# Records where each kernel really places the placement corpus's reserved-memory pools: boots
# every layout of plan/testdata/bootcorpus/*.yaml on every reference kernel (6.1, 6.12, 7.3,
# built or reused by kernel/refkernel/build.sh) under QEMU virt with a PID 1 that only powers
# off, and writes the kernel's own reserved-memory lines of each boot to
#   plan/testdata/bootcorpus/<layout>.<version>.log
# Those logs are the test data of plan/bootcorpus_test.go (go test ./plan): the planner's
# prediction must equal every address in them. This script is not part of CI; run it again
# after changing a layout or a reference kernel, and commit the logs.
#
# The lines kept are the kernel's, unchanged: "OF: reserved mem: ..." (6.12 and later log
# every region they set up, fdt_init_reserved_mem_node() in drivers/of/of_reserved_mem.c),
# "Reserved memory: created CMA|DMA memory pool at ..." (kernel/dma/contiguous.c, coherent.c),
# failures, overlaps, and the memory node ranges. Lines starting with "#" are this script's.
# A layout with /memreserve/ entries boots with memblock=debug, and its log keeps the kernel's
# "memblock_reserve: [0x...-0x...]" line of each entry too (mm/memblock.c; 7.3 prints it as
# __memblock_reserve), in boot order: it shows when the entries were reserved, before the
# dynamic pools were placed (6.1) or after (6.12, 7.3).
#
# The board's DRAM decides QEMU's memory: one bank at 0x40000000 is -m SIZE; two banks back to
# back from 0x40000000 are two NUMA nodes (-numa node,memdev= twice), which QEMU virt describes
# as two /memory nodes. Any other layout is refused (QEMU virt cannot give it).
#
# A layout with arch: riscv64 boots the riscv64 reference kernel of each version on QEMU virt
# riscv64 through the OpenSBI firmware QEMU ships (-bios default, scripts/lib/qemu-virt.sh), with
# its one DRAM bank at 0x80000000; OpenSBI's own mmode_resv0 region is in the tree the kernel
# gets, and in the log, as on a board.
#
# Usage: scripts/record-placement.sh [LAYOUT.yaml ...]
# Environment: RECORD_VERSIONS (default "6.1 6.12 7.3"), RECORD_OUT (where the logs go, default
# plan/testdata/bootcorpus; scripts/fuzz-placement.sh points it elsewhere), DTHEAP_CACHE,
# QEMU_TIMEOUT.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
corpus=${RECORD_OUT:-plan/testdata/bootcorpus}
versions=${RECORD_VERSIONS:-6.1 6.12 7.3}
if [ $# -gt 0 ]; then layouts=("$@"); else layouts=("$corpus"/*.yaml); fi
work=$(mktemp -d /tmp/dtheap-record.XXXXXX)
trap 'rm -rf "$work"' EXIT
log() { echo "record-placement: $*" >&2; }
fail() { echo "record-placement: error: $*" >&2; exit 1; }

go build -o bin/dtheap ./cmd/dtheap
dtheap=bin/dtheap

# PID 1: power off at once. Everything recorded was logged before it ran.
cat >"$work/init.c" <<'C'
#include <sys/reboot.h>
#include <unistd.h>

int main(void)
{
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}
C

# The lines of the kernel log that are about reserved memory and the memory it sits in.
keep='OF: reserved mem|Reserved memory|memory pool|OVERLAP|cma: |CMA|Early memory node ranges|^(\[ *[0-9.]+\] )? +node +[0-9]+: \[mem |NUMA'
bad='WARNING:|------------\[ cut here|Call trace:|BUG:|Oops|Kernel panic|Unable to handle'

# shellcheck source=scripts/lib/qemu-virt.sh
. scripts/lib/qemu-virt.sh
for v in $versions; do
	for arch in arm64 riscv64; do
	mine=()
	for layout in "${layouts[@]}"; do
		[ "$(sed -n 's/^arch: *//p' "$layout")" != "$arch" ] || mine+=("$layout")
	done
	[ ${#mine[@]} -gt 0 ] || continue
	log "kernel $v ($arch)"
	eval "$(kernel/refkernel/build.sh --version "$v" --arch "$arch")"
	qemu_virt "$arch"
	"${cross}gcc" -static -Os -o "$work/init-$arch" "$work/init.c"
	[ -x "$KDIR/usr/gen_init_cpio" ] || fail "$KDIR/usr/gen_init_cpio missing (kernel build incomplete?)"
	printf '%s\n' "dir /dev 0755 0 0" "nod /dev/console 0600 0 0 c 5 1" "file /init $work/init-$arch 0755 0 0" >"$work/initramfs.list"
	"$KDIR/usr/gen_init_cpio" "$work/initramfs.list" >"$work/initramfs.cpio"
	for layout in "${mine[@]}"; do
		name=$(basename "$layout" .yaml)
		$dtheap plan --kconfig "$KDIR/.config" --format json "$layout" >"$work/plan.json" 2>"$work/plan.err" ||
			fail "$layout on $v: dtheap plan finds an error, so dtheap dtb would refuse it: $(grep -m1 'error\[' "$work/plan.err")"
		mem=$(python3 - "$work/plan.json" "$dram_base" <<'PY'
import json, sys
banks = [(b["base"], b["size"]) for b in json.load(open(sys.argv[1]))["memory"]]
dram = int(sys.argv[2], 16)
mib = lambda n: f"{n >> 20}M"
if len(banks) == 1 and banks[0][0] == dram:
    print(f"-m {mib(banks[0][1])}")
elif len(banks) == 2 and banks[0][0] == dram and banks[1][0] == sum(banks[0]):
    print(f"-m {mib(banks[0][1] + banks[1][1])}"
          f" -object memory-backend-ram,id=bank0,size={mib(banks[0][1])}"
          f" -object memory-backend-ram,id=bank1,size={mib(banks[1][1])}"
          " -numa node,memdev=bank0 -numa node,memdev=bank1")
else:
    sys.exit(f"QEMU virt cannot give the DRAM of this layout: {[(hex(b), hex(s)) for b, s in banks]}")
PY
		) || fail "$layout: DRAM does not fit QEMU virt"
		append="console=$console_dev earlycon panic=-1"
		# For a layout with /memreserve/ entries: memblock=debug, and the kernel's
		# memblock_reserve lines of exactly those ranges.
		keepmore=$(python3 - "$work/plan.json" <<'PY'
import json, sys
entries = json.load(open(sys.argv[1])).get("memreserve") or []
ranges = [f"0x{e['base']:016x}-0x{e['base'] + e['size'] - 1:016x}" for e in entries if e["size"]]
if ranges:
    print(r"|^(\[ *[0-9.]+\] )?(__)?memblock_reserve: \[(" + "|".join(ranges) + r")\]")
PY
		)
		[ -z "$keepmore" ] || append="$append memblock=debug"
		# shellcheck disable=SC2086 # $mem is a list of QEMU arguments
		"${qemu[@]}" -M virt,dumpdtb="$work/virt.dtb" $mem -nic none -display none >/dev/null 2>&1
		$dtheap dtb --kconfig "$KDIR/.config" "$layout" --base "$work/virt.dtb" -o "$work/$name.dtb"
		status=0
		# shellcheck disable=SC2086
		timeout "${QEMU_TIMEOUT:-60}" "${qemu[@]}" -M virt $mem -nographic -nic none \
			-no-reboot -kernel "$IMAGE" -initrd "$work/initramfs.cpio" -dtb "$work/$name.dtb" \
			-append "$append" 2>&1 | tr -d '\r' >"$work/console.txt" || status=$?
		[ $status -eq 0 ] || fail "$layout on $v: QEMU exited with status $status"
		grep -q "reboot: Power down" "$work/console.txt" || fail "$layout on $v: no clean power-off (console: $(tail -5 "$work/console.txt"))"
		if grep -nE "$bad" "$work/console.txt" >&2; then fail "$layout on $v: kernel warning or crash (above)"; fi
		out="$corpus/$name.$v.log"
		{
			echo "# Generated by scripts/record-placement.sh: the kernel's own lines about reserved memory,"
			echo "# unchanged, from a boot of $name.yaml on Linux $KERNEL_RELEASE ($arch, QEMU virt $mem, command line: $append)."
			echo "# Test data of plan/bootcorpus_test.go; regenerate with the script, do not edit."
			grep -E "$keep$keepmore" "$work/console.txt" || true
		} >"$out.tmp"
		mv "$out.tmp" "$out"
		log "$name on $v: $(grep -cE 'memory pool at|OF: reserved mem: 0x' "$out") pool line(s) -> $out"
	done
	done
done
