#!/usr/bin/env bash
# Doctor verdicts proven in the guest on a deliberately broken tree (issue 13, item 2), once per
# kernel: one boot each of the cached 6.1, 6.12 and 7.3 reference kernels (arm64) with
# e2e/qemu-virt-arm64-doctor.yaml's devicetree, six of its /reserved-memory nodes broken in
# ways every kernel reacts to, plus two (oddranges, multireg) that 7.3 and the older ones
# treat differently, and a ninth (zonecma) left as written but split by the
# ZONE_MOVABLE boundary the command line's movablecore= draws. The boot checker must fail (its
# manifest is the board as written) and then run the doctor (package doctor, the code of
# dtheap doctor) in the guest. For every broken node the script asserts three things: the
# kernel's own log has the line that version's source prints for that defect, the doctor gives
# the verdict that line justifies, and the doctor quotes that line as its evidence.
#
# The kernel lines per version (pr_fmt "OF: reserved mem: " in drivers/of/of_reserved_mem.c,
# "OF: fdt: " in drivers/of/fdt.c, none for the "Reserved memory:" lines of
# kernel/dma/contiguous.c, "cma: " for mm/cma.c's):
#   nomapcma: no-map added to a reusable shared-dma-pool
#     6.1   of_reserved_mem.c fdt_init_reserved_mem: rmem_cma_setup (contiguous.c) and
#           rmem_dma_setup (coherent.c) both return -EINVAL (no-map; reusable), so
#           "node %s compatible matching fail", nomap cleared                    -> refused
#     6.12  of_reserved_mem.c fdt_init_reserved_mem_node: the same two -EINVAL, the same
#           line, memblock_clear_nomap                                           -> refused
#     7.3   contiguous.c __rmem_cma_verify_node and coherent.c rmem_dma_setup return -ENODEV,
#           which of_reserved_mem.c fdt_init_reserved_mem_node takes for "no driver": it prints
#           "%pa..%pa (%lu KiB) nomap reusable %s" (no "initialized node" before it) and
#           keeps the memory no-map, used by nothing                              -> lost
#   oddcma: 17 MiB, off the 4 MiB CMA alignment (all three versions)
#           contiguous.c rmem_cma_setup "Reserved memory: incorrect alignment of CMA region",
#           then "node %s compatible matching fail" (6.1 fdt_init_reserved_mem, 6.12 and 7.3
#           fdt_init_reserved_mem_node)                                          -> refused
#   big: a 2 GiB dynamic pool (all three)
#           of_reserved_mem.c __reserved_mem_alloc_size "failed to allocate memory for node
#           '%s': size %lu MiB"                                                  -> failed
#   badsize: a one-cell size (all three)
#           of_reserved_mem.c __reserved_mem_alloc_size "invalid size property in '%s'
#           node."                                                               -> ignored
#   tee: no-map moved onto the kernel image (early_init_dt_reserve_memory: -EBUSY)
#     6.1   fdt.c __reserved_mem_reserve_reg "Reserved memory: failed to reserve memory for
#           node '%s': base %pa, size %lu MiB" with pr_fmt "OF: fdt: "             -> failed
#     6.12, 7.3  of_reserved_mem.c __reserved_mem_reserve_reg, the same words after
#           "OF: reserved mem: " (fdt_scan_reserved_mem_reg_nodes / _late still print its
#           "nomap non-reusable" set-up line: the failure is what counts)         -> failed
#   ovl-a, ovl-b: ovl-b moved into ovl-a (all three)
#           of_reserved_mem.c __rmem_check_for_overlap "OVERLAP DETECTED!\n%s (%pa--%pa)
#           overlaps with %s (%pa--%pa)"                                         -> overlapping
#   oddranges: a dynamic CMA pool whose alloc-ranges is given three cells, not whole
#           <address size> entries
#     6.1, 6.12  of_reserved_mem.c __reserved_mem_alloc_size "invalid alloc-ranges property
#           in '%s', skipping node."                                             -> ignored
#     7.3   fdt.c of_flat_dt_get_addr_size_prop returns NULL for it, so
#           __reserved_mem_alloc_size allocates anywhere without a word: set up, "%pa..%pa
#           (%lu KiB) map reusable oddranges" outside its 0x68000000 window         -> placed
#           (the doctor's note must say the alloc-ranges was ignored; checked to lie outside)
#   multireg: a plain reservation given a second <address size> entry in reg
#     6.1   fdt.c __reserved_mem_reserve_reg reserves both (pr_debug only) and of_reserved_mem.c
#           fdt_reserved_mem_save_node keeps the first, silently: no line to check, so left out
#           on 6.1 (the doctor says no-evidence, as it must without a line)
#     6.12  of_reserved_mem.c __reserved_mem_reserve_reg reserves both;
#           fdt_scan_reserved_mem_reg_nodes "%s() ignores %d regions in node '%s'" and keeps the
#           first ("... map non-reusable multireg@66000000")                    -> placed, noted
#     7.3   of_reserved_mem.c __reserved_mem_reserve_reg "Reserved memory: node '%s' has %d
#           <base size> entries, only the first is used" and reserves the first only -> placed,
#           noted (the doctor must say the others stay free memory)
#   zonecma: a reusable pool at 0x6c000000, 128 MiB, as written; movablecore=256M puts the
#           start of ZONE_MOVABLE inside it ("Movable zone start for each node" / "Node 0:
#           0x..", checked to fall inside). mm/cma.c cma_activate_area (6.1, 6.12: page_zone
#           differs inside the area; 7.3: cma_validate_zones) gives every page back to the
#           buddy allocator and prints "cma: CMA area %s could not be activated"     -> failed
#           Its pages are all valid memory, so 6.1's WARN_ON_ONCE(!pfn_valid) does not fire.
# The default CMA pool is left alone: placed ("initialized node linux,cma").
# No node is left out on any version: none of them makes 6.1, 6.12 or 7.3 oops or hang (the
# console is checked for WARNING/Oops/BUG too).
#
# E2E_VERSIONS picks the kernels (default "6.1 6.12 7.3"); KDIR and IMAGE come from
# kernel/refkernel/build.sh (cached; never rebuilt here unless its cache key changed). Work files
# go to $E2E_DIR/<version> (default out/e2e-doctor), with copy/: the booted tree
# (sys/firmware/fdt), the kernel's reserved-memory and CMA lines (dmesg.txt) and the heap listing
# (dev/dma_heap.ls), a system copy the doctor reads on the host too (the doctor's
# testdata/qemu-<version>-broken cases are such copies). Ends with one line per kernel:
#   e2e-doctor 6.12: 9 broken nodes, verdicts match the kernel log
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
root=${E2E_DIR:-$top/out/e2e-doctor}
versions=${E2E_VERSIONS-6.1 6.12 7.3}
[ -n "$versions" ] || { echo "e2e-doctor: E2E_VERSIONS is empty" >&2; exit 1; }
[ -z "${E2E_DOCTOR_CONSOLES:-}" ] || [ "$(realpath -m "$E2E_DOCTOR_CONSOLES")" != "$(realpath -m "$root")" ] ||
	{ echo "e2e-doctor: E2E_DOCTOR_CONSOLES must not be the work directory $root (it is emptied)" >&2; exit 1; }
