package plan

import (
	"math/rand"
	"slices"
	"testing"
)

// allPairs is the obvious quadratic check OverlappingPairs replaces: every pair, in order.
func allPairs(rs []*Region) [][2]int {
	var out [][2]int
	for i := range rs {
		for j := i + 1; j < len(rs); j++ {
			a, b := rs[i], rs[j]
			if a.Placed && b.Placed && a.Overlaps(b.Range) {
				out = append(out, [2]int{i, j})
			}
		}
	}
	return out
}

// TestOverlappingPairsMatchesAllPairs compares the sweep with every pair on random layouts
// dense enough to overlap a lot: equal bases, zero sizes, unplaced regions, regions reaching
// the top of the address space, and nested ones.
func TestOverlappingPairsMatchesAllPairs(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	for iter := 0; iter < 2000; iter++ {
		n := rng.Intn(24)
		rs := make([]*Region, n)
		for i := range rs {
			r := &Region{Placed: rng.Intn(8) != 0}
			r.Base = uint64(rng.Intn(64)) << 12
			r.Size = uint64(rng.Intn(16)) << 12
			if rng.Intn(20) == 0 {
				r.Base, r.Size = ^uint64(0)-uint64(rng.Intn(4))<<12, uint64(1+rng.Intn(8))<<12
			}
			rs[i] = r
		}
		if got, want := OverlappingPairs(rs), allPairs(rs); !slices.Equal(got, want) {
			t.Fatalf("layout %d: sweep found %v, every pair %v", iter, got, want)
		}
	}
}
