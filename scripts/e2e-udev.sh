#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest proof with the real udev (issue 15): Debian's arm64 systemd-udevd and the libraries it
# needs (scripts/fetch-udev-arm64.sh) go into the boot-check initramfs with the udev rules
# `dtheap access` writes for e2e/qemu-virt-arm64-access.yaml, and an /etc/group holding the
# groups they name. dtheap-check loads the module, starts systemd-udevd (--udevd), coldplugs
# the dma_heap devices, and checks every heap's owner, group and mode and every alias link.
# Then the same boot with one MODE deliberately wrong in the rules must fail.
#
# The reference kernel has no networking; udevd needs netlink and unix sockets, inotify and
# file handles, so this proof boots the 6.1 reference kernel rebuilt with e2e/udev.config
# merged in (cached next to it). Prints one summary line "e2e-udev: ...".
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
board=e2e/qemu-virt-arm64-access.yaml
cache=${DTHEAP_CACHE:-$HOME/.cache/dtheap}
work=$(mktemp -d /tmp/dtheap-e2e-udev.XXXXXX)
trap 'rm -rf "$work"' EXIT
log() { echo "e2e-udev: $*" >&2; }
fail() { echo "e2e-udev: FAIL: $*" >&2; exit 1; }
cross=${CROSS_COMPILE:-aarch64-linux-gnu-}

fragment=e2e/udev.config
if [ -n "${UDEV_KDIR:-}" ]; then
	# A tree already built with $fragment (for working on this script).
	ukdir=$(dirname "$UDEV_KDIR")
	touch "$ukdir/done"
else
	eval "$(kernel/refkernel/build.sh)"
fi
if [ -z "${UDEV_KDIR:-}" ]; then
	key=$( { echo "$CACHE_KEY"; cat "$fragment"; } | sha256sum | cut -c1-16)
	ukdir="$cache/kernel-udev-$key"
fi
if [ ! -f "$ukdir/done" ]; then
	log "building the reference kernel with $fragment (cached in $ukdir)"
	rm -rf "$ukdir" && mkdir -p "$ukdir"
	cp -a "$KDIR" "$ukdir/linux"
	(cd "$ukdir/linux" && ARCH=arm64 CROSS_COMPILE=$cross scripts/kconfig/merge_config.sh -m .config "$top/$fragment" >/dev/null &&
		make ARCH=arm64 CROSS_COMPILE="$cross" olddefconfig >/dev/null)
	while read -r line; do
		case $line in CONFIG_*) grep -qx "$line" "$ukdir/linux/.config" || fail "$line did not survive into the udev kernel's .config" ;; esac
	done <"$fragment"
	make -C "$ukdir/linux" ARCH=arm64 CROSS_COMPILE="$cross" -j"${JOBS:-2}" Image modules >"$ukdir/build.log" 2>&1 ||
		fail "udev kernel build failed: $ukdir/build.log"
	touch "$ukdir/done"
fi
UKDIR=$ukdir/linux
UIMAGE=$UKDIR/arch/arm64/boot/Image

uroot=$(scripts/fetch-udev-arm64.sh)
udevadm=$uroot/bin/udevadm
[ -x "$udevadm" ] || fail "no udevadm in $uroot"
udev_version=$(grep -ao 'udev [0-9][0-9]*' "$udevadm" | head -1 || true)

go build -o "$work/dtheap" ./cmd/dtheap
dtheap=$work/dtheap
qemu-system-aarch64 -M virt,dumpdtb="$work/virt.dtb" -cpu cortex-a57 -m 1024 -nic none -display none >/dev/null 2>&1
$dtheap dtb "$board" --base "$work/virt.dtb" -o "$work/board.dtb"
$dtheap build "$board" --kdir "$UKDIR" -o "$work/module" >/dev/null
$dtheap access "$board" -o "$work/access" 2>/dev/null

