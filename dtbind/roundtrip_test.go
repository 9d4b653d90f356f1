package dtbind

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/board"
	"github.com/dtheap/dtheap/plan"
)

var comments = regexp.MustCompile(`(?s)/\*.*?\*/`)

// dtView is what a plan looks like to the devicetree: the .dtsi without its comments (which
// name the board file and the kind, e.g. "carveout" for a no-map pool without a heap, that
// the tree cannot tell from "reserved").
func dtView(t testing.TB, p *plan.Plan) string {
	t.Helper()
	b, err := DTSI(p)
	if err != nil {
		t.Fatalf("DTSI: %v", err)
	}
	s := comments.ReplaceAllString(string(b), "")
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimRight(l, " \t"); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestRoundTripBoards: board YAML -> plan -> DTB -> import -> YAML -> plan gives the same
// devicetree, the same memory and the same fixed regions.
func TestRoundTripBoards(t *testing.T) {
	for _, tp := range testPlans(t) {
		if !strings.HasPrefix(tp.name, "board-") {
			continue
		}
		t.Run(tp.name, func(t *testing.T) {
			p := tp.p
			base := compileDTS(t, minimalBase(p), nil)
			res, err := Patch(p, base)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Import(res.DTB, ImportOptions{Board: p.Board, Arch: p.Arch, Kernel: &p.Kernel, Source: "test.dtb"})
			if err != nil {
				t.Fatal(err)
			}
			yml := b.YAML()
			path := filepath.Join(t.TempDir(), "board.yaml")
			writeFile(t, path, yml)
			p2 := loadBoard(t, path)
			if a, b := dtView(t, p), dtView(t, p2); a != b {
				t.Errorf("round trip changed the devicetree:\n%s\nimported YAML:\n%s", diffLines(a, b), yml)
			}
			// Bank names are not in the tree (import numbers them); the ranges must survive.
			ranges := func(bs []plan.Bank) (out []plan.Range) {
				for _, b := range bs {
					out = append(out, b.Range)
				}
				return out
			}
			if !slices.Equal(ranges(p.Memory), ranges(p2.Memory)) || p.AddressCells != p2.AddressCells || p.SizeCells != p2.SizeCells {
				t.Errorf("memory or cells changed: %v %d/%d -> %v %d/%d", p.Memory, p.AddressCells, p.SizeCells, p2.Memory, p2.AddressCells, p2.SizeCells)
			}
			golden(t, tp.name+".imported.yaml", yml)
		})
	}
}

func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, fmt.Sprintf("line %d:\n  - %s\n  + %s", i+1, x, y))
		}
	}
	return strings.Join(out, "\n")
}

// fromBoard builds the plan an imported board would give, with the planner's rules for flags
// (plan.poolRegion), so the property test does not depend on placement.
func fromBoard(b *Board) *plan.Plan {
	p := &plan.Plan{Board: b.Name, Arch: b.Arch, AddressCells: b.AddressCells, SizeCells: b.SizeCells, Kernel: b.Kernel, Memory: b.Memory}
	devs := map[string]*plan.Device{}
	for i := range b.Pools {
		bp := &b.Pools[i]
		r := &plan.Region{Name: bp.Name, Label: bp.Label, Kind: bp.Kind, Emit: true, Fixed: bp.Fixed,
			Range: plan.Range{Base: bp.Base, Size: bp.Size}, Alignment: bp.Alignment, AllocRanges: bp.AllocRanges, DefaultCMA: bp.Default}
		switch r.Kind {
		case plan.KindCMA:
			r.Reuse, r.Compat = true, "shared-dma-pool"
		case plan.KindCarveout, plan.KindUnmapped:
			r.NoMap, r.Compat = true, "shared-dma-pool"
		case plan.KindReserved:
			r.NoMap, r.Compat = bp.NoMap, bp.Compatible
		}
		p.Regions = append(p.Regions, r)
		if bp.Heap != "" {
			addHeap(p, r, bp.Heap, bp.Mapping, "dtheap")
		}
		for _, d := range bp.Devices {
			if devs[d] == nil {
				devs[d] = &plan.Device{Ref: d}
				p.Devices = append(p.Devices, devs[d])
			}
			devs[d].Pools = append(devs[d].Pools, bp.Name)
		}
	}
	return p
}