rm -rf "$root" && mkdir -p "$root"
board=e2e/qemu-virt-arm64-doctor.yaml
v=
log() { echo "e2e-doctor${v:+ $v}: $*" >&2; }
fail() { echo "e2e-doctor: FAIL${v:+ ($v)}: $*" >&2; exit 1; }
bad_kernel_log='WARNING:|------------\[ cut here|Call trace:|BUG:|Oops|Kernel panic|Unable to handle'
go build -o bin/dtheap ./cmd/dtheap
dtheap=bin/dtheap
qemu-system-aarch64 -M virt,dumpdtb="$root/virt.dtb" -cpu cortex-a57 -m 1024 -nic none -display none >/dev/null 2>&1

# Break the tree: each edit is confined to its node's block.
break_tree() {
	python3 - "$1" "$2" <<'PY'
import re, sys
src = open(sys.argv[1]).read()
edits = [
    ("nomapcma@60000000", "reusable;", "reusable;\n\t\t\tno-map;"),
    ("oddcma@61000000", "0x00 0x61000000 0x00 0x1000000", "0x00 0x61000000 0x00 0x1100000"),
    ("big", "size = <0x00 0x2000000>;", "size = <0x00 0x80000000>;"),
    ("badsize", "size = <0x00 0x1000000>;", "size = <0x1000000>;"),
    ("tee@63000000", "0x00 0x63000000 0x00 0x1000000", "0x00 0x40000000 0x00 0x1000000"),
    ("ovl-b@65000000", "0x00 0x65000000 0x00 0x1000000", "0x00 0x64800000 0x00 0x1000000"),
    ("multireg@66000000", "reg = <0x00 0x66000000 0x00 0x1000000>;", "reg = <0x00 0x66000000 0x00 0x1000000 0x00 0x67000000 0x00 0x1000000>;"),
    ("oddranges", "alloc-ranges = <0x00 0x68000000 0x00 0x4000000>;", "alloc-ranges = <0x00 0x68000000 0x4000000>;"),
]
for node, old, new in edits:
    m = re.search(r"\n\t\t" + re.escape(node) + r" \{\n(.*?)\n\t\t\};", src, re.S)
    if not m or old not in m.group(1):
        sys.exit("e2e-doctor: cannot break %s: %r not in its node" % (node, old))
    src = src[:m.start(1)] + m.group(1).replace(old, new, 1) + src[m.end(1):]
open(sys.argv[2], "w").write(src)
PY
}

