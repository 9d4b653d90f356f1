package main

import (
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/dtbind"
	"github.com/dtheap/dtheap/internal/output"
	"github.com/dtheap/dtheap/lint"
)

func init() { root.AddCommand(newImportCmd()) }

func newImportCmd() *cobra.Command {
	var out, name, arch string
	var includes, memory []string
	var check bool
	cmd := &cobra.Command{
		Use:   "import TREE.dtb|TREE.dts",
		Short: "Write a board YAML describing the memory of an existing devicetree",
		Long: `import reads a devicetree that already boots and writes a board file for it: the memory
banks, every /reserved-memory child the kernel keeps (fixed or dynamic; a reusable
shared-dma-pool becomes a cma pool, a no-map region a reserved one, or a carveout/unmapped heap
when a dtheap,dma-heaps node names it; each further entry of a multi-entry reg its own reserved
region) and the devices linked to the pools by memory-region. On riscv64 the nodes OpenSBI
inserts at boot (mmode_resv<N>, as a tree read from /sys/firmware/fdt has them) become firmware
regions with inserted: true, so that dtheap dtb does not write them a second time.

What the kernel trips on in the tree (/reserved-memory cells or ranges, property lengths,
no-map with reusable, disabled nodes: the tree-level rules of dtheap lint) is reported on
stderr as findings with rule ID and node path, and the exit status is 1 if one is an error;
the board is written all the same. /memreserve/ entries and other compatible strings are kept
as YAML comments.

A tree that leaves /memory's size to the boot loader gives "memory: unknown" (the rules that
need DRAM then say they could not judge); --memory BASE:SIZE gives the DRAM instead.

Source is preprocessed with cpp and compiled with dtc like dtheap lint (-I for include
directories). The kernel block is not in a devicetree: check it (or pass --kconfig to later
commands).`,
		Example: `  dtheap import /boot/dtbs/board.dtb -o boards/myboard.yaml
  dtheap import board.dts --name myboard --arch arm64`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			output.AddInput(args[0])
			mem, err := parseMemory(memory)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			b, err := lint.Import(args[0], includes, dtbind.ImportOptions{Board: name, Arch: arch, Source: filepath.Base(args[0]), Memory: mem})
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if err := writeOutput(cmd, out, b.YAML(), check); err != nil {
				return err
			}
			// What the kernel trips on in the tree: the same findings as dtheap lint's
			// tree-level ones, with rule and node, on stderr.
			if err := b.Findings.WriteText(cmd.ErrOrStderr()); err != nil {
				return err
			}
			if b.Findings.Count(diag.Error) > 0 {
				return findingsExit()
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVarP(&includes, "include", "I", nil, "directory for #include and /include/ in source; repeatable")
	cmd.Flags().StringSliceVar(&memory, "memory", nil, "DRAM bank BASE:SIZE (e.g. 0x40000000:2GiB), for trees that leave /memory's size to the boot loader; repeatable")
	cmd.Flags().StringVarP(&out, "output", "o", "-", "output file (- for stdout)")
	cmd.Flags().StringVar(&name, "name", "", "board name (default: from the root compatible)")
	cmd.Flags().StringVar(&arch, "arch", "", "arm64, arm or riscv64 (default: guessed from the CPUs)")
	cmd.Flags().BoolVar(&check, "check", false, "compare with the output file instead of writing it: exit 1 if it differs")
	return cmd
}
