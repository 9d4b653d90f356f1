#!/usr/bin/env bash
# Random differential test of the planner against real boots: generates N random layouts from a
# seed (arm64 on QEMU virt at 0x40000000: 1 GiB, 2 GiB or two banks as two NUMA nodes, some
# with /memreserve/ entries near the top; or riscv64 under OpenSBI, 1 or 2 GiB at 0x80000000, with
# OpenSBI's mmode_resv0 listed the way a board written before inserted: existed lists it),
# keeps those `dtheap validate` passes without an error, boots each on every reference kernel
# with scripts/record-placement.sh (RECORD_OUT: the logs go to the work folder, not the
# committed corpus), then holds plan.Build to every address the kernels logged
# (TestBootCorpusPlacement with DTHEAP_BOOTCORPUS pointing at the work folder).
#
# A layout has 2 to 12 pools of kinds every version logs an address for (cma, carveout,
# unmapped: all shared-dma-pool), fixed or dynamic, some dynamic ones with an alignment or an
# alloc-range, at most one the default CMA area; sizes off the 1 MiB grid for the no-map kinds.
# Not part of CI (about 3 s per boot); a failing layout is worth adding to plan/testdata/bootcorpus.
#
# Usage: scripts/fuzz-placement.sh N SEED [arm64|riscv64]
# Environment: FUZZ_DIR (default out/fuzz-placement). Every layout boots on 6.1, 6.12 and 7.3.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ $# -ge 2 ] || { echo "usage: $0 N SEED [arm64|riscv64]" >&2; exit 2; }
n=$1 seed=$2 arch=${3:-arm64}
case $arch in arm64 | riscv64) ;; *) echo "fuzz-placement: arch $arch: arm64 or riscv64" >&2; exit 2 ;; esac
work=${FUZZ_DIR:-$top/out/fuzz-placement}
rm -rf "$work" && mkdir -p "$work"
log() { echo "fuzz-placement: $*" >&2; }

go build -o bin/dtheap ./cmd/dtheap
python3 - "$n" "$seed" "$arch" "$work" <<'PY'
import random, sys
n, seed, arch, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
rnd = random.Random(seed)
MiB = 1 << 20
if arch == "arm64":
    dram, lo_fixed, hi_fixed = 0x40000000, 0x4a000000, 0x80000000
    firmware = ["  - {name: kernel-image, base: 0x40000000, size: 64MiB, emit: false}",
                "  - {name: boot-window, base: 0x48000000, size: 32MiB, emit: false}"]
else:
    # Fixed pools stay below QEMU's DTB (0xbfe00000 with 1 GiB).
    dram, lo_fixed, hi_fixed = 0x80000000, 0x8a200000, 0xbf000000
    firmware = ["  - {name: mmode_resv0, base: 0x80000000, size: 512KiB, emit: false}",
                "  - {name: kernel-image, base: 0x80200000, size: 62MiB, emit: false}",
                "  - {name: boot-window, base: 0x88200000, size: 32MiB, emit: false}"]
