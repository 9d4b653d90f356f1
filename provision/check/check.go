// Package check verifies at boot that the DMA-BUF heaps a board was built for appeared, sit where
// the plan put them, and work. It reads everything through an injectable root directory and
// reaches the heaps through injectable interfaces, so every check runs against a fake root in
// tests; the real implementations (finit_module, the DMA-BUF ioctls) live in *_linux.go.
package check

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

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
	Root     string // "/" on a real system; a temp dir in tests
	Manifest *manifest.Manifest
	// ModulesDir is inside Root; default /lib/modules. Modules are looked up as modprobe
	// does, by alias through ModulesDir/<release>/modules.alias and modules.dep; without
	// those, the manifest's modules are loaded from ModulesDir itself.
	ModulesDir string
	Release    string        // kernel release for ModulesDir/<release>; default uname -r
	Timeout    time.Duration // per check; default 5s
	// Deadline bounds all checks together (default 10s): whatever has not finished by then is
	// reported as one FAIL naming it, and Run returns, so a manifest with many heaps or a
	// hung device cannot stall the boot for heaps x Timeout.
	Deadline time.Duration
	Poll     time.Duration // device wait polling interval; default 20ms
	PageSize uint64        // for CMA debugfs pfns; default os.Getpagesize()
	TestSize uint64        // bytes allocated per heap; default 1 MiB (capped at the heap size)
	Loader   ModuleLoader  // nil: module check reports FAIL (cannot load)
	Heaps    HeapDevices   // nil: allocation checks are SKIPped
	// DeviceManager, if set, runs after the modules are loaded and before the heaps are
	// checked, and is reported as check "device-manager": it starts what applies the heaps'
	// owner, mode and alias links (dtheap-check --udevd starts systemd-udevd and coldplugs).
	DeviceManager func(ctx context.Context) (Status, string)
	// OnResult, if set, sees every result as soon as it is known, so a console shows progress
	// even if a later step is slow.
	OnResult func(Result)
}

// DefaultDeadline is the time all checks together may take (Config.Deadline).
const DefaultDeadline = 10 * time.Second

// DefaultModulesDir is where the initramfs puts the modules: under <release>/updates, with
// modules.dep and modules.alias, as dtheap build --install and the kernel's modules_install do.
const DefaultModulesDir = "/lib/modules"

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
	if c.Deadline <= 0 {
		c.Deadline = DefaultDeadline
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

// runner collects results and bounds every step with the timeout and all of them with the
// deadline.
type runner struct {
	cfg      *Config
	results  []Result
	deadline time.Time
	missed   []string // steps not run because the deadline had passed
	// devicesBy ends the one wait all heap device nodes share. The heaps are registered by
	// the kernel at boot or by the module's probe, which has run by the time the first wait
	// starts; a node still missing when the first wait gives up will not appear for the
	// next heap either, so waiting again per heap would only spend the deadline (7.3 with
	// several missing heaps ran out of it with checks not run).
	devicesBy time.Time
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
	limit := r.cfg.Timeout
	why := func() string { return fmt.Sprintf("timed out after %v", r.cfg.Timeout) }
	if left := time.Until(r.deadline); left <= 0 {
		// Not run: Run reports every missed step in one line. SKIP lets the caller skip
		// the steps that depend on this one.
		r.missed = append(r.missed, id)
		return Result{ID: id, Status: Skip, Detail: "not run: the deadline for all checks passed"}
	} else if left < limit {
		limit = left
		why = func() string {
			return fmt.Sprintf("cut off after %v by the %v deadline for all checks", left.Round(time.Millisecond), r.cfg.Deadline)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	// A step that honours ctx gets a little grace to report why it gave up in its own words;
	// one stuck in a syscall is cut off at the hard deadline.
	hard := time.NewTimer(limit + max(limit/10, 50*time.Millisecond))
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
		return r.add(Result{ID: id, Status: Fail, Detail: why(), Duration: time.Since(start)})
	}
}

// Run performs every check the manifest calls for, in boot order: modules, devicetree, each
// heap (device, placement, allocation), CMA total.
//
// All of it runs within cfg.Deadline: steps still to come when it passes are not run and are
// named in one FAIL result "deadline", and Run returns, so the boot goes on.
func Run(ctx context.Context, cfg Config) *Report {
	cfg.defaults()
	r := &runner{cfg: &cfg, deadline: time.Now().Add(cfg.Deadline)}
	m := cfg.Manifest
	if m == nil {
		r.add(Result{ID: "manifest", Status: Fail, Detail: "no manifest"})
		return NewReport(nil, r.results)
	}
	if len(m.Heaps) > manifest.MaxHeaps {
		// Decode refuses such a manifest; a caller that built one itself gets the same answer.
		r.add(Result{ID: "manifest", Status: Fail, Detail: fmt.Sprintf("%d heaps, more than the kernel's %d", len(m.Heaps), manifest.MaxHeaps)})
		return NewReport(m, r.results)
	}
	r.checkModules(ctx)
	if cfg.DeviceManager != nil {
		r.step(ctx, "device-manager", cfg.DeviceManager)
	}
	r.checkDT(ctx)
	for i := range m.Heaps {
		r.checkHeap(ctx, &m.Heaps[i])
	}
	r.checkCMATotal(ctx)
	if len(r.missed) > 0 {
		r.add(Result{ID: "deadline", Status: Fail, Detail: missedDetail(cfg.Deadline, r.missed)})
	}
	return NewReport(m, r.results)
}

// missedDetail names the steps the deadline cut off: the first few and the last by name.
func missedDetail(d time.Duration, missed []string) string {
	const show = 8
	names := missed
	more := ""
	if len(names) > show+1 {
		names, more = names[:show], fmt.Sprintf(" ... (%d more) ... %s", len(missed)-show-1, missed[len(missed)-1])
	}
	return fmt.Sprintf("the %v deadline for all checks passed; %d check(s) did not run: %s%s", d, len(missed), strings.Join(names, ", "), more)
}

// readSmall reads a small text file (sysfs, debugfs, proc), at most 1 MiB of it.
//
// It goes through raw open/read/close: the module check alone reads one modalias per platform
// device (about 40 on QEMU's virt board), and os.Open's file and poller setup cost several
// extra system calls each, which add up under TCG. O_NONBLOCK keeps a FIFO in a fake root from
// blocking the open; its read then ends at EAGAIN like a file at EOF.
func readSmall(name string) (string, error) {
	const limit = 1 << 20
	var fd int
	var err error
	for {
		fd, err = unix.Open(name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return "", &os.PathError{Op: "open", Path: name, Err: err}
	}
	defer unix.Close(fd)
	var stack [512]byte
	b := stack[:0]
	for len(b) < limit {
		if len(b) == cap(b) {
			b = append(b, make([]byte, min(cap(b), limit-len(b)))...)[:len(b)]
		}
		// append may have given more room than asked for: never read past the limit.
		n, err := unix.Read(fd, b[len(b):min(cap(b), limit)])
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return string(b), nil
		case err != nil:
			return "", fmt.Errorf("read %s: %w", name, err)
		case n == 0:
			return string(b), nil
		}
		b = b[:len(b)+n]
	}
	return string(b), nil
}
