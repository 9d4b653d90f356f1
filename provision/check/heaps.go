package check

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dtheap/dtheap/internal/logmatch"
	"github.com/dtheap/dtheap/provision/manifest"
)

// Where the heaps show up (DESIGN.md "What the driver shows at run time", and 6.1's CMA debugfs).
const (
	HeapDevDir    = "/dev/dma_heap"
	DtheapDebugfs = "/sys/kernel/debug/dtheap"
	CMADebugfs    = "/sys/kernel/debug/cma"
	MeminfoPath   = "/proc/meminfo"
)

func (r *runner) checkHeap(ctx context.Context, h *manifest.Heap) {
	id := "heap/" + h.Name
	dev := path.Join(HeapDevDir, h.Name)
	devRes := r.step(ctx, id+"/device", func(ctx context.Context) (Status, string) {
		return r.waitDevice(ctx, h, dev)
	})
	r.step(ctx, id+"/placement", func(ctx context.Context) (Status, string) {
		if h.Provider == manifest.ProviderKernel {
			return r.kernelPlacement(h)
		}
		return r.dtheapPlacement(h)
	})
	if devRes.Status != Pass {
		if time.Now().After(r.deadline) {
			r.missed = append(r.missed, id+"/alloc") // one line for all that did not run
			return
		}
		if h.Group != "" || h.Mode != "" {
			r.add(Result{ID: id + "/access", Status: Skip, Detail: "no device node"})
		}
		for _, a := range h.Aliases {
			r.add(Result{ID: id + "/alias/" + a, Status: Skip, Detail: "no device node"})
		}
		r.add(Result{ID: id + "/alloc", Status: Skip, Detail: "no device node"})
		return
	}
	r.checkAccess(ctx, h, dev)
	if r.cfg.Heaps == nil {
		r.add(Result{ID: id + "/alloc", Status: Skip, Detail: "no heap device access configured"})
		return
	}
	r.step(ctx, id+"/alloc", func(ctx context.Context) (Status, string) {
		return r.exercise(h, r.cfg.path(dev))
	})
}

// waitDevice polls for the device node: the driver may still be probing when we get here.
func (r *runner) waitDevice(ctx context.Context, h *manifest.Heap, dev string) (Status, string) {
	start := time.Now()
	if r.devicesBy.IsZero() {
		r.devicesBy = start.Add(r.cfg.Timeout)
	}
	ctx, cancel := context.WithDeadline(ctx, r.devicesBy)
	defer cancel()
	tick := time.NewTicker(r.cfg.Poll)
	defer tick.Stop()
	for {
		var st unix.Stat_t
		if err := unix.Stat(r.cfg.path(dev), &st); err == nil {
			if st.Mode&unix.S_IFMT == unix.S_IFDIR {
				return Fail, dev + " is a directory"
			}
			return Pass, fmt.Sprintf("%s present after %v", dev, time.Since(start).Round(time.Millisecond))
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("%s did not appear within %v", dev, r.cfg.Timeout)
			if waited := time.Since(start); waited < r.cfg.Timeout/2 {
				msg = fmt.Sprintf("%s did not appear within the %v all heap devices share (%v of it left for this one)", dev, r.cfg.Timeout, waited.Round(time.Millisecond))
			}
			if lines, err := readKmsg(r.cfg.path("/dev/kmsg")); err == nil {
				if why := grepLog(lines, 3, "dtheap: heap "+h.Name+":"); len(why) > 0 {
					msg += "; kernel log: " + strings.Join(why, " | ")
				}
			}
			return Fail, msg
		case <-tick.C:
		}
	}
}

// dtheapPlacement compares the driver's debugfs view with the plan. For a dynamic pool the base
// is a prediction; a pool placed elsewhere means the plan (and the generated driver table) no
// longer describes the board, so it fails too.
func (r *runner) dtheapPlacement(h *manifest.Heap) (Status, string) {
	dir := path.Join(DtheapDebugfs, h.Name)
	base, err := readNumber(r.cfg.path(dir + "/base"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if st, d, ok := r.dtheapPlacementFromLog(h); ok {
				return st, d
			}
			return Fail, fmt.Sprintf("%s missing and no driver line in the kernel log (debugfs not mounted, or the driver did not register the heap)", dir)
		}
		return Fail, err.Error()
	}
	size, err := readNumber(r.cfg.path(dir + "/size"))
	if err != nil {
		return Fail, err.Error()
	}
	var bad []string
	if kind, err := readSmall(r.cfg.path(dir + "/kind")); err == nil && strings.TrimSpace(kind) != h.Kind {
		bad = append(bad, fmt.Sprintf("kind %s, manifest %s", strings.TrimSpace(kind), h.Kind))
	}
	return placementVerdict(h, base, size, "debugfs", bad)
}

