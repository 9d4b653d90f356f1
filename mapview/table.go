package mapview

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/dtheap/dtheap/internal/escape"
	"github.com/dtheap/dtheap/internal/size"
	"github.com/dtheap/dtheap/kmodel"
	"github.com/dtheap/dtheap/plan"
)

// tableRow is one region as the region tables show it, in the terminal and in the report.
type tableRow struct {
	region                                 *plan.Region
	kind, base, end, size, placement, heap string
}

// tableRows describes every region of the plan, in board order.
func tableRows(p *plan.Plan) []tableRow {
	var rows []tableRow
	for _, r := range p.Regions {
		row := tableRow{region: r, kind: string(r.Kind), base: "-", end: "-", size: size.Approx(r.Size), placement: "fixed", heap: "-"}
		switch {
		case r.Inserted:
			row.placement = "fixed, by firmware"
		case r.Kind == plan.KindFirmware && !r.Emit:
			row.placement = "fixed, not emitted"
		case !r.Fixed && r.Placed:
			row.placement = fmt.Sprintf("predicted (#%d)", r.AllocIndex+1)
		case !r.Fixed:
			row.placement = "UNPLACED"
		}
		if r.Placed {
			row.base, row.end = fmt.Sprintf("0x%09x", r.Base), fmt.Sprintf("0x%09x", r.End())
		}
		if r.Heap != nil {
			row.heap = r.Heap.Name
			if r.Heap.Mapping == plan.MapWriteCombine {
				row.heap += " (wc)"
			}
			if r.Heap.Provider == "kernel" {
				row.heap += " (kernel)"
			}
		}
		if r.DefaultCMA && p.Kernel.DefaultCMAHeap != "" {
			row.heap = p.Kernel.DefaultCMAHeap + " (kernel)"
		}
		if r.DefaultCMA {
			row.kind += " default"
		}
		rows = append(rows, row)
	}
	return rows
}

// heading is the one-line description of the board's kernel facts.
func heading(p *plan.Plan) string {
	version := p.Kernel.Version
	if m := p.KModel(); m.Relation != kmodel.Exact {
		version += fmt.Sprintf(" as the %s model", m.Version)
	}
	return fmt.Sprintf("board %s (%s, Linux %s, %s pages, CMA alignment %s, %d CMA slots)",
		p.Board, p.Arch, version, size.Human(p.Kernel.PageSize), size.Human(p.Kernel.CMAAlignment), p.Kernel.CMASlots)
}

// summary is what follows the table: the kernel's allocation order and the memory left.
func summary(p *plan.Plan) []string {
	var out []string
	if len(p.AllocOrder) > 1 {
		out = append(out, "kernel allocation order of dynamic pools: "+strings.Join(p.AllocOrder, ", "))
	}
	if len(p.Memreserve) > 0 {
		var es []string
		when := "reserved after the dynamic pools are placed, which do not avoid them"
		for _, m := range p.Memreserve {
			e := fmt.Sprintf("%s 0x%09x-0x%09x (%s)", escape.Line(m.Name), m.Base, m.End(), size.Approx(m.Size))
			if m.Ignored {
				e += " never read"
			}
			es = append(es, e)
			if m.First {
				when = "reserved before the dynamic pools are placed"
			}
		}
		out = append(out, "/memreserve/: "+strings.Join(es, ", ")+"; "+when)
	}
	var free uint64
	for _, f := range p.Free {
		free += f.Size
	}
	return append(out, fmt.Sprintf("free for Linux: %s in %d range(s)", size.Approx(free), len(p.Free)))
}

// Table writes the plan as the text table `dtheap plan` prints.
func Table(w io.Writer, p *plan.Plan) {
	fmt.Fprintf(w, "%s\n\n", escape.Line(heading(p)))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REGION\tKIND\tBASE\tEND\tSIZE\tPLACEMENT\tHEAP")
	for _, row := range tableRows(p) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", escape.Line(row.region.Name), row.kind, row.base, row.end, row.size, escape.Line(row.placement), escape.Line(row.heap))
	}
	tw.Flush()
	lines := summary(p)
	if len(lines) > 1 {
		fmt.Fprintln(w)
	}
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}
