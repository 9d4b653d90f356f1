package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dtheap/dtheap/dtbind"
	"github.com/dtheap/dtheap/plan"
)

func init() { root.AddCommand(newDTSCmd()) }

func newDTSCmd() *cobra.Command {
	var out string
	var overlay, memreserve, check bool
	cmd := &cobra.Command{
		Use:   "dts BOARD.yaml",
		Short: "Write the board's reserved memory and heaps as a .dtsi fragment (or an overlay)",
		Long: `dts writes the devicetree for a board's memory: /reserved-memory with one child per
region (cell widths from the board, unit address in fixed regions' names, board order kept
because the kernel's placement of dynamic pools depends on it), the dtheap,dma-heaps node that
the heap module binds to, and memory-region links on the consumer devices.

The .dtsi is meant to be included at the end of the board's .dts. With --overlay the same change
is written as a .dtso overlay for the boot loader to apply (reserved memory is read too early
for run-time overlays). DTS takes /memreserve/ entries only before the first node, so neither
carries the board's memreserve: list; --memreserve writes them alone, to include right after
/dts-v1/; (dtheap dtb writes them into the blob's reservation block itself). With --check nothing is written: the command exits 1 and prints a
unified diff when the file on disk differs, 0 when it is up to date.`,
		Example: `  dtheap dts boards/qemu-virt-arm64.yaml -o arch/arm64/boot/dts/board-heaps.dtsi
  dtheap dts --overlay boards/qemu-virt-arm64.yaml -o heaps.dtso
  dtheap dts --memreserve board.yaml -o board-memreserve.dtsi
  dtheap dts --check boards/qemu-virt-arm64.yaml -o board-heaps.dtsi   # in CI`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if overlay && memreserve {
				return &exitError{code: exitUsage, err: fmt.Errorf("--overlay and --memreserve write different files: give one")}
			}
			p, err := loadPlan(cmd, args[0])
			if err != nil {
				return err
			}
			gen := dtbind.DTSI
			switch {
			case overlay:
				gen = dtbind.Overlay
			case memreserve:
				gen = func(p *plan.Plan) ([]byte, error) { return dtbind.Memreserve(p), nil }
			}
			data, err := gen(p)
			if err != nil {
				return &exitError{code: exitFindings, err: fmt.Errorf("%s: %w", args[0], err)}
			}
			return writeOutput(cmd, out, data, check)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "-", "output file (- for stdout)")
	cmd.Flags().BoolVar(&overlay, "overlay", false, "write a .dtso overlay (/plugin/) instead of a .dtsi")
	cmd.Flags().BoolVar(&memreserve, "memreserve", false, "write only the board's /memreserve/ lines, to include right after /dts-v1/;")
	cmd.Flags().BoolVar(&check, "check", false, "compare with the output file instead of writing it: exit 1 and show a diff if it differs")
	return cmd
}
