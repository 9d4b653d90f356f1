#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The boot check under u-root (issue 15): an initramfs built with u-root's own builder
# (mkuimage's uimage and gobusybox, Go module dependencies fetched from the Go module proxy;
# cmd/dtheap-uroot, package provision/uroot) holds u-root's init, its gosh shell and core
# commands in one gbb busybox, and dtheap-check as u-root's uinit, with the module under
# lib/modules/<release>/updates/ (modules.dep, modules.alias) and the manifest. It boots the
# cached 6.1 reference kernel through scripts/qemu.sh and must pass: u-root's init starts,
# runs the checker, every heap of the manifest passes, and the checker powers the guest off
# (--finally=poweroff in /etc/uinit.flags; without it u-root's shell would follow).
# Then the same image with the manifest of another board (e2e/qemu-virt-arm64-other.yaml)
# must fail, under the same assertion.
#
# u-root's part is cached by its inputs under $DTHEAP_CACHE/uroot (the busybox costs about a
# CPU-minute to build for arm64). Work files go to $E2E_DIR (default out/e2e-uroot). Prints one
# summary line "e2e-uroot 6.1: ...".
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
board=boards/qemu-virt-arm64.yaml
other=e2e/qemu-virt-arm64-other.yaml
cache=${DTHEAP_CACHE:-$HOME/.cache/dtheap}
work=${E2E_DIR:-$top/out/e2e-uroot}
v=${KERNEL_VERSION:-6.1}
rm -rf "$work" && mkdir -p "$work"
log() { echo "e2e-uroot: $*" >&2; }
fail() { echo "e2e-uroot: FAIL: $*" >&2; exit 1; }
bad_kernel_log='WARNING:|------------\[ cut here|Call trace:|BUG:|Oops|OVERLAP DETECTED|Kernel panic|Unable to handle'

eval "$(kernel/refkernel/build.sh --version "$v")"
kc=(--kconfig "$KDIR/.config")
go build -o bin/dtheap ./cmd/dtheap
bin/dtheap manifest "${kc[@]}" "$board" -o "$work/manifest.json"
bin/dtheap manifest "${kc[@]}" "$other" -o "$work/manifest-other.json"
bin/dtheap build "${kc[@]}" "$board" --kdir "$KDIR" -o "$work/module" >"$work/build.txt" 2>&1 ||
	{ cat "$work/build.txt" >&2; fail "module build"; }

# image MANIFEST OUT: the u-root image with the checker as uinit.
image() {
	go run ./cmd/dtheap-uroot --manifest "$1" --module "$work/module/dtheap_heaps.ko" --cache "$cache/uroot" \
		--uinit-arg=--finally=poweroff -o "$2"
}

# passes CONSOLE: the whole claim, from the console alone. Fails (status 1, reason on stderr)
# when any part does not hold.
passes() {
	local c=$1 h n=0
	grep -q "Welcome to u-root!" "$c" || { echo "u-root's init did not start" >&2; return 1; }
	# The checker's header comes after u-root's banner: it ran as the uinit, not as /init.
	awk '/Welcome to u-root!/{u=1} /^dtheap-check: board /{if(u)ok=1} END{exit !ok}' "$c" ||
		{ echo "dtheap-check did not run after u-root's init" >&2; return 1; }
	grep -q "^dtheap-check: verdict PASS" "$c" || { echo "verdict: $(grep '^dtheap-check: verdict' "$c" || echo none)" >&2; return 1; }
	for h in $(python3 -c 'import json,sys; [print(h["name"]) for h in json.load(open(sys.argv[1]))["heaps"]]' "$work/manifest.json"); do
		grep -qE "^FAIL heap/$h/" "$c" && { echo "heap $h failed a check" >&2; return 1; }
		grep -qE "^PASS heap/$h/alloc: " "$c" || { echo "heap $h did not pass its allocation" >&2; return 1; }
		n=$((n + 1))
	done
	grep -q "reboot: Power down" "$c" || { echo "the guest did not power off" >&2; return 1; }
	if grep -nE "$bad_kernel_log" "$c" >&2; then echo "kernel trouble (above)" >&2; return 1; fi
	echo "$n"
}

log "building the u-root image (u-root's part cached under $cache/uroot)"
t0=$(date +%s)
image "$work/manifest.json" "$work/initramfs.cpio.gz" 2>&1 | tee "$work/image.txt" >&2
t1=$(date +%s)
log "image in $((t1 - t0)) s; boot 1: $board on Linux $KERNEL_RELEASE under u-root's init"
status=0
INITRAMFS=$work/initramfs.cpio.gz CONSOLE=$work/console.txt scripts/qemu.sh "$board" >&2 || status=$?
t2=$(date +%s)
heaps=$(passes "$work/console.txt") || fail "the u-root boot did not pass (console: $work/console.txt)"
[ "$status" -eq 0 ] || fail "scripts/qemu.sh exited $status on a passing console"

log "boot 2 (must fail): the same image with the manifest of $other"
image "$work/manifest-other.json" "$work/initramfs-other.cpio.gz" 2>"$work/image-other.txt" ||
	{ cat "$work/image-other.txt" >&2; fail "building the wrong-manifest image"; }
grep -q "u-root part cached" "$work/image-other.txt" || fail "u-root's part was rebuilt for a different manifest"
status=0
INITRAMFS=$work/initramfs-other.cpio.gz CONSOLE=$work/console-other.txt scripts/qemu.sh "$board" >/dev/null 2>&1 || status=$?
co=$work/console-other.txt
[ "$status" -ne 0 ] || fail "scripts/qemu.sh passed a boot with the wrong manifest"
if passes "$co" >/dev/null 2>"$work/why-other.txt"; then fail "the assertion passed a boot with the wrong manifest"; fi
grep -q "^dtheap-check: verdict FAIL" "$co" || fail "the checker did not report FAIL with the wrong manifest: $(cat "$work/why-other.txt")"
grep -E "^FAIL " "$co" | head -5 >&2
grep -q "reboot: Power down" "$co" || fail "the guest did not power off after a failed check"

echo "e2e-uroot $v: $heaps heaps ok under u-root init (dtheap-check as uinit; image $((t1 - t0)) s, boot $((t2 - t1)) s); a wrong manifest fails"
