package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"

	"github.com/spf13/cobra"

	"github.com/dtheap/dtheap/dtbind"
	"github.com/dtheap/dtheap/internal/escape"
	"github.com/dtheap/dtheap/internal/input"
	"github.com/dtheap/dtheap/internal/output"
)

func init() { root.AddCommand(newDTBCmd()) }

func newDTBCmd() *cobra.Command {
	var out, base string
	var check, quiet bool
	cmd := &cobra.Command{
		Use:   "dtb BOARD.yaml --base BASE.dtb -o OUT.dtb",
		Short: "Patch an existing .dtb with the board's reserved memory, heap node and consumers",
		Long: `dtb patches a binary devicetree: it creates or replaces the /reserved-memory children of the
board's regions (other children, such as ones firmware added, are kept; a child with the same
name is replaced and keeps its phandle), adds the dtheap,dma-heaps node, and sets
memory-region and memory-region-names on the consumer devices (&label through /__symbols__,
so compile the base with dtc -@, or /path). New phandles never collide with existing ones.
Everything else in the base is left as it was.

A base whose /reserved-memory cells differ from the root's (Linux would ignore every region),
whose root cells differ from the board's, or whose memory nodes describe other RAM than the
board is refused. QEMU rewrites /memory from -m: dump the base with the board's memory size.

With --check nothing is written: exit 1 when OUT.dtb differs from what would be written
(shown as a diff of the decompiled trees when dtc is installed).`,
		Example: `  qemu-system-aarch64 -M virt,dumpdtb=virt.dtb -cpu cortex-a57 -m 1024 -nic none
  dtheap dtb boards/qemu-virt-arm64.yaml --base virt.dtb -o board.dtb`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if base == "" {
				return &exitError{code: exitUsage, err: errors.New("--base BASE.dtb is required")}
			}
			if out == "" {
				return &exitError{code: exitUsage, err: errors.New("-o OUT.dtb is required (use -o - for stdout)")}
			}
			p, err := loadPlan(cmd, args[0])
			if err != nil {
				return err
			}
			output.AddInput(base)
			blob, err := input.ReadFile(base, "--base", input.BlobLimit)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			res, err := dtbind.Patch(p, blob)
			if err != nil {
				return &exitError{code: exitFindings, err: fmt.Errorf("%s: %w", base, err)}
			}
			if !quiet {
				for _, n := range res.Notes {
					fmt.Fprintf(cmd.ErrOrStderr(), "dtheap: %s: %s\n", escape.Line(base), escape.Line(n))
				}
			}
			if check {
				if done, err := checkDTB(cmd, out, res.DTB); done {
					return err
				}
			}
			return writeOutput(cmd, out, res.DTB, check)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "output file (- for stdout)")
	cmd.Flags().StringVar(&base, "base", "", "the devicetree blob to patch")
	cmd.Flags().BoolVar(&check, "check", false, "compare with the output file instead of writing it: exit 1 if it differs")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "do not list replaced and kept /reserved-memory children")
	return cmd
}

// checkDTB shows a --check difference between two blobs as a diff of their decompiled source,
// which a reviewer can read, when dtc is installed. done is false when it could not (no dtc,
// no file on disk): the caller falls back to the plain byte comparison.
func checkDTB(cmd *cobra.Command, path string, want []byte) (done bool, err error) {
	have, rerr := input.ReadFile(path, "-o", input.BlobLimit)
	dtc, lerr := exec.LookPath("dtc")
	if rerr != nil || lerr != nil || bytes.Equal(have, want) {
		return false, nil
	}
	decompile := func(blob []byte) (string, error) {
		c := exec.Command(dtc, "-q", "-I", "dtb", "-O", "dts", "-o", "-", "-")
		c.Stdin = bytes.NewReader(blob)
		out, err := c.Output()
		return string(out), err
	}
	a, err1 := decompile(have)
	b, err2 := decompile(want)
	if err1 != nil || err2 != nil {
		return false, nil
	}
	w := cmd.OutOrStdout()
	if a == b {
		fmt.Fprintf(w, "%s: bytes differ but the trees decompile the same (layout only)\n", path)
	} else {
		io.WriteString(w, output.UnifiedDiff(path+" (on disk, decompiled)", path+" (generated, decompiled)", a, b))
	}
	return true, findingsExit()
}