// driverLine is the driver's success message (DESIGN.md).
var driverLine = logmatch.New("dtheap: heap {S}: {w} on {S} base {X} size {X}")

// dtheapPlacementFromLog is the fallback when debugfs is not there (a kernel without
// CONFIG_DEBUG_FS): the driver logs base and size when it registers a heap.
func (r *runner) dtheapPlacementFromLog(h *manifest.Heap) (Status, string, bool) {
	lines, err := readKmsg(r.cfg.path("/dev/kmsg"))
	if err != nil {
		return "", "", false
	}
	for i := len(lines) - 1; i >= 0; i-- {
		m := driverLine.Find(lines[i])
		if m == nil || m[1] != h.Name {
			continue
		}
		base, _ := strconv.ParseUint(m[4], 0, 64)
		size, _ := strconv.ParseUint(m[5], 0, 64)
		var bad []string
		if m[2] != h.Kind {
			bad = append(bad, fmt.Sprintf("kind %s, manifest %s", m[2], h.Kind))
		}
		st, d := placementVerdict(h, base, size, "kernel log", bad)
		return st, d, true
	}
	return "", "", false
}

func placementVerdict(h *manifest.Heap, base, size uint64, src string, bad []string) (Status, string) {
	if base != h.Base {
		if h.Fixed {
			bad = append(bad, fmt.Sprintf("wrong place: base 0x%x, fixed base 0x%x", base, h.Base))
		} else {
			bad = append(bad, fmt.Sprintf("wrong place: kernel put it at 0x%x, planner predicted 0x%x", base, h.Base))
		}
	}
	if size != h.Size {
		bad = append(bad, fmt.Sprintf("wrong size: %s, manifest %s", humanSize(size), humanSize(h.Size)))
	}
	if len(bad) > 0 {
		return Fail, strings.Join(bad, "; ") + " (" + src + ")"
	}
	return Pass, fmt.Sprintf("base 0x%x size %s (%s)", base, humanSize(size), src)
}

// cmaPoolLine matches 6.1's rmem_cma_setup message; the node name follows on the
// "initialized node" line that __reserved_mem_init_node prints after it.
var (
	cmaPoolLine = logmatch.New("Reserved memory: created CMA memory pool at {X}, size {d} MiB")
	initNode    = logmatch.New("reserved mem: initialized node {S}, compatible id shared-dma-pool")
)

// kernelPlacement checks the heap 6.1 creates itself over the default CMA area: the area is
// named after its node, in CMA debugfs if there is one, else in the boot log.
func (r *runner) kernelPlacement(h *manifest.Heap) (Status, string) {
	node := h.Name
	if p := r.cfg.Manifest.PoolByName(h.Pool); p != nil {
		node = p.Node
	}
	dir := path.Join(CMADebugfs, node)
	pfn, err1 := readNumber(r.cfg.path(dir + "/base_pfn"))
	count, err2 := readNumber(r.cfg.path(dir + "/count"))
	if err1 == nil && err2 == nil {
		return placementVerdict(h, pfn*r.cfg.PageSize, count*r.cfg.PageSize, "cma debugfs", nil)
	}
	lines, err := readKmsg(r.cfg.path("/dev/kmsg"))
	if err != nil {
		return Fail, fmt.Sprintf("neither %s (%v) nor the kernel log (%v) is readable", dir, err1, err)
	}
	var base, mib uint64
	found := false
	for _, l := range lines {
		if m := cmaPoolLine.Find(l); m != nil {
			base, _ = strconv.ParseUint(m[1], 0, 64)
			mib, _ = strconv.ParseUint(m[2], 10, 64)
			found = true
			continue
		}
		if m := initNode.Find(l); m != nil && found && m[1] == node {
			// The log rounds the size down to MiB; compare at that precision.
			want := *h
			want.Size = h.Size >> 20 << 20
			return placementVerdict(&want, base, mib<<20, "boot log", nil)
		}
		if initNode.Match(l) {
			found = false
		}
	}
	return Fail, fmt.Sprintf("CMA area %s not found in %s nor in the boot log", node, CMADebugfs)
}