# udevadm (which is systemd-udevd when called so) and the closure of its DT_NEEDED libraries,
# each at the path the dynamic loader looks for it.
extra=()
declare -A seen
addlib() {
	local name=$1 p
	[ -n "${seen[$name]:-}" ] && return 0
	seen[$name]=1
	for d in lib/aarch64-linux-gnu usr/lib/aarch64-linux-gnu lib usr/lib; do
		p="$uroot/$d/$name"
		if [ -e "$p" ]; then
			extra+=(--file "$(readlink -f "$p"):/$d/$name")
			for n in $(${cross}readelf -d "$p" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do addlib "$n"; done
			return 0
		fi
	done
	fail "library $name (needed by udevadm) not found in $uroot"
}
for n in $(${cross}readelf -d "$udevadm" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do addlib "$n"; done
interp=$(${cross}readelf -l "$udevadm" | sed -n 's/.*interpreter: \(.*\)\]/\1/p')
extra+=(--file "$(readlink -f "$uroot$interp"):$interp")
extra+=(--file "$udevadm:/bin/udevadm" --file "$udevadm:/lib/systemd/systemd-udevd")
cat >"$work/group" <<'G'
root:x:0:
audio:x:29:
video:x:44:
camera:x:990:
G
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$work/passwd"
extra+=(--file "$work/group:/etc/group" --file "$work/passwd:/etc/passwd")

boot() { # rules file, console file
	$dtheap initramfs "$board" --module "$work/module/dtheap_heaps.ko" "${extra[@]}" \
		--file "$1:/etc/udev/rules.d/60-dtheap-heaps.rules" -o "$work/initramfs.cpio.gz" >/dev/null
	timeout "${QEMU_TIMEOUT:-240}" qemu-system-aarch64 -M virt -cpu cortex-a57 -m 1024 -nographic -nic none -no-reboot \
		-kernel "$UIMAGE" -initrd "$work/initramfs.cpio.gz" -dtb "$work/board.dtb" \
		-append "console=ttyAMA0 earlycon panic=-1 dtheap.udevd=/lib/systemd/systemd-udevd dtheap.udevadm=/bin/udevadm dtheap.deadline=30s ${UDEV_APPEND:-}" |
		tr -d '\r' >"$2" || true
}

log "boot 1: systemd-udevd applies $(grep -c '^SUBSYSTEM' "$work/access/60-dtheap-heaps.rules") generated rules"
boot "$work/access/60-dtheap-heaps.rules" "$work/console.txt"
c=$work/console.txt
grep -E "^(PASS|FAIL|SKIP) (device-manager|heap/.*/(access|alias/))|^dtheap-check: verdict" "$c" >&2 || true
[ -z "${UDEV_DEBUG:-}" ] || grep -aiE "link|dma_heap|rules|udev" "$c" | head -"$UDEV_DEBUG" >&2
grep -q "^PASS device-manager: " "$c" || fail "systemd-udevd did not start: $(grep -E '^FAIL device-manager' "$c" || tail -20 "$c")"
grep -q "^dtheap-check: verdict PASS" "$c" || fail "the checker did not pass under udev; the console ends: $(tail -25 "$c")"
want_access=$(grep -c '^SUBSYSTEM==.*MODE=' "$work/access/60-dtheap-heaps.rules")
want_alias=$(grep -o 'SYMLINK+=' "$work/access/60-dtheap-heaps.rules" | wc -l)
got_access=$(grep -cE '^PASS heap/[^ ]*/access: ' "$c" || true)
got_alias=$(grep -cE '^PASS heap/[^ ]*/alias/' "$c" || true)
[ "$got_access" -eq "$want_access" ] || fail "$got_access heaps passed access, the rules set $want_access"
[ "$got_alias" -eq "$want_alias" ] || fail "$got_alias aliases passed, the rules make $want_alias"
if grep -nE "WARNING:|BUG:|Oops|Kernel panic" "$c"; then fail "kernel trouble under udev"; fi

log "boot 2 (must fail): the dsp heap's MODE deliberately 0644 instead of 0640"
sed 's/\(KERNEL=="dsp".*MODE="\)0640"/\10644"/' "$work/access/60-dtheap-heaps.rules" >"$work/wrong.rules"
grep -q 'KERNEL=="dsp".*MODE="0644"' "$work/wrong.rules" || fail "could not make the wrong rule"
boot "$work/wrong.rules" "$work/console-wrong.txt"
w=$work/console-wrong.txt
grep -q "^PASS device-manager: " "$w" || fail "systemd-udevd did not start in the wrong-mode boot"
grep -q "^FAIL heap/dsp/access: .*mode 0644, want 0640" "$w" || fail "the wrong mode was not caught: $(grep 'heap/dsp/access' "$w")"
grep -q "^dtheap-check: verdict FAIL" "$w" || fail "the checker passed a wrong mode"

echo "e2e-udev: $got_access heaps owned and moded as the board says, $got_alias aliases, under Debian's systemd-udevd (${udev_version:-version unknown}); a wrong MODE fails"