# doctor_blocks CONSOLE: the doctor's verdict line and evidence lines per /reserved-memory node
# (block[NODE]), read once per console: the checks and the mutation proof below look them up
# without a process each (they run a dozen times per boot).
declare -A block
doctor_blocks() {
	block=()
	local node text
	while IFS=$'\t' read -r node text; do
		block[$node]+="${block[$node]:+$'\n'}$text"
	done < <(awk '
		/^dtheap-check: doctor: / {
			line = substr($0, length("dtheap-check: doctor: ") + 1)
			if (line ~ /^ +evidence: /) { if (cur != "") print cur "\t" line; next }
			split(line, f, " ")
			cur = ""
			if (f[2] ~ /^\/reserved-memory\/.*:$/) { cur = substr(f[2], 18, length(f[2]) - 18); print cur "\t" line }
		}' "$1")
}

# expectations VERSION: sets checks, one entry per (node, kernel line):
#   node|verdict|broken (1: counted as a broken node)|the kernel's line (an extended regex over
#   the console)|a regex the doctor's detail must match (empty: any)
# The lines and verdicts are those of the table at the top, from each version's source.
expectations() {
	local overlap="ovl-a@64000000 \(0x0000000064000000--0x0000000065000000\) overlaps with ovl-b@65000000 \(0x0000000064800000--0x0000000065800000\)"
	local tee_pfx
	case $1 in
	6.1) tee_pfx="OF: fdt: " ;;
	*) tee_pfx="OF: reserved mem: " ;;
	esac
	checks=(
		"oddcma@61000000|refused|1|OF: reserved mem: node oddcma@61000000 compatible matching fail|CMA alignment"
		"oddcma@61000000|refused|0|Reserved memory: incorrect alignment of CMA region|CMA alignment"
		"big|failed|1|OF: reserved mem: failed to allocate memory for node 'big': size 2048 MiB|"
		"badsize|ignored|1|OF: reserved mem: invalid size property in 'badsize' node\.|"
		"tee@63000000|failed|1|${tee_pfx}Reserved memory: failed to reserve memory for node 'tee@63000000': base 0x0000000040000000, size 16 MiB|"
		"ovl-b@65000000|overlapping|1|$overlap|"
		"ovl-a@64000000|overlapping|0|$overlap|"
		"zonecma@6c000000|failed|1|^(\[ *[0-9.]+\] )?cma: CMA area zonecma@6c000000 could not be activated|could not activate"
	)
	case $1 in
	6.1 | 6.12) checks+=(
		"nomapcma@60000000|refused|1|OF: reserved mem: node nomapcma@60000000 compatible matching fail|given back"
		"oddranges|ignored|1|OF: reserved mem: invalid alloc-ranges property in 'oddranges', skipping node\.|"
	) ;;&
	6.12) checks+=(
		"multireg@66000000|placed|1|OF: reserved mem: fdt_scan_reserved_mem_reg_nodes\(\) ignores 1 regions in node 'multireg@66000000'|all are reserved"
		"multireg@66000000|placed|0|OF: reserved mem: 0x0000000066000000\.\.0x0000000066ffffff \(16384 KiB\) map non-reusable multireg@66000000$|"
	) ;;
	6.1) ;;
	7.3) checks+=(
		"nomapcma@60000000|lost|1|OF: reserved mem: 0x0000000060000000\.\.0x0000000060ffffff \(16384 KiB\) nomap reusable nomapcma@60000000|lost"
		"oddranges|placed|1|OF: reserved mem: 0x[0-9a-f]{16}\.\.0x[0-9a-f]{16} \(16384 KiB\) map reusable oddranges$|alloc-ranges .* ignored it"
		"multireg@66000000|placed|1|OF: reserved mem: Reserved memory: node 'multireg@66000000' has 2 <base size> entries, only the first is used|only the first is reserved"
		"multireg@66000000|placed|0|OF: reserved mem: 0x0000000066000000\.\.0x0000000066ffffff \(16384 KiB\) map non-reusable multireg@66000000$|"
	) ;;
	*) fail "no expectations for kernel $1 (derive them from its source first)" ;;
	esac
}

