package main

import (
	"bytes"

	"github.com/spf13/cobra"

	"github.com/dtheap/dtheap/provision"
)

func init() { root.AddCommand(newManifestCmd()) }

func newManifestCmd() *cobra.Command {
	var out string
	var check bool
	cmd := &cobra.Command{
		Use:   "manifest BOARD.yaml",
		Short: "Write the boot manifest: the heaps the boot check expects, and where",
		Long: `manifest writes the JSON the boot-time checker (dtheap-check) compares the running kernel
with: each heap's name, kind, pool, base (fixed or predicted) and size, whether it can be
mapped, the module to load, and the board's identity. dtheap kernel writes it too.`,
		Example: `  dtheap manifest boards/qemu-virt-arm64.yaml -o manifest.json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := loadPlan(cmd, args[0])
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := provision.FromPlan(p).Encode(&buf); err != nil {
				return err
			}
			return writeOutput(cmd, out, buf.Bytes(), check)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "-", "output file (- for stdout)")
	cmd.Flags().BoolVar(&check, "check", false, "do not write: exit 1 with a diff if the file differs from what would be written")
	return cmd
}
