// Package uroot builds a boot-check initramfs around u-root, with u-root's own builder:
// github.com/u-root/mkuimage's uimage package (and gobusybox under it) is a Go module
// dependency of dtheap, and the u-root commands it compiles come from the
// github.com/u-root/u-root module pinned in dtheap's go.mod.
//
// The image is two newc archives, concatenated as the kernel unpacks them (in order):
//
//  1. u-root's part, made by uimage.CreateInitramfs: u-root's init as /init, its shell and a few
//     core commands compiled into one busybox binary (/bbin/bb, gbb mode, what u-root does by
//     default), /bin/uinit linked to the checker and /etc/uinit.flags holding the checker's
//     arguments. It only depends on the inputs named in BaseKey, so it is cached under them:
//     compiling the busybox for arm64 costs about a CPU-minute even with a warm Go build cache.
//  2. dtheap's part, made by provision/initramfs with --append semantics (what `dtheap
//     initramfs --append UROOT.cpio --init-path /bin/dtheap-check` writes): the checker, the
//     module(s) under lib/modules/<release>/updates/ with modules.dep and modules.alias, the
//     manifest, dev/console and dev/null.
//
// u-root's init (cmds/core/init and pkg/libinit in u-root v0.16.0) mounts devtmpfs, proc,
// sysfs, debugfs and tmpfs (libinit.CreateRootfs: all the checker reads), then runs (osInitGo,
// libinit.RunCommands) /bbin/uinit, /bin/uinit and /buildbin/uinit, whichever exist, with
// /etc/uinit.flags as arguments, then the shell. The modules it loads itself
// (libinit.InstallAllModules) are /lib/modules/*.ko and those named in
// /lib/modules-load.d/*.conf: ours live deeper, so the checker loads them by alias as before.
package uroot

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/u-root/gobusybox/src/pkg/golang"
	"github.com/u-root/mkuimage/uimage"
	"github.com/u-root/uio/llog"
	"golang.org/x/mod/modfile"

	"github.com/dtheap/dtheap/provision/initramfs"
	"github.com/dtheap/dtheap/provision/manifest"
)

// CommandPrefix is where u-root's core commands live in its module.
const CommandPrefix = "github.com/u-root/u-root/cmds/core/"

// DefaultCommands are the u-root core commands in the image: init and the shell (gosh, u-root's
// own; elvish would double the build), and enough to look around when the check fails
// interactively. Every one must be a `tool` of dtheap's go.mod: that keeps the packages they
// import in go.sum, which the busybox build needs (go mod tidy keeps tool dependencies).
var DefaultCommands = []string{"init", "gosh", "ls", "cat", "dmesg", "mount", "lsmod", "poweroff"}

// DefaultUinit is where the checker goes; mkuimage links /bin/uinit to it.
const DefaultUinit = "/bin/dtheap-check"

// Base describes u-root's part of the image.
type Base struct {
	GOARCH    string   // arm64, arm, riscv64 or amd64
	Commands  []string // names under cmds/core/ of u-root; default DefaultCommands
	Shell     string   // default "gosh"; must be among Commands
	Uinit     string   // path of the checker in the image; default DefaultUinit
	UinitArgs []string // the checker's arguments in /etc/uinit.flags (none by default)
	// SourceDir is a directory inside the dtheap module: the u-root commands are resolved
	// through its go.mod. Default: the current directory.
	SourceDir string
	CacheDir  string // default <user cache dir>/dtheap/uroot
	Go        string // the go command; default "go" from PATH
}

// formatVersion changes when this package changes what goes into the base archive.
const formatVersion = "dtheap-uroot-base 1"

