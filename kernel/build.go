package kernel

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/dtheap/dtheap/internal/output"
	"github.com/dtheap/dtheap/kmodel"
	"github.com/dtheap/dtheap/plan"
)

// TreeProblem is one way a kernel build tree does not fit the board.
type TreeProblem struct {
	Message string
	Fix     string
}

// TreeError lists everything wrong with a kernel tree, found before compiling anything.
type TreeError struct {
	KDir     string
	Problems []TreeProblem
}

func (e *TreeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kernel tree %s cannot build this board's module:", e.KDir)
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n  - %s", p.Message)
		if p.Fix != "" {
			fmt.Fprintf(&b, "\n    fix: %s", p.Fix)
		}
	}
	return b.String()
}

// CheckTree checks a kernel build directory against the board before anything is compiled:
// its .config has what the board needs, and Module.symvers exports the heap core functions the
// module calls.
//
// The tree's kernel version must have the board's kernel model (package kmodel): a board planned
// for 6.1 predicts heapsort placement and registers its own CMA heaps, which on a 7.3 tree would
// be wrong places and duplicate heaps. A version older than every model is refused outright.
func CheckTree(kdir string, p *plan.Plan) error {
	te := &TreeError{KDir: kdir}
	cfg, err := readConfig(filepath.Join(kdir, ".config"))
	if err != nil {
		return fmt.Errorf("%s: %w (is --kdir a configured kernel build directory?)", kdir, err)
	}
	if tv, err := TreeVersion(kdir); err != nil {
		te.Problems = append(te.Problems, TreeProblem{err.Error(), "point --kdir at the kernel build directory (where make wrote include/config/kernel.release)"})
	} else if prob := versionProblem(tv, p); prob != nil {
		te.Problems = append(te.Problems, *prob)
	}
	for _, r := range Requirements(p) {
		got, ok := cfg["CONFIG_"+r.Symbol]
		switch {
		case !ok || got == "n":
			te.Problems = append(te.Problems, TreeProblem{fmt.Sprintf("CONFIG_%s is not set (%s)", r.Symbol, r.Why), fmt.Sprintf("set CONFIG_%s=%s (dtheap.config has every symbol the board needs)", r.Symbol, r.Value)})
		case r.AtLeast:
			g, _ := strconv.Atoi(got)
			w, _ := strconv.Atoi(r.Value)
			if g < w {
				te.Problems = append(te.Problems, TreeProblem{fmt.Sprintf("CONFIG_%s=%s, the board needs at least %s (%s)", r.Symbol, got, r.Value, r.Why), fmt.Sprintf("set CONFIG_%s=%s", r.Symbol, r.Value)})
			}
		case got != r.Value && r.Symbol != "MODULES":
			if !(r.Value == "y" && got == "m") {
				te.Problems = append(te.Problems, TreeProblem{fmt.Sprintf("CONFIG_%s=%s, want %s", r.Symbol, got, r.Value), ""})
			}
		}
	}
	if ours(p) && p.KModel().NeedsExportPatch() {
		symvers, err := os.ReadFile(filepath.Join(kdir, "Module.symvers"))
		if err != nil {
			te.Problems = append(te.Problems, TreeProblem{"no Module.symvers: the tree has not been built", "run make in the kernel tree first (Image and modules)"})
		} else {
			var missing []string
			for _, s := range HeapSymbols {
				if !bytes.Contains(symvers, []byte("\t"+s+"\t")) {
					missing = append(missing, s)
				}
			}
			if len(missing) > 0 {
				te.Problems = append(te.Problems, TreeProblem{
					fmt.Sprintf("the kernel does not export %s to modules (Linux %s does not: dtheap's %s model): the module would fail at modpost", strings.Join(missing, ", "), p.Kernel.Version, p.KModel().Version),
					"apply the export patch (dtheap kernel BOARD.yaml --export-patch -o DIR writes " + ExportPatchName + ") and rebuild the kernel, or build the heaps in with dtheap kernel --builtin"})
			}
		}
	}
	if len(te.Problems) > 0 {
		return te
	}
	return nil
}