# boot_checks VERSION CONSOLE: what the boot as a whole must show.
boot_checks() {
	local v=$1 c=$2 mz
	grep -q "reboot: Power down" "$c" || fail "the guest did not power off after the failed check; console: $c"
	if grep -qE "$bad_kernel_log" "$c"; then
		fail "the kernel warned or oopsed: $(grep -m1 -E "$bad_kernel_log" "$c"); console: $c"
	fi
	grep -q "^dtheap-check: verdict FAIL" "$c" || fail "the boot checker did not fail on the broken tree; console: $c"
	grep -q "^FAIL " "$c" || fail "the boot checker printed no FAIL line"
	grep -q "^dtheap-check: doctor: " "$c" || fail "the checker did not run the doctor after the failed check"

	# The alignment refusal names no node; it must come right before oddcma's matching fail.
	grep -A1 "Reserved memory: incorrect alignment of CMA region" "$c" | grep -q "node oddcma@61000000 compatible matching fail" ||
		fail "no 'incorrect alignment of CMA region' just before oddcma's refusal"
	grep -q "OF: reserved mem: OVERLAP DETECTED!" "$c" || fail "the kernel printed no OVERLAP DETECTED"
	# zonecma is split by ZONE_MOVABLE: the zone's start (6.1 mm/page_alloc.c, 6.12 and 7.3
	# mm/mm_init.c: "Movable zone start for each node") must fall inside it.
	mz=$(grep -A1 "Movable zone start for each node" "$c" | sed -n 's/.*Node 0: \(0x[0-9a-f]*\).*/\1/p')
	[ -n "$mz" ] || fail "the kernel printed no movable zone start (movablecore= ignored?)"
	((mz > 0x6c000000 && mz < 0x74000000)) || fail "ZONE_MOVABLE starts at $mz, not inside zonecma (0x6c000000..0x74000000)"
	# 7.3's nomapcma verdict rests on the absence of a driver: no "initialized node" for it.
	if [ "$v" = 7.3 ] && grep -q "initialized node nomapcma@60000000" "$c"; then
		fail "7.3 initialized nomapcma@60000000: its source says no driver takes it"
	fi
	# 6.1 says nothing about multireg: the doctor must not claim anything either.
	if [ "$v" = 6.1 ]; then
		local mb=${block[multireg@66000000]:-}
		[ "${mb%% *}" = no-evidence ] || fail "6.1 printed nothing for multireg@66000000, the doctor says: $mb"
	fi
	# 7.3 placed oddranges with its alloc-ranges ignored: outside 0x68000000..0x6c000000.
	if [ "$v" = 7.3 ]; then
		local ob
		ob=$(sed -n 's/.*OF: reserved mem: \(0x[0-9a-f]*\)\.\..* map reusable oddranges$/\1/p' "$c" | head -n1)
		[ -n "$ob" ] || fail "7.3 did not set up oddranges"
		((ob < 0x68000000 || ob >= 0x6c000000)) || fail "7.3 placed oddranges at $ob, inside the alloc-ranges it should have ignored"
	fi
}

