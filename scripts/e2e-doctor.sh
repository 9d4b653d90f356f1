#!/usr/bin/env bash
# Doctor verdicts proven in the guest on a deliberately broken tree (issue 13, item 2). One boot
# of the cached 6.1 reference kernel with e2e/qemu-virt-arm64-doctor.yaml's devicetree, six of
# its /reserved-memory nodes broken in ways the kernel reacts to. The boot checker must fail
# (its manifest is the board as written) and then run the doctor (package doctor, the code of
# dtheap doctor) in the guest. For every broken node the script asserts three things: the
# kernel's own log has the line 6.1's source prints for that defect, the doctor gives the
# verdict that line justifies, and the doctor quotes that line as its evidence.
#
# The kernel lines, from /usr/src/linux-source-6.1 (pr_fmt "OF: reserved mem: " in
# drivers/of/of_reserved_mem.c):
#   no-map + reusable CMA   rmem_cma_setup (kernel/dma/contiguous.c) refuses no-map,
#                           rmem_dma_setup (kernel/dma/coherent.c) refuses reusable:
#                           fdt_init_reserved_mem "node %s compatible matching fail"     -> refused
#   CMA size off 4 MiB      rmem_cma_setup "Reserved memory: incorrect alignment of CMA
#                           region", then the same "compatible matching fail"          -> refused
#   2 GiB dynamic pool      __reserved_mem_alloc_size "failed to allocate memory for node
#                           '%s': size %lu MiB"                                        -> failed
#   one-cell size           __reserved_mem_alloc_size "invalid size property in '%s'
#                           node."                                                     -> ignored
#   no-map over the kernel  drivers/of/fdt.c __reserved_mem_reserve_reg "Reserved memory:
#                           failed to reserve memory for node '%s': base %pa, size %lu
#                           MiB" (early_init_dt_reserve_memory: -EBUSY)                -> failed
#   two overlapping regs    __rmem_check_for_overlap "OVERLAP DETECTED!\n%s (%pa--%pa)
#                           overlaps with %s (%pa--%pa)"                               -> overlapping (both)
# The default CMA pool is left alone: placed ("initialized node linux,cma").
#
# KDIR and IMAGE come from the environment, else from kernel/refkernel/build.sh (cached).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
work=${E2E_DIR:-$top/out/e2e-doctor}
rm -rf "$work" && mkdir -p "$work"
board=e2e/qemu-virt-arm64-doctor.yaml
log() { echo "e2e-doctor: $*" >&2; }
fail() { echo "e2e-doctor: FAIL: $*" >&2; exit 1; }
if [ -z "${KDIR:-}" ] || [ -z "${IMAGE:-}" ]; then
	eval "$(kernel/refkernel/build.sh --version 6.1)"
fi
go build -o bin/dtheap ./cmd/dtheap
dtheap=bin/dtheap

$dtheap validate "$board" >/dev/null || fail "$board does not validate as written"
qemu-system-aarch64 -M virt,dumpdtb="$work/virt.dtb" -cpu cortex-a57 -m 1024 -nic none -display none >/dev/null 2>&1
$dtheap dtb "$board" --base "$work/virt.dtb" -o "$work/board.dtb"
$dtheap initramfs "$board" -o "$work/initramfs.cpio.gz"

# Break the tree: each edit is confined to its node's block.
dtc -q -I dtb -O dts "$work/board.dtb" >"$work/board.dts"
python3 - "$work/board.dts" "$work/broken.dts" <<'PY'
import re, sys
src = open(sys.argv[1]).read()
edits = [
    ("nomapcma@60000000", "reusable;", "reusable;\n\t\t\tno-map;"),
    ("oddcma@61000000", "0x00 0x61000000 0x00 0x1000000", "0x00 0x61000000 0x00 0x1100000"),
    ("big", "size = <0x00 0x2000000>;", "size = <0x00 0x80000000>;"),
    ("badsize", "size = <0x00 0x1000000>;", "size = <0x1000000>;"),
    ("tee@63000000", "0x00 0x63000000 0x00 0x1000000", "0x00 0x40000000 0x00 0x1000000"),
    ("ovl-b@65000000", "0x00 0x65000000 0x00 0x1000000", "0x00 0x64800000 0x00 0x1000000"),
]
for node, old, new in edits:
    m = re.search(r"\n\t\t" + re.escape(node) + r" \{\n(.*?)\n\t\t\};", src, re.S)
    if not m or old not in m.group(1):
        sys.exit("e2e-doctor: cannot break %s: %r not in its node" % (node, old))
    src = src[:m.start(1)] + m.group(1).replace(old, new, 1) + src[m.end(1):]
