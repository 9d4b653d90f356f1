// Package mapview draws a plan's memory map: a to-scale SVG of every DRAM bank with its
// firmware regions, pools, alignment padding and overlaps, a self-contained HTML report that
// adds the region table and the findings, and the compact map `dtheap plan` prints in a
// terminal. It reads only the plan, so the picture shows exactly what the emitters emit.
package mapview

import (
	"slices"
	"sort"

	"github.com/dtheap/dtheap/plan"
)

// Heights, in SVG user units (px), of the parts of the address axis.
const (
	// scaleHeight is what the to-scale part of the axis gets: the memory that holds regions,
	// plus the free runs too short to be worth compressing.
	scaleHeight = 640.0
	// breakHeight is what a compressed run gets, whatever its length.
	breakHeight = 44.0
	// compressShare: a free run longer than this share of what is still drawn to scale is
	// compressed, so a 7 GiB empty bank does not squash 1 GiB of pools into a sliver.
	compressShare = 1.0 / 3
)

// segment is a span of the shared address axis between two consecutive boundaries (a bank's
// or a region's edge in any of the plans drawn).
type segment struct {
	lo, hi     uint64
	used       bool // some region or padding of some plan lies in it
	dram       bool // it is DRAM in at least one plan
	compressed bool
	// top and bottom are the drawn y of hi and lo: high addresses at the top, as in a
	// datasheet's memory map.
	top, bottom float64
}

// axis maps physical addresses to y for one or more plans drawn side by side: the same address
// is at the same height in every column, so variants of a board line up.
type axis struct {
	segs   []segment
	height float64
	// breaks are the compressed runs, found once the segments are laid out.
	breaks []axisBreak
}

// newAxis builds the shared axis of the plans, from y = top downwards.
func newAxis(plans []*plan.Plan, top float64) *axis {
	var edges []uint64
	var used []plan.Range
	var dram []plan.Range
	for _, p := range plans {
		for _, b := range p.Memory {
			edges = append(edges, b.Base, b.End())
			dram = append(dram, b.Range)
		}
		for _, r := range p.Regions {
			if !r.Placed || r.Size == 0 {
				continue
			}
			span := plan.Range{Base: r.Base, Size: r.Size + r.Padding}
			edges = append(edges, span.Base, r.End(), span.End())
			used = append(used, span)
		}
	}
	slices.Sort(edges)
	edges = slices.Compact(edges)
	a := &axis{}
	if len(edges) < 2 {
		return a
	}
	inUsed, inDRAM := coverage(edges, used), coverage(edges, dram)
	for i := 0; i+1 < len(edges); i++ {
		a.segs = append(a.segs, segment{lo: edges[i], hi: edges[i+1], used: inUsed[i], dram: inDRAM[i]})
	}
	a.compress()
	a.layout(top)
	a.breaks = a.findBreaks()
	return a
}

// compress marks the runs that are drawn at a fixed height instead of to scale: every run that
// is DRAM in no plan, and, largest first, each free run longer than compressShare of what is
// still to scale.
func (a *axis) compress() {
	type run struct{ from, to int } // segment indexes [from, to)
	var runs []run
	for i := 0; i < len(a.segs); {
		if a.segs[i].used {
			i++
			continue
		}
		j := i
		for j < len(a.segs) && !a.segs[j].used && a.segs[j].dram == a.segs[i].dram {
			j++
		}
		runs = append(runs, run{i, j})
		i = j
	}
	length := func(r run) uint64 { return a.segs[r.to-1].hi - a.segs[r.from].lo }
	mark := func(r run) {
		for k := r.from; k < r.to; k++ {
			a.segs[k].compressed = true
		}
	}
	var free []run
	for _, r := range runs {
		if a.segs[r.from].dram {
			free = append(free, r)
		} else {
			mark(r)
		}
	}
	sort.SliceStable(free, func(i, j int) bool { return length(free[i]) > length(free[j]) })
	for _, r := range free {
		if float64(length(r)) <= compressShare*float64(a.scaled()) {
			break
		}
		mark(r)
	}
}

