package check

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dtheap/dtheap/provision/manifest"
)

// TestDeadlineBoundsAllChecks is issue 16's checker case: heaps whose devices never appear
// each waited the per-check timeout, so a manifest with many heaps stalled the boot for heaps x
// timeout. Now one deadline bounds them all; what did not run is named in one FAIL line.
func TestDeadlineBoundsAllChecks(t *testing.T) {
	f := goodFixture()
	for i := 0; i < 100; i++ {
		name := fmt.Sprintf("missing%d", i)
		f.m.Pools = append(f.m.Pools, manifest.Pool{Name: name, Node: name, Kind: "carveout", Base: 0x80000000 + uint64(i)<<20, Size: 1 << 20, NoMap: true})
		f.m.Heaps = append(f.m.Heaps, manifest.Heap{Name: name, Provider: "dtheap", Kind: "carveout", Pool: name, Base: 0x80000000 + uint64(i)<<20, Size: 1 << 20, Mappable: true})
	}
	root := f.write(t)
	start := time.Now()
	rep := Run(context.Background(), Config{
		Root: root, Manifest: f.m, Loader: f.loader, Heaps: f.heaps,
		Timeout: 200 * time.Millisecond, Deadline: 700 * time.Millisecond, Poll: 5 * time.Millisecond, PageSize: pageSize, TestSize: 64 << 10,
	})
	took := time.Since(start)
	if took > 2*time.Second {
		t.Fatalf("Run took %v with a 700ms deadline (100 heaps x 200ms would be 20s)", took)
	}
	r, ok := find(rep, "deadline")
	if !ok || r.Status != Fail || !strings.Contains(r.Detail, "the 700ms deadline for all checks passed") || !strings.Contains(r.Detail, "did not run: heap/missing") || !strings.Contains(r.Detail, "cma/total") {
		t.Fatalf("deadline result %+v\n%s", r, textOf(rep))
	}
	if rep.Verdict != Fail {
		t.Fatal("verdict PASS with checks cut off")
	}
	// The checks before the deadline ran and passed.
	if r, _ := find(rep, "heap/dsp/alloc"); r.Status != Pass {
		t.Fatalf("heap/dsp/alloc = %+v", r)
	}
	// One line per check still.
	if lines := strings.Count(textOf(rep), "\n"); lines != rep.Total+1 {
		t.Fatalf("%d lines for %d checks", lines, rep.Total)
	}

	// A good board well inside the deadline: no deadline line.
	rep = goodFixture().run(t)
	if _, ok := find(rep, "deadline"); ok || rep.Verdict != Pass {
		t.Fatalf("good board:\n%s", textOf(rep))
	}
}

// TestManifestHeapLimit: at most the kernel's 128 heaps (NUM_HEAP_MINORS); the checker
// refuses a manifest of 10^6 heaps instead of checking each.
func TestManifestHeapLimit(t *testing.T) {
	mk := func(n int) *manifest.Manifest {
		m := &manifest.Manifest{Generator: "dtheap", Board: "b", Arch: "arm64", HeapNode: "/dma-heaps"}
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("h%d", i)
			m.Pools = append(m.Pools, manifest.Pool{Name: name, Node: name, Kind: "carveout", Base: uint64(i) << 20, Size: 1 << 20, NoMap: true})
			m.Heaps = append(m.Heaps, manifest.Heap{Name: name, Provider: "dtheap", Kind: "carveout", Pool: name, Base: uint64(i) << 20, Size: 1 << 20, Mappable: true})
		}
		return m
	}
	if err := mk(128).Validate(); err != nil {
		t.Fatalf("128 heaps: %v", err)
	}
	if err := mk(129).Validate(); err == nil || !strings.Contains(err.Error(), "129 heaps: the kernel registers at most 128") {
		t.Fatalf("129 heaps: %v", err)
	}
	rep := Run(context.Background(), Config{Root: t.TempDir(), Manifest: mk(1000)})
	if r, _ := find(rep, "manifest"); r.Status != Fail || len(rep.Checks) != 1 {
		t.Fatalf("Run on 1000 heaps:\n%s", textOf(rep))
	}
}