// exercise allocates a buffer and uses it the way a client would.
func (r *runner) exercise(h *manifest.Heap, dev string) (Status, string) {
	size := min(r.cfg.TestSize, h.Size)
	size -= size % r.cfg.PageSize
	if size == 0 {
		size = r.cfg.PageSize
	}
	buf, err := r.cfg.Heaps.Allocate(dev, size)
	if err != nil {
		return Fail, fmt.Sprintf("allocation of %s failed: %v", humanSize(size), err)
	}
	defer buf.Close()
	if !h.Mappable {
		return checkUnmapped(buf, size)
	}
	mem, err := buf.Map()
	if err != nil {
		return Fail, fmt.Sprintf("allocated %s but mmap failed: %v", humanSize(size), err)
	}
	defer buf.Unmap()
	if uint64(len(mem)) < size {
		return Fail, fmt.Sprintf("mapping is %d bytes, want %d", len(mem), size)
	}
	mem = mem[:size]
	if err := buf.Sync(SyncStart | SyncRW); err != nil {
		return Fail, fmt.Sprintf("DMA_BUF_SYNC_START: %v", err)
	}
	if i := firstNonZero(mem); i >= 0 {
		buf.Sync(SyncEnd | SyncRW)
		return Fail, fmt.Sprintf("fresh buffer not zeroed: byte 0x%x at offset 0x%x (data leak from a previous user)", mem[i], i)
	}
	fillPattern(mem)
	if err := buf.Sync(SyncEnd | SyncRW); err != nil {
		return Fail, fmt.Sprintf("DMA_BUF_SYNC_END: %v", err)
	}
	if err := buf.Sync(SyncStart | SyncRead); err != nil {
		return Fail, fmt.Sprintf("DMA_BUF_SYNC_START (read back): %v", err)
	}
	if i := firstPatternMismatch(mem); i >= 0 {
		buf.Sync(SyncEnd | SyncRead)
		return Fail, fmt.Sprintf("read back 0x%02x at offset 0x%x, wrote 0x%02x", mem[i], i, pattern(i))
	}
	if err := buf.Sync(SyncEnd | SyncRead); err != nil {
		return Fail, fmt.Sprintf("DMA_BUF_SYNC_END (read back): %v", err)
	}
	return Pass, fmt.Sprintf("allocated %s, zeroed, pattern written and read back", humanSize(size))
}

// pattern differs between neighbouring bytes and pages, so a stuck bit or a page aliasing
// another shows up. fillPattern and firstPatternMismatch (memcheck.go) apply it a word at a time.
func pattern(i int) byte { return byte(i*131+7) ^ byte(i>>12) }

// checkUnmapped: the driver must refuse every CPU access to an unmapped heap's buffer.
func checkUnmapped(buf Buffer, size uint64) (Status, string) {
	mem, err := buf.Map()
	if err == nil {
		buf.Unmap()
		return Fail, fmt.Sprintf("mapping allowed on an unmapped heap (%d bytes mapped)", len(mem))
	}
	if !errors.Is(err, unix.EPERM) {
		return Fail, fmt.Sprintf("mmap refused with %v, want EPERM", err)
	}
	if err := buf.Sync(SyncStart | SyncRW); err == nil {
		buf.Sync(SyncEnd | SyncRW)
		return Fail, "CPU access (DMA_BUF_SYNC_START) allowed on an unmapped heap"
	}
	return Pass, fmt.Sprintf("allocated %s; mmap refused with EPERM as required", humanSize(size))
}

func (r *runner) checkCMATotal(ctx context.Context) {
	m := r.cfg.Manifest
	r.step(ctx, "cma/total", func(ctx context.Context) (Status, string) {
		s, err := readSmall(r.cfg.path(MeminfoPath))
		if err != nil {
			return Fail, err.Error()
		}
		kb, ok := meminfoField(s, "CmaTotal")
		if !ok {
			if m.CMATotal == 0 {
				return Skip, "no CmaTotal in /proc/meminfo and none expected"
			}
			return Fail, fmt.Sprintf("no CmaTotal in /proc/meminfo (kernel without CONFIG_CMA?), want %s", humanSize(m.CMATotal))
		}
		got := kb << 10
		switch {
		case got == m.CMATotal:
			return Pass, "CmaTotal " + humanSize(got)
		case got < m.CMATotal:
			return Fail, fmt.Sprintf("CmaTotal %s, want %s: %s of CMA pools missing (refused at boot?)", humanSize(got), humanSize(m.CMATotal), humanSize(m.CMATotal-got))
		default:
			return Fail, fmt.Sprintf("CmaTotal %s, want %s: %s of CMA the plan does not know (cma= on the command line?)", humanSize(got), humanSize(m.CMATotal), humanSize(got-m.CMATotal))
		}
	})
}

// meminfoField returns a /proc/meminfo value in kB.
func meminfoField(s, key string) (uint64, bool) {
	for _, l := range strings.Split(s, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == key+":" {
			v, err := strconv.ParseUint(f[1], 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}

// readNumber reads a decimal or 0x-prefixed hex number from a one-value file.
func readNumber(name string) (uint64, error) {
	s, err := readSmall(name)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(strings.TrimSpace(s), 0, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a number", name, strings.TrimSpace(s))
	}
	return v, nil
}