for i in range(n):
    name = f"fuzz-{arch}-{seed}-{i:02d}"
    # arm64: 1 GiB, 2 GiB, or two banks back to back (QEMU's two NUMA nodes).
    banks = [(dram, 1 << 30)]
    if arch == "riscv64" and rnd.random() < 0.4:
        banks = [(dram, 2 << 30)]
    if arch == "arm64":
        r = rnd.random()
        if r < 0.2:
            banks = [(dram, 2 << 30)]
        elif r < 0.4:
            first = rnd.choice([256, 512, 768]) * MiB
            banks = [(dram, first), (dram + first, (1 << 30) - first)]
    dram_end = banks[-1][0] + banks[-1][1]
    hi = hi_fixed if arch == "riscv64" else dram_end
    memory = [f"  - {{name: bank{k}, base: 0x{b:x}, size: {sz >> 20}MiB}}" for k, (b, sz) in enumerate(banks)]
    lines = [f"board: {name}", f"arch: {arch}", "address-cells: 2", "size-cells: 2",
             "kernel: {version: \"6.1\", page-size: 4KiB, hugetlb: false, cma-areas: 16}",
             "memory:", *memory, "firmware:", *firmware]
    # /memreserve/ entries near the top (6.1 takes them before placing, 6.12 and 7.3 after).
    if arch == "arm64" and rnd.random() < 0.3:
        lines.append("memreserve:")
        for k in range(rnd.randint(1, 2)):
            sz = rnd.choice([1, 2, 4, 8, 16]) * MiB
            lines.append(f"  - {{name: mr{k}, base: 0x{rnd.randrange(hi - 96 * MiB, hi - sz, MiB):x}, size: {sz >> 20}MiB}}")
    lines.append("pools:")
    taken, has_default, dynamic = [], False, 0
    for j in range(rnd.randint(2, 12)):
        kind = rnd.choice(["cma", "cma", "carveout", "unmapped"])
        if kind == "cma":
            size = rnd.choice([4, 8, 12, 16, 24, 32]) * MiB
        else:
            size = rnd.choice([1, 2, 3, 4, 6, 10, 16, 20]) * MiB + rnd.choice([0, 0, 0, 64 << 10, 4 << 10])
        e = [f"name: p{j}", f"kind: {kind}"]
        base = None
        if rnd.random() < 0.25:
            for _ in range(20):
                b = rnd.randrange(lo_fixed, hi - size, MiB)
                b -= b % (4 * MiB) if kind == "cma" else 0
                if b >= lo_fixed and all(b + size <= tb or b >= tb + ts for tb, ts in taken):
                    base = b
                    break
        if base is not None:
            taken.append((base, size))
            e.append(f"base: 0x{base:x}")
        e.append(f"size: {size >> 10}KiB" if size % MiB else f"size: {size >> 20}MiB")
        if base is None:
            dynamic += 1
            r = rnd.random()
            if r < 0.15:
                e.append(f"alignment: {rnd.choice([1, 2, 4, 8, 16])}MiB")
            elif r < 0.3:
                lo = rnd.randrange(lo_fixed - lo_fixed % (16 * MiB) + 16 * MiB, hi - 64 * MiB, 16 * MiB)
                ln = min(rnd.choice([32, 64, 128, 256]) * MiB, dram_end - lo)
                e.append(f"alloc-ranges: [{{base: 0x{lo:x}, size: {ln >> 20}MiB}}]")
            if kind == "cma" and not has_default and rnd.random() < 0.2:
                has_default = True
                e[0] = 'name: "linux,cma"'
                e.append("default: true")
        if any(l == "memreserve:" for l in lines) and base is None:
            # 6.12 and 7.3 may place it over an entry: an error for those kernels, silenced so
            # that the boot shows where they put it.
            e.append("silence: [memreserve-overlap]")
        lines.append("  - {" + ", ".join(e) + "}")
    if dynamic:
        open(f"{out}/{name}.yaml", "w").write("\n".join(lines) + "\n")
PY
# A layout must be free of errors for every kernel: dtheap dtb refuses one that is not.
configs=()
for v in 6.1 6.12 7.3; do
	for a in $arch; do configs+=("$(kernel/refkernel/build.sh --version "$v" --arch "$a" 2>/dev/null | sed -n 's/^KDIR=//p')/.config"); done
done
kept=0 dropped=0
for f in "$work"/*.yaml; do
	ok=1
	for c in "${configs[@]}"; do bin/dtheap validate --kconfig "$c" "$f" >/dev/null 2>&1 || ok=0; done
	if [ $ok = 1 ]; then kept=$((kept + 1)); else dropped=$((dropped + 1)) && rm "$f"; fi
done
log "$kept layouts pass validate ($dropped with an error dropped); booting each on 6.1, 6.12 and 7.3"
[ $kept -gt 0 ] || exit 1
RECORD_VERSIONS="6.1 6.12 7.3" RECORD_OUT=$work scripts/record-placement.sh "$work"/*.yaml
status=0
DTHEAP_BOOTCORPUS=$work go test ./plan -run 'TestBootCorpusPlacement$' -count=1 || status=$?
if [ $status -eq 0 ]; then
	log "$kept $arch layouts x 6.1, 6.12, 7.3: every address the kernels logged is the planner's"
else
	log "FAIL: the planner and a boot disagree (above); the layouts and logs are in $work"
fi
exit $status