# printed REGEX: whether a console line (con, read once) matches; the line in $printed_line.
printed() {
	local l
	for l in "${con[@]}"; do
		if [[ $l =~ $1 ]]; then
			printed_line=$l
			return 0
		fi
	done
	return 1
}

# check_console VERSION CONSOLE: every node's assertion on one boot's console, against $checks
# (set by expectations). Exits through fail on the first that does not hold; QUIET=1 drops the
# per-node lines (the mutation proof below runs it on purpose with wrong expectations).
check_console() {
	local v=$1 c=$2 entry node verdict isbroken kline detail b first got quoted line ev
	broken=0
	for entry in "${checks[@]}"; do
		IFS='|' read -r node verdict isbroken kline detail <<<"$entry"
		printed "$kline" || fail "$node: the kernel did not print: $kline"
		b=${block[$node]:-}
		[ -n "$b" ] || fail "$node: the doctor said nothing about it"
		first=${b%%$'\n'*}
		got=${first%% *}
		[ "$got" = "$verdict" ] || fail "$node: doctor verdict $got, the kernel log justifies $verdict:
$b"
		[ -z "$detail" ] || [[ $first =~ $detail ]] || fail "$node: the doctor's explanation lacks '$detail':
$b"
		# The guest's doctor reads /dev/kmsg: its evidence has no timestamps.
		quoted=
		while IFS= read -r line; do
			[[ $line =~ ^\ +evidence:\ (.*)$ ]] || continue
			ev=${BASH_REMATCH[1]}
			if [[ $ev =~ $kline ]]; then quoted=1; fi
		done <<<"$b"
		[ -n "$quoted" ] || fail "$node: the doctor's evidence does not quote the kernel line ($kline):
$b"
		[ -n "${QUIET:-}" ] || log "$node: $verdict (kernel: ${printed_line#\[*\] })"
		broken=$((broken + isbroken))
	done
	# The untouched default pool must not be blamed.
	b=${block[linux,cma]:-}
	got=${b%% *}
	[ "$got" = placed ] || fail "linux,cma: doctor verdict '$got', want placed (the kernel initialized it)"
	printed "OF: reserved mem: initialized node linux,cma, compatible id shared-dma-pool" || fail "linux,cma was not initialized"
}

# must_fail VERSION CONSOLE WHAT: check_console with the $checks the caller mutated must fail,
# and for the reason WHAT (a regex over its message): proof that the assertion bites.
must_fail() {
	local out
	if out=$(QUIET=1 check_console "$1" "$2" 2>&1); then
		fail "mutation proof: a wrong expectation passed on $2 ($3)"
	fi
	grep -qE "$3" <<<"$out" || fail "mutation proof: failed for another reason than '$3': $out"
}

# mutation_proof VERSION CONSOLE: each node's verdict replaced by a wrong one, each kernel line
# by the other versions' (where they differ), must fail on this very console.
mutation_proof() {
	local v=$1 c=$2 i entry node verdict isbroken kline detail wrong other n=0
	local orig=("${checks[@]}")
	for i in "${!orig[@]}"; do
		IFS='|' read -r node verdict isbroken kline detail <<<"${orig[$i]}"
		wrong=placed
		[ "$verdict" != placed ] || wrong=failed
		checks=("${orig[@]}")
		checks[$i]="$node|$wrong|$isbroken|$kline|$detail"
		must_fail "$v" "$c" "$node: doctor verdict $verdict, the kernel log justifies $wrong"
		n=$((n + 1))
	done
	for other in 6.1 6.12 7.3; do
		[ "$other" != "$v" ] || continue
		expectations "$other"
		[ "${checks[*]}" != "${orig[*]}" ] || continue
		must_fail "$v" "$c" "the kernel did not print|doctor verdict|lacks"
		n=$((n + 1))
	done
	checks=("${orig[@]}")
	log "mutation proof: $n wrong expectations, each failed on this console"
}

