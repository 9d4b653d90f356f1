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
		// scripts/e2e-doctor.sh's boots on a tree broken six ways, with movablecore=256M
		// splitting zonecma (their dmesg lines, tree and heap listing, kept by the script).
		// Each version's verdicts from its source: the script's header cites them.
		{"qemu-6.1-broken", brokenRegions(Refused, Ignored, NoEvidence), map[string]Verdict{"system": Present, "linux,cma": Present}, true},
		{"qemu-6.12-broken", brokenRegions(Refused, Ignored, Placed), map[string]Verdict{"system": Present, "linux,cma": Present}, true},
		// 7.3 keeps no-map + reusable reserved for no driver (lost), places oddranges anywhere,
		// and makes a heap over every CMA area, the default one twice (default_cma_region) and
		// zonecma's empty one.
		{"qemu-7.3-broken", brokenRegions(Lost, Placed, Placed), map[string]Verdict{"system": Present, "linux,cma": Present,
			"default_cma_region": Present, "zonecma@6c000000": Present, "oddranges": Present}, true},
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

// brokenRegions is what each kernel did with scripts/e2e-doctor.sh's tree; nomapcma (no-map +
// reusable), oddranges (alloc-ranges of three cells) and multireg (two reg entries, of which
// 6.1 says nothing) differ between versions.
func brokenRegions(nomapcma, oddranges, multireg Verdict) map[string]Verdict {
	return map[string]Verdict{
		"/reserved-memory/multireg@66000000": multireg,
		"/reserved-memory/oddranges":         oddranges,
		"/reserved-memory/linux,cma":         Placed,
		"/reserved-memory/nomapcma@60000000": nomapcma,
		"/reserved-memory/oddcma@61000000":   Refused,
		"/reserved-memory/big":               Failed,
		"/reserved-memory/badsize":           Ignored,
		"/reserved-memory/tee@63000000":      Failed,
		"/reserved-memory/ovl-a@64000000":    Overlap,
		"/reserved-memory/ovl-b@65000000":    Overlap,
		"/reserved-memory/zonecma@6c000000":  Failed,
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
	for _, dir := range []string{"qemu-6.1-broken", "qemu-6.12-broken", "qemu-7.3-broken"} {
		r, err := Examine(filepath.Join("testdata", dir))
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
			t.Errorf("%s: oddcma: %+v", dir, odd)
		}
		nomap := got["/reserved-memory/nomapcma@60000000"]
		if strings.Contains(nomap.Detail, "CMA alignment") || len(nomap.Evidence) != 1 {
			t.Errorf("%s: nomapcma blamed on the alignment: %+v", dir, nomap)
		}
	}
}

