package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/internal/size"
	"github.com/dtheap/dtheap/plan"
)

func init() { root.AddCommand(newPlanCmd()) }

func newPlanCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "plan BOARD.yaml",
		Short: "Show where every region lands: table, memory map, or JSON",
		Long: `plan resolves a board into the plan every emitter uses: each firmware region and pool with
its final address (dynamic pools at the address the 6.1 kernel is predicted to give them, in
the kernel's own allocation order), the heaps, the consumer devices and the free memory left.

Text output is a table followed by a memory map that fits 80 columns (colour on a terminal
unless NO_COLOR is set). --format json prints the plan and its findings as one JSON object.`,
		Example: `  dtheap plan boards/qemu-virt-arm64.yaml
  dtheap plan --format json boards/qemu-virt-arm64.yaml | jq '.regions[] | {name, base}'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return &exitError{code: exitUsage, err: fmt.Errorf("--format %q: want text or json", format)}
			}
			opts, err := globalBoardFlags.options()
			if err != nil {
				return err
			}
			res, err := load(args[0], opts)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if res.Plan == nil {
				_ = res.Findings.WriteText(cmd.ErrOrStderr())
				return findingsExit()
			}
			if format == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(struct {
					*plan.Plan
					Findings []any `json:"findings"`
				}{res.Plan, res.Findings.JSON()}); err != nil {
					return err
				}
			} else {
				if err := res.Findings.WriteText(cmd.ErrOrStderr()); err != nil {
					return err
				}
				writePlanTable(out, res.Plan)
				fmt.Fprintln(out)
				writeTermMap(out, res.Plan, useColor(out))
			}
			if res.Findings.Count(diag.Error) > 0 {
				return findingsExit()
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func writePlanTable(w io.Writer, p *plan.Plan) {
	fmt.Fprintf(w, "board %s (%s, Linux %s, %s pages, CMA alignment %s, %d CMA slots)\n\n",
		p.Board, p.Arch, p.Kernel.Version, size.Human(p.Kernel.PageSize), size.Human(p.Kernel.CMAAlignment), p.Kernel.CMASlots)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REGION\tKIND\tBASE\tEND\tSIZE\tPLACEMENT\tHEAP")
	for _, r := range p.Regions {
		placement := "fixed"
		switch {
		case r.Kind == plan.KindFirmware && !r.Emit:
			placement = "fixed, not emitted"
		case !r.Fixed && r.Placed:
			placement = fmt.Sprintf("predicted (#%d)", r.AllocIndex+1)
		case !r.Fixed:
			placement = "UNPLACED"
		}
		base, end := "-", "-"
		if r.Placed {
			base, end = fmt.Sprintf("0x%09x", r.Base), fmt.Sprintf("0x%09x", r.End())
		}
		heap := "-"
		if r.Heap != nil {
			heap = r.Heap.Name
			if r.Heap.Mapping == plan.MapWriteCombine {
				heap += " (wc)"
			}
		}
		if r.DefaultCMA && p.Kernel.DefaultCMAHeap != "" {
			heap = p.Kernel.DefaultCMAHeap + " (kernel)"
		}
		kind := string(r.Kind)
		if r.DefaultCMA {
			kind += " default"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, kind, base, end, size.Approx(r.Size), placement, heap)
	}
	tw.Flush()
	if len(p.AllocOrder) > 1 {
		fmt.Fprintf(w, "\nkernel allocation order of dynamic pools: %s\n", strings.Join(p.AllocOrder, ", "))
	}
	var free uint64
	for _, f := range p.Free {
		free += f.Size
	}
	fmt.Fprintf(w, "free for Linux: %s in %d range(s)\n", size.Approx(free), len(p.Free))
}

func useColor(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// mapWidth is the width of the bar in the terminal map: 80 columns with the address gutter.
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

// writeTermMap draws each DRAM bank as a bar of mapWidth cells; a cell shows the region that
// covers most of it, '.' for free memory and '!' where regions overlap.
func writeTermMap(w io.Writer, p *plan.Plan, color bool) {
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
			case n > 1 && overlapInCell(p, c):
				writeGlyph(&bar, '!', "\x1b[31;1m", color)
			default:
				g := kindGlyph[best.Kind]
				writeGlyph(&bar, g.ch, g.color, color)
			}
		}
		fmt.Fprintf(w, "%s 0x%x-0x%x (%s), one cell = %s\n", bank.Name, bank.Base, bank.End(), size.Approx(bank.Size), size.Approx(cell))
		fmt.Fprintf(w, "  0x%09x |%s| 0x%09x\n", bank.Base, bar.String(), bank.End())
	}
	fmt.Fprintln(w, "  legend: F firmware  C cma  V carveout  U unmapped  R reserved  . free  ! overlap")
}

func overlapInCell(p *plan.Plan, c plan.Range) bool {
	var in []*plan.Region
	for _, r := range p.Regions {
		if r.Placed && r.Overlaps(c) {
			in = append(in, r)
		}
	}
	for i := range in {
		for j := i + 1; j < len(in); j++ {
			if in[i].Overlaps(in[j].Range) {
				return true
			}
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
