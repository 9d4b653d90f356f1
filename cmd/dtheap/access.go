package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dtheap/dtheap/access"
	"github.com/dtheap/dtheap/internal/output"
)

func init() { root.AddCommand(newAccessCmd()) }

func newAccessCmd() *cobra.Command {
	var out string
	var check bool
	cmd := &cobra.Command{
		Use:   "access BOARD.yaml -o DIR",
		Short: "Write the udev rules and Android ueventd/init lines that give heaps their group, mode and aliases",
		Long: `access writes, for every heap whose pool has access: or aliases:, the files a device manager
reads, to be installed as they are:

  ` + access.UdevRules + `   udev: SUBSYSTEM=="dma_heap", KERNEL=="<heap>", GROUP, MODE and one
                           SYMLINK+="dma_heap/<alias>" per alias (link names are relative to /dev)
                           -> /etc/udev/rules.d/ or /usr/lib/udev/rules.d/
  ` + access.UeventdRC + `        Android ueventd: /dev/dma_heap/<heap> <mode> root <group>
                           -> /vendor/etc/ueventd.rc, or add the lines to yours
  ` + access.AndroidInit + `           Android init: symlink <heap> /dev/dma_heap/<alias> on init
                           -> /vendor/etc/init/

The owner stays root. A group without a mode gets 0660 (udev's default for a node with a
group; rule access-mode-implied). Heaps without access: keep the kernel's root:root 0600.
The boot manifest (dtheap kernel, dtheap initramfs) records the same group, mode and aliases,
and dtheap-check verifies them at boot.`,
		Example: `  dtheap access e2e/qemu-virt-arm64-access.yaml -o out/access
  dtheap access board.yaml -o out/access --check   # CI: are the installed files up to date?`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return &exitError{code: exitUsage, err: fmt.Errorf("access: -o DIR is required")}
			}
			p, err := loadPlan(cmd, args[0])
			if err != nil {
				return err
			}
			files, err := access.Generate(p)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			set := make([]output.File, len(files))
			for i, f := range files {
				set[i] = output.File{Name: f.Name, Data: f.Data}
			}
			names := access.Names()
			differ, err := output.WriteDir(out, set, func(name string) bool { return names[name] }, check, cmd.OutOrStdout())
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if check && differ {
				return findingsExit()
			}
			if !check {
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d files to %s (%d heap(s) with access or aliases)\n", len(files), out, len(access.Heaps(p)))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "output directory")
	cmd.Flags().BoolVar(&check, "check", false, "do not write: exit 1 with a diff if any file in DIR differs")
	return cmd
}