// TestRecordedDetails: what each version's lines say beyond the verdict. 6.1 and 6.12 free a
// refused no-map + reusable node, 7.3 keeps it; 6.12 and 7.3 still print a set-up line for the
// region whose reservation failed (the failure stands); a CMA area that could not be
// activated names its lines, and 7.3's heap over it says it is empty.
func TestRecordedDetails(t *testing.T) {
	for _, tc := range []struct {
		dir, node, detail string
		evidence          []string
	}{
		{"qemu-6.1-broken", "nomapcma@60000000", "given back", []string{"OF: reserved mem: node nomapcma@60000000 compatible matching fail"}},
		{"qemu-6.12-broken", "nomapcma@60000000", "given back", []string{"OF: reserved mem: node nomapcma@60000000 compatible matching fail"}},
		{"qemu-7.3-broken", "nomapcma@60000000", "memory is lost", []string{"OF: reserved mem: 0x0000000060000000..0x0000000060ffffff (16384 KiB) nomap reusable nomapcma@60000000"}},
		{"qemu-6.1-broken", "tee@63000000", "could not reserve", []string{"OF: fdt: Reserved memory: failed to reserve memory for node 'tee@63000000': base 0x0000000040000000, size 16 MiB"}},
		{"qemu-6.12-broken", "tee@63000000", "could not reserve", []string{
			"OF: reserved mem: Reserved memory: failed to reserve memory for node 'tee@63000000': base 0x0000000040000000, size 16 MiB",
			"OF: reserved mem: 0x0000000040000000..0x0000000040ffffff (16384 KiB) nomap non-reusable tee@63000000"}},
		{"qemu-7.3-broken", "tee@63000000", "could not reserve", []string{
			"OF: reserved mem: Reserved memory: failed to reserve memory for node 'tee@63000000': base 0x0000000040000000, size 16 MiB",
			"OF: reserved mem: 0x0000000040000000..0x0000000040ffffff (16384 KiB) nomap non-reusable tee@63000000"}},
		{"qemu-6.12-broken", "oddranges", "its alloc-ranges property is malformed", []string{
			"OF: reserved mem: invalid alloc-ranges property in 'oddranges', skipping node."}},
		{"qemu-7.3-broken", "oddranges", "alloc-ranges (12 bytes) is not whole <address size> entries of 16 bytes: the kernel ignored it", []string{
			"OF: reserved mem: initialized node oddranges, compatible id shared-dma-pool",
			"OF: reserved mem: 0x000000007b000000..0x000000007bffffff (16384 KiB) map reusable oddranges"}},
		{"qemu-6.12-broken", "multireg@66000000", "all are reserved, but the kernel's region table (what devices get) has only the first", []string{
			"OF: reserved mem: fdt_scan_reserved_mem_reg_nodes() ignores 1 regions in node 'multireg@66000000'",
			"OF: reserved mem: 0x0000000066000000..0x0000000066ffffff (16384 KiB) map non-reusable multireg@66000000"}},
		{"qemu-7.3-broken", "multireg@66000000", "only the first is reserved: the others stay free memory", []string{
			"OF: reserved mem: Reserved memory: node 'multireg@66000000' has 2 <base size> entries, only the first is used",
			"OF: reserved mem: 0x0000000066000000..0x0000000066ffffff (16384 KiB) map non-reusable multireg@66000000"}},
		{"qemu-6.1-broken", "zonecma@6c000000", "could not activate", []string{
			"OF: reserved mem: initialized node zonecma@6c000000, compatible id shared-dma-pool",
			"cma: CMA area zonecma@6c000000 could not be activated"}},
		{"qemu-7.3-broken", "zonecma@6c000000", "could not activate", []string{
			"OF: reserved mem: initialized node zonecma@6c000000, compatible id shared-dma-pool",
			"OF: reserved mem: 0x000000006c000000..0x0000000073ffffff (131072 KiB) map reusable zonecma@6c000000",
			"cma: CMA area zonecma@6c000000 could not be activated"}},
	} {
		r, err := Examine(filepath.Join("testdata", tc.dir))
		if err != nil {
			t.Fatal(err)
		}
		var g Region
		for _, x := range r.Regions {
			if x.Node == "/reserved-memory/"+tc.node {
				g = x
			}
		}
		if !strings.Contains(g.Detail, tc.detail) || strings.Join(g.Evidence, "\n") != strings.Join(tc.evidence, "\n") {
			t.Errorf("%s %s: got %q %q, want %q and evidence %q", tc.dir, tc.node, g.Detail, g.Evidence, tc.detail, tc.evidence)
		}
	}
	r, err := Examine(filepath.Join("testdata", "qemu-7.3-broken"))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range r.Heaps {
		empty := strings.Contains(strings.Join(h.Evidence, "\n"), "no memory to give")
		if (h.Name == "zonecma@6c000000") != empty || (h.Name == "zonecma@6c000000" && h.Provider != "cma") {
			t.Errorf("heap %s: %+v", h.Name, h)
		}
	}
}