// scaled is the number of bytes drawn to scale.
func (a *axis) scaled() uint64 {
	var n uint64
	for _, s := range a.segs {
		if !s.compressed {
			n += s.hi - s.lo
		}
	}
	return n
}

// layout gives every segment its y span. A compressed run is one break, however many
// segments it has.
func (a *axis) layout(top float64) {
	perByte := 0.0
	if n := a.scaled(); n > 0 {
		perByte = scaleHeight / float64(n)
	}
	y := top
	for i := len(a.segs) - 1; i >= 0; i-- {
		s := &a.segs[i]
		s.top = y
		switch {
		case !s.compressed:
			y += float64(s.hi-s.lo) * perByte
		case i == 0 || !a.segs[i-1].compressed || a.segs[i-1].dram != s.dram:
			// The lowest segment of a compressed run carries the whole break.
			y += breakHeight
		}
		s.bottom = y
	}
	a.height = y - top
}

// y is the drawn height of an address on the axis (an address at a segment edge or inside one;
// inside a compressed run the break is shared out in proportion).
func (a *axis) y(addr uint64) float64 {
	i := sort.Search(len(a.segs), func(i int) bool { return a.segs[i].hi >= addr })
	if i == len(a.segs) {
		if len(a.segs) == 0 {
			return 0
		}
		return a.segs[len(a.segs)-1].top
	}
	s := a.segs[i]
	switch {
	case addr <= s.lo:
		return s.bottom
	case addr >= s.hi:
		return s.top
	}
	if s.compressed {
		// Compressed runs hold no region, so only their edges are ever asked for; a point
		// inside is put at the break's middle.
		lo, hi := a.run(i)
		return (a.segs[lo].bottom + a.segs[hi].top) / 2
	}
	f := float64(addr-s.lo) / float64(s.hi-s.lo)
	return s.bottom - f*(s.bottom-s.top)
}

// run returns the first and last segment index of the compressed run holding segment i.
func (a *axis) run(i int) (int, int) {
	lo, hi := i, i
	for lo > 0 && a.segs[lo-1].compressed && a.segs[lo-1].dram == a.segs[i].dram {
		lo--
	}
	for hi+1 < len(a.segs) && a.segs[hi+1].compressed && a.segs[hi+1].dram == a.segs[i].dram {
		hi++
	}
	return lo, hi
}

// findBreaks lists the compressed runs as address ranges, with whether they are DRAM (in some
// plan).
func (a *axis) findBreaks() []axisBreak {
	var out []axisBreak
	for i := 0; i < len(a.segs); i++ {
		if !a.segs[i].compressed {
			continue
		}
		lo, hi := a.run(i)
		out = append(out, axisBreak{
			Range: plan.Range{Base: a.segs[lo].lo, Size: a.segs[hi].hi - a.segs[lo].lo},
			dram:  a.segs[i].dram, top: a.segs[hi].top, bottom: a.segs[lo].bottom,
		})
		i = hi
	}
	return out
}

// axisBreak is one compressed run.
type axisBreak struct {
	plan.Range
	dram        bool
	top, bottom float64
}

// coverage reports, for each segment [edges[i], edges[i+1]), whether one of the ranges covers
// it. Every range starts and ends on an edge, so a running count over the edges is enough.
func coverage(edges []uint64, rs []plan.Range) []bool {
	delta := make([]int, len(edges))
	at := func(addr uint64) int { return sort.Search(len(edges), func(i int) bool { return edges[i] >= addr }) }
	for _, r := range rs {
		delta[at(r.Base)]++
		delta[at(r.End())]--
	}
	out := make([]bool, len(edges)-1)
	n := 0
	for i := range out {
		n += delta[i]
		out[i] = n > 0
	}
	return out
}
