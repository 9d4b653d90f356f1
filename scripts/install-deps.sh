#!/usr/bin/env bash
# Installs what dtheap's tests need on a fresh Debian 12 machine: dtc and dt-schema for the
# devicetree checks, the arm64 and riscv64 cross toolchains, QEMU (qemu-system-arm for arm64,
# qemu-system-misc for riscv64, with OpenSBI as the riscv64 firmware) and the Linux 6.1 source for
# the kernel module build and the boot proof, and headless Chromium with a monospace font for the memory
# map's browser test (mapview). Then the Linux 6.12 and 7.3 sources, which are not in the
# system's suite, through scripts/fetch-linux-source.sh (cached in ~/.cache/dtheap/src, about
# 150 and 170 MB). Idempotent: skips apt and the fetch when everything is there.
set -euo pipefail
pkgs=(device-tree-compiler dt-schema qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross
	qemu-system-misc opensbi gcc-riscv64-linux-gnu libc6-dev-riscv64-cross
	linux-source-6.1 bc bison flex libssl-dev libelf-dev cpio kmod patch xz-utils make
	chromium fonts-dejavu-core)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for v in 6.12 7.3; do
	"$(dirname "$0")/fetch-linux-source.sh" "$v" >/dev/null
done
go mod download
