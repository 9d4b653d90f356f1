#!/usr/bin/env bash
# Lints every arm64 and riscv .dts of Debian's linux-source-6.12 and -7.3 (or 6.1) with dtheap lint
# (cpp + dtc as the kernel's dtbs build, --kernel set to the tree's version) and fails if an
# error-level finding is not on lint/upstream/allow.txt (real kernel-losing defects, each with
# the kernel source line that proves the loss) or an allow-list entry no longer matches.
# Writes the reports BENCHMARKS.md quotes to $work/report-<version>.md.
#
# Usage: scripts/lint-upstream.sh [VERSION...]     (default: 6.12 7.3; 6.1 from /usr/src too)
# Work directory: ${DTHEAP_UPSTREAM:-${DTHEAP_CACHE:-$HOME/.cache/dtheap}/upstream}; needs dtc, cpp.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${DTHEAP_UPSTREAM:-${DTHEAP_CACHE:-$HOME/.cache/dtheap}/upstream}
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(6.12 7.3)
mkdir -p "$work"
go build -o "$work/upstream" ./lint/upstream
status=0
for v in "${versions[@]}"; do
	src="$work/$v/linux-source-$v"
	if [ ! -d "$src/arch/arm64/boot/dts" ]; then
		if [ "$v" = 6.1 ]; then
			tarball=/usr/src/linux-source-6.1.tar.xz # scripts/install-deps.sh installs it
		else
			tarball=$(scripts/fetch-linux-source.sh "$v")
		fi
		mkdir -p "$work/$v"
		# Only what the dtbs build reads: the trees, the bindings' headers (and the uapi
		# headers some of them link to), and the include-prefixes symlinks.
		nice -n 10 tar -xJf "$tarball" -C "$work/$v" --wildcards \
			'*/arch/arm64/boot/dts/*' '*/arch/riscv/boot/dts/*' '*/arch/arm/boot/dts/*' \
			'*/include/dt-bindings/*' '*/include/uapi/*' '*/scripts/dtc/include-prefixes/*'
	fi
	nice -n 10 "$work/upstream" -src "$src" -kernel "$v" -allow lint/upstream/allow.txt \
		-o "$work/report-$v.md" >/dev/null || status=$?
	head -n 20 "$work/report-$v.md"
done
exit $status
