package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/mapview"
	"github.com/dtheap/dtheap/plan"
)

func init() { root.AddCommand(newPlanCmd()) }

func newPlanCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "plan BOARD.yaml",
		Short: "Show where every region lands: table, memory map, or JSON",
		Long: `plan resolves a board into the plan every emitter uses: each firmware region and pool with
its final address (dynamic pools at the address the board's kernel is predicted to give them,
in that kernel's own allocation order: 6.1's heapsort order, devicetree order from 6.12), the
heaps (the module's and the kernel's own), the consumer devices and the free memory left.

Text output is a table followed by a memory map that fits 80 columns (colour on a terminal
unless NO_COLOR is set). --format json prints the plan and its findings as one JSON object.
dtheap map draws the same plan to scale as SVG or an HTML report.`,
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
				mapview.Table(out, res.Plan)
				fmt.Fprintln(out)
				mapview.Term(out, res.Plan, useColor(out))
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