// TreeVersion reads the kernel version of a build tree: include/config/kernel.release (what
// make writes, e.g. "7.3.4"), else VERSION and PATCHLEVEL of the top Makefile.
func TreeVersion(kdir string) (string, error) {
	if b, err := os.ReadFile(filepath.Join(kdir, "include", "config", "kernel.release")); err == nil {
		rel := strings.TrimSpace(string(b))
		if _, err := kmodel.ParseVersion(rel); err == nil {
			return rel, nil
		}
	}
	mk, err := os.ReadFile(filepath.Join(kdir, "Makefile"))
	if err != nil {
		return "", fmt.Errorf("cannot tell the tree's kernel version: no include/config/kernel.release and no Makefile")
	}
	vars := map[string]string{}
	for _, line := range strings.SplitN(string(mk), "\n", 20) {
		if k, v, ok := strings.Cut(line, "="); ok {
			vars[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	v := vars["VERSION"] + "." + vars["PATCHLEVEL"]
	if vars["SUBLEVEL"] != "" && vars["SUBLEVEL"] != "0" {
		v += "." + vars["SUBLEVEL"]
	}
	if _, err := kmodel.ParseVersion(v); err != nil || vars["VERSION"] == "" {
		return "", fmt.Errorf("cannot tell the tree's kernel version: no include/config/kernel.release, and the Makefile has no VERSION/PATCHLEVEL (an out-of-tree build directory? its Makefile includes the source's)")
	}
	return v, nil
}

// versionProblem compares the tree's kernel version with the board's kernel model.
func versionProblem(tree string, p *plan.Plan) *TreeProblem {
	tm, err := kmodel.For(tree)
	if err != nil {
		return &TreeProblem{fmt.Sprintf("kernel version %q of the tree: %v", tree, err), ""}
	}
	if tm.Relation == kmodel.Older {
		return &TreeProblem{fmt.Sprintf("the tree is Linux %s, older than %s, the oldest kernel dtheap models and its module is written for", tree, kmodel.Proven[0]), "use a Linux 6.1 or later tree"}
	}
	bm := p.KModel()
	if tm.Version != bm.Version {
		return &TreeProblem{
			fmt.Sprintf("the tree is Linux %s (dtheap's %s model) but the board is planned for Linux %s (the %s model): placement, limits and the kernel's own heaps differ between them", tree, tm.Version, p.Kernel.Version, bm.Version),
			fmt.Sprintf("set kernel: {version: \"%s\"} in the board (or pass --kconfig with the tree's .config) and check it again", tm.Requested)}
	}
	return nil
}

func readConfig(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cfg := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if k, v, ok := strings.Cut(line, "="); ok && strings.HasPrefix(k, "CONFIG_") {
			cfg[k] = strings.Trim(v, `"`)
		} else if strings.HasPrefix(line, "# CONFIG_") && strings.HasSuffix(line, " is not set") {
			cfg[strings.TrimSuffix(strings.TrimPrefix(line, "# "), " is not set")] = "n"
		}
	}
	return cfg, sc.Err()
}

// BuildOptions for Build.
type BuildOptions struct {
	KDir         string
	OutDir       string
	Arch         string // kernel ARCH; default from the board
	CrossCompile string // default: aarch64-linux-gnu- etc. when not building natively
	Jobs         int
	Progress     io.Writer // one line per compiled file; nil: quiet
}

// kernelArches maps a board arch to the kernel's ARCH and the usual Debian cross prefix.
var kernelArches = map[string][2]string{
	"arm64":   {"arm64", "aarch64-linux-gnu-"},
	"arm":     {"arm", "arm-linux-gnueabihf-"},
	"riscv64": {"riscv", "riscv64-linux-gnu-"},
}

// KernelArch maps a board arch to the kernel's ARCH and the cross prefix for this host (none
// when the host is that arch).
func KernelArch(arch string) (karch, cross string) {
	a := kernelArches[arch]
	karch, cross = a[0], a[1]
	native := map[string]string{"arm64": "arm64", "arm": "arm", "riscv64": "riscv64"}[runtime.GOARCH]
	if native == arch {
		cross = ""
	}
	return karch, cross
}

// Build writes the module sources into OutDir, checks the kernel tree, and runs Kbuild with
// W=1 and -Werror. The full log goes to OutDir/build.log; the module is OutDir/dtheap_heaps.ko.
func Build(p *plan.Plan, o BuildOptions) (string, error) {
	if o.Progress != nil {
		if tv, err := TreeVersion(o.KDir); err == nil {
			m, _ := kmodel.For(tv)
			fmt.Fprintf(o.Progress, "kernel tree: Linux %s (dtheap's %s model)\n", tv, m.Version)
		}
	}
	if err := CheckTree(o.KDir, p); err != nil {
		return "", err
	}
	if !NeedsModule(p) {
		return "", errors.New(NoModuleReason(p))
	}
	files, err := Generate(p, Options{})
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return "", err
	}
	for _, f := range files {
		if err := output.WriteAtomic(filepath.Join(o.OutDir, f.Name), f.Data); err != nil {
			return "", err
		}
	}
	karch, cross := KernelArch(p.Arch)
	if o.Arch != "" {
		karch = o.Arch
	}
	if o.CrossCompile != "" {
		cross = o.CrossCompile
	}
	if o.Jobs == 0 {
		o.Jobs = runtime.NumCPU()
	}
	abs, err := filepath.Abs(o.OutDir)
	if err != nil {
		return "", err
	}
	logPath := filepath.Join(abs, "build.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return "", err
	}
	defer logf.Close()
	args := []string{"-C", o.KDir, "M=" + abs, "ARCH=" + karch, "W=1", "-j" + strconv.Itoa(o.Jobs), "modules"}
	if cross != "" {
		args = append(args, "CROSS_COMPILE="+cross)
	}
	fmt.Fprintf(logf, "$ make %s\n", strings.Join(args, " "))
	cmd := exec.Command("make", args...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	done := make(chan struct{})
	var warnings []string
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			t := strings.TrimSpace(line)
			if o.Progress != nil && (strings.HasPrefix(t, "CC") || strings.HasPrefix(t, "LD") || strings.HasPrefix(t, "MODPOST")) {
				fmt.Fprintln(o.Progress, "  "+t)
			}
			if strings.Contains(line, "warning:") || strings.Contains(line, "error:") || strings.Contains(line, "ERROR:") {
				warnings = append(warnings, t)
			}
		}
	}()
	if err := cmd.Start(); err != nil {
		pw.Close()
		<-done
		return "", fmt.Errorf("make: %w", err)
	}
	err = cmd.Wait()
	pw.Close()
	<-done
	if err != nil {
		var ee *exec.ExitError
		msg := err.Error()
		if errors.As(err, &ee) && len(warnings) > 0 {
			msg = strings.Join(warnings, "\n  ")
		}
		return "", fmt.Errorf("module build failed (full log: %s):\n  %s", logPath, msg)
	}
	if len(warnings) > 0 {
		return "", fmt.Errorf("module build printed warnings (full log: %s):\n  %s", logPath, strings.Join(warnings, "\n  "))
	}
	ko := filepath.Join(abs, "dtheap_heaps.ko")
	if _, err := os.Stat(ko); err != nil {
		return "", fmt.Errorf("make succeeded but %s is missing (log: %s)", ko, logPath)
	}
	return ko, nil
}
