package check

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// moduleName is the kernel's name for a module file: basename without .ko, '-' as '_'.
func moduleName(file string) string {
	return strings.ReplaceAll(strings.TrimSuffix(path.Base(file), ".ko"), "-", "_")
}

func (r *runner) checkModules(ctx context.Context) {
	if len(r.cfg.Manifest.Modules) == 0 {
		r.add(Result{ID: "module", Status: Skip, Detail: "manifest lists no module (heap driver built in)"})
		return
	}
	for _, mod := range r.cfg.Manifest.Modules {
		r.step(ctx, "module/"+mod, func(ctx context.Context) (Status, string) {
			return r.loadModule(mod)
		})
	}
}

func (r *runner) loadModule(mod string) (Status, string) {
	if st, detail, ok := r.loadByAlias(mod); ok {
		return st, detail
	}
	// No depmod'ed tree for this release: a flat directory of modules (--modules-dir DIR).
	rel := path.Join(r.cfg.ModulesDir, mod)
	p := r.cfg.path(rel)
	if _, err := os.Stat(p); err != nil {
		return Fail, fmt.Sprintf("module missing: %s: %v", rel, errors.Unwrap(err))
	}
	if r.cfg.Loader == nil {
		return Fail, "no module loader configured"
	}
	err := r.cfg.Loader.Load(p)
	if err == nil {
		return Pass, "loaded " + rel
	}
	if errors.Is(err, unix.EEXIST) {
		return Pass, "already loaded"
	}
	name := moduleName(mod)
	var logLines []string
	if lines, kerr := readKmsg(r.cfg.path("/dev/kmsg")); kerr == nil {
		logLines = grepLog(lines, 8, name+": ")
	}
	return Fail, explainLoadError(rel, err, logLines)
}

// explainLoadError turns a finit_module failure and the module's log lines into one message
// that names the cause: the errno alone ("exec format error") tells an engineer nothing.
func explainLoadError(rel string, err error, log []string) string {
	joined := strings.Join(log, "\n")
	var cause string
	switch {
	case strings.Contains(joined, "version magic"):
		cause = "vermagic mismatch: module built for another kernel (rebuild it against this kernel's tree)"
	case strings.Contains(joined, "Unknown symbol"):
		var syms []string
		for _, l := range log {
			if i := strings.Index(l, "Unknown symbol "); i >= 0 {
				f := strings.Fields(l[i+len("Unknown symbol "):])
				if len(f) > 0 {
					syms = append(syms, f[0])
				}
			}
		}
		cause = "unknown symbol(s) " + strings.Join(syms, ", ") + ": the kernel does not export them (on 6.1 dma_heap_add & co need the export patch)"
	case strings.Contains(joined, "disagrees about version of symbol"):
		cause = "symbol version (modversions) mismatch: module built against another kernel build"
	case errors.Is(err, unix.ENOEXEC):
		cause = "invalid module format (wrong architecture or vermagic)"
	case errors.Is(err, unix.ENOENT):
		cause = "unknown symbol (see kernel log)"
	case errors.Is(err, unix.EKEYREJECTED), errors.Is(err, unix.ENOKEY):
		cause = "module signature rejected"
	case errors.Is(err, unix.EPERM):
		cause = "not permitted (not root, or module loading disabled)"
	case errors.Is(err, unix.ENOSYS):
		cause = "kernel without module support (CONFIG_MODULES)"
	default:
		cause = "init failed"
	}
	msg := fmt.Sprintf("load %s: %v: %s", rel, err, cause)
	if len(log) > 0 {
		msg += "; kernel log: " + strings.Join(log, " | ")
	}
	return msg
}
