// Command dtheap-uroot writes a boot-check initramfs built with u-root's own builder
// (package provision/uroot): u-root's init, its gosh shell and core commands in one busybox,
// and dtheap-check as u-root's uinit, with the heap module(s) and the manifest.
//
//	go run ./cmd/dtheap-uroot --manifest manifest.json --module dtheap_heaps.ko -o initramfs.cpio.gz
//
// It runs from inside the dtheap source tree: the u-root commands are resolved through
// dtheap's go.mod (each a `tool` there), fetched from the Go module proxy like any dependency.
// u-root's part of the image is cached by its inputs (--cache). Exit status: 0 written,
// 2 usage, input or build error.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/dtheap/dtheap/provision/initramfs"
	"github.com/dtheap/dtheap/provision/manifest"
	"github.com/dtheap/dtheap/provision/uroot"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("dtheap-uroot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		manifestPath, out, checker, arch, commands, shell, uinit, cache string
		modules, uinitArgs, extra                                       listFlag
	)
	fs.StringVar(&manifestPath, "manifest", "", "boot manifest (dtheap manifest BOARD.yaml -o FILE)")
	fs.StringVar(&out, "o", "", "initramfs to write (gzip-compressed newc archives)")
	fs.Var(&modules, "module", "kernel module to include, loaded by the checker by alias (repeatable)")
	fs.StringVar(&checker, "checker", "", "dtheap-check binary for the target (default: cross-built from this tree)")
	fs.StringVar(&arch, "arch", "", "GOARCH of the image (default: the manifest's arch)")
	fs.StringVar(&commands, "commands", strings.Join(uroot.DefaultCommands, ","), "u-root core commands in the busybox (each a tool of go.mod)")
	fs.StringVar(&shell, "shell", "gosh", "u-root's shell, started after the uinit")
	fs.StringVar(&uinit, "uinit", uroot.DefaultUinit, "where the checker goes; /bin/uinit links to it")
	fs.Var(&uinitArgs, "uinit-arg", "argument for the checker in /etc/uinit.flags (repeatable), e.g. --uinit-arg=--finally=poweroff")
	fs.Var(&extra, "file", "extra file SRC:/DST (repeatable)")
	fs.StringVar(&cache, "cache", "", "cache of u-root's part (default <user cache dir>/dtheap/uroot)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: dtheap-uroot --manifest FILE [--module KO]... -o INITRAMFS [flags]\n\n"+
			"Builds u-root's init, shell and core commands with u-root's builder (mkuimage, gbb busybox\n"+
			"mode) and appends dtheap-check as the uinit, the module(s) under\n"+
			"lib/modules/<release>/updates/ with modules.dep and modules.alias, and the manifest.\n"+
			"Run it inside the dtheap source tree.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "dtheap-uroot: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	if manifestPath == "" || out == "" {
		return usage("--manifest and -o are required")
	}
	m, err := manifest.Read(manifestPath)
	if err != nil {
		return usage("%v", err)
	}
	if arch == "" {
		arch = m.Arch
	}
	im := uroot.Image{
		Base: uroot.Base{GOARCH: arch, Shell: shell, Uinit: uinit, CacheDir: cache,
			Commands: strings.Split(commands, ",")},
		Checker: checker, Modules: modules, Manifest: m, Output: out,
	}
	if len(uinitArgs) > 0 {
		im.Base.UinitArgs = uinitArgs
	}
	for _, e := range extra {
		f, err := initramfs.ParseFile(e)
		if err != nil {
			return usage("%v", err)
		}
		im.Extra = append(im.Extra, f)
	}
	start := time.Now()
	res, err := uroot.Build(context.Background(), im, stderr)
	if err != nil {
		return usage("%v", err)
	}
	how := "built"
	if res.BaseCached {
		how = "cached"
	}
	fmt.Fprintf(stderr, "dtheap-uroot: wrote %s (u-root part %s: %s) in %v\n", out, how, res.Base, time.Since(start).Round(time.Millisecond))
	return 0
}