func (b Base) withDefaults() (Base, error) {
	if b.GOARCH == "" {
		return b, errors.New("uroot: no GOARCH")
	}
	if !map[string]bool{"arm64": true, "arm": true, "riscv64": true, "amd64": true}[b.GOARCH] {
		return b, fmt.Errorf("uroot: GOARCH %q not supported (want arm64, arm, riscv64 or amd64)", b.GOARCH)
	}
	if len(b.Commands) == 0 {
		b.Commands = DefaultCommands
	}
	if b.Shell == "" {
		b.Shell = "gosh"
	}
	if b.Uinit == "" {
		b.Uinit = DefaultUinit
	}
	if b.Go == "" {
		b.Go = "go"
	}
	if b.CacheDir == "" {
		uc, err := os.UserCacheDir()
		if err != nil {
			return b, fmt.Errorf("uroot: %w", err)
		}
		b.CacheDir = filepath.Join(uc, "dtheap", "uroot")
	}
	if !strings.HasPrefix(b.Uinit, "/") {
		return b, fmt.Errorf("uroot: uinit %q is not an absolute path in the image", b.Uinit)
	}
	has := map[string]bool{}
	for _, c := range b.Commands {
		if c == "" || strings.ContainsAny(c, "/ \t") {
			return b, fmt.Errorf("uroot: command %q: want a name under %s", c, CommandPrefix)
		}
		if has[c] {
			return b, fmt.Errorf("uroot: command %s listed twice", c)
		}
		has[c] = true
	}
	for _, need := range []string{"init", b.Shell} {
		if !has[need] {
			return b, fmt.Errorf("uroot: the commands must include %s (u-root's init runs the uinit, then the shell)", need)
		}
	}
	return b, nil
}

// Module is what the base is built from: the go.mod and go.sum that fix every module version,
// and the Go toolchain version.
type Module struct {
	Dir       string // the module root
	GoMod     []byte
	GoSum     []byte
	GoVersion string // go env GOVERSION
}

// FindModule asks the go command for the module around dir and reads its go.mod and go.sum.
func FindModule(ctx context.Context, goCmd, dir string) (Module, error) {
	cmd := exec.CommandContext(ctx, goCmd, "env", "GOMOD", "GOVERSION")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Module{}, fmt.Errorf("uroot: go env: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || lines[0] == "" || lines[0] == os.DevNull {
		return Module{}, fmt.Errorf("uroot: %s is not inside the dtheap module (no go.mod): run from the dtheap source tree", dir)
	}
	m := Module{Dir: filepath.Dir(lines[0]), GoVersion: lines[1]}
	if m.GoMod, err = os.ReadFile(lines[0]); err != nil {
		return Module{}, fmt.Errorf("uroot: %w", err)
	}
	if m.GoSum, err = os.ReadFile(filepath.Join(m.Dir, "go.sum")); err != nil {
		return Module{}, fmt.Errorf("uroot: %w", err)
	}
	return m, nil
}