# save_copy CONSOLE DTB DIR: a system copy the doctor reads (see the header).
save_copy() {
	mkdir -p "$3/sys/firmware" "$3/dev"
	cp "$2" "$3/sys/firmware/fdt"
	# The kernel's reserved-memory, CMA and zone lines, without timestamps.
	sed -E 's/^\[ *[0-9]+\.[0-9]+\] //' "$1" |
		grep -E "^(OF: (reserved mem|fdt): |Reserved memory: |cma: |Movable zone start|  Node 0: 0x|Memory: |[^ ]+ \(0x[0-9a-f]+--0x[0-9a-f]+\) overlaps with )" >"$3/dmesg.txt" || true
	# The heaps the guest's doctor listed from /dev/dma_heap (names and modes).
	sed -n 's/^dtheap-check: doctor: present      heap \([^ ]*\) .*/\1/p' "$1" | sort -u |
		while read -r h; do echo "crw------- 1 root root 253, 0 Jan  1 00:00 $h"; done >"$3/dev/dma_heap.ls"
}

for v in $versions; do
	work=$root/$v
	mkdir -p "$work"
	c=$work/console.txt
	if [ -n "${E2E_DOCTOR_CONSOLES:-}" ]; then
		# Re-judge saved boots: DIR/<version>/{console.txt,broken.dtb} of an earlier run.
		cp "$E2E_DOCTOR_CONSOLES/$v/console.txt" "$c"
		cp "$E2E_DOCTOR_CONSOLES/$v/broken.dtb" "$work/broken.dtb"
	else
		eval "$(kernel/refkernel/build.sh --version "$v")"
		kc=(--kconfig "$KDIR/.config")
		$dtheap validate "${kc[@]}" "$board" >/dev/null || fail "$board does not validate as written"
		$dtheap dtb "${kc[@]}" "$board" --base "$root/virt.dtb" -o "$work/board.dtb"
		$dtheap initramfs "${kc[@]}" "$board" -o "$work/initramfs.cpio.gz" >/dev/null
		dtc -q -I dtb -O dts "$work/board.dtb" >"$work/board.dts"
		break_tree "$work/board.dts" "$work/broken.dts"
		dtc -q -I dts -O dtb -o "$work/broken.dtb" "$work/broken.dts"

		log "boot with the broken tree and movablecore=256M (the checker must fail, then run the doctor)"
		qstatus=0
		start=$(date +%s)
		timeout "${QEMU_TIMEOUT:-300}" qemu-system-aarch64 -M virt -cpu cortex-a57 -m 1024 -nographic -nic none \
			-no-reboot -kernel "$IMAGE" -initrd "$work/initramfs.cpio.gz" -dtb "$work/broken.dtb" \
			-append "console=ttyAMA0 earlycon panic=-1 movablecore=256M" >"$c.raw" 2>&1 || qstatus=$?
		tr -d '\r' <"$c.raw" >"$c"
		log "boot took $(($(date +%s) - start)) s"
		[ $qstatus -eq 0 ] || fail "QEMU exited with status $qstatus (timeout?); console: $c"
	fi

	expectations "$v"
	doctor_blocks "$c"
	mapfile -t con <"$c"
	boot_checks "$v" "$c"
	check_console "$v" "$c"
	mutation_proof "$v" "$c"

	# The same verdicts from a copy, read on the host (dtheap doctor ROOT).
	save_copy "$c" "$work/broken.dtb" "$work/copy"
	hstatus=0
	$dtheap doctor "$work/copy" >"$work/doctor-host.txt" || hstatus=$?
	[ $hstatus -eq 1 ] || fail "dtheap doctor on the copy exited $hstatus, want 1 (regions lost)"
	for entry in "${checks[@]}"; do
		IFS='|' read -r node verdict _ _ _ <<<"$entry"
		grep -qE "^$verdict +/reserved-memory/$node:" "$work/doctor-host.txt" ||
			fail "$node: dtheap doctor on the copy does not say $verdict: $(grep "/reserved-memory/$node:" "$work/doctor-host.txt")"
	done
	echo "e2e-doctor $v: $broken broken nodes, verdicts match the kernel log"
done
