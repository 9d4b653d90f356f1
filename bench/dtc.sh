#!/usr/bin/env bash
# Whole-process comparison (issue #8): `dtheap dts` and `dtheap dtb --base` against dtc compiling
# the same emitted .dtsi into the same base tree, with hyperfine.
#
#   bench/dtc.sh [OUTDIR]        (default: a new directory under /tmp)
#
# For each board it writes into OUTDIR the inputs (board.yaml, base.dts, base.dtb, full.dts =
# base.dts + /include/ "board.dtsi"), the outputs, and hyperfine's results (CASE.md, CASE.json),
# and prints the tables. The boards: QEMU virt's own tree (dtbind/testdata/qemu-virt-1g.dtb,
# dumped by qemu-system-aarch64 -M virt,dumpdtb=F -cpu cortex-a57 -m 1024 -nic none) with
# boards/qemu-virt-arm64.yaml, the largest reference board and synthetic boards of 63 (the
# largest one 6.1 accepts), 1,000 and 5,000 pools on the stand-in base of internal/benchboard.
# Boards above 63 pools break 6.1's limits, so their runs pass --disable for those rules: they
# measure scaling, not a bootable board. 10,000 pools is left out: dtc 1.6.1 cannot parse a node
# with more than about 10,000 children (its bison parser stack; "memory exhausted").
#
# Needs: Go, dtc (apt-get install device-tree-compiler), hyperfine (apt-get install hyperfine).
# It installs nothing. Set RUNS (default 30) and WARMUP (default 3) to change hyperfine's counts.
set -euo pipefail

cd "$(dirname "$0")/.."
for tool in go dtc hyperfine; do
	command -v "$tool" >/dev/null || { echo "dtc.sh: $tool is not installed (see the header of $0)" >&2; exit 2; }
done
out=${1:-$(mktemp -d /tmp/dtheap-dtc.XXXXXX)}
mkdir -p "$out"
runs=${RUNS:-30}
warmup=${WARMUP:-3}
limits=too-many-regions,heap-count,cma-slots

go build -o "$out/dtheap" ./cmd/dtheap
dtheap=$out/dtheap

# prepare CASE BOARD [BASE.dtb]: the board's base source and blob (from BASE.dtb when given,
# else the stand-in), its .dtsi, and the full source dtc compiles.
prepare() {
	local dir=$out/$1 board=$2 base=${3:-}
	mkdir -p "$dir"
	if [ -n "$base" ]; then
		cp "$base" "$dir/base.dtb"
		dtc -q -I dtb -O dts -o "$dir/base.dts" "$dir/base.dtb"
	else
		go run ./bench/genboard -base-of "$board" -o "$dir/base.dts"
		dtc -@ -q -I dts -O dtb -o "$dir/base.dtb" "$dir/base.dts"
	fi
	"$dtheap" dts "$board" --disable "$limits" -o "$dir/board.dtsi"
	{ cat "$dir/base.dts"; echo '/include/ "board.dtsi"'; } >"$dir/full.dts"
}

# compare CASE BOARD: time the three processes on the prepared inputs.
compare() {
	local name=$1 dir=$out/$1 board
	board=$(realpath "$2")
	echo "== $name"
	(cd "$dir" && hyperfine --shell=none --warmup "$warmup" --runs "$runs" \
		--export-markdown "$out/$name.md" --export-json "$out/$name.json" \
		-n "dtheap dts" "$dtheap dts $board --disable $limits -o dtheap.dtsi" \
		-n "dtheap dtb --base" "$dtheap dtb $board --disable $limits -q --base base.dtb -o dtheap.dtb" \
		-n "dtc -I dts -O dtb" "dtc -@ -q -I dts -O dtb -o dtc.dtb full.dts")
	cat "$out/$name.md"
	echo
}

# run CASE BOARD [BASE.dtb]
run() {
	prepare "$@"
	compare "$1" "$2"
}

run qemu-virt-arm64 boards/qemu-virt-arm64.yaml dtbind/testdata/qemu-virt-1g.dtb
run imx8mp-evk boards/imx8mp-evk.yaml
for n in 63 1000 5000; do
	go run ./bench/genboard -pools "$n" -o "$out/synthetic-$n.yaml"
	run "synthetic-$n" "$out/synthetic-$n.yaml"
done
echo "results in $out"
