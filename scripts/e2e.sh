#!/usr/bin/env bash
# End-to-end proof on a real boot: the Linux 6.1 reference kernel (arm64) boots under QEMU virt
# with dtheap's devicetree, loads dtheap's module, and the boot checker plus the kernel's own
# dmabuf-heap selftest exercise every heap. Then two failure proofs: a devicetree from another
# board (the driver must refuse exactly the heaps that differ, the checker must fail) and a
# module build against a kernel without the export patch (dtheap build must refuse it before
# compiling).
#
# Everything is built from this tree; the kernel is cached outside it (kernel/refkernel/build.sh,
# keyed by config), so a warm run takes about a minute. Work files go to $E2E_DIR (default
# out/e2e). Ends with: e2e: N heaps ok, M selftest cases ok, placement exact
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
work=${E2E_DIR:-$top/out/e2e}
board=boards/qemu-virt-arm64.yaml
other=e2e/qemu-virt-arm64-other.yaml
rm -rf "$work" && mkdir -p "$work"
log() { echo "e2e: $*" >&2; }
fail() { echo "e2e: FAIL: $*" >&2; exit 1; }

log "reference kernel (cached in ${DTHEAP_CACHE:-$HOME/.cache/dtheap})"
eval "$(kernel/refkernel/build.sh)"
go build -o bin/dtheap ./cmd/dtheap
dtheap=bin/dtheap

log "devicetree: QEMU virt's own tree patched with $board"
qemu-system-aarch64 -M virt,dumpdtb="$work/virt.dtb" -cpu cortex-a57 -m 1024 -nic none -display none >/dev/null 2>&1
$dtheap dtb "$board" --base "$work/virt.dtb" -o "$work/board.dtb"
$dtheap dtb "$other" --base "$work/virt.dtb" -o "$work/other.dtb"
$dtheap plan --format json "$board" >"$work/plan.json"

log "module: dtheap build against $KDIR"
$dtheap build "$board" --kdir "$KDIR" -o "$work/module" -j2 >/dev/null

log "module for every reference board (W=1, -Werror, no warnings) and checkpatch --strict"
for b in boards/*.yaml; do
	n=$(basename "$b" .yaml)
	$dtheap build "$b" --kdir "$KDIR" -o "$work/modules/$n" -j2 >/dev/null 2>"$work/modules-$n.log" ||
		{ cat "$work/modules-$n.log" >&2; fail "module build for $b"; }
done
for f in kernel/src/*.c kernel/src/*.h "$work"/modules/*/dtheap_board.c; do
	"$KDIR/scripts/checkpatch.pl" --strict --no-tree --quiet --show-types -f "$f" >"$work/checkpatch.txt" 2>&1 ||
		{ cat "$work/checkpatch.txt" >&2; fail "checkpatch --strict: $f"; }
	[ ! -s "$work/checkpatch.txt" ] || { cat "$work/checkpatch.txt" >&2; fail "checkpatch --strict: $f"; }
done

log "initramfs: checker + module + manifest + kernel selftest"
$dtheap initramfs "$board" --module "$work/module/dtheap_heaps.ko" --selftest "$SELFTEST" -o "$work/initramfs.cpio.gz"
$dtheap manifest "$board" -o "$work/manifest.json"

# boot DTB CONSOLE: boots the reference kernel, the console (CR stripped) lands in CONSOLE.
boot() {
	local status=0
	timeout "${QEMU_TIMEOUT:-180}" qemu-system-aarch64 -M virt -cpu cortex-a57 -m 1024 -nographic -nic none \
		-no-reboot -kernel "$IMAGE" -initrd "$work/initramfs.cpio.gz" -dtb "$1" \
		-append "console=ttyAMA0 earlycon panic=-1 dtheap.selftest=/usr/bin/dmabuf-heap" >"$2.raw" 2>&1 || status=$?
	tr -d '\r' <"$2.raw" >"$2"
	return $status
}

log "boot 1: $board"
qstatus=0
boot "$work/board.dtb" "$work/console.txt" || qstatus=$?
console=$work/console.txt
grep -E "^(PASS|FAIL|SKIP) |^dtheap|selftest" "$console" >&2 || true
[ $qstatus -eq 0 ] || fail "QEMU exited with status $qstatus (timeout or crash); console: $console"
grep -q "reboot: Power down" "$console" || fail "the guest did not power off cleanly"
if grep -nE "WARNING:|------------\[ cut here|BUG:|Oops|OVERLAP DETECTED|Kernel panic|Unable to handle" "$console"; then
	fail "kernel log has a warning, bug, oops or overlap (above)"
