// Package guest reads what the in-guest benchmarks of `make bench-e2e` print on the QEMU
// console and turns several boots into one report: heapbench's BENCH/HEAP/SKIP/REGIME/FRAG lines
// (bench/guest/heapbench), the kernel's printk timestamps of the boot, and dtheap-check's
// --timings lines. Numbers are medians over boots of the per-boot medians; ratios are taken
// against the kernel's own heaps measured on the same boot.
package guest

import (
	"bufio"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Ops heapbench measures.
const (
	OpAlloc  = "alloc"      // DMA_HEAP_IOCTL_ALLOC + close
	OpTouch  = "mmap_touch" // mmap + one write per page
	OpMemset = "memset"     // user-space memset(0) of a faulted-in buffer: the floor
	OpCMARaw = "cma_raw"    // cma_alloc + cma_release on the heap's own CMA area via CMA debugfs
	// OpPaced is alloc + close after an untimed idle gap (HEAPBENCH_PACE_US): a heap that zeroes
	// ahead of time has zeroed memory available. Every heap is paced the same way.
	OpPaced = "alloc_paced"
	// OpMemsetPaced is the memset floor with the same idle gaps.
	OpMemsetPaced = "memset_paced"
	// OpExhausted is alloc + close in a tight loop with the pool full but for one freed, dirty
	// buffer: no zeroed memory exists. Only heaps that zero ahead of time.
	OpExhausted = "alloc_exhausted"
	// OpMemsetExhausted is a memset of the size after each exhausted sample, under the heap's
	// name: the floor measured at the same moments as OpExhausted.
	OpMemsetExhausted = "memset_exhausted"
)

// MemsetHeap is the heap name heapbench gives the memset floor.
const MemsetHeap = "-"

// Heap is one /dev/dma_heap entry as heapbench classified it.
type Heap struct {
	Name     string `json:"name"`
	Provider string `json:"provider"` // kernel or dtheap
	Kind     string `json:"kind"`     // system, cma, carveout, unmapped, other
}

// Sample is one BENCH line: the statistics of one op on one heap at one size in one boot.
type Sample struct {
	Heap     string  `json:"heap"`
	Size     uint64  `json:"size"`
	Op       string  `json:"op"`
	MedianNS float64 `json:"median_ns"`
	P90NS    float64 `json:"p90_ns"`
	N        int     `json:"n"`
}

// Skip is an op heapbench could not run on a heap (an unmapped heap refuses mmap).
type Skip struct {
	Heap   string `json:"heap"`
	Size   uint64 `json:"size"`
	Op     string `json:"op"`
	Reason string `json:"reason"`
}

// Regime counts, for a heap that zeroes ahead of time, the samples of a paced or exhausted run
// before which its debugfs showed at least the size zeroed.
type Regime struct {
	Heap        string `json:"heap"`
	Size        uint64 `json:"size"`
	Op          string `json:"op"`
	ZeroedReady int    `json:"zeroed_ready"`
	N           int    `json:"n"`
}

// Frag is the state of a pool heap after the random alloc/free workload: the largest single
// allocation that still succeeded against the free bytes the pool reported. NA for heaps
// without a pool of their own (system).
type Frag struct {
	Heap         string `json:"heap"`
	NA           bool   `json:"na,omitempty"`
	PoolBytes    uint64 `json:"pool_bytes,omitempty"`
	FreeBytes    uint64 `json:"free_bytes,omitempty"`
	LargestBytes uint64 `json:"largest_bytes,omitempty"`
	Live         int    `json:"live,omitempty"`
	Ops          int    `json:"ops,omitempty"`
	Failed       int    `json:"failed,omitempty"`
}

// Ratio is LargestBytes / FreeBytes (1: no fragmentation; 0 when nothing is free).
func (f Frag) Ratio() float64 {
	if f.FreeBytes == 0 {
		return 0
	}
	return float64(f.LargestBytes) / float64(f.FreeBytes)
}

// Run is one heapbench run (one boot).
type Run struct {
	Rounds  int      `json:"rounds"`
	Seed    uint64   `json:"seed"`
	Heaps   []Heap   `json:"heaps"`
	Samples []Sample `json:"samples"`
	Skips   []Skip   `json:"skips,omitempty"`
	Regimes []Regime `json:"regimes,omitempty"`
	Frags   []Frag   `json:"frags"`
	// PaceUS is the idle gap before each paced sample (0: none, or a heapbench before them).
	PaceUS uint64 `json:"pace_us,omitempty"`
	// Migrated is, per heap, the pages the kernel migrated (pgmigrate_success) while that heap's
	// timed allocations ran: the cost CMA pays when movable pages sit in its range.
	Migrated map[string]uint64 `json:"migrated_pages,omitempty"`
	Status   string            `json:"status"` // ok or fail, from BENCH-END
	Errors   int               `json:"errors"`
	Complete bool              `json:"complete"` // BENCH-END seen
}

// fields splits "KEY a=1 b=x" into its key=value pairs.
func fields(line string) map[string]string {
	kv := map[string]string{}
	for _, w := range strings.Fields(line)[1:] {
		if k, v, ok := strings.Cut(w, "="); ok {
			kv[k] = v
		}
	}
	return kv
}

type fieldReader struct {
	kv   map[string]string
	line int
	err  error
}

func (f *fieldReader) str(k string) string {
	v, ok := f.kv[k]
	if !ok && f.err == nil {
		f.err = fmt.Errorf("line %d: no %s=", f.line, k)
	}
	return v
}

func (f *fieldReader) uint(k string) uint64 {
	s := f.str(k)
	if f.err != nil {
		return 0
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		f.err = fmt.Errorf("line %d: %s=%q: not an unsigned integer", f.line, k, s)
	}
	return v
}

func (f *fieldReader) int(k string) int { return int(f.uint(k)) }

// ParseRun reads heapbench's machine-readable lines out of a console log; everything else
// (kernel messages, the human table) is ignored. It fails on a malformed BENCH-family line and
// when no BENCH-BEGIN is found; a run cut off before BENCH-END has Complete false.
func ParseRun(console string) (*Run, error) {
	var r *Run
	sc := bufio.NewScanner(strings.NewReader(console))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		key, _, _ := strings.Cut(line, " ")
		if key == "BENCH-BEGIN" {
			if r != nil {
				return nil, fmt.Errorf("line %d: second BENCH-BEGIN: one run per console", n)
			}
			f := fieldReader{kv: fields(line), line: n}
			r = &Run{Rounds: f.int("rounds"), Seed: f.uint("seed")}
			if _, ok := f.kv["pace_us"]; ok {
				r.PaceUS = f.uint("pace_us")
			}
			if f.err != nil {
				return nil, f.err
			}
			continue
		}
		if r == nil {
			continue
		}
		f := fieldReader{kv: fields(line), line: n}
		switch key {
		case "HEAP":
			r.Heaps = append(r.Heaps, Heap{Name: f.str("name"), Provider: f.str("provider"), Kind: f.str("kind")})
		case "BENCH":
			s := Sample{Heap: f.str("heap"), Size: f.uint("size"), Op: f.str("op"),
				MedianNS: float64(f.uint("median_ns")), P90NS: float64(f.uint("p90_ns")), N: f.int("n")}
			r.Samples = append(r.Samples, s)
		case "REGIME":
			r.Regimes = append(r.Regimes, Regime{Heap: f.str("heap"), Size: f.uint("size"), Op: f.str("op"),
				ZeroedReady: f.int("zeroed_ready"), N: f.int("n")})
		case "SKIP":
			r.Skips = append(r.Skips, Skip{Heap: f.str("heap"), Size: f.uint("size"), Op: f.str("op"), Reason: f.str("reason")})
		case "FRAG":
			fr := Frag{Heap: f.str("heap")}
			if _, na := f.kv["na"]; na {
				fr.NA = true
			} else {
				fr.PoolBytes, fr.FreeBytes, fr.LargestBytes = f.uint("pool_bytes"), f.uint("free_bytes"), f.uint("largest_bytes")
				fr.Live, fr.Ops, fr.Failed = f.int("live"), f.int("ops"), f.int("failed")
			}
			r.Frags = append(r.Frags, fr)
		case "MIGRATE":
			if r.Migrated == nil {
				r.Migrated = map[string]uint64{}
			}
			r.Migrated[f.str("heap")] = f.uint("pages")
		case "BENCH-END":
			r.Status, r.Errors, r.Complete = f.str("status"), f.int("errors"), true
		default:
			continue
		}
		if f.err != nil {
			return nil, f.err
		}
		if r.Complete {
			break
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("no BENCH-BEGIN line: heapbench did not run")
	}
	return r, nil
}

// HeapByName returns the heap's classification, or one with only the name.
func (r *Run) HeapByName(name string) Heap {
	for _, h := range r.Heaps {
		if h.Name == name {
			return h
		}
	}
	return Heap{Name: name}
}

// Boot is what one boot's console says about time.
type Boot struct {
	UnpackStart float64       `json:"unpack_start_s"`   // printk time of "Unpacking initramfs..."
	UnpackEnd   float64       `json:"unpack_end_s"`     // printk time of "Freeing initrd memory"
	InitStart   float64       `json:"init_start_s"`     // printk time of "Run /init as init process"
	PowerDown   float64       `json:"power_down_s"`     // printk time of "reboot: Power down"
	Checks      []CheckTime   `json:"checks,omitempty"` // dtheap-check --timings lines
	ChecksTotal time.Duration `json:"checks_total_ns,omitempty"`
}

// InitTime is the time /init ran, from its start to the power-off.
func (b *Boot) InitTime() float64 { return b.PowerDown - b.InitStart }

// UnpackTime is the time the kernel spent unpacking the initramfs (0 when not logged).
func (b *Boot) UnpackTime() float64 {
	if b.UnpackEnd < b.UnpackStart {
		return 0
	}
	return b.UnpackEnd - b.UnpackStart
}

// CheckTime is one timed checker line.
type CheckTime struct {
	ID       string        `json:"id"`
	Status   string        `json:"status"`
	Duration time.Duration `json:"duration_ns"`
}

var (
	printkLine = regexp.MustCompile(`^\[\s*(\d+\.\d+)\] (.*)$`)
	timedCheck = regexp.MustCompile(`^(PASS|FAIL|SKIP) ([^: ]+)(?::.*)? \[([0-9.]+(?:ns|us|µs|ms|s))\]$`)
	checksTook = regexp.MustCompile(`^dtheap-check: checks took (\S+)$`)
)

// ParseBoot reads a console captured with printk.time=1. It fails when the boot did not reach
// /init or did not power off.
func ParseBoot(console string) (*Boot, error) {
	b := &Boot{InitStart: -1, PowerDown: -1}
	for _, line := range strings.Split(console, "\n") {
		line = strings.TrimRight(line, "\r")
		if m := printkLine.FindStringSubmatch(line); m != nil {
			t, _ := strconv.ParseFloat(m[1], 64)
			switch {
			case strings.HasPrefix(m[2], "Unpacking initramfs..."):
				b.UnpackStart = t
			case strings.HasPrefix(m[2], "Freeing initrd memory"):
				b.UnpackEnd = t
			case strings.HasPrefix(m[2], "Run /init as init process"):
				b.InitStart = t
			case strings.HasPrefix(m[2], "reboot: Power down"):
				b.PowerDown = t
			}
			continue
		}
		if m := timedCheck.FindStringSubmatch(line); m != nil {
			d, err := time.ParseDuration(m[3])
			if err != nil {
				return nil, fmt.Errorf("check %s: duration %q: %v", m[2], m[3], err)
			}
			b.Checks = append(b.Checks, CheckTime{ID: m[2], Status: m[1], Duration: d})
			continue
		}
		if m := checksTook.FindStringSubmatch(line); m != nil {
			d, err := time.ParseDuration(m[1])
			if err != nil {
				return nil, fmt.Errorf("checks took %q: %v", m[1], err)
			}
			b.ChecksTotal = d
		}
	}
	switch {
	case b.InitStart < 0:
		return nil, fmt.Errorf("no printk-timed \"Run /init as init process\" line (printk.time=1 missing, or the boot failed)")
	case b.PowerDown < 0:
		return nil, fmt.Errorf("no printk-timed \"reboot: Power down\" line: /init did not power off")
	case b.PowerDown < b.InitStart:
		return nil, fmt.Errorf("power down at %.6f s before /init at %.6f s", b.PowerDown, b.InitStart)
	}
	return b, nil
}

// CheckGroup names the part of the checker a check ID belongs to: "module", "dt", "heap/<name>",
// "cma", "selftest".
func CheckGroup(id string) string {
	if rest, ok := strings.CutPrefix(id, "heap/"); ok {
		// heap/<name>/<what>; names may hold '@' and ',' but no '/'
		if i := strings.LastIndex(rest, "/"); i >= 0 {
			return "heap/" + rest[:i]
		}
		return id
	}
	g, _, _ := strings.Cut(id, "/")
	return g
}
