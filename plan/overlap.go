package plan

import "sort"

// OverlappingPairs returns the index pairs (i < j) of placed regions that share memory, in
// the order a loop over all pairs would find them (validate reports overlaps in that order).
// It sweeps the regions by base keeping the ones still open: O(n log n) plus the pairs found,
// where comparing every pair is quadratic and takes seconds at 10,000 regions.
func OverlappingPairs(rs []*Region) [][2]int {
	var order []int
	for i, r := range rs {
		if r.Placed && r.Size > 0 {
			order = append(order, i)
		}
	}
	sort.Slice(order, func(x, y int) bool {
		a, b := rs[order[x]], rs[order[y]]
		return a.Base < b.Base || a.Base == b.Base && order[x] < order[y]
	})
	var pairs [][2]int
	var open []int // regions whose end lies beyond the sweep's position
	for _, j := range order {
		r := rs[j]
		kept := open[:0]
		for _, i := range open {
			if rs[i].End() <= r.Base {
				continue // ends before r starts: it cannot overlap r or anything after it
			}
			kept = append(kept, i)
			// i starts at or before r and ends after r's base: they share memory.
			pairs = append(pairs, [2]int{min(i, j), max(i, j)})
		}
		open = append(kept, j)
	}
	sort.Slice(pairs, func(x, y int) bool {
		return pairs[x][0] < pairs[y][0] || pairs[x][0] == pairs[y][0] && pairs[x][1] < pairs[y][1]
	})
	return pairs
}
