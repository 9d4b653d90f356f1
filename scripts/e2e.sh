#!/usr/bin/env bash
# End-to-end proof on real boots, once per kernel: Linux 6.1, 6.12 and 7.3 reference kernels
# (arm64) boot under QEMU virt with dtheap's devicetree, load dtheap's module, and the boot
# checker plus the kernel's own dmabuf-heap selftest exercise every heap of the manifest (on
# 7.3 the CMA heaps are the kernel's own, provider "kernel"; the module registers only the
# carveout and unmapped ones). Every dtheap command gets the kernel's .config (--kconfig), so
# the board is judged, planned and emitted for the kernel that really boots.
# Then the same on riscv64: each reference kernel built for riscv64 boots QEMU virt
# riscv64 through the OpenSBI firmware QEMU ships (-bios default) with
# boards/qemu-virt-riscv64.yaml. OpenSBI inserts its own /reserved-memory child for itself;
# the board lists it as a firmware region and the placement check compares it with the
# kernel's line too.
#
# Failure proofs per kernel:
#   - every kernel: a devicetree from another board (the driver must refuse exactly the heaps
#     that differ, the checker must fail);
#   - a kernel that needs the export patch (6.1, 6.12): a module build against the same version
#     without it (kernel/refkernel/noexport.sh: the cached patched tree, the patch reversed and
#     rebuilt by make) must be refused before compiling. The refusal reads Module.symvers, the
#     same check on both, so it runs once, on the first such kernel (6.1 by default);
#   - a kernel that exports dma_heap_add itself (7.3): dtheap build must not ask for the patch,
#     and the module must import the DMA_BUF_HEAP namespace instead.
#
# Kernels are cached outside the tree (kernel/refkernel/build.sh, keyed by inputs), so a warm
# run takes a few minutes. Work files go to $E2E_DIR/<version> (default out/e2e), riscv64 ones
# to $E2E_DIR/<version>-riscv64. E2E_VERSIONS picks the arm64 kernels (default "6.1 6.12 7.3"),
# E2E_RISCV64_VERSIONS the riscv64 ones (default "6.1 6.12 7.3"; empty
# skips riscv64). Ends with one line per kernel:
#   e2e 6.12: N heaps ok, M selftest cases ok, placement exact
#   e2e 6.12 riscv64: N heaps ok, M selftest cases ok, placement exact
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
root=${E2E_DIR:-$top/out/e2e}
versions=${E2E_VERSIONS-6.1 6.12 7.3}
riscv64_versions=${E2E_RISCV64_VERSIONS-6.1 6.12 7.3}
targets=()
for v in $versions; do targets+=("$v arm64"); done
for v in $riscv64_versions; do targets+=("$v riscv64"); done
[ ${#targets[@]} -gt 0 ] || { echo "e2e: no kernel to boot (E2E_VERSIONS and E2E_RISCV64_VERSIONS are empty)" >&2; exit 1; }
rm -rf "$root" && mkdir -p "$root"
log() { echo "e2e: $*" >&2; }
fail() { echo "e2e: FAIL${v:+ ($v)}: $*" >&2; exit 1; }
bad_kernel_log='WARNING:|------------\[ cut here|Call trace:|BUG:|Oops|OVERLAP DETECTED|Kernel panic|Unable to handle'

go build -o bin/dtheap ./cmd/dtheap
dtheap=bin/dtheap

# shellcheck source=scripts/lib/qemu-virt.sh
. scripts/lib/qemu-virt.sh

# use_arch ARCH: the board, the wrong-devicetree board (dsp and secure moved; same_heaps are
# the module's heaps that still match it) and that architecture's QEMU virt machine
# (scripts/lib/qemu-virt.sh: qemu, console_dev) with the board's RAM (ref_ram).
use_arch() {
	arch=$1
	qemu_virt "$arch" || fail "no QEMU virt machine for $arch"
	case $arch in
	arm64) board=boards/qemu-virt-arm64.yaml other=e2e/qemu-virt-arm64-other.yaml same_heaps="video@60000000 camera" ;;
	riscv64) board=boards/qemu-virt-riscv64.yaml other=e2e/qemu-virt-riscv64-other.yaml same_heaps="video@a0000000 camera" ;;
	esac
	qemu+=(-m "$ref_ram")
	base_dtb=$root/virt-$arch.dtb
	[ -f "$base_dtb" ] || "${qemu[@]}" -M virt,dumpdtb="$base_dtb" -nic none -display none >/dev/null 2>&1
}

