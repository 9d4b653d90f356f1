package plan

import (
	"slices"
	"sort"
)

// memblock models the state of the kernel's early allocator during the reserved-memory scan:
// the memory banks and the ranges already taken (reserved or marked nomap).
type memblock struct {
	pageSize uint64
	memory   []Range
	taken    []Range
	// freeList is free() kept up to date by take, so that each allocation walks it instead of
	// recomputing it from every taken range (which made planning a board of thousands of
	// regions quadratic). Valid after startAllocating.
	freeList []Range
}

// startAllocating is called once every fixed region is taken, before the first allocation.
func (m *memblock) startAllocating() { m.freeList = m.free() }

// take marks an allocated range as taken. It lies inside one free range (findTopDown cut it
// from one), which it splits into what is left above and below it: the list stays exactly
// what free() would return.
func (m *memblock) take(r Range) {
	m.taken = append(m.taken, r)
	if r.Size == 0 {
		return // mergeRanges ignores empty ranges: nothing changes
	}
	// freeList is sorted by base, highest first: find the range starting at or below r.
	i := sort.Search(len(m.freeList), func(i int) bool { return m.freeList[i].Base <= r.Base })
	if i == len(m.freeList) || !m.freeList[i].Contains(r) {
		panic("plan: allocated range outside every free range") // findTopDown guarantees it
	}
	fr := m.freeList[i]
	var rest []Range
	if above := fr.End() - r.End(); above > 0 {
		rest = append(rest, Range{r.End(), above})
	}
	if below := r.Base - fr.Base; below > 0 {
		rest = append(rest, Range{fr.Base, below})
	}
	m.freeList = slices.Replace(m.freeList, i, i+1, rest...)
}

// free computes the free ranges, highest first, as for_each_free_mem_range_reverse walks
// them, from the memory banks and every taken range.
func (m *memblock) free() []Range {
	var out []Range
	taken := mergeRanges(m.taken)
	for _, mem := range mergeRanges(m.memory) {
		cur := mem.Base
		for _, t := range taken {
			if t.End() <= cur || t.Base >= mem.End() {
				continue
			}
			if t.Base > cur {
				out = append(out, Range{cur, t.Base - cur})
			}
			if t.End() > cur {
				cur = t.End()
			}
		}
		if cur < mem.End() {
			out = append(out, Range{cur, mem.End() - cur})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Base > out[j].Base })
	return out
}

// findTopDown is __memblock_find_range_top_down over [start, end) with memblock's "never the
// first page" rule applied by the caller. It returns the candidate, the padding alignment left
// above it, and whether it found one.
func (m *memblock) findTopDown(size, align, start, end uint64) (uint64, uint64, bool) {
	for _, fr := range m.freeList {
		ts, te := clamp(fr.Base, start, end), clamp(fr.End(), start, end)
		if te < size {
			continue
		}
		cand := roundDown(te-size, align)
		if cand >= ts {
			return cand, te - (cand + size), true
		}
	}
	return 0, 0, false
}

func clamp(v, lo, hi uint64) uint64 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// roundDown is the kernel's round_down(), which masks with align-1: the same as rounding down
// to a multiple of a power of two, and for any other alignment (a devicetree may say
// alignment = <0x300000>) an address that is not a multiple of it, as memblock really returns.
func roundDown(v, align uint64) uint64 {
	if align == 0 {
		return v
	}
	return v &^ (align - 1)
}

// mergeRanges sorts and coalesces ranges.
func mergeRanges(rs []Range) []Range {
	var out []Range
	for _, r := range sortedRanges(rs) {
		if r.Size == 0 {
			continue
		}
		if n := len(out); n > 0 && r.Base <= out[n-1].End() {
			if r.End() > out[n-1].End() {
				out[n-1].Size = r.End() - out[n-1].Base
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

// alloc places one dynamic region as __reserved_mem_alloc_size does.
func (m *memblock) alloc(r *Region) {
	try := func(start, end uint64) (uint64, uint64, bool) {
		if start < m.pageSize {
			start = m.pageSize // memblock never allocates the first page
		}
		if end < start {
			end = start
		}
		return m.findTopDown(r.Size, r.EffectiveAlign, start, end)
	}
	ranges := r.AllocRanges
	if len(ranges) == 0 {
		ranges = []Range{{0, ^uint64(0)}}
	}
	for _, ar := range ranges {
		end := ar.End()
		if ar.Size == 0 {
			end = ^uint64(0) // end 0 means anywhere, as in early_init_dt_alloc_reserved_memory_arch
		}
		if base, pad, ok := try(ar.Base, end); ok && base != 0 {
			r.Base, r.Placed, r.Padding = base, true, pad
			m.take(r.Range)
			return
		}
	}
	r.Placed = false
	r.Failure = "no free range large enough"
	// Would it have fitted at address 0, the one place memblock never hands out?
	for _, ar := range ranges {
		end := ar.End()
		if ar.Size == 0 {
			end = ^uint64(0)
		}
		if base, _, ok := m.findTopDown(r.Size, r.EffectiveAlign, ar.Base, end); ok && base == 0 {
			r.AtZero = true
			r.Failure = "fits only at address 0, which the kernel never allocates"
		}
	}
	for _, fr := range m.freeList {
		if fr.Size > r.LargestHole {
			r.LargestHole = fr.Size
		}
	}
}

// place runs the 6.1 boot sequence over the plan's regions: see the package doc.
func place(p *Plan) {
	m := &memblock{pageSize: p.Kernel.PageSize}
	for _, b := range p.Memory {
		m.memory = append(m.memory, b.Range)
	}
	// What the kernel already holds, and every fixed region: all reserved before any dynamic
	// region is allocated.
	var saved []*Region
	for _, r := range p.Regions {
		if r.Fixed {
			m.taken = append(m.taken, r.Range)
		}
		if !r.Emit {
			continue
		}
		if len(saved) == MaxReservedRegions {
			r.Dropped = true
			if !r.Fixed {
				r.Failure = "beyond the kernel's 64 reserved-memory regions: never allocated"
			}
			continue
		}
		saved = append(saved, r)
	}
	if len(saved) >= 2 {
		key := func(r *Region) (uint64, uint64) {
			if r.Fixed {
				return r.Base, r.Size
			}
			return 0, 0
		}
		kernelSort(saved, func(a, b *Region) int {
			ab, as := key(a)
			bb, bs := key(b)
			switch {
			case ab < bb:
				return -1
			case ab > bb:
				return 1
			case as < bs:
				return -1
			case as > bs:
				return 1
			}
			return 0
		})
	}
	m.startAllocating()
	idx := 0
	for _, r := range saved {
		if r.Fixed {
			continue
		}
		r.AllocIndex = idx
		idx++
		p.AllocOrder = append(p.AllocOrder, r.Name)
		if p.MemoryUnknown {
			r.Failure = "DRAM unknown: not placed"
			continue
		}
		m.alloc(r)
		if r.Placed {
			r.Node = nodeName(r.Name, r.Base, false)
		}
	}
	// Free ranges never share a base, so lowest first is the list reversed. No free memory
	// stays nil, as free() returns it.
	if len(m.freeList) > 0 {
		p.Free = slices.Clone(m.freeList)
		slices.Reverse(p.Free)
	}
}
