package plan

import (
	"fmt"
	"slices"
	"sort"

	"github.com/dtheap/dtheap/kmodel"
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
	taken := MergeRanges(m.taken)
	for _, mem := range MergeRanges(m.memory) {
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

// MergeRanges sorts and coalesces ranges, dropping empty ones, as memblock merges touching
// and overlapping regions (memblock_merge_regions). The input is not modified.
func MergeRanges(rs []Range) []Range {
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

// alloc places one dynamic region as __reserved_mem_alloc_size does. bottomUp says, per
// alloc-ranges entry, whether memblock allocates it bottom-up (6.12 and later pick that for an
// entry that starts next to an earlier region: see kmodel.Model.AllocRangesNeighbour).
func (m *memblock) alloc(r *Region, bottomUp func(start, end uint64) bool) {
	try := func(start, end uint64, up bool) (uint64, uint64, bool) {
		if start < m.pageSize {
			start = m.pageSize // memblock never allocates the first page
		}
		if end < start {
			end = start
		}
		if up {
			return m.findBottomUp(r.Size, r.EffectiveAlign, start, end)
		}
		return m.findTopDown(r.Size, r.EffectiveAlign, start, end)
	}
	ranges := r.AllocRanges
	if len(ranges) == 0 {
		ranges = []Range{{0, 0}}
	}
	for _, ar := range ranges {
		// end = start + size; an end of 0 means anywhere (early_init_dt_alloc_reserved_memory_arch:
		// end = !end ? MEMBLOCK_ALLOC_ANYWHERE : end).
		end := ar.Base + ar.Size
		up := len(r.AllocRanges) > 0 && bottomUp != nil && bottomUp(ar.Base, end)
		if end == 0 {
			end = ^uint64(0)
		}
		if base, pad, ok := try(ar.Base, end, up); ok && base != 0 {
			r.Base, r.Placed, r.Padding = base, true, pad
			m.take(r.Range)
			return
		}
	}
	r.Placed = false
	r.Failure = "no free range large enough"
	// Would it have fitted at address 0, the one place memblock never hands out?
	for _, ar := range ranges {
		end := ar.Base + ar.Size
		if end == 0 {
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

// findBottomUp is __memblock_find_range_bottom_up: the free ranges lowest first, the first
// round_up(start, align) with size bytes before the range's end wins. The padding it returns is
// what alignment left unused below the candidate.
func (m *memblock) findBottomUp(size, align, start, end uint64) (uint64, uint64, bool) {
	for i := len(m.freeList) - 1; i >= 0; i-- {
		fr := m.freeList[i]
		ts, te := clamp(fr.Base, start, end), clamp(fr.End(), start, end)
		cand := ts
		if align > 0 && cand%align != 0 {
			cand += align - cand%align
		}
		if cand >= ts && cand < te && te-cand >= size {
			return cand, cand - ts, true
		}
	}
	return 0, 0, false
}

// release gives an allocated range back, as memblock_phys_free does when a region's setup
// fails right after its allocation.
func (m *memblock) release(r Range) {
	for i := len(m.taken) - 1; i >= 0; i-- {
		if m.taken[i] == r {
			m.taken = slices.Delete(m.taken, i, i+1)
			break
		}
	}
	m.freeList = m.free()
}

// place replays the boot sequence of the plan's kernel model over its regions: see the
// package doc.
func place(p *Plan) {
	km := p.KModel()
	m := &memblock{pageSize: p.Kernel.PageSize}
	for _, b := range p.Memory {
		m.memory = append(m.memory, b.Range)
	}
	cmdline := kmodel.CmdlineCMA(p.Kernel.Cmdline)
	for _, r := range p.Regions {
		refusal(p, km, r)
		if r.DefaultCMA && cmdline && p.Kernel.CMAEnabled && !r.NoMap {
			r.Bypassed = true
		}
	}
	// What the kernel already holds, and every fixed region: all reserved before any dynamic
	// region is allocated (on 7.3 except a linux,cma-default node that cma= bypasses). On 6.1
	// the /memreserve/ entries are reserved before the scan too; 6.12 and later reserve them
	// after every dynamic region is placed (kmodel.Model.MemreserveFirst).
	for _, mr := range p.Memreserve {
		if mr.First && !mr.Ignored {
			m.taken = append(m.taken, mr.Range)
		}
	}
	for _, r := range p.Regions {
		if r.Fixed && !(r.Bypassed && !km.CmdlineCMAReservesDefault) {
			m.taken = append(m.taken, r.Range)
		}
	}
	var order []*Region // the dynamic regions in the order the kernel allocates them
	var fixedInit []*Region
	switch km.Placement {
	case kmodel.PlaceHeapsort:
		// 6.1: every child saved into reserved_mem[MAX_RESERVED_REGIONS] in DT order, sorted.
		// The nodes firmware inserted come first (fdt_add_subnode() adds a first child), then
		// dtheap's: their number and place change the heapsort's permutation of the dynamic
		// regions, whose keys all compare equal.
		var saved []*Region
		for _, r := range inTreeOrder(p.Regions) {
			if km.RegionLimit > 0 && len(saved) == km.RegionLimit {
				r.Dropped = true
				if !r.Fixed {
					r.Failure = fmt.Sprintf("beyond the kernel's %d reserved-memory regions: never allocated", km.RegionLimit)
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
		for _, r := range saved {
			if r.Fixed {
				fixedInit = append(fixedInit, r)
			} else {
				order = append(order, r)
			}
		}
	case kmodel.PlaceDTOrder:
		// 6.12 and later: dynamic_nodes[] in DT order, at most DynamicLimit of them; fixed
		// regions are initialised afterwards, in DT order (fdt_scan_reserved_mem_reg_nodes /
		// fdt_scan_reserved_mem_late).
		for _, r := range inTreeOrder(p.Regions) {
			switch {
			case r.Fixed:
				fixedInit = append(fixedInit, r)
			case km.DynamicLimit > 0 && len(order) == km.DynamicLimit:
				r.Dropped = true
				r.Failure = fmt.Sprintf("beyond the kernel's %d dynamic reserved-memory regions: never allocated ('too many defined dynamic regions, skip')", km.DynamicLimit)
			default:
				order = append(order, r)
			}
		}
	}
	m.startAllocating()
	// reservedMem is reserved_mem[] while the dynamic regions are allocated (6.12 and later:
	// the dynamic regions allocated so far; 7.3 drops those whose setup failed), which
	// __reserved_mem_alloc_in_range() looks at to choose bottom-up or top-down.
	var reservedMem []Range
	var bottomUp func(start, end uint64) bool
	if km.AllocRangesNeighbour {
		bottomUp = func(start, end uint64) bool {
			up, down := false, false
			for _, rm := range reservedMem {
				if start >= rm.Base && start <= rm.Base+rm.Size {
					up = true
				}
				if end >= rm.Base && end <= rm.Base+rm.Size {
					down = true
				}
			}
			return up && !down
		}
	}
	// setup is the region's init function at the time the kernel calls it (dynamic regions
	// right after their allocation, fixed ones after every dynamic one on every version):
	// rmem_cma_setup() refuses a base or size off the CMA alignment ("incorrect alignment of
	// CMA region") and an area beyond MAX_CMA_AREAS (cma_init_reserved_mem(): "Not enough
	// slots for CMA reserved regions!"); the memory then goes back to the kernel.
	cmaUsed := 0
	setup := func(r *Region) {
		if r.Refused != "" || !r.Reuse || r.NoMap || !p.Kernel.CMAEnabled || r.Compat != "shared-dma-pool" {
			return
		}
		switch {
		case p.Kernel.CMAAlignment != 0 && (r.Base|r.Size)%p.Kernel.CMAAlignment != 0:
			r.Refused = "not a multiple of the CMA alignment: 'Reserved memory: incorrect alignment of CMA region', the memory goes back to the kernel"
		case cmaUsed >= p.Kernel.CMASlots:
			r.Refused = "no CMA slot left: 'Not enough slots for CMA reserved regions!', the memory goes back to the kernel"
			r.NoCMASlot = true
		default:
			cmaUsed++
		}
	}
	idx := 0
	for _, r := range order {
		if r.Bypassed && !km.CmdlineCMAReservesDefault {
			// 7.3 never allocates it.
			r.Failure = bypassed
			continue
		}
		r.AllocIndex = idx
		idx++
		p.AllocOrder = append(p.AllocOrder, r.Name)
		if p.MemoryUnknown {
			r.Failure = "DRAM unknown: not placed"
			continue
		}
		m.alloc(r, bottomUp)
		if !r.Placed {
			continue
		}
		if r.Bypassed {
			// 6.1 and 6.12 allocate it, then rmem_cma_setup() says "bypass ... node" and the
			// memory is freed at once: it stays free for the regions after it.
			m.release(r.Range)
			if km.AllocRangesNeighbour && km.KeepsFailedInArray {
				reservedMem = append(reservedMem, r.Range)
			}
			r.Placed, r.Failure = false, bypassed
			continue
		}
		r.Node = nodeName(r.Name, r.Base, false)
		setup(r)
		if r.Refused != "" && !r.MemoryLost {
			m.release(r.Range) // setup failed right after the allocation: memblock_phys_free
		}
		if km.AllocRangesNeighbour && (r.Refused == "" || r.MemoryLost || km.KeepsFailedInArray) {
			reservedMem = append(reservedMem, r.Range)
		}
	}
	for _, r := range fixedInit {
		if !r.Bypassed {
			setup(r)
		}
	}
	p.initOrder = append(order, fixedInit...)
	// 6.12 and later: the /memreserve/ loop runs after fdt_scan_reserved_mem(), so the entries
	// leave the placement alone but are not free for Linux either.
	late := false
	for _, mr := range p.Memreserve {
		if !mr.First && !mr.Ignored && mr.Size > 0 {
			m.taken = append(m.taken, mr.Range)
			late = true
		}
	}
	if late {
		m.freeList = m.free()
	}
	// Free ranges never share a base, so lowest first is the list reversed. No free memory
	// stays nil, as free() returns it.
	if len(m.freeList) > 0 {
		p.Free = slices.Clone(m.freeList)
		slices.Reverse(p.Free)
	}
}

const bypassed = "bypassed: cma= on the kernel command line replaces the default CMA node"

// inTreeOrder returns the regions that are children of /reserved-memory in the tree Linux gets,
// in its order: the ones firmware inserts at boot (each fdt_add_subnode() call adds a first
// child, so the board lists them in the order they end up in), then the ones dtheap emits.
func inTreeOrder(regions []*Region) []*Region {
	var inserted, emitted []*Region
	for _, r := range regions {
		switch {
		case r.Inserted:
			inserted = append(inserted, r)
		case r.Emit:
			emitted = append(emitted, r)
		}
	}
	return append(inserted, emitted...)
}

// refusal marks a region the kernel places (or reserves) but then sets nothing up over, as
// its model says.
func refusal(p *Plan, km *kmodel.Model, r *Region) {
	if !(r.Reuse && r.NoMap) {
		return
	}
	switch km.NoMapReusable {
	case kmodel.Refused:
		r.Refused = "no-map together with reusable: 'compatible matching fail', the memory goes back to the kernel"
	case kmodel.Lost:
		r.Refused = "no-map together with reusable: not a CMA area, the memory stays reserved no-map and nothing uses it"
		r.MemoryLost = true
	}
}