# boot DTB CONSOLE: boots $IMAGE with $work/initramfs.cpio.gz on the machine use_arch chose,
# the console (CR stripped) lands in CONSOLE.
boot() {
	local status=0
	timeout "${QEMU_TIMEOUT:-600}" "${qemu[@]}" -M virt -nographic -nic none \
		-no-reboot -kernel "$IMAGE" -initrd "$work/initramfs.cpio.gz" -dtb "$1" \
		-append "console=$console_dev earlycon panic=-1 dtheap.selftest=/usr/bin/dmabuf-heap" >"$2.raw" 2>&1 || status=$?
	tr -d '\r' <"$2.raw" >"$2"
	return $status
}

# placement PLAN CONSOLE: every region the devicetree carries is where the plan says, read from
# the kernel's own lines. 6.12 and later log every region they set up ("OF: reserved mem:
# 0x...-0x... (N KiB) map|nomap reusable|non-reusable NAME", fdt_init_reserved_mem_node() in
# drivers/of/of_reserved_mem.c); 6.1 logs "Reserved memory: created CMA|DMA memory pool at
# BASE" (rmem_cma_setup() in kernel/dma/contiguous.c, rmem_dma_setup() in
# kernel/dma/coherent.c) just before "initialized node NAME" (__reserved_mem_init_node()).
# The driver's own "dtheap: heap H: ... on NODE base B size S" lines are checked too, and so is
# every firmware region the board does not emit but the kernel logs (OpenSBI's mmode_resv0 on
# riscv64: the firmware inserts it, the board describes it).
placement() {
	python3 - "$1" "$2" <<'PY'
import json, re, sys
plan = json.load(open(sys.argv[1]))
log = open(sys.argv[2]).read()
got = {}
for m in re.finditer(r"OF: reserved mem: (0x[0-9a-f]+)\.\.(0x[0-9a-f]+) \((\d+) KiB\) \S+ \S+ (\S+)", log):
    got[m.group(4)] = (int(m.group(1), 16), int(m.group(2), 16) - int(m.group(1), 16) + 1)
pending = None
for line in log.splitlines():
    m = re.search(r"created (?:CMA|DMA) memory pool at (0x[0-9a-f]+), size (\d+) (MiB|KiB)", line)
    if m:
        pending = (int(m.group(1), 16), int(m.group(2)) << (20 if m.group(3) == "MiB" else 10))
        continue
    m = re.search(r"OF: reserved mem: initialized node (\S+), compatible id", line)
    if m and pending is not None:
        got.setdefault(m.group(1), pending)
        pending = None
ok, n = True, 0
for r in plan["regions"]:
    if r["kind"] == "firmware" and not r["emit"] and r["node"] in got:
        n += 1
        if got[r["node"]] != (r["base"], r["size"]):
            b, s = got[r["node"]]
            print(f"e2e: firmware region {r['node']}: board 0x{r['base']:x} size 0x{r['size']:x}, kernel 0x{b:x} size 0x{s:x}", file=sys.stderr)
            ok = False
        continue
    if not r["emit"] or not r["placed"]:
        continue
    if r["node"] not in got:
        # 6.1 names only pools with an init function (CMA and DMA pools); anything else it
        # does not log, and then there is nothing of the kernel's to compare with.
        if r["kind"] in ("cma", "carveout", "unmapped"):
            print(f"e2e: region {r['node']}: the kernel logged no address for it", file=sys.stderr)
            ok = False
        continue
    n += 1
    if got[r["node"]] != (r["base"], r["size"]):
        b, s = got[r["node"]]
        print(f"e2e: region {r['node']}: plan 0x{r['base']:x} size 0x{r['size']:x}, kernel 0x{b:x} size 0x{s:x}", file=sys.stderr)
        ok = False
for m in re.finditer(r"dtheap: heap (\S+): \S+ on (\S+) base (0x[0-9a-f]+) size (0x[0-9a-f]+)", log):
    name, region, base, size = m.group(1), m.group(2), int(m.group(3), 16), int(m.group(4), 16)
    r = next((r for r in plan["regions"] if r["node"] == region), None)
    if r is None or r["base"] != base or r["size"] != size:
        print(f"e2e: heap {name} on {region} at 0x{base:x}: plan says {r and hex(r['base'])}", file=sys.stderr)
        ok = False
if n == 0:
    print("e2e: no region address found in the kernel log", file=sys.stderr)
    ok = False
sys.exit(0 if ok else 1)
PY
}

