#!/usr/bin/env bash
# Fetches Debian's linux-source-<VERSION> tarball (arch-independent, /usr/src/linux-source-X.tar.xz
# inside the .deb) without touching the system's apt configuration: a private sources list,
# package lists and cache under the dtheap cache directory. 6.1 is the system's own suite
# (bookworm) and is installed by scripts/install-deps.sh instead.
#
# Usage: fetch-linux-source.sh VERSION     (6.12 or 7.3)
# Prints the tarball's path on stdout; cached in ${DTHEAP_CACHE:-$HOME/.cache/dtheap}/src.
set -euo pipefail
ver=${1:?usage: fetch-linux-source.sh VERSION}
case $ver in
6.12) suites="bookworm-backports trixie" ;;
7.3) suites="trixie-backports" ;;
*) echo "fetch-linux-source.sh: no Debian suite known for linux-source-$ver" >&2; exit 2 ;;
esac
cache=${DTHEAP_CACHE:-$HOME/.cache/dtheap}
out="$cache/src/linux-source-$ver.tar.xz"
if [ -f "$out" ]; then echo "$out"; exit 0; fi
apt="$cache/apt-$ver"
mkdir -p "$apt/sources" "$apt/lists/partial" "$apt/cache/archives/partial" "$cache/src"
cat >"$apt/sources/dtheap.sources" <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: $suites
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
opts=(-o Dir::Etc::sourcelist=/dev/null -o "Dir::Etc::sourceparts=$apt/sources"
	-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o Debug::NoLocking=1
	-o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root)
apt-get "${opts[@]}" -qq update >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get "${opts[@]}" -qq download "linux-source-$ver" >&2)
deb=$(ls "$tmp"/linux-source-"$ver"_*.deb | sort -V | tail -1)
echo "fetch-linux-source.sh: unpacking $(basename "$deb")" >&2
dpkg-deb -x "$deb" "$tmp/x"
mv "$tmp/x/usr/src/linux-source-$ver.tar.xz" "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