// randomPlan makes a valid plan: regions that fit their cells, unique names and labels, heaps
// over cma/carveout/unmapped pools, consumers in pool order.
func randomPlan(rng *rand.Rand) *plan.Plan {
	ac, sc := 1+rng.Intn(2), 1+rng.Intn(2)
	maxAddr := uint64(1) << (32 * ac)
	maxSize := uint64(1) << (32 * sc)
	if ac == 2 {
		maxAddr = 1 << 40
	}
	if sc == 2 {
		maxSize = 1 << 36
	}
	rnd := func(limit uint64) uint64 { // a MiB multiple below limit
		return uint64(rng.Int63n(int64(limit/MiB))) * MiB
	}
	p := &plan.Plan{Board: fmt.Sprintf("rand-%d", rng.Int31()), AddressCells: ac, SizeCells: sc, Arch: "arm64",
		Kernel: plan.Kernel{Version: "6.1", PageSize: 4096, CMAAreas: 16}}
	if ac == 1 {
		p.Arch = "arm"
	}
	p.Memory = []plan.Bank{{Name: "dram", Range: plan.Range{Base: 0x40000000, Size: 512 * MiB}}}
	kinds := []plan.Kind{plan.KindCMA, plan.KindCarveout, plan.KindUnmapped, plan.KindReserved, plan.KindFirmware}
	n := 1 + rng.Intn(8)
	var devRefs = []string{"&gpu", "&vpu", "/soc/isp@1000"}
	devs := map[string]*plan.Device{}
	for i := 0; i < n; i++ {
		kind := kinds[rng.Intn(len(kinds))]
		fixed := kind == plan.KindFirmware || rng.Intn(2) == 0
		name := fmt.Sprintf("r%d-%c", i, 'a'+rng.Intn(26))
		if kind == plan.KindCMA && i == 0 && rng.Intn(2) == 0 {
			name = "linux,cma"
		}
		lim := min(maxSize, maxAddr/4) // base + size stays below the address limit
		r := region(name, kind, rnd(maxAddr/2), MiB+rnd(lim), fixed)
		if rng.Intn(3) == 0 {
			r.Label = fmt.Sprintf("lbl_%d", i)
		}
		if !fixed {
			r.Base = 0
			if rng.Intn(2) == 0 {
				r.Alignment = MiB << rng.Intn(5)
			}
			for k := rng.Intn(3); k > 0; k-- {
				r.AllocRanges = append(r.AllocRanges, plan.Range{Base: rnd(maxAddr / 2), Size: MiB + rnd(lim)})
			}
		}
		if kind == plan.KindCMA && name == "linux,cma" {
			r.DefaultCMA = true
		}
		if kind == plan.KindReserved && rng.Intn(3) == 0 {
			r.Compat = "ramoops"
			r.NoMap = rng.Intn(2) == 0
		}
		p.Regions = append(p.Regions, r)
		switch kind {
		case plan.KindCMA, plan.KindCarveout, plan.KindUnmapped:
			if !r.DefaultCMA && rng.Intn(4) != 0 {
				m := plan.MapCached
				if kind == plan.KindCarveout && rng.Intn(2) == 0 {
					m = plan.MapWriteCombine
				}
				if kind == plan.KindUnmapped {
					m = plan.MapNone
				}
				addHeap(p, r, fmt.Sprintf("heap%d@%x", i, r.Base), m, "dtheap")
			}
		}
		if kind != plan.KindFirmware && rng.Intn(3) == 0 {
			ref := devRefs[rng.Intn(len(devRefs))]
			if devs[ref] == nil {
				devs[ref] = &plan.Device{Ref: ref}
				p.Devices = append(p.Devices, devs[ref])
			}
			devs[ref].Pools = append(devs[ref].Pools, name)
		}
	}
	return p
}

