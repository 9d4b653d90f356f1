package check

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dtheap/dtheap/provision/manifest"
)

// TestDeadlineBoundsAllChecks is issue 16's checker case: heaps whose steps each run into the
// per-check timeout (here an allocation that never returns) would stall the boot for heaps x
// timeout. One deadline bounds them all; what did not run is named in one FAIL line.
func TestDeadlineBoundsAllChecks(t *testing.T) {
	f := goodFixture()
	for i := 0; i < 100; i++ {
		name := fmt.Sprintf("stuck%d", i)
		base := 0x80000000 + uint64(i)<<20
		f.m.Pools = append(f.m.Pools, manifest.Pool{Name: name, Node: name, Kind: "carveout", Base: base, Size: 1 << 20, NoMap: true})
		f.m.Heaps = append(f.m.Heaps, manifest.Heap{Name: name, Provider: "dtheap", Kind: "carveout", Pool: name, Base: base, Size: 1 << 20, Mappable: true})
		f.files["dev/dma_heap/"+name] = ""
		d := "sys/kernel/debug/dtheap/" + name + "/"
		f.files[d+"base"] = fmt.Sprintf("0x%x\n", base)
		f.files[d+"size"] = fmt.Sprintf("%d\n", 1<<20)
		f.files[d+"kind"] = "carveout\n"
		f.heaps.byName[name] = &heapBehaviour{hang: true, dirtyAt: -1, corruptAt: -1}
	}
	root := f.write(t)
	start := time.Now()
	rep := Run(context.Background(), Config{
		Root: root, Manifest: f.m, Loader: f.loader, Heaps: f.heaps,
		Timeout: 200 * time.Millisecond, Deadline: 700 * time.Millisecond, Poll: 5 * time.Millisecond, PageSize: pageSize, TestSize: 64 << 10,
	})
	took := time.Since(start)
	if took > 2*time.Second {
		t.Fatalf("Run took %v with a 700ms deadline (100 stuck allocations x 200ms would be 20s)", took)
	}
	r, ok := find(rep, "deadline")
	if !ok || r.Status != Fail || !strings.Contains(r.Detail, "the 700ms deadline for all checks passed") || !strings.Contains(r.Detail, "did not run: heap/stuck") || !strings.Contains(r.Detail, "cma/total") {
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

// TestHeapDevicesShareOneWait: the heaps are registered before the first device wait starts
// (by the kernel at boot, or by the module's probe), so a device node still missing when that
// wait gives up will not appear for the next heap either. Each missing heap used to wait the
// whole per-check timeout: on 7.3 a board with several missing heaps ran out of the deadline
// with checks not run. Ten missing heaps x 300ms would overrun this 2s deadline; one shared
// wait does not, and every check still runs.
func TestHeapDevicesShareOneWait(t *testing.T) {
	f := goodFixture()
	var missing []string
	for i := 0; i < 10; i++ {
		name := fmt.Sprintf("missing%d", i)
		base := 0x80000000 + uint64(i)<<20
		f.m.Pools = append(f.m.Pools, manifest.Pool{Name: name, Node: name, Kind: "carveout", Base: base, Size: 1 << 20, NoMap: true})
		f.m.Heaps = append(f.m.Heaps, manifest.Heap{Name: name, Provider: "dtheap", Kind: "carveout", Pool: name, Base: base, Size: 1 << 20, Mappable: true})
		missing = append(missing, name)
	}
	root := f.write(t)
	rep := Run(context.Background(), Config{
		Root: root, Manifest: f.m, Loader: f.loader, Heaps: f.heaps,
		Timeout: 300 * time.Millisecond, Deadline: 2 * time.Second, Poll: 5 * time.Millisecond, PageSize: pageSize, TestSize: 64 << 10,
	})
	if r, ok := find(rep, "deadline"); ok {
		t.Fatalf("deadline reached: %+v\n%s", r, textOf(rep))
	}
	shared := 0
	for _, name := range missing {
		r, ok := find(rep, "heap/"+name+"/device")
		if !ok || r.Status != Fail || !strings.Contains(r.Detail, "/dev/dma_heap/"+name+" did not appear within") {
			t.Fatalf("heap/%s/device = %+v (present %v)", name, r, ok)
		}
		if strings.Contains(r.Detail, "all heap devices share") {
			shared++
		}
		if r, _ := find(rep, "heap/"+name+"/alloc"); r.Status != Skip {
			t.Errorf("heap/%s/alloc = %+v, want SKIP", name, r)
		}
	}
	// The first missing heap waits out the window; the ones after it find it closed.
	if shared < len(missing)-1 {
		t.Errorf("%d of %d missing heaps said the wait was shared:\n%s", shared, len(missing), textOf(rep))
	}
	// The heaps that are there still pass after the window closed.
	for _, h := range goodFixture().m.Heaps {
		if r, _ := find(rep, "heap/"+h.Name+"/alloc"); r.Status != Pass {
			t.Errorf("heap/%s/alloc = %+v", h.Name, r)
		}
	}
	if r, _ := find(rep, "cma/total"); r.Status != Pass {
		t.Errorf("cma/total = %+v", r)
	}
}