fi
grep -q "^dtheap-check: verdict PASS" "$console" || fail "the boot checker did not pass (see $console)"

# Every heap of the manifest registered and passed; every pool where the planner said.
heaps=0
for h in $(python3 -c 'import json,sys; [print(h["name"]) for h in json.load(open(sys.argv[1]))["heaps"]]' "$work/manifest.json"); do
	grep -qE "^FAIL .*$h" "$console" && fail "heap $h failed a check"
	grep -qE "^PASS .*$h" "$console" || fail "heap $h has no passing check"
	heaps=$((heaps + 1))
done
python3 - "$work/plan.json" "$console" <<'PY' || fail "placement differs from the plan"
import json, re, sys
plan = json.load(open(sys.argv[1]))
log = open(sys.argv[2]).read()
ok = True
# CMA pools: "Reserved memory: created CMA memory pool at 0x..., size N MiB" follows
# "OF: reserved mem: initialized node NAME" order-insensitively; use the debugfs-independent
# cma lines plus the dtheap driver's own registration lines.
created = re.findall(r"created CMA memory pool at (0x[0-9a-f]+), size (\d+) MiB", log)
got = {(int(b, 16), int(s) << 20) for b, s in created}
for r in plan["regions"]:
    if r["kind"] != "cma" or not r["placed"]:
        continue
    if (r["base"], r["size"]) not in got:
        print(f"e2e: pool {r['name']}: predicted 0x{r['base']:x}, kernel created {sorted(hex(b) for b, _ in got)}", file=sys.stderr)
        ok = False
for m in re.finditer(r"dtheap: heap (\S+): \S+ on (\S+) base (0x[0-9a-f]+) size (0x[0-9a-f]+)", log):
    name, region, base, size = m.group(1), m.group(2), int(m.group(3), 16), int(m.group(4), 16)
    r = next((r for r in plan["regions"] if r["node"] == region), None)
    if r is None or r["base"] != base or r["size"] != size:
        print(f"e2e: heap {name} on {region} at 0x{base:x}: plan says {r and hex(r['base'])}", file=sys.stderr)
        ok = False
sys.exit(0 if ok else 1)
PY
selftest_ok=$(grep -cE "^selftest: .*: +OK$" "$console" || true)
selftest_fail=$(grep -cE "^selftest: .*(FAIL|ERROR|Error)" "$console" || true)
selftest_heaps=$(grep -cE "^selftest: Testing heap: " "$console" || true)
mappable=$(python3 -c 'import json,sys; print(sum(h["mappable"] for h in json.load(open(sys.argv[1]))["heaps"]))' "$work/manifest.json")
[ "$selftest_heaps" -eq "$mappable" ] || fail "the selftest ran on $selftest_heaps heaps, the board has $mappable mappable ones"
[ "$selftest_ok" -gt 0 ] || fail "the kernel selftest reported no passing case"
[ "$selftest_fail" -eq 0 ] || fail "the kernel selftest reported $selftest_fail failures"

log "boot 2 (must fail): module for $board, devicetree of $other"
boot "$work/other.dtb" "$work/console-other.txt" || true
co=$work/console-other.txt
grep -q "^dtheap-check: verdict FAIL" "$co" || fail "checker did not fail on the wrong devicetree (see $co)"
for h in dsp secure; do
	grep -q "dtheap: heap $h: refused" "$co" || fail "driver did not refuse heap $h on the wrong devicetree"
done
for h in video@60000000 camera; do
	grep -q "dtheap: heap $h: refused" "$co" && fail "driver refused heap $h, which matches"
done
if grep -nE "WARNING:|BUG:|Oops|Kernel panic|Unable to handle" "$co"; then fail "kernel crashed on the wrong devicetree"; fi

log "build without the export patch (must be refused before compiling)"
eval "$(kernel/refkernel/build.sh --no-export-patch | sed 's/^/NOEXP_/')"
if $dtheap build "$board" --kdir "$NOEXP_KDIR" -o "$work/module-noexport" 2>"$work/noexport.txt"; then
	fail "dtheap build accepted a kernel without the dma_heap exports"
fi
grep -q "export patch" "$work/noexport.txt" || fail "the refusal does not name the export patch: $(cat "$work/noexport.txt")"
[ ! -e "$work/module-noexport/dtheap_core.o" ] || fail "dtheap build compiled before refusing"

echo "e2e: $heaps heaps ok, $selftest_ok selftest cases ok, placement exact"
