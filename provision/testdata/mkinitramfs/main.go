// Command mkinitramfs is a development stand-in for `dtheap initramfs` (which lives in
// cmd/dtheap): it builds the boot-check initramfs from a manifest file, for boot-check.sh.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/dtheap/dtheap/provision/initramfs"
	"github.com/dtheap/dtheap/provision/manifest"
)

type list []string

func (l *list) String() string     { return fmt.Sprint(*l) }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	var mods, extra list
	manifest := flag.String("manifest", "", "manifest.json")
	out := flag.String("o", "initramfs.cpio.gz", "output")
	arch := flag.String("arch", "arm64", "GOARCH of the checker")
	selftest := flag.String("selftest", "", "selftest binary")
	appendTo := flag.String("append", "", "existing initramfs to append to")
	flag.Var(&mods, "module", "module .ko (repeatable)")
	flag.Var(&extra, "file", "extra SRC:DST (repeatable)")
	flag.Parse()
	if err := run(*manifest, *out, *arch, *selftest, *appendTo, mods, extra); err != nil {
		fmt.Fprintln(os.Stderr, "mkinitramfs:", err)
		os.Exit(1)
	}
}

func run(manifestPath, out, arch, selftest, appendTo string, mods, extra []string) error {
	m, err := manifest.Read(manifestPath)
	if err != nil {
		return err
	}
	checker, err := initramfs.BuildChecker(context.Background(), initramfs.CheckerBuild{GOARCH: arch})
	if err != nil {
		return err
	}
	opts := initramfs.Options{Checker: checker, Modules: mods, Manifest: m, Selftest: selftest, Append: appendTo, Output: out}
	for _, e := range extra {
		f, err := initramfs.ParseFile(e)
		if err != nil {
			return err
		}
		opts.Extra = append(opts.Extra, f)
	}
	return initramfs.Build(opts)
}
