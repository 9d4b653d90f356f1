package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/internal/size"
	"github.com/dtheap/dtheap/lint"
	"github.com/dtheap/dtheap/plan"
	"github.com/dtheap/dtheap/validate"
)

func init() { root.AddCommand(newLintCmd()) }

func newLintCmd() *cobra.Command {
	var format, kernel, cmdline, arch string
	var includes, memory []string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "lint TREE.dtb|TREE.dts|TREE.dtsi...",
		Short: "Check existing devicetrees against what the kernel does with /reserved-memory",
		Long: `lint judges devicetrees written without dtheap (a vendor BSP's .dts, a .dtb pulled off a
board) by the same rule catalog as validate: the tree-level rules the kernel applies while it
reads /reserved-memory (cell counts, ranges, property lengths, no-map with reusable, status),
and every board rule on the regions the kernel keeps (overlaps, CMA alignment and slots,
unplaceable dynamic regions, ...). Every finding names the devicetree node; for source it
also names the file and line where the node or property was written.

Source is preprocessed as the kernel's dtbs build does (cpp -nostdinc -I<dir> -I<each -I>
-undef -x assembler-with-cpp -D__DTS__) and compiled with dtc (package device-tree-compiler);
give the kernel tree's include directories with -I (include/ for dt-bindings, or
scripts/dtc/include-prefixes).

What a tree cannot say comes from flags: --kernel (6.1, 6.12, 7.3: the rules that differ by
version follow it), --kconfig (page size, hugetlb, CMA, CONFIG_CMA_AREAS), --cmdline (cma=),
--memory (DRAM, when the tree leaves /memory's size to the boot loader: without it the rules
that need DRAM say, as info, that they could not judge). Without --kconfig the kernel is
taken as the arm64/riscv defconfig: 4 KiB pages, hugetlb, CMA, the default CONFIG_CMA_AREAS.
With --kconfig, the default CMA area the .config makes on its own (CONFIG_CMA_SIZE_MBYTES or
_PERCENTAGE, when neither cma= nor a linux,cma-default node sets it) takes a CMA slot as the
cma= area it is equivalent to.

Output: text (file:line:col: severity[RULE]: /node/path: message), json, or sarif (SARIF
2.1.0, for code scanning in CI). Exit status: 0 clean (warnings allowed unless --werror),
1 findings at error level, 2 usage error or a tree that cannot be read or compiled.`,
		Example: `  dtheap lint board.dtb
  dtheap lint --kernel 6.12 -I linux/include arch/arm64/boot/dts/vendor/board.dts
  dtheap lint --memory 0x40000000:2GiB --format sarif *.dtb > lint.sarif`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &exitError{code: exitUsage, err: errors.New("lint: name at least one devicetree (.dtb, .dts or .dtsi)")}
			}
			if format != "text" && format != "json" && format != "sarif" {
				return &exitError{code: exitUsage, err: fmt.Errorf("--format %q: want text, json or sarif", format)}
			}
			bo, err := globalBoardFlags.options()
			if err != nil {
				return err
			}
			mem, err := parseMemory(memory)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if kernel != "" && !kernelVersion.MatchString(kernel) {
				return &exitError{code: exitUsage, err: fmt.Errorf("--kernel %q: want a version such as 6.1, 6.12 or 7.3", kernel)}
			}
			opts := lint.Options{Includes: includes, Kernel: kernel, Kconfig: bo.Kconfig, Cmdline: cmdline,
				Arch: arch, Memory: mem, Validate: bo.Validate}
			opts.Validate.Verbose = verbose
			var all diag.List
			for _, path := range args {
				res, err := lint.Lint(path, opts)
				if err != nil {
					return &exitError{code: exitUsage, err: err}
				}
				all = append(all, res.Findings...)
			}
			out := cmd.OutOrStdout()
			switch format {
			case "sarif":
				var rules []diag.SARIFRule
				for _, r := range validate.Rules {
					rules = append(rules, diag.SARIFRule{ID: r.ID, Severity: r.Severity, Doc: r.Doc})
				}
				err = all.WriteSARIF(out, "dtheap", "", "https://github.com/dtheap/dtheap", rules)
			default:
				err = writeFindings(out, all, format)
			}
			if err != nil {
				return err
			}
			if format == "text" {
				fmt.Fprintf(cmd.ErrOrStderr(), "%d tree(s): %d error(s), %d warning(s)\n", len(args), all.Count(diag.Error), all.Count(diag.Warning)-all.Count(diag.Error))
			}
			if all.Count(diag.Error) > 0 {
				return findingsExit()
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json or sarif")
	cmd.Flags().StringSliceVarP(&includes, "include", "I", nil, "directory for #include and /include/ in source; repeatable")
	cmd.Flags().StringVar(&kernel, "kernel", "", "kernel version the tree boots (6.1, 6.12, 7.3; default 6.1, or --kconfig's)")
	cmd.Flags().StringVar(&cmdline, "cmdline", "", "the kernel command line (cma= bypasses the default CMA node)")
	cmd.Flags().StringVar(&arch, "arch", "", "arm64, arm or riscv64 (default: guessed from the CPUs)")
	cmd.Flags().StringSliceVar(&memory, "memory", nil, "DRAM bank BASE:SIZE (e.g. 0x40000000:2GiB), replacing the tree's; repeatable")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "also report predicted placements")
	return cmd
}

var kernelVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+(\.[0-9]+)?$`)

// parseMemory reads --memory BASE:SIZE values.
func parseMemory(vals []string) ([]plan.Range, error) {
	var out []plan.Range
	for _, v := range vals {
		b, s, ok := strings.Cut(v, ":")
		if !ok {
			return nil, fmt.Errorf("--memory %q: want BASE:SIZE, e.g. 0x40000000:2GiB", v)
		}
		base, err := size.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("--memory %q: base: %w", v, err)
		}
		sz, err := size.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("--memory %q: size: %w", v, err)
		}
		if sz == 0 || base+sz < base {
			return nil, fmt.Errorf("--memory %q: the size must be above 0 and the bank end within 64 bits", v)
		}
		out = append(out, plan.Range{Base: base, Size: sz})
	}
	return out, nil
}
