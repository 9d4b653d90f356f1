package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dtheap/dtheap/dtbind"
)

func init() { root.AddCommand(newImportCmd()) }

func newImportCmd() *cobra.Command {
	var out, name, arch string
	var check bool
	cmd := &cobra.Command{
		Use:   "import TREE.dtb|TREE.dts",
		Short: "Write a board YAML describing the memory of an existing devicetree",
		Long: `import reads a devicetree that already boots and writes a board file for it: the memory
banks, every /reserved-memory child (fixed or dynamic; a reusable shared-dma-pool becomes a cma
pool, a no-map region a reserved one, or a carveout/unmapped heap when a dtheap,dma-heaps node
names it) and the devices linked to the pools by memory-region. What the board format cannot
say (other compatible strings, /memreserve/ entries) is kept as YAML comments.

A .dts input is compiled with dtc first (package device-tree-compiler). The kernel block is not
in a devicetree: check it (or pass --kconfig to later commands).`,
		Example: `  dtheap import /boot/dtbs/board.dtb -o boards/myboard.yaml
  dtheap import board.dts --name myboard --arch arm64`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			blob, err := readTree(args[0])
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			b, err := dtbind.Import(blob, dtbind.ImportOptions{Board: name, Arch: arch, Source: filepath.Base(args[0])})
			if err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("%s: %w", args[0], err)}
			}
			return writeOutput(cmd, out, b.YAML(), check)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "-", "output file (- for stdout)")
	cmd.Flags().StringVar(&name, "name", "", "board name (default: from the root compatible)")
	cmd.Flags().StringVar(&arch, "arch", "", "arm64, arm or riscv64 (default: guessed from the CPUs)")
	cmd.Flags().BoolVar(&check, "check", false, "compare with the output file instead of writing it: exit 1 if it differs")
	return cmd
}

// readTree returns a flattened tree, compiling source with dtc.
func readTree(path string) ([]byte, error) {
	if !strings.HasSuffix(path, ".dts") && !strings.HasSuffix(path, ".dtsi") {
		return os.ReadFile(path)
	}
	dtc, err := exec.LookPath("dtc")
	if err != nil {
		return nil, fmt.Errorf("%s is devicetree source and dtc is not installed: install device-tree-compiler, or pass a compiled .dtb", path)
	}
	c := exec.Command(dtc, "-@", "-q", "-I", "dts", "-O", "dtb", "-o", "-", path)
	var stderr strings.Builder
	c.Stderr = &stderr
	blob, err := c.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("dtc could not compile %s:\n%s", path, strings.TrimSpace(stderr.String()))
		}
		return nil, fmt.Errorf("running dtc: %w", err)
	}
	return blob, nil
}