// TestLogRules: each rule on both sides of its boundary, from lines in the kernel's own
// formats (the source functions named per case).
func TestLogRules(t *testing.T) {
	pool := node{name: "pool@60000000", path: "/reserved-memory/pool@60000000", sharedDMA: true}
	plain := node{name: "fw@60000000", path: "/reserved-memory/fw@60000000"}
	def := node{name: "linux,cma", path: "/reserved-memory/linux,cma", sharedDMA: true, isDefault: true}
	const (
		set73   = "OF: reserved mem: 0x0000000060000000..0x0000000060ffffff (16384 KiB) nomap reusable pool@60000000"
		setFw   = "OF: reserved mem: 0x0000000060000000..0x0000000060ffffff (16384 KiB) nomap non-reusable fw@60000000"
		initP   = "OF: reserved mem: initialized node pool@60000000, compatible id shared-dma-pool"
		initQ   = "OF: reserved mem: initialized node other@70000000, compatible id shared-dma-pool"
		bypassL = "Reserved memory: bypass linux,cma node, using cmdline CMA params instead"
		failL   = "OF: reserved mem: node linux,cma compatible matching fail"
		actP    = "cma: CMA area pool@60000000 could not be activated"
		actQ    = "cma: CMA area other@70000000 could not be activated"
		skip73  = `Skipping dt linux,cma-default node in favor for "cma=" kernel param.`
	)
	for _, tc := range []struct {
		name string
		n    node
		log  []string
		want Verdict
		// with: the detail must contain it; without: it must not.
		with, without string
	}{
		// 7.3 fdt_init_reserved_mem_node: every driver said -ENODEV, set-up line, kept.
		{"shared-dma-pool set up by no driver", pool, []string{set73}, Lost, "", ""},
		{"shared-dma-pool initialized then set up", pool, []string{initP, set73}, Placed, "", ""},
		{"another node's initialized line", pool, []string{initQ, set73}, Lost, "", ""},
		// A region without a kernel driver is set up as a plain reservation.
		{"plain reservation set up", plain, []string{setFw}, Placed, "", ""},
		// 6.1, 6.12 rmem_cma_setup -EBUSY, then rmem_dma_setup -EINVAL (reusable).
		{"bypass then matching fail", def, []string{bypassL, failL}, Bypassed, "", ""},
		{"matching fail alone", def, []string{failL}, Refused, "", ""},
		{"bypass of another node", def, []string{strings.Replace(bypassL, "linux,cma", "cma2", 1), failL}, Refused, "", ""},
		// 7.3 __rmem_cma_verify_node.
		{"7.3 skipping the default node", def, []string{skip73}, Bypassed, "", ""},
		// 6.12 fdt_scan_reserved_mem_reg_nodes, 7.3 __reserved_mem_reserve_reg: notes on the
		// node they name, which do not decide a verdict alone.
		{"6.12 extra reg entries", plain, []string{"OF: reserved mem: fdt_scan_reserved_mem_reg_nodes() ignores 1 regions in node 'fw@60000000'", setFw}, Placed, "all are reserved", ""},
		{"7.3 only the first reg entry", plain, []string{"OF: reserved mem: Reserved memory: node 'fw@60000000' has 2 <base size> entries, only the first is used", setFw}, Placed, "only the first is reserved", ""},
		{"another node's extra reg entries", plain, []string{"OF: reserved mem: Reserved memory: node 'fw2@60000000' has 2 <base size> entries, only the first is used", setFw}, Placed, "", "reg has"},
		{"one reg entry", plain, []string{setFw}, Placed, "", "reg has"},
		// mm/cma.c cma_activate_area.
		{"CMA area not activated", pool, []string{initP, set73, actP}, Failed, "", ""},
		{"another CMA area not activated", pool, []string{initP, set73, actQ}, Placed, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Report{}
			r.regions(&tree{nodes: []node{tc.n}, entry: 16}, tc.log)
			if len(r.Regions) != 1 || r.Regions[0].Verdict != tc.want || len(r.Regions[0].Evidence) == 0 {
				t.Fatalf("got %+v, want %s with evidence", r.Regions, tc.want)
			}
			d := r.Regions[0].Detail
			if (tc.with != "" && !strings.Contains(d, tc.with)) || (tc.without != "" && strings.Contains(d, tc.without)) {
				t.Errorf("detail %q: want %q in it, %q not", d, tc.with, tc.without)
			}
		})
	}
}

// TestAllocRangesNote: 7.3 places a dynamic node whose alloc-ranges is not whole <address
// size> entries anywhere (of_flat_dt_get_addr_size_prop); the doctor says so on a placed node
// with such a property, and not for whole entries, a node with reg, or no alloc-ranges.
func TestAllocRangesNote(t *testing.T) {
	const set = "OF: reserved mem: 0x000000007b000000..0x000000007bffffff (16384 KiB) map reusable pool"
	for _, tc := range []struct {
		name  string
		len   int
		entry int
		note  bool
	}{
		{"three cells of a 2+2 entry", 12, 16, true},
		{"one whole 2+2 entry", 16, 16, false},
		{"two whole 2+2 entries", 32, 16, false},
		{"one whole 1+1 entry", 8, 8, false},
		{"three cells of a 1+1 entry", 12, 8, true},
		{"none (or a node with reg)", -1, 16, false},
	} {
		n := node{name: "pool", path: "/reserved-memory/pool", sharedDMA: true, allocRangesLen: tc.len}
		r := &Report{}
		r.regions(&tree{nodes: []node{n}, entry: tc.entry}, []string{"OF: reserved mem: initialized node pool, compatible id shared-dma-pool", set})
		g := r.Regions[0]
		if g.Verdict != Placed || strings.Contains(g.Detail, "ignored it") != tc.note {
			t.Errorf("%s: %+v", tc.name, g)
		}
	}
}

// TestBadVerdicts: the verdicts that lose memory or a heap make the report bad (dtheap doctor
// exits 1), the others do not; lost is one of them.
func TestBadVerdicts(t *testing.T) {
	for v, bad := range map[Verdict]bool{
		Placed: false, Bypassed: false, Disabled: false, NoEvidence: false,
		Failed: true, Ignored: true, Refused: true, Lost: true, Overlap: true,
	} {
		r := &Report{Regions: []Region{{Node: "/reserved-memory/x", Verdict: v}}}
		if r.Bad() != bad {
			t.Errorf("%s: Bad() = %v, want %v", v, r.Bad(), bad)
		}
	}
}
