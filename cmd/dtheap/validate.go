package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/validate"
)

func init() { root.AddCommand(newValidateCmd()) }

func newValidateCmd() *cobra.Command {
	var format string
	var listRules, verbose bool
	cmd := &cobra.Command{
		Use:   "validate BOARD.yaml...",
		Short: "Check boards against the kernel's reserved-memory and heap rules",
		Long: `validate loads each board (resolving extends:), checks it against the board schema and
every rule in the catalog (what the board's kernel, kernel.version, does at boot with reserved
memory, CMA and DMA-BUF heaps: 6.1, 6.12 and 7.3 are modelled from their source, any other
version gets the nearest older model and an info line naming it), and prints findings as
file:line:col: severity[RULE]: message.

Silence a rule for one pool or firmware region with "silence: [RULE]" in its entry, or for the
whole run with --disable RULE. Exit status: 0 clean (warnings allowed unless --werror),
1 findings at error level, 2 usage or I/O error.`,
		Example: `  dtheap validate boards/*.yaml
  dtheap validate --format json boards/qemu-virt-arm64.yaml
  dtheap validate --kconfig ~/linux/.config boards/rk3588-evb.yaml
  dtheap validate --list-rules`,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if listRules {
				return validate.WriteCatalog(out)
			}
			if len(args) == 0 {
				return &exitError{code: exitUsage, err: fmt.Errorf("validate: name at least one board file")}
			}
			if format != "text" && format != "json" {
				return &exitError{code: exitUsage, err: fmt.Errorf("--format %q: want text or json", format)}
			}
			opts, err := globalBoardFlags.options()
			if err != nil {
				return err
			}
			opts.Validate.Verbose = verbose
			var all diag.List
			for _, path := range args {
				res, err := load(path, opts)
				if err != nil {
					return err
				}
				all = append(all, res.Findings...)
			}
			if err := writeFindings(out, all, format); err != nil {
				return err
			}
			if format == "text" && len(args) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "%d board(s): %d error(s), %d warning(s)\n", len(args), all.Count(diag.Error), all.Count(diag.Warning)-all.Count(diag.Error))
			}
			if all.Count(diag.Error) > 0 {
				return findingsExit()
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json (one object per finding)")
	cmd.Flags().BoolVar(&listRules, "list-rules", false, "list every rule: ID, severity, what it catches")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "also report info findings (predicted placements)")
	return cmd
}
