package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dtheap/dtheap/doctor"
)

func init() { root.AddCommand(newDoctorCmd()) }

func newDoctorCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "doctor [ROOT]",
		Short: "Explain what a running system did with its reserved memory and DMA-BUF heaps",
		Long: `doctor reads what a running Linux system shows (the devicetree it booted from
/sys/firmware/fdt, the kernel log, /dev/dma_heap, the CMA areas in sysfs and debugfs) and says,
for every /reserved-memory node, what the kernel did with it (placed, failed, ignored, refused,
lost, bypassed by cma=, overlapping, disabled, or no evidence), and for every heap whether it is
there, who provides it, its permissions and, over a CMA area, its size and free memory. Each
verdict comes with the log line or file that proves it.

ROOT is / (the default: run it on the board, as root for debugfs and the devicetree) or a
directory holding a copy: sys/firmware/fdt, dmesg.txt (the kernel log), dev/dma_heap.ls (ls -l
/dev/dma_heap) or dev/dma_heap/, sys/kernel/mm/cma/, sys/kernel/debug/cma/.

Exit status: 0 when nothing was lost, 1 when a region failed, was ignored, refused, lost or overlaps,
or a heap the devicetree's dtheap node lists is missing; 2 when the devicetree cannot be read.`,
		Example: `  sudo dtheap doctor
  dtheap doctor --format json ./board-copy`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return &exitError{code: exitUsage, err: fmt.Errorf("--format %q: want text or json", format)}
			}
			rootDir := "/"
			if len(args) == 1 {
				rootDir = args[0]
			}
			r, err := doctor.Examine(rootDir)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(r); err != nil {
					return err
				}
			} else {
				var b strings.Builder
				r.WriteText(&b)
				if _, err := fmt.Fprint(out, b.String()); err != nil {
					return err
				}
			}
			if r.Bad() {
				return findingsExit()
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}
