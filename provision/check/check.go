// Package check verifies at boot that the DMA-BUF heaps a board was built for appeared, sit where
// the plan put them, and work. It reads everything through an injectable root directory and
// reaches the heaps through injectable interfaces, so every check runs against a fake root in
// tests; the real implementations (finit_module, the DMA-BUF ioctls) live in *_linux.go.
package check

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/dtheap/dtheap/provision/manifest"
)

// Status is the outcome of one check.
type Status string

// The three outcomes. SKIP means the check could not run because an earlier one failed or
// because it does not apply; it never counts as a pass toward a verdict on its own.
const (
	Pass Status = "PASS"
	Fail Status = "FAIL"
	Skip Status = "SKIP"
)

// Result is one check's outcome; ID is stable (e.g. "heap/video@70000000/placement").
// Duration is the check's own wall time (0 for results that ran no step, such as a SKIP
// decided up front); JSON carries it as integer nanoseconds.
type Result struct {
	ID       string        `json:"id"`
	Status   Status        `json:"status"`
	Detail   string        `json:"detail"`
	Duration time.Duration `json:"duration_ns,omitempty"`
}

// ModuleLoader loads one kernel module file (path is already joined with the root).
type ModuleLoader interface {
	Load(path string) error
}

// HeapDevices allocates buffers from /dev/dma_heap/<name> (devPath is joined with the root).
type HeapDevices interface {
	Allocate(devPath string, size uint64) (Buffer, error)
}

// Buffer is one allocated dma-buf.
type Buffer interface {
	// Map maps the whole buffer shared, read-write.
	Map() ([]byte, error)
	// Sync issues DMA_BUF_IOCTL_SYNC with the given DMA_BUF_SYNC_* flags.
	Sync(flags uint64) error
	Unmap() error
	Close() error
}

// DMA_BUF_SYNC_* flags from include/uapi/linux/dma-buf.h.
const (
	SyncRead  = 1
	SyncWrite = 2
	SyncRW    = SyncRead | SyncWrite
	SyncStart = 0
	SyncEnd   = 4
)

// Config says what to check and where. Zero values get defaults from Run.
type Config struct {
	Root       string // "/" on a real system; a temp dir in tests
	Manifest   *manifest.Manifest
	ModulesDir string        // inside Root; default /lib/modules/dtheap
	Timeout    time.Duration // per check; default 5s
	Poll       time.Duration // device wait polling interval; default 20ms
	PageSize   uint64        // for CMA debugfs pfns; default os.Getpagesize()
	TestSize   uint64        // bytes allocated per heap; default 1 MiB (capped at the heap size)
	Loader     ModuleLoader  // nil: module check reports FAIL (cannot load)
	Heaps      HeapDevices   // nil: allocation checks are SKIPped
	// OnResult, if set, sees every result as soon as it is known, so a console shows progress
	// even if a later step is slow.
	OnResult func(Result)
}

// DefaultModulesDir is where the initramfs puts the modules.
const DefaultModulesDir = "/lib/modules/dtheap"

func (c *Config) path(p string) string { return filepath.Join(c.Root, p) }

func (c *Config) defaults() {
	if c.Root == "" {
		c.Root = "/"
	}
	if c.ModulesDir == "" {
		c.ModulesDir = DefaultModulesDir
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.Poll <= 0 {
		c.Poll = 20 * time.Millisecond
	}
	if c.PageSize == 0 {
		c.PageSize = uint64(os.Getpagesize())
	}
	if c.TestSize == 0 {
		c.TestSize = 1 << 20
	}
}

// runner collects results and bounds every step with the timeout.
type runner struct {
	cfg     *Config
	results []Result
}

func (r *runner) add(res Result) Result {
	r.results = append(r.results, res)
	if r.cfg.OnResult != nil {
		r.cfg.OnResult(res)
	}
	return res
}

// step runs fn under the per-check timeout. A step that overruns is reported as FAIL and
// abandoned: its goroutine may stay blocked in a syscall, but the boot goes on.
func (r *runner) step(ctx context.Context, id string, fn func(ctx context.Context) (Status, string)) Result {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	// A step that honours ctx gets a little grace to report why it gave up in its own words;
	// one stuck in a syscall is cut off at the hard deadline.
	hard := time.NewTimer(r.cfg.Timeout + max(r.cfg.Timeout/10, 50*time.Millisecond))
	defer hard.Stop()
	type out struct {
		s Status
		d string
	}
	ch := make(chan out, 1)
	start := time.Now()
	go func() {
		defer func() {
			if p := recover(); p != nil {
				ch <- out{Fail, fmt.Sprintf("internal error: %v", p)}
			}
		}()
		s, d := fn(ctx)
		ch <- out{s, d}
	}()
	select {
	case o := <-ch:
		return r.add(Result{ID: id, Status: o.s, Detail: o.d, Duration: time.Since(start)})
	case <-hard.C:
		return r.add(Result{ID: id, Status: Fail, Detail: fmt.Sprintf("timed out after %v", r.cfg.Timeout), Duration: time.Since(start)})
	}
}

// Run performs every check the manifest calls for, in boot order: modules, devicetree, each
// heap (device, placement, allocation), CMA total.
func Run(ctx context.Context, cfg Config) *Report {
	cfg.defaults()
	r := &runner{cfg: &cfg}
	m := cfg.Manifest
	if m == nil {
		r.add(Result{ID: "manifest", Status: Fail, Detail: "no manifest"})
		return NewReport(nil, r.results)
	}
	r.checkModules(ctx)
	r.checkDT(ctx)
	for i := range m.Heaps {
		r.checkHeap(ctx, &m.Heaps[i])
	}
	r.checkCMATotal(ctx)
	return NewReport(m, r.results)
}

// readTrim reads a small text file (sysfs, debugfs, proc) and trims the newline.
func readSmall(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", name, err)
	}
	return string(b), nil
}
