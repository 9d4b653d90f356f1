package mapview

import (
	"fmt"
	"io"
	"strings"

	"github.com/dtheap/dtheap/internal/escape"
	"github.com/dtheap/dtheap/internal/size"
	"github.com/dtheap/dtheap/plan"
)

// mapWidth is the width of the bar in the terminal map: a power of two, so that a cell is a
// round size, and with the base address in front (the end is on the bank's heading line) it
// fits 80 columns.
const mapWidth = 64

var kindGlyph = map[plan.Kind]struct {
	ch    byte
	color string
}{
	plan.KindFirmware: {'F', "\x1b[90m"},
	plan.KindCMA:      {'C', "\x1b[32m"},
	plan.KindCarveout: {'V', "\x1b[34m"},
	plan.KindUnmapped: {'U', "\x1b[35m"},
	plan.KindReserved: {'R', "\x1b[33m"},
}

// Term draws each DRAM bank as a bar of mapWidth cells; a cell shows the region that
// covers most of it, '.' for free memory and '!' where regions overlap.
func Term(w io.Writer, p *plan.Plan, color bool) {
	pairs := plan.OverlappingPairs(p.Regions)
	for _, bank := range p.Memory {
		cell := bank.Size / mapWidth
		if cell == 0 {
			cell = 1
		}
		var bar strings.Builder
		for i := uint64(0); i < mapWidth; i++ {
			c := plan.Range{Base: bank.Base + i*cell, Size: cell}
			var best *plan.Region
			var bestCover uint64
			n := 0
			for _, r := range p.Regions {
				if !r.Placed || !r.Overlaps(c) {
					continue
				}
				n++
				cover := min(r.End(), c.End()) - max(r.Base, c.Base)
				if cover > bestCover {
					best, bestCover = r, cover
				}
			}
			switch {
			case best == nil:
				bar.WriteByte('.')
			case n > 1 && overlapInCell(p, pairs, c):
				writeGlyph(&bar, '!', "\x1b[31;1m", color)
			default:
				g := kindGlyph[best.Kind]
				writeGlyph(&bar, g.ch, g.color, color)
			}
		}
		fmt.Fprintf(w, "%s 0x%x-0x%x (%s), one cell = %s\n", escape.Line(bank.Name), bank.Base, bank.End(), size.Approx(bank.Size), size.Approx(cell))
		fmt.Fprintf(w, "  0x%09x |%s|\n", bank.Base, bar.String())
	}
	fmt.Fprintln(w, "  legend: F firmware C cma V carveout U unmapped R reserved . free ! overlap")
}

// overlapInCell reports whether two regions that overlap each other both reach into the cell.
func overlapInCell(p *plan.Plan, pairs [][2]int, c plan.Range) bool {
	for _, pr := range pairs {
		if p.Regions[pr[0]].Overlaps(c) && p.Regions[pr[1]].Overlaps(c) {
			return true
		}
	}
	return false
}

func writeGlyph(b *strings.Builder, ch byte, color string, on bool) {
	if on {
		b.WriteString(color)
		b.WriteByte(ch)
		b.WriteString("\x1b[0m")
		return
	}
	b.WriteByte(ch)
}