# selftest CONSOLE MAPPABLE: prints the number of passing selftest cases. 6.1's dmabuf-heap
# prints "name: OK" lines; 6.12 and later print TAP ("ok N ...", "not ok N ...", "# Totals:
# pass:P fail:F xfail:X xpass:Y skip:S error:E"), through ksft_* of kselftest.h.
selftest() {
	local c=$1 mappable=$2 ok failed heaps totals
	if totals=$(grep -E "^selftest: # Totals: " "$c"); then
		heaps=$(grep -cE "^selftest: # Testing heap: " "$c" || true)
		ok=$(grep -E "^selftest: ok [0-9]+ " "$c" | grep -cv "# SKIP" || true)
		failed=$(grep -cE "^selftest: not ok [0-9]+ " "$c" || true)
		[[ $totals =~ pass:([0-9]+)\ fail:([0-9]+).*error:([0-9]+) ]] || fail "unreadable TAP totals: $totals"
		[ "${BASH_REMATCH[1]}" -eq "$ok" ] || fail "TAP totals say pass:${BASH_REMATCH[1]}, $ok 'ok' lines"
		[ "${BASH_REMATCH[2]}" -eq 0 ] && [ "${BASH_REMATCH[3]}" -eq 0 ] || fail "selftest totals: $totals"
	else
		heaps=$(grep -cE "^selftest: Testing heap: " "$c" || true)
		ok=$(grep -cE "^selftest: .*: +OK$" "$c" || true)
		failed=$(grep -cE "^selftest: .*(FAIL|ERROR|Error)" "$c" || true)
	fi
	[ "$heaps" -eq "$mappable" ] || fail "the selftest ran on $heaps heaps, the board has $mappable mappable ones"
	[ "$ok" -gt 0 ] || fail "the kernel selftest reported no passing case"
	[ "$failed" -eq 0 ] || fail "the kernel selftest reported $failed failures"
	echo "$ok"
}

