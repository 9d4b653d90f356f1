package plan

import (
	"math/rand"
	"slices"
	"testing"
)

// TestFreeListStaysFree checks the incremental free list against free() computed from scratch
// after every allocation, on random layouts: overlapping and adjacent banks and fixed regions,
// zero sizes, alloc-ranges, alignments, failures, and allocations that use up a whole hole.
// The placement (and so every plan) is only unchanged if the two never differ.
func TestFreeListStaysFree(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	const page = 4096
	rnd := func(pages int) uint64 { return uint64(rng.Intn(pages)) * page }
	for iter := 0; iter < 3000; iter++ {
		m := &memblock{pageSize: page}
		for range 1 + rng.Intn(3) {
			m.memory = append(m.memory, Range{rnd(256), rnd(128)})
		}
		for range rng.Intn(10) {
			m.taken = append(m.taken, Range{rnd(300), rnd(32)})
		}
		m.startAllocating()
		for a := range rng.Intn(12) {
			r := &Region{Name: "r", Range: Range{Size: rnd(48)}, EffectiveAlign: uint64(1) << rng.Intn(18)}
			if rng.Intn(3) == 0 {
				r.AllocRanges = []Range{{rnd(256), rnd(128)}}
			}
			m.alloc(r, nil)
			if want := m.free(); !slices.Equal(m.freeList, want) {
				t.Fatalf("layout %d, allocation %d (%+v): free list %v, free() %v", iter, a, r.Range, m.freeList, want)
			}
		}
	}
}
