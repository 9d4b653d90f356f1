#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch Debian's arm64 udev (systemd-udevd, udevadm) and the shared libraries it needs, for the
# guest proof with the real udev (scripts/e2e-udev.sh). A private apt configuration for the
# arm64 architecture, like scripts/fetch-linux-source.sh's: the system's apt setup and dpkg's
# architecture list are not touched. The packages are those of the suite the host runs
# (bookworm: systemd 252), cached under ${DTHEAP_CACHE:-~/.cache/dtheap}/udev-arm64.
#
# Prints the directory holding the unpacked packages (usr/, lib/, bin/ ...).
set -euo pipefail
cache=${DTHEAP_CACHE:-$HOME/.cache/dtheap}
dir="$cache/udev-arm64"
out="$dir/root"
if [ -f "$dir/done" ]; then echo "$out"; exit 0; fi
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:?}")
apt="$dir/apt"
mkdir -p "$apt/sources" "$apt/lists/partial" "$apt/cache/archives/partial" "$dir/debs"
cat >"$apt/sources/dtheap.sources" <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
opts=(-o Dir::Etc::sourcelist=/dev/null -o "Dir::Etc::sourceparts=$apt/sources"
	-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o Debug::NoLocking=1
	-o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root
	-o APT::Architecture=arm64 -o APT::Architectures::=arm64
	-o Dir::State::status=/dev/null)
apt-get "${opts[@]}" -qq update >&2
# udev and what it depends on, recursively (Depends and Pre-Depends only): the libraries are
# picked from these by the binaries' DT_NEEDED entries when the initramfs is made.
pkgs=$(apt-cache "${opts[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts \
	--no-breaks --no-replaces --no-enhances udev | grep -v '^ ' | grep -v '^<' | sed 's/:arm64$//' | sort -u)
echo "fetch-udev-arm64.sh: $(echo "$pkgs" | wc -l) packages" >&2
(cd "$dir/debs" && apt-get "${opts[@]}" -qq download $pkgs >&2)
rm -rf "$out.tmp" && mkdir -p "$out.tmp"
for d in "$dir"/debs/*.deb; do dpkg-deb -x "$d" "$out.tmp"; done
rm -rf "$out" && mv "$out.tmp" "$out"
touch "$dir/done"
echo "$out"