// CheckTools makes sure every command is a tool of go.mod, so that go.sum holds what it
// imports: without that, the busybox build fails deep in package loading ("could not import
// ... invalid package name").
func CheckTools(m Module, commands []string) error {
	f, err := modfile.Parse(filepath.Join(m.Dir, "go.mod"), m.GoMod, nil)
	if err != nil {
		return fmt.Errorf("uroot: %w", err)
	}
	tools := map[string]bool{}
	for _, t := range f.Tool {
		tools[t.Path] = true
	}
	var missing []string
	for _, c := range commands {
		if !tools[CommandPrefix+c] {
			missing = append(missing, CommandPrefix+c)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("uroot: %s: not a tool of %s/go.mod, so go.sum lacks what it imports; add it with: go get -tool %s",
			strings.Join(missing, ", "), m.Dir, strings.Join(missing, " "))
	}
	return nil
}

// BaseKey names the base archive by everything its bytes depend on: uimage writes the same
// bytes for the same inputs (fixed times, owners and order; seen on two builds).
func BaseKey(b Base, m Module) string {
	h := sha256.New()
	field := func(s string) { fmt.Fprintf(h, "%d:%s\n", len(s), s) }
	field(formatVersion)
	field(b.GOARCH)
	field(m.GoVersion)
	field(string(m.GoMod))
	field(string(m.GoSum))
	field(b.Shell)
	field(b.Uinit)
	field(fmt.Sprint(len(b.Commands)))
	for _, c := range b.Commands {
		field(c)
	}
	field(fmt.Sprint(len(b.UinitArgs)))
	for _, a := range b.UinitArgs {
		field(a)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// BuildBase returns the path of u-root's part of the image (a gzip-compressed newc archive),
// building it with uimage unless the cache already holds it for the same inputs. log receives
// uimage's progress lines.
func BuildBase(ctx context.Context, b Base, log io.Writer) (path string, cached bool, err error) {
	b, err = b.withDefaults()
	if err != nil {
		return "", false, err
	}
	dir := b.SourceDir
	if dir == "" {
		dir = "."
	}
	m, err := FindModule(ctx, b.Go, dir)
	if err != nil {
		return "", false, err
	}
	if err := CheckTools(m, b.Commands); err != nil {
		return "", false, err
	}
	path = filepath.Join(b.CacheDir, fmt.Sprintf("uroot-%s-%s.cpio.gz", b.GOARCH, BaseKey(b, m)))
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() && st.Size() > 0 {
		return path, true, nil
	}
	if err := os.MkdirAll(b.CacheDir, 0o755); err != nil {
		return "", false, fmt.Errorf("uroot: %w", err)
	}
	tmp, err := os.MkdirTemp(b.CacheDir, "build-")
	if err != nil {
		return "", false, fmt.Errorf("uroot: %w", err)
	}
	defer os.RemoveAll(tmp)

	pkgs := make([]string, len(b.Commands))
	for i, c := range b.Commands {
		pkgs[i] = CommandPrefix + c
	}
	raw := filepath.Join(tmp, "uroot.cpio")
	l := llog.New(slog.LevelInfo, func(format string, args ...any) { fmt.Fprintf(log, "uroot: "+format+"\n", args...) })
	err = uimage.Create(l,
		uimage.WithEnv(golang.WithGOOS("linux"), golang.WithGOARCH(b.GOARCH), golang.DisableCGO(), golang.WithWorkingDir(m.Dir)),
		uimage.WithTempDir(tmp),
		uimage.WithBusyboxCommands(pkgs...),
		uimage.WithInit("init"),
		uimage.WithShell(b.Shell),
		uimage.WithUinit(b.Uinit, b.UinitArgs...),
		uimage.WithCPIOOutput(raw),
	)
	if err != nil {
		return "", false, fmt.Errorf("uroot: u-root's builder: %w", err)
	}
	if err := gzipFile(raw, path); err != nil {
		return "", false, err
	}
	return path, false, nil
}

// gzipFile compresses src into dst (no name or time in the header, so the same bytes each
// time), replacing dst atomically: a cache entry is whole or absent.
func gzipFile(src, dst string) error {
	in, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("uroot: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(dst), ".tmp-*")
	if err != nil {
		return fmt.Errorf("uroot: %w", err)
	}
	defer os.Remove(f.Name())
	zw, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err == nil {
		_, err = zw.Write(in)
	}
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = f.Chmod(0o644) // CreateTemp's 0600 would keep a shared cache from other users
	}
	if err == nil {
		err = f.Close()
	} else {
		f.Close()
	}
	if err == nil {
		err = os.Rename(f.Name(), dst)
	}
	if err != nil {
		return fmt.Errorf("uroot: write %s: %w", dst, err)
	}
	return nil
}

// Image is a whole boot-check image: u-root's part and dtheap's.
type Image struct {
	Base     Base
	Checker  string // host path of dtheap-check for Base.GOARCH; cross-built when empty
	Modules  []string
	Manifest *manifest.Manifest
	Extra    []initramfs.File
	Output   string
}

// Result says what Build did.
type Result struct {
	Base       string // the cached u-root archive
	BaseCached bool   // true when it was not rebuilt
}

// Build writes the image to im.Output: u-root's archive (built or from the cache), then
// dtheap's archive after it.
func Build(ctx context.Context, im Image, log io.Writer) (Result, error) {
	if im.Output == "" {
		return Result{}, errors.New("uroot: no output file")
	}
	if im.Manifest == nil {
		return Result{}, errors.New("uroot: no manifest")
	}
	base, cached, err := BuildBase(ctx, im.Base, log)
	if err != nil {
		return Result{}, err
	}
	b, _ := im.Base.withDefaults() // BuildBase accepted it
	checker := im.Checker
	if checker == "" {
		checker, err = initramfs.BuildChecker(ctx, initramfs.CheckerBuild{GOARCH: b.GOARCH, SourceDir: b.SourceDir, Go: b.Go})
		if err != nil {
			return Result{}, err
		}
	}
	err = initramfs.Build(initramfs.Options{
		Checker: checker, InitPath: b.Uinit, Modules: im.Modules, Manifest: im.Manifest,
		Extra: im.Extra, Append: base, Output: im.Output,
	})
	if err != nil {
		return Result{}, err
	}
	return Result{Base: base, BaseCached: cached}, nil
}