noexport_done=""
summaries=()
for t in "${targets[@]}"; do
	read -r v arch <<<"$t"
	use_arch "$arch"
	work=$root/$v
	[ "$arch" = arm64 ] || { work=$root/$v-$arch; v="$v $arch"; }
	mkdir -p "$work"
	log "$v: reference kernel (cached in ${DTHEAP_CACHE:-$HOME/.cache/dtheap})"
	eval "$(kernel/refkernel/build.sh --version "${v%% *}" --arch "$arch")"
	kc=(--kconfig "$KDIR/.config")
	log "$v: Linux $KERNEL_RELEASE, export patch: $EXPORT_PATCH"

	log "$v: devicetree: QEMU virt's own tree patched with $board"
	$dtheap dtb "${kc[@]}" "$board" --base "$base_dtb" -o "$work/board.dtb"
	$dtheap dtb "${kc[@]}" "$other" --base "$base_dtb" -o "$work/other.dtb"
	$dtheap plan "${kc[@]}" --format json "$board" >"$work/plan.json"
	$dtheap manifest "${kc[@]}" "$board" -o "$work/manifest.json"

	log "$v: module: dtheap build against $KDIR"
	$dtheap build "${kc[@]}" "$board" --kdir "$KDIR" -o "$work/module" -j2 >"$work/build.txt" 2>&1 ||
		{ cat "$work/build.txt" >&2; fail "module build"; }

	log "$v: module for every $arch reference board (W=1, -Werror, no warnings) and checkpatch --strict"
	for b in boards/*.yaml; do
		grep -qE "^arch: *$arch *(#.*)?$" "$b" || continue
		n=$(basename "$b" .yaml)
		$dtheap build "${kc[@]}" "$b" --kdir "$KDIR" -o "$work/modules/$n" -j2 >/dev/null 2>"$work/modules-$n.log" ||
			{ cat "$work/modules-$n.log" >&2; fail "module build for $b"; }
	done
	# Each kernel's own checkpatch. ALLOC_WITH_SIZEOF (7.3: "Prefer kmalloc_obj") asks for an
	# API that 6.1 and 6.12 do not have, and the same source builds for all three.
	for f in kernel/src/*.c kernel/src/*.h "$work"/modules/*/dtheap_board.c; do
		"$KDIR/scripts/checkpatch.pl" --strict --no-tree --quiet --show-types --ignore ALLOC_WITH_SIZEOF \
			-f "$f" >"$work/checkpatch.txt" 2>&1 ||
			{ cat "$work/checkpatch.txt" >&2; fail "checkpatch --strict: $f"; }
		[ ! -s "$work/checkpatch.txt" ] || { cat "$work/checkpatch.txt" >&2; fail "checkpatch --strict: $f"; }
	done

	log "$v: initramfs: checker + module + manifest + kernel selftest"
	$dtheap initramfs "${kc[@]}" "$board" --module "$work/module/dtheap_heaps.ko" --selftest "$SELFTEST" -o "$work/initramfs.cpio.gz"

	log "$v: boot 1: $board"
	qstatus=0
	boot "$work/board.dtb" "$work/console.txt" || qstatus=$?
	console=$work/console.txt
	grep -E "^(PASS|FAIL|SKIP) |^dtheap|selftest: (# )?Totals|reserved mem: 0x" "$console" >&2 || true
	[ $qstatus -eq 0 ] || fail "QEMU exited with status $qstatus (timeout or crash); console: $console"
	grep -q "reboot: Power down" "$console" || fail "the guest did not power off cleanly"
	if grep -nE "$bad_kernel_log|-EEXIST|duplicate filename" "$console"; then
		fail "kernel log has a warning, trace, bug, oops, overlap or duplicate heap (above)"
	fi
	grep -q "^dtheap-check: verdict PASS" "$console" || fail "the boot checker did not pass (see $console)"

	# Every heap of the manifest (the kernel's own included) registered and passed.
	heaps=0
	for h in $(python3 -c 'import json,sys; [print(h["name"]) for h in json.load(open(sys.argv[1]))["heaps"]]' "$work/manifest.json"); do
		grep -qE "^FAIL .*$h" "$console" && fail "heap $h failed a check"
		grep -qE "^PASS .*$h" "$console" || fail "heap $h has no passing check"
		heaps=$((heaps + 1))
	done
	placement "$work/plan.json" "$console" || fail "placement differs from the plan"
	mappable=$(python3 -c 'import json,sys; print(sum(h["mappable"] for h in json.load(open(sys.argv[1]))["heaps"]))' "$work/manifest.json")
	selftest_ok=$(selftest "$console" "$mappable")

	log "$v: boot 2 (must fail): module for $board, devicetree of $other"
	boot "$work/other.dtb" "$work/console-other.txt" || true
	co=$work/console-other.txt
	grep -q "^dtheap-check: verdict FAIL" "$co" || fail "checker did not fail on the wrong devicetree (see $co)"
	for h in dsp secure; do
		grep -q "dtheap: heap $h: refused" "$co" || fail "driver did not refuse heap $h on the wrong devicetree"
	done
	for h in $same_heaps; do
		grep -q "dtheap: heap $h: refused" "$co" && fail "driver refused heap $h, which matches"
	done
	if grep -nE "$bad_kernel_log" "$co"; then fail "kernel warned or crashed on the wrong devicetree"; fi

	case $EXPORT_PATCH in
	yes)
		if [ "$arch" != arm64 ]; then
			log "$v: the export-patch refusal is proven on arm64 (the same Module.symvers check)"
		elif [ -n "$noexport_done" ]; then
			log "$v: the export-patch refusal was proven on $noexport_done (the same Module.symvers check)"
		else
			log "$v: build without the export patch (must be refused before compiling)"
			eval "$(kernel/refkernel/noexport.sh --version "$v" | sed 's/^/NOEXP_/')"
			if $dtheap build "${kc[@]}" "$board" --kdir "$NOEXP_KDIR" -o "$work/module-noexport" 2>"$work/noexport.txt"; then
				fail "dtheap build accepted a kernel without the dma_heap exports"
			fi
			grep -q "export patch" "$work/noexport.txt" || fail "the refusal does not name the export patch: $(cat "$work/noexport.txt")"
			[ ! -e "$work/module-noexport/dtheap_core.o" ] || fail "dtheap build compiled before refusing"
			noexport_done=$v
		fi
		;;
	not-needed)
		log "$v: the tree exports dma_heap_add itself: dtheap build must not ask for the export patch"
		if grep -qsi "export patch" "$work/build.txt" "$work/module/build.log"; then
			fail "dtheap build mentions the export patch on a kernel that exports dma_heap_add"
		fi
		modinfo -F import_ns "$work/module/dtheap_heaps.ko" | grep -qx DMA_BUF_HEAP ||
			fail "the module does not import namespace DMA_BUF_HEAP"
		;;
	*) fail "unexpected EXPORT_PATCH=$EXPORT_PATCH from build.sh" ;;
	esac

	summaries+=("e2e $v: $heaps heaps ok, $selftest_ok selftest cases ok, placement exact")
	log "${summaries[-1]}"
	v=""
done
printf '%s\n' "${summaries[@]}"
