# shellcheck shell=bash
# Sourced (not run) by scripts/e2e-cma.sh, scripts/e2e-carveouts.sh and scripts/bench-e2e.sh: the
# steps their QEMU virt boots share. The caller sets work (its output folder), board, KDIR, IMAGE,
# kc (an array of flags for every dtheap command, e.g. --kconfig "$KDIR/.config"; may be empty)
# and defines fail MESSAGE (prints and exits). The machine is scripts/lib/qemu-virt.sh's one for
# E2E_ARCH (arm64, the default, or riscv64 under OpenSBI) with its reference board's RAM, and the
# guest programs are built with that architecture's cross compiler.

# shellcheck source=scripts/lib/qemu-virt.sh
. "$(dirname "${BASH_SOURCE[0]}")/qemu-virt.sh"
qemu_virt "${E2E_ARCH:-arm64}"

# e2e_board_module: builds bin/dtheap (then $dtheap names it), dumps QEMU virt's own devicetree
# and writes the board's over it to $work/board.dtb, and builds the heap module against $KDIR
# into $work/module.
e2e_board_module() {
	go build -o bin/dtheap ./cmd/dtheap
	dtheap=bin/dtheap
	"${qemu[@]}" -M virt,dumpdtb="$work/virt.dtb" -m "$ref_ram" -nic none -display none >/dev/null 2>&1
	$dtheap dtb "${kc[@]}" "$board" --base "$work/virt.dtb" -o "$work/board.dtb"
	$dtheap build "${kc[@]}" "$board" --kdir "$KDIR" -o "$work/module" -j2 >/dev/null
}

# e2e_guest_initramfs NAME: builds bench/guest/NAME/NAME.c (static, against the kernel headers
# in $HDR) and writes $work/initramfs.cpio.gz: checker, module, manifest, the kernel's selftest
# ($SELFTEST) and the program as /usr/bin/NAME (for dtheap.then=).
e2e_guest_initramfs() {
	"${cross}gcc" -static -O2 -Wall -Wextra -Werror -I"$HDR/include" -o "$work/$1" "bench/guest/$1/$1.c"
	$dtheap initramfs "${kc[@]}" "$board" --module "$work/module/dtheap_heaps.ko" --selftest "$SELFTEST" \
		--file "$work/$1:/usr/bin/$1" -o "$work/initramfs.cpio.gz"
}

# e2e_boot DTB CONSOLE TIMEOUT CMDLINE-EXTRA [INITRAMFS]: boots $IMAGE with INITRAMFS (default
# $work/initramfs.cpio.gz); the console (CR stripped) lands in CONSOLE. Returns QEMU's (or
# timeout's) status. The array qemu_extra, if set, adds QEMU options (bench-tcg.sh's -d in_asm).
e2e_boot() {
	local status=0
	timeout "$3" "${qemu[@]}" -M virt -m "$ref_ram" -nographic -nic none ${qemu_extra[@]+"${qemu_extra[@]}"} \
		-no-reboot -kernel "$IMAGE" -initrd "${5:-$work/initramfs.cpio.gz}" -dtb "$1" \
		-append "console=$console_dev earlycon panic=-1 $4" >"$2.raw" 2>&1 || status=$?
	tr -d '\r' <"$2.raw" >"$2"
	return $status
}

# e2e_boot_passed CONSOLE QEMU-STATUS: fails unless QEMU exited 0, the guest powered off, the
# kernel log has no warning, bug or oops, and dtheap-check's verdict is PASS.
e2e_boot_passed() {
	[ "$2" -eq 0 ] || fail "QEMU exited with status $2; console: $1"
	grep -q "reboot: Power down" "$1" || fail "the guest did not power off cleanly"
	if grep -nE "WARNING:|cut here|BUG:|Oops|Kernel panic|Unable to handle" "$1"; then
		fail "kernel log has a warning, bug or oops (above)"
	fi
	grep -q "^dtheap-check: verdict PASS" "$1" || fail "the boot checker did not pass"
}

# e2e_selftest_passed CONSOLE: fails unless the kernel's dmabuf-heap selftest (run by the checker,
# dtheap.selftest=) ran on every mappable heap of the board's manifest, none of its cases failed,
# and the checker passed it. 6.1's selftest prints "Testing heap: X", later ones TAP ("# Testing
# heap: X", "not ok N"); 7.3's manifest also has the kernel's default_cma_region.
e2e_selftest_passed() {
	local mappable
	mappable=$($dtheap manifest ${kc[@]+"${kc[@]}"} "$board" -o - | python3 -c 'import json,sys; print(sum(1 for h in json.load(sys.stdin)["heaps"] if h["mappable"]))')
	[ "$(grep -cE '^selftest: (# )?Testing heap: ' "$1")" -eq "$mappable" ] || fail "the selftest did not run on all $mappable mappable heaps"
	grep -qE "^selftest: (.*(FAIL|ERROR)|.*: +Error|not ok)" "$1" && fail "the kernel selftest failed"
	grep -qE "^PASS selftest: " "$1" || fail "the checker did not pass the selftest"
}
