// Package benchboard generates synthetic boards of any number of pools, for the generator
// benchmarks (bench/generator) and their tests.
//
// A generated board looks like the reference boards, only longer: firmware regions (one
// emitted, one only checked against), a default CMA area placed by the kernel, and then pools
// cycling through cma, carveout, unmapped and reserved kinds, most at a fixed base, every
// fourth one dynamic (some with alignment or alloc-ranges), most with a heap, some with
// consumer devices. Every pool owns one 16 MiB slot of DRAM, so fixed pools never overlap and
// dynamic ones always find room; DRAM grows in 16 GiB banks as the board grows.
//
// Boards up to MaxClean pools validate without errors. Larger ones break Linux 6.1's limits
// (64 /reserved-memory regions, 128 heaps, 1024 CONFIG_CMA_AREAS) and so carry findings: they
// measure how dtheap's cost grows, not a board anyone could boot. Dynamic pools beyond the
// 64th region are never allocated by the kernel, so the generator gives them no heap: a heap
// over a pool that has no place would stop the kernel emitter, and a benchmark must measure
// the emitter's work, not its error path.
package benchboard

import (
	"fmt"
	"strings"
)

// MaxClean is the largest pool count whose board validates without errors: its pools (the
// default CMA area among them) and the one emitted firmware region make exactly 64 regions.
const MaxClean = 63

const (
	mib      = uint64(1) << 20
	gib      = uint64(1) << 30
	slotSize = 16 * mib
	// slotsPerBank pools share one DRAM bank.
	slotsPerBank = 1024
	// The first bankHead bytes of every bank hold no pool: firmware in bank 0, and room for
	// the dynamic pools everywhere.
	bankHead = 256 * mib
	bankSize = bankHead + slotsPerBank*slotSize
	// bankStride leaves a hole between banks, as real memory maps have.
	bankStride = 64 * gib
	dramBase   = 0x40000000
	// emittedFirmware is how many firmware regions the board writes into /reserved-memory.
	emittedFirmware = 1
)

// kinds is the cycle of pool kinds; the default CMA area comes on top.
var kinds = [...]string{"cma", "carveout", "unmapped", "cma", "carveout", "reserved", "unmapped", "carveout"}

// YAML returns the board file of a synthetic board named synthetic-<n> with n pools (n >= 1),
// the first of them the default CMA area. The same n gives the same bytes.
func YAML(n int) []byte {
	if n < 1 {
		panic("benchboard: a board needs at least one pool")
	}
	var b strings.Builder
	banks := (n + slotsPerBank - 1) / slotsPerBank
	fmt.Fprintf(&b, "# Synthetic board with %d pools, written by internal/benchboard for the benchmarks.\n", n)
	fmt.Fprintf(&b, "board: synthetic-%d\narch: arm64\naddress-cells: 2\nsize-cells: 2\n", n)
	fmt.Fprintf(&b, "kernel: {version: \"6.1\", page-size: 4KiB, hugetlb: false, cma-areas: %d}\n", cmaAreas(n))
	b.WriteString("memory:\n")
	for k := 0; k < banks; k++ {
		fmt.Fprintf(&b, "  - {name: dram%d, base: 0x%x, size: 0x%x}\n", k, bankBase(k), uint64(bankSize))
	}
	b.WriteString("firmware:\n")
	fmt.Fprintf(&b, "  - {name: kernel-image, base: 0x%x, size: 32MiB, emit: false}\n", uint64(dramBase))
	fmt.Fprintf(&b, "  - {name: tf-a, label: tfa, base: 0x%x, size: 2MiB}\n", dramBase+32*mib)
	b.WriteString("pools:\n")
	b.WriteString("  - {name: \"linux,cma\", label: linux_cma, kind: cma, default: true, size: 64MiB, alloc-ranges: [{base: 0x40000000, size: 3GiB}]}\n")
	for i := 1; i < n; i++ {
		writePool(&b, i)
	}
	return []byte(b.String())
}

// cmaAreas is the CONFIG_CMA_AREAS that gives every CMA pool a slot (6.1 has one more slot
// than the option says), capped at the schema's maximum.
func cmaAreas(n int) int {
	cma := 1 // the default area
	for i := 1; i < n; i++ {
		if kinds[i%len(kinds)] == "cma" {
			cma++
		}
	}
	return min(max(cma-1, 1), 1024)
}

func bankBase(k int) uint64 { return dramBase + uint64(k)*bankStride }

// slotBase is where pool i's slot starts: after the bank's head, one slot per pool.
func slotBase(i int) uint64 {
	return bankBase(i/slotsPerBank) + bankHead + uint64(i%slotsPerBank)*slotSize
}

// writePool writes pool i (i >= 1) as one flow mapping, like the reference boards do.
func writePool(b *strings.Builder, i int) {
	kind := kinds[i%len(kinds)]
	name := fmt.Sprintf("pool%d", i)
	dynamic := i%4 == 0
	fields := []string{"name: " + name, "kind: " + kind}
	if dynamic {
		fields = append(fields, "size: 8MiB")
		switch {
		case i%16 == 0:
			// Keep it in its own bank, as a pool for a device behind a bus window would be.
			k := i / slotsPerBank
			fields = append(fields, fmt.Sprintf("alloc-ranges: [{base: 0x%x, size: 0x%x}]", bankBase(k), uint64(bankSize)))
		case i%8 == 4 && kind != "cma":
			fields = append(fields, "alignment: 0x100000")
		}
	} else {
		// 4, 8 or 12 MiB: multiples of the 4 MiB CMA alignment, leaving some of the slot free.
		size := uint64(4*(1+i%3)) * mib
		fields = append(fields, fmt.Sprintf("base: 0x%x", slotBase(i)), fmt.Sprintf("size: %dMiB", size/mib))
	}
	fields = append(fields, heapFields(i, kind, name, dynamic)...)
	if i%4 == 1 || i%4 == 2 {
		// Two pools per device, so devices collect several regions.
		fields = append(fields, fmt.Sprintf("devices: [\"&ip%d\"]", i/4))
	}
	fmt.Fprintf(b, "  - {%s}\n", strings.Join(fields, ", "))
}

// heapFields returns the heap and mapping of pool i, if it has a heap.
func heapFields(i int, kind, name string, dynamic bool) []string {
	if kind == "reserved" || (dynamic && i+1+emittedFirmware > 64) {
		return nil
	}
	heap := name
	if !dynamic {
		heap = fmt.Sprintf("%s@%x", name, slotBase(i))
	}
	out := []string{"heap: " + heap}
	switch {
	case kind == "carveout" && i%3 == 0:
		out = append(out, "mapping: writecombine")
	case kind == "carveout":
		// Cached (so in the linear map). The silence no longer matters (a board's cached
		// carveout is never no-map) but keeps generated boards the same as before.
		out = append(out, "silence: [carveout-cached]")
	}
	return out
}
