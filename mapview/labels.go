package mapview

import "sort"

// labelGap is the free space kept between two labels in one column.
const labelGap = 3.0

// stackItem is a label in a column: it wants its middle at want and is h tall; spread sets y,
// its top.
type stackItem struct {
	want, h float64
	y       float64
}

// spread places the labels of one column so that no two overlap and each stays as close to
// where it wants to be as the others allow: labels are taken in order of want, and every
// group that would collide is laid out as one contiguous stack centred on its members' mean
// wish (the least-squares position), merging groups until none overlaps. Nothing goes above
// minY. The result depends only on the input order of equal wants, which callers keep fixed.
func spread(items []*stackItem, minY float64) {
	sort.SliceStable(items, func(i, j int) bool { return items[i].want < items[j].want })
	type group struct {
		first, last int     // items[first..last]
		top, h      float64 // stack top and total height (gaps included)
		wish        float64 // sum over members of (want - offset of the member's middle)
	}
	var groups []group
	for i, it := range items {
		g := group{first: i, last: i, h: it.h, wish: it.want - it.h/2}
		g.top = max(g.wish, minY)
		for len(groups) > 0 {
			prev := &groups[len(groups)-1]
			if prev.top+prev.h+labelGap <= g.top {
				break
			}
			// Merge: g's members sit below prev's in the stack.
			n1, n2 := float64(prev.last-prev.first+1), float64(g.last-g.first+1)
			off := prev.h + labelGap
			merged := group{first: prev.first, last: g.last, h: prev.h + labelGap + g.h,
				wish: prev.wish + g.wish - n2*off}
			merged.top = max(merged.wish/(n1+n2), minY)
			groups = groups[:len(groups)-1]
			g = merged
		}
		groups = append(groups, g)
	}
	for _, g := range groups {
		y := g.top
		for k := g.first; k <= g.last; k++ {
			items[k].y = y
			y += items[k].h + labelGap
		}
	}
}