// TestRoundTripRandom: random valid plans -> DTB -> import give back the same regions.
func TestRoundTripRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(20260101))
	n := 60
	if testing.Short() {
		n = 10
	}
	for i := 0; i < n; i++ {
		p := randomPlan(rng)
		base := compileDTS(t, minimalBase(p), nil)
		res, err := Patch(p, base)
		if err != nil {
			t.Fatalf("plan %d: %v", i, err)
		}
		b, err := Import(res.DTB, ImportOptions{Board: p.Board, Arch: p.Arch, Kernel: &p.Kernel})
		if err != nil {
			t.Fatalf("plan %d: import: %v", i, err)
		}
		p2 := fromBoard(b)
		if a, b := dtView(t, p), dtView(t, p2); a != b {
			t.Fatalf("plan %d: round trip changed the devicetree:\n%s", i, diffLines(a, b))
		}
		var want []*plan.Region
		for _, r := range p.Regions {
			if r.Emit {
				want = append(want, r)
			}
		}
		for j, r := range want {
			g := p2.Regions[j]
			wk := r.Kind
			if wk == plan.KindFirmware || (wk == plan.KindCarveout || wk == plan.KindUnmapped) && r.Heap == nil {
				wk = plan.KindReserved // the tree cannot tell these apart
			}
			if g.Name != r.Name || g.Kind != wk || g.Fixed != r.Fixed || g.Size != r.Size || (r.Fixed && g.Base != r.Base) ||
				g.Alignment != r.Alignment || !slices.Equal(g.AllocRanges, r.AllocRanges) || LabelFor(g) != LabelFor(r) {
				t.Fatalf("plan %d region %d: got %+v, want %+v", i, j, *g, *r)
			}
		}
	}
}

func TestDeriveLabelMatchesBoard(t *testing.T) {
	for _, n := range []string{"linux,cma", "video", "fw-log", "2d", "a.b@c", "", "héllo"} {
		if a, b := DeriveLabel(n), board.DefaultLabel(n); a != b {
			t.Errorf("DeriveLabel(%q) = %q, board.DefaultLabel = %q", n, a, b)
		}
	}
}

func TestImportDTS(t *testing.T) {
	// Import of hand-written source through dtc, as `dtheap import x.dts` does; a tree with
	// no /reserved-memory, one with a /memreserve/ and a multi-entry reg are described, not refused.
	src := `/dts-v1/;
/memreserve/ 0x48000000 0x100000;
/ {
	#address-cells = <1>;
	#size-cells = <1>;
	compatible = "acme,board", "acme,soc";
	model = "Acme Board";
	cpus { #address-cells = <1>; #size-cells = <0>; cpu@0 { device_type = "cpu"; compatible = "arm,cortex-a7"; reg = <0>; }; };
	memory@80000000 { device_type = "memory"; reg = <0x80000000 0x10000000 0x90000000 0x10000000>; };
	reserved-memory {
		#address-cells = <1>;
		#size-cells = <1>;
		ranges;
		two@84000000 { reg = <0x84000000 0x1000 0x85000000 0x1000>; no-map; };
		ramoops@86000000 { compatible = "ramoops"; reg = <0x86000000 0x100000>; };
		cma: linux,cma { compatible = "shared-dma-pool"; reusable; size = <0x4000000>; linux,cma-default; };
	};
	dev { memory-region = <&cma>; };
};
`
	blob := compileDTS(t, src, nil)
	b, err := Import(blob, ImportOptions{Source: "acme.dts"})
	if err != nil {
		t.Fatal(err)
	}
	got := string(b.YAML())
	for _, want := range []string{
		"board: acme-board\n", `description: "Acme Board, imported from acme.dts"`, "arch: arm\n",
		"{name: dram0, base: 0x80000000, size: 256MiB}", "{name: dram1, base: 0x90000000, size: 256MiB}",
		`{name: ramoops, kind: reserved, base: 0x86000000, size: 1MiB, compatible: ramoops, no-map: false}`,
		`{name: "linux,cma", label: cma, kind: cma, default: true, size: 64MiB, devices: ["/dev"]}`,
		// /memreserve/ entries are carried over in blob order, not left as a note.
		"memreserve: # the blob's /memreserve/ entries, in its order\n  - {name: memreserve0, base: 0x48000000, size: 1MiB}\n",
		// 6.1 reserves both entries of a two-entry reg: two regions, and a finding.
		"{name: two, kind: reserved, base: 0x84000000, size: 4KiB}", "{name: two-1, kind: reserved, base: 0x85000000, size: 4KiB}",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("import lacks %q:\n%s", want, got)
		}
	}
	if len(b.Findings) != 1 || b.Findings[0].Rule != "reg-entries" || b.Findings[0].Pos.Node != "/reserved-memory/two@84000000" {
		t.Errorf("findings: got %v, want one reg-entries on /reserved-memory/two@84000000", b.Findings)
	}
}

