package doctor

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRecorded reads recorded system copies (testdata/<case>: sys/firmware/fdt compiled from
// tree.dts, dmesg.txt with lines in the kernel's own formats, dev/dma_heap.ls, cma debugfs)
// and checks each verdict and that it names its evidence.
func TestRecorded(t *testing.T) {
	tests := []struct {
		dir     string
		regions map[string]Verdict
		heaps   map[string]Verdict
		bad     bool
	}{
		{"qemu-6.12", map[string]Verdict{
			"/reserved-memory/linux,cma":       Placed,
			"/reserved-memory/video@60000000":  Placed,
			"/reserved-memory/dsp@70000000":    Placed,
			"/reserved-memory/secure@74000000": Refused,
			"/reserved-memory/big":             Failed,
			"/reserved-memory/off@78000000":    Disabled,
		}, map[string]Verdict{"system": Present, "linux,cma": Present, "dsp": Present, "secure": Missing}, true},
		{"qemu-6.1", map[string]Verdict{
			"/reserved-memory/dsp@50000000": Overlap,
			"/reserved-memory/gpu@51000000": Overlap,
			"/reserved-memory/linux,cma":    Bypassed,
		}, map[string]Verdict{"system": Present, "reserved": Present}, true},
		// scripts/e2e-doctor.sh's boot of 6.1 on a tree broken six ways (its dmesg lines).
		{"qemu-6.1-broken", map[string]Verdict{
			"/reserved-memory/linux,cma":         Placed,
			"/reserved-memory/nomapcma@60000000": Refused,
			"/reserved-memory/oddcma@61000000":   Refused,
			"/reserved-memory/big":               Failed,
			"/reserved-memory/badsize":           Ignored,
			"/reserved-memory/tee@63000000":      Failed,
			"/reserved-memory/ovl-a@64000000":    Overlap,
			"/reserved-memory/ovl-b@65000000":    Overlap,
		}, map[string]Verdict{"system": Present, "linux,cma": Present}, true},
	}
	for _, tc := range tests {
		t.Run(tc.dir, func(t *testing.T) {
			r, err := Examine(filepath.Join("testdata", tc.dir))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]Region{}
			for _, g := range r.Regions {
				got[g.Node] = g
			}
			for node, want := range tc.regions {
				g, ok := got[node]
				if !ok || g.Verdict != want {
					t.Errorf("%s: got %q, want %q", node, g.Verdict, want)
				}
				if want != Disabled && want != NoEvidence && len(g.Evidence) == 0 {
					t.Errorf("%s: verdict %s without evidence", node, g.Verdict)
				}
			}
			if len(got) != len(tc.regions) {
				t.Errorf("%d regions, want %d: %+v", len(got), len(tc.regions), r.Regions)
			}
			hs := map[string]Heap{}
			for _, h := range r.Heaps {
				hs[h.Name] = h
			}
			for name, want := range tc.heaps {
				if h, ok := hs[name]; !ok || h.Verdict != want || len(h.Evidence) == 0 {
					t.Errorf("heap %s: got %+v, want %s with evidence", name, h, want)
				}
			}
			if r.Bad() != tc.bad {
				t.Errorf("Bad() = %v, want %v", r.Bad(), tc.bad)
			}
		})
	}
}

func TestHeapDetails(t *testing.T) {
	r, err := Examine(filepath.Join("testdata", "qemu-6.12"))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range r.Heaps {
		switch h.Name {
		case "linux,cma":
			if h.Provider != "cma" || h.Mode != "crw-------" || h.Size != 64<<20 || h.Free != (16384-256)*4096 {
				t.Errorf("linux,cma: %+v", h)
			}
		case "dsp":
			if h.Provider != "dtheap" || h.Mode != "crw-rw-rw-" {
				t.Errorf("dsp: %+v", h)
			}
		}
	}
	var b strings.Builder
	r.WriteText(&b)
	for _, want := range []string{"failed       /reserved-memory/big:", "evidence: [    0.000000] OF: reserved mem: failed to allocate memory for node 'big'", "missing      heap secure (dtheap)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
}

func TestNoTree(t *testing.T) {
	if _, err := Examine(t.TempDir()); err == nil || !strings.Contains(err.Error(), "/sys/firmware/fdt") {
		t.Errorf("got %v", err)
	}
}

// TestCMAAlignmentRefusal: rmem_cma_setup's "incorrect alignment of CMA region" names no node;
// the doctor ties it to the refusal on the next line (oddcma), and not to a refusal without it
// (nomapcma, refused for no-map with reusable).
func TestCMAAlignmentRefusal(t *testing.T) {
	r, err := Examine(filepath.Join("testdata", "qemu-6.1-broken"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Region{}
	for _, g := range r.Regions {
		got[g.Node] = g
	}
	odd := got["/reserved-memory/oddcma@61000000"]
	if !strings.Contains(odd.Detail, "CMA alignment") || len(odd.Evidence) != 2 ||
		!strings.Contains(odd.Evidence[0], "incorrect alignment of CMA region") ||
		!strings.Contains(odd.Evidence[1], "node oddcma@61000000 compatible matching fail") {
		t.Errorf("oddcma: %+v", odd)
	}
	nomap := got["/reserved-memory/nomapcma@60000000"]
	if strings.Contains(nomap.Detail, "CMA alignment") || len(nomap.Evidence) != 1 {
		t.Errorf("nomapcma blamed on the alignment: %+v", nomap)
	}
}
