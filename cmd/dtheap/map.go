package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/internal/escape"
	"github.com/dtheap/dtheap/mapview"
	"github.com/dtheap/dtheap/plan"
)

func init() { root.AddCommand(newMapCmd()) }

func newMapCmd() *cobra.Command {
	var out, format string
	var check bool
	cmd := &cobra.Command{
		Use:   "map BOARD.yaml... -o map.svg|report.html",
		Short: "Draw the memory map to scale as SVG, or an HTML report with the table and findings",
		Long: `map draws the plan of one or more boards: every DRAM bank to scale, with firmware regions,
each pool coloured by kind (cma, carveout, unmapped, reserved), alignment padding hatched,
overlaps in red, hex addresses on the left and a label for every region on the right, tied to
it by a leader line and moved apart where regions are too thin or too close for their labels
(labels never overlap; names also go inside regions tall enough to hold them). Dynamic pools
are drawn dashed at the address Linux is predicted to give them. Long free runs and gaps
between banks are drawn as short zigzag bands marked "not to scale", so small pools stay
visible.

Several boards are drawn side by side on one shared address axis, so an SoC's variants line up.

The format follows the output file's extension (.svg, or .html/.htm for a self-contained
report page adding each board's region table and validation findings), or --format. A board
with errors is still drawn (the map is a diagnosis tool); findings go to stderr and the exit
status is 1 when any is an error. With --check nothing is written: exit 1 and a diff when the
file on disk differs.`,
		Example: `  dtheap map boards/qemu-virt-arm64.yaml -o map.svg
  dtheap map boards/imx8mp-evk.yaml -o report.html
  dtheap map boards/ti-am625-sk.yaml boards/imx8mp-evk.yaml -o compare.svg`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, err := mapFormat(format, out)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			opts, err := globalBoardFlags.options()
			if err != nil {
				return err
			}
			var plans []*plan.Plan
			errs := 0
			for _, path := range args {
				res, err := load(path, opts)
				if err != nil {
					return err
				}
				if err := res.Findings.WriteText(cmd.ErrOrStderr()); err != nil {
					return err
				}
				if res.Plan == nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "dtheap: %s could not be loaded; nothing written\n", escape.Line(path))
					return findingsExit()
				}
				errs += res.Findings.Count(diag.Error)
				plans = append(plans, res.Plan)
			}
			data := mapview.SVG(plans)
			if kind == "html" {
				data = mapview.HTML(plans)
			}
			if err := writeOutput(cmd, out, data, check); err != nil {
				return err
			}
			if errs > 0 {
				return findingsExit()
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "-", "output file (- for stdout); .svg or .html picks the format")
	cmd.Flags().StringVar(&format, "format", "", "svg or html (default: from the output file's extension, svg for stdout)")
	cmd.Flags().BoolVar(&check, "check", false, "compare with the output file instead of writing it: exit 1 and show a diff if it differs")
	return cmd
}

// mapFormat picks svg or html from --format, else from the output file's extension.
func mapFormat(format, out string) (string, error) {
	if format != "" {
		if format != "svg" && format != "html" {
			return "", fmt.Errorf("--format %q: want svg or html", format)
		}
		return format, nil
	}
	if out == "-" || out == "" {
		return "svg", nil
	}
	switch ext := strings.ToLower(filepath.Ext(out)); ext {
	case ".svg":
		return "svg", nil
	case ".html", ".htm":
		return "html", nil
	default:
		return "", fmt.Errorf("-o %s: cannot tell the format from %q; name the file .svg or .html, or pass --format svg|html", out, ext)
	}
}