// TestImportQEMU: QEMU's own tree has no /reserved-memory; import still describes its memory.
func TestImportQEMU(t *testing.T) {
	b, err := Import(readFile(t, qemuBase), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Memory) != 1 || b.Memory[0].Base != 0x40000000 || b.Memory[0].Size != 1<<30 || b.Arch != "arm64" || len(b.Pools) != 0 {
		t.Errorf("got %+v", b)
	}
}

// TestImportOpenSBINodes: a riscv64 tree as Linux gets it (/sys/firmware/fdt), with the node
// OpenSBI inserted as the first child of /reserved-memory. Import writes it as a firmware
// region with inserted: true, not as a pool that dtheap dtb would write a second time; the
// board loads with it inserted and not emitted. The same name on arm64, or a riscv64 node
// something refers to, stays a pool.
func TestImportOpenSBINodes(t *testing.T) {
	tree := func(cpu, ref string) string {
		return `/dts-v1/;
/ {
	#address-cells = <2>;
	#size-cells = <2>;
	model = "riscv-virtio,qemu";
	cpus { #address-cells = <1>; #size-cells = <0>; cpu@0 { device_type = "cpu"; compatible = "` + cpu + `"; reg = <0>; }; };
	memory@80000000 { device_type = "memory"; reg = <0x0 0x80000000 0x0 0x40000000>; };
	reserved-memory {
		#address-cells = <2>;
		#size-cells = <2>;
		ranges;
		` + ref + `mmode_resv0@80000000 { reg = <0x0 0x80000000 0x0 0x80000>; no-map; };
		camera { compatible = "shared-dma-pool"; reusable; size = <0x0 0x1000000>; };
	};
};
`
	}
	tests := []struct {
		name, cpu, ref string
		inserted       bool
	}{
		{"riscv64", "riscv", "", true},
		{"riscv64, referred to", "riscv", "sbi: ", false},
		{"arm64", "arm,cortex-a57", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tree(tt.cpu, tt.ref)
			if tt.ref != "" {
				src = strings.Replace(src, "};\n};\n", "};\n\tdsp { memory-region = <&sbi>; };\n};\n", 1)
			}
			b, err := Import(compileDTS(t, src, nil), ImportOptions{Source: "virt.dts"})
			if err != nil {
				t.Fatal(err)
			}
			got := string(b.YAML())
			const line = "  - {name: mmode_resv0, base: 0x80000000, size: 512KiB, inserted: true}\n"
			if strings.Contains(got, line) != tt.inserted {
				t.Errorf("firmware line %q present: %v, want %v:\n%s", line, !tt.inserted, tt.inserted, got)
			}
			if strings.Contains(got, "kind: reserved, base: 0x80000000") == tt.inserted {
				t.Errorf("mmode_resv0 as a pool: %v, want %v:\n%s", !tt.inserted, !tt.inserted, got)
			}
			if !tt.inserted {
				return
			}
			path := filepath.Join(t.TempDir(), "virt.yaml")
			if err := os.WriteFile(path, b.YAML(), 0o644); err != nil {
				t.Fatal(err)
			}
			bd, findings, err := board.Load(path, board.Options{})
			if err != nil || bd == nil {
				t.Fatalf("the imported board does not load: %v %v\n%s", err, findings, got)
			}
			if len(bd.Firmware) != 1 || !bd.Firmware[0].Inserted || bd.Firmware[0].Emit {
				t.Errorf("loaded firmware %+v, want mmode_resv0 inserted and not emitted", bd.Firmware)
			}
		})
	}
}
