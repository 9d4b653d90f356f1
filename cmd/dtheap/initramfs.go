package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dtheap/dtheap/internal/output"
	"github.com/dtheap/dtheap/provision"
	"github.com/dtheap/dtheap/provision/initramfs"
)

func init() { root.AddCommand(newInitramfsCmd()) }

func newInitramfsCmd() *cobra.Command {
	var out, checker, selftest, appendTo, initPath string
	var modules, extra []string
	cmd := &cobra.Command{
		Use:   "initramfs BOARD.yaml --module dtheap_heaps.ko -o initramfs.cpio.gz",
		Short: "Assemble an initramfs that loads the heap module and checks every heap at boot",
		Long: `initramfs cross-builds the boot checker (dtheap-check) for the board's architecture and
writes a reproducible gzip-compressed newc archive holding it as /init (or --init-path, e.g.
/bin/uinit for a u-root image), the module(s) under /lib/modules/<release>/updates/ with the modules.dep and
modules.alias depmod would write (the checker loads each by its of: alias, as modprobe does),
the boot manifest at
/etc/dtheap/manifest.json, dev/console and dev/null, and optionally the kernel's dmabuf-heap
selftest and extra files. With --append the new archive is concatenated after an existing
initramfs, which the kernel unpacks in order. Same inputs, same bytes.`,
		Example: `  dtheap initramfs boards/qemu-virt-arm64.yaml --module out/module/dtheap_heaps.ko -o out/initramfs.cpio.gz
  dtheap initramfs boards/my-board.yaml --module dtheap_heaps.ko --append rootfs.cpio.gz \
      --init-path /bin/dtheap-check -o initramfs.cpio.gz`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return &exitError{code: exitUsage, err: fmt.Errorf("initramfs: -o FILE is required")}
			}
			for _, in := range append([]string{checker, selftest}, modules...) {
				output.AddInput(in)
			}
			p, err := loadPlan(cmd, args[0])
			if err != nil {
				return err
			}
			m := provision.FromPlan(p)
			if len(m.Modules) > 0 && len(modules) == 0 {
				return &exitError{code: exitUsage, err: fmt.Errorf("initramfs: board %s has dtheap heaps: pass the module with --module (dtheap build makes it)", p.Board)}
			}
			if checker == "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "building dtheap-check for %s\n", p.Arch)
				checker, err = initramfs.BuildChecker(context.Background(), initramfs.CheckerBuild{GOARCH: p.Arch})
				if err != nil {
					return &exitError{code: exitUsage, err: err}
				}
			}
			opts := initramfs.Options{Checker: checker, InitPath: initPath, Modules: modules, Manifest: m,
				Selftest: selftest, Append: appendTo, Output: out}
			for _, e := range extra {
				f, err := initramfs.ParseFile(e)
				if err != nil {
					return &exitError{code: exitUsage, err: err}
				}
				opts.Extra = append(opts.Extra, f)
			}
			if err := initramfs.Build(opts); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "output", "o", "", "archive to write")
	f.StringSliceVar(&modules, "module", nil, "kernel module(s) to include and load at boot")
	f.StringVar(&checker, "checker", "", "use this dtheap-check binary instead of cross-building one")
	f.StringVar(&selftest, "selftest", "", "include the kernel's static dmabuf-heap selftest binary, run by the checker")
	f.StringVar(&appendTo, "append", "", "existing initramfs to append to (kept verbatim in front)")
	f.StringVar(&initPath, "init-path", "", "where the checker goes in the archive (default /init)")
	f.StringSliceVar(&extra, "file", nil, "extra file SRC:/DST (repeatable)")
	return cmd
}