open(sys.argv[2], "w").write(src)
PY
dtc -q -I dts -O dtb -o "$work/broken.dtb" "$work/broken.dts"

log "boot: 6.1 with the broken tree (the checker must fail, then run the doctor)"
c=$work/console.txt
qstatus=0
timeout "${QEMU_TIMEOUT:-300}" qemu-system-aarch64 -M virt -cpu cortex-a57 -m 1024 -nographic -nic none \
	-no-reboot -kernel "$IMAGE" -initrd "$work/initramfs.cpio.gz" -dtb "$work/broken.dtb" \
	-append "console=ttyAMA0 earlycon panic=-1" >"$c.raw" 2>&1 || qstatus=$?
tr -d '\r' <"$c.raw" >"$c"
[ $qstatus -eq 0 ] || fail "QEMU exited with status $qstatus (timeout?); console: $c"
grep -q "reboot: Power down" "$c" || fail "the guest did not power off after the failed check; console: $c"
grep -q "^dtheap-check: verdict FAIL" "$c" || fail "the boot checker did not fail on the broken tree; console: $c"
grep -q "^FAIL " "$c" || fail "the boot checker printed no FAIL line"
grep -q "^dtheap-check: doctor: " "$c" || fail "the checker did not run the doctor after the failed check"

# node|verdict|broken (1: this script broke it; 0: hit by another's breakage)|the kernel's
# line (an extended regex over the console)
overlap="ovl-a@64000000 \(0x0000000064000000--0x0000000065000000\) overlaps with ovl-b@65000000 \(0x0000000064800000--0x0000000065800000\)"
checks=(
	"nomapcma@60000000|refused|1|OF: reserved mem: node nomapcma@60000000 compatible matching fail"
	"oddcma@61000000|refused|1|OF: reserved mem: node oddcma@61000000 compatible matching fail"
	"oddcma@61000000|refused|0|Reserved memory: incorrect alignment of CMA region"
	"big|failed|1|OF: reserved mem: failed to allocate memory for node 'big': size 2048 MiB"
	"badsize|ignored|1|OF: reserved mem: invalid size property in 'badsize' node\."
	"tee@63000000|failed|1|OF: fdt: Reserved memory: failed to reserve memory for node 'tee@63000000': base 0x0000000040000000, size 16 MiB"
	"ovl-b@65000000|overlapping|1|$overlap"
	"ovl-a@64000000|overlapping|0|$overlap"
)
# The alignment refusal names no node; it must come right before oddcma's matching fail.
grep -A1 "Reserved memory: incorrect alignment of CMA region" "$c" | grep -q "node oddcma@61000000 compatible matching fail" ||
	fail "no 'incorrect alignment of CMA region' just before oddcma's refusal"
grep -q "OF: reserved mem: OVERLAP DETECTED!" "$c" || fail "the kernel printed no OVERLAP DETECTED"

# doctor_block NODE: the doctor's verdict line for /reserved-memory/NODE and its evidence lines.
doctor_block() {
	awk -v want="/reserved-memory/$1:" '
		/^dtheap-check: doctor: / {
			line = substr($0, length("dtheap-check: doctor: ") + 1)
			if (line ~ /^ +evidence: /) { if (inblock) print line; next }
			split(line, f, " ")
			inblock = (f[2] == want)
			if (inblock) print line
		}' "$c"
}

broken=0
for entry in "${checks[@]}"; do
	IFS='|' read -r node verdict isbroken kline <<<"$entry"
	grep -qE "$kline" "$c" || fail "$node: the kernel did not print: $kline"
	block=$(doctor_block "$node")
	[ -n "$block" ] || fail "$node: the doctor said nothing about it"
	got=$(head -n1 <<<"$block" | awk '{print $1}')
	[ "$got" = "$verdict" ] || fail "$node: doctor verdict $got, the kernel log justifies $verdict:
$block"
	grep -E "^ +evidence: " <<<"$block" | grep -qE "$kline" ||
		fail "$node: the doctor's evidence does not quote the kernel line ($kline):
$block"
	log "$node: $verdict (kernel: $(grep -oE "$kline" "$c" | head -n1))"
	broken=$((broken + isbroken))
done
# The untouched default pool must not be blamed.
got=$(doctor_block "linux,cma" | head -n1 | awk '{print $1}')
[ "$got" = placed ] || fail "linux,cma: doctor verdict '$got', want placed (the kernel initialized it)"
grep -q "OF: reserved mem: initialized node linux,cma, compatible id shared-dma-pool" "$c" || fail "linux,cma was not initialized"
echo "e2e-doctor 6.1: $broken broken nodes, verdicts match the kernel log"
