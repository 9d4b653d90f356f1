package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dtheap/dtheap/internal/escape"
	"github.com/dtheap/dtheap/internal/output"
	"github.com/dtheap/dtheap/kernel"
	"github.com/dtheap/dtheap/plan"
)

func init() {
	root.AddCommand(newKernelCmd())
	root.AddCommand(newBuildCmd())
}

func newKernelCmd() *cobra.Command {
	var out string
	var check, builtin, exportPatch bool
	cmd := &cobra.Command{
		Use:   "kernel BOARD.yaml -o DIR",
		Short: "Write the heap driver, the board's heap table, Kbuild and Kconfig fragment",
		Long: `kernel writes everything needed to build dtheap_heaps.ko for a board into DIR: the driver
sources, dtheap_board.c (the generated table of heaps: name, kind, region, size, base), Kbuild
and Makefile for an out-of-tree build, dtheap.config (the kernel configuration the board needs,
as a merge_config.sh fragment), manifest.json (what the boot check expects) and a README.

Which heaps are the module's depends on the board's kernel version (package kmodel): 6.1 and
6.12 register only the default CMA area's heap themselves, 7.3 registers one over every CMA area
(named after its node), so on 7.3 the module registers only carveout and unmapped heaps, and a
board with none gets no module (DIR then holds dtheap.config, manifest.json and a README that
says so).

6.1 and 6.12 do not export dma_heap_add to modules: --export-patch also writes the three-line
kernel patch that does, --builtin writes the in-tree variant that needs none. 7.3 exports it
(namespace DMA_BUF_HEAP): --export-patch is refused there, the patch would not apply.`,
		Example: `  dtheap kernel boards/qemu-virt-arm64.yaml -o out/kernel
  dtheap kernel boards/qemu-virt-arm64.yaml -o out/kernel --export-patch
  dtheap kernel boards/qemu-virt-arm64.yaml -o out/kernel --check   # CI: is DIR up to date?`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return &exitError{code: exitUsage, err: fmt.Errorf("kernel: -o DIR is required")}
			}
			p, err := loadPlan(cmd, args[0])
			if err != nil {
				return err
			}
			files, err := kernel.Generate(p, kernel.Options{Builtin: builtin, WithExportPatch: exportPatch})
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			set := make([]output.File, len(files))
			for i, f := range files {
				set[i] = output.File{Name: f.Name, Data: f.Data}
			}
			ours, err := kernelFileNames(p)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			differ, err := output.WriteDir(out, set, func(name string) bool { return ours[name] }, check, cmd.OutOrStdout())
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if check && differ {
				return findingsExit()
			}
			if !check {
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d files to %s\n", len(files), out)
				if !kernel.NeedsModule(p) {
					fmt.Fprintf(cmd.ErrOrStderr(), "no module: %s\n", kernel.NoModuleReason(p))
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "output directory")
	cmd.Flags().BoolVar(&check, "check", false, "do not write: exit 1 with a diff if any file in DIR differs")
	cmd.Flags().BoolVar(&builtin, "builtin", false, "write the in-tree variant (obj-y in drivers/dma-buf/heaps): no export patch needed")
	cmd.Flags().BoolVar(&exportPatch, "export-patch", false, "also write the kernel patch exporting dma_heap_add & co. (6.1 and 6.12 need it; refused where the kernel exports them)")
	return cmd
}

// kernelFileNames is every name any variant of `dtheap kernel` writes: what WriteDir may drop
// from DIR when the new set lacks it (e.g. Kconfig.builtin after a --builtin run, or the module
// sources after a switch to a kernel that needs no module). Other files in DIR (a build's
// objects) are kept.
func kernelFileNames(*plan.Plan) (map[string]bool, error) { return kernel.FileNames(), nil }

func newBuildCmd() *cobra.Command {
	var kdir, out, arch, cross, install, modDir string
	var jobs int
	cmd := &cobra.Command{
		Use:   "build BOARD.yaml --kdir KERNEL_BUILD_DIR",
		Short: "Build dtheap_heaps.ko for a board against a kernel tree",
		Long: `build writes the module sources for the board (as dtheap kernel does) into the output
directory, checks the kernel tree first, then runs Kbuild with W=1 and -Werror. A warning fails
the build. The module and build.log are left in the output directory.

The check: the tree's kernel version (include/config/kernel.release, else the Makefile's
VERSION and PATCHLEVEL) is printed and must have the board's kernel model (a 6.1 board on a 7.3
tree is refused: set kernel.version); a tree older than 6.1 is refused; its .config has what the
board needs; where the kernel does not export dma_heap_add and friends (6.1, 6.12),
Module.symvers must (the message names the export patch). A board whose every heap the kernel
registers itself (7.3, cma pools only) has nothing to build and says so.

--install DIR then lays the module out as the kernel's own
` + "`make modules_install M=... INSTALL_MOD_PATH=DIR INSTALL_MOD_DIR=updates`" + ` would:
DIR/lib/modules/<release>/updates/dtheap_heaps.ko (compressed if the kernel's .config says
CONFIG_MODULE_COMPRESS_*), and runs depmod -ae -F System.map -b DIR <release>, so modules.dep
and modules.alias list it and modprobe loads it from its of: alias (dtheap,dma-heaps).
updates/ is searched by depmod before the kernel's own modules; --install-mod-dir extra gives
the kernel's default for external modules. The release is the tree's
include/config/kernel.release. The path printed is the installed module.`,
		Example: `  dtheap build boards/qemu-virt-arm64.yaml --kdir ~/linux-6.1 -o out/module
  dtheap build boards/my-board.yaml --kdir build --arch arm64 --cross-compile aarch64-linux-gnu-
  dtheap build boards/my-board.yaml --kdir build --install out/rootfs   # + lib/modules/<release>/updates, depmod`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if kdir == "" {
				return &exitError{code: exitUsage, err: fmt.Errorf("build: --kdir is required (a configured and built kernel tree)")}
			}
			p, err := loadPlan(cmd, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "building dtheap_heaps.ko for %s against %s\n", escape.Line(p.Board), escape.Line(kdir))
			ko, err := kernel.Build(p, kernel.BuildOptions{KDir: kdir, OutDir: out, Arch: arch, CrossCompile: cross, Jobs: jobs, Progress: cmd.ErrOrStderr()})
			if err != nil {
				return &exitError{code: exitFindings, err: err}
			}
			if install != "" {
				dst, err := kernel.Install(ko, kernel.InstallOptions{KDir: kdir, Dest: install, ModDir: modDir}, cmd.ErrOrStderr())
				if err != nil {
					return &exitError{code: exitUsage, err: err}
				}
				ko = dst
			}
			fmt.Fprintln(cmd.OutOrStdout(), ko)
			return nil
		},
	}
	cmd.Flags().StringVar(&kdir, "kdir", "", "kernel build directory (with .config and Module.symvers)")
	cmd.Flags().StringVarP(&out, "output", "o", "out/module", "output directory for sources, build.log and the .ko")
	cmd.Flags().StringVar(&arch, "arch", "", "kernel ARCH (default: from the board)")
	cmd.Flags().StringVar(&cross, "cross-compile", "", "CROSS_COMPILE prefix (default: the Debian cross toolchain for the board's arch)")
	cmd.Flags().IntVarP(&jobs, "jobs", "j", 0, "parallel jobs (default: number of CPUs)")
	cmd.Flags().StringVar(&install, "install", "", "after building, install as modules_install would under DIR (INSTALL_MOD_PATH) and run depmod")
	cmd.Flags().StringVar(&modDir, "install-mod-dir", kernel.DefaultModDir, "directory under lib/modules/<release> for --install (INSTALL_MOD_DIR)")
	return cmd
}
