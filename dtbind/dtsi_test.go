package dtbind

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/plan"
)

// TestGolden pins the .dtsi, the overlay and the decompiled patched tree of every plan.
func TestGolden(t *testing.T) {
	for _, tp := range testPlans(t) {
		t.Run(tp.name, func(t *testing.T) {
			dtsi, err := DTSI(tp.p)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tp.name+".dtsi", dtsi)
			ov, err := Overlay(tp.p)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tp.name+".dtso", ov)
			base := compileDTS(t, minimalBase(tp.p), nil)
			res, err := Patch(tp.p, base)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tp.name+".patched.dts", []byte(decompile(t, res.DTB)))
		})
	}
}

// TestDTSICompilesWithoutWarnings includes each .dtsi into a minimal root, compiles it with
// dtc (any warning fails), and checks the result against the 6.1 bindings plus ours, and that
// the tree Patch makes from the same root is the same tree.
func TestDTSICompilesWithoutWarnings(t *testing.T) {
	for _, tp := range testPlans(t) {
		t.Run(tp.name, func(t *testing.T) {
			dtsi, err := DTSI(tp.p)
			if err != nil {
				t.Fatal(err)
			}
			src := minimalBase(tp.p) + "\n/include/ \"heaps.dtsi\"\n"
			full := compileDTS(t, src, map[string][]byte{"heaps.dtsi": dtsi})
			if lines := dtValidate(t, full, foreignCompat(tp.p)); len(lines) > 0 {
				t.Errorf("dt-validate:\n%s", strings.Join(lines, "\n"))
			}
			checkRegions(t, tp.p, full)

			base := compileDTS(t, minimalBase(tp.p), nil)
			res, err := Patch(tp.p, base)
			if err != nil {
				t.Fatal(err)
			}
			if d := changedPaths(canon(t, full), canon(t, res.DTB)); len(d) > 0 {
				t.Errorf("patched tree differs from the compiled .dtsi at %v", d)
			}
		})
	}
}

// checkRegions reads the compiled tree back and checks every emitted region is there, in plan
// order, with the plan's values: the DTS text is not trusted to say what it means.
func checkRegions(t *testing.T, p *plan.Plan, blob []byte) {
	t.Helper()
	b, err := Import(blob, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var want []*plan.Region
	for _, r := range p.Regions {
		if r.Emit {
			want = append(want, r)
		}
	}
	if len(b.Pools) != len(want) {
		t.Fatalf("tree has %d regions, plan emits %d", len(b.Pools), len(want))
	}
	for i, r := range want {
		got := b.Pools[i]
		if got.Node != nodeName(r) || got.Fixed != r.Fixed || got.Size != r.Size ||
			(r.Fixed && got.Base != r.Base) || got.Alignment != r.Alignment || len(got.AllocRanges) != len(r.AllocRanges) ||
			got.Default != r.DefaultCMA {
			t.Errorf("region %d: tree has %+v, plan %+v", i, got, *r)
		}
	}
}

// TestOverlayAppliesLikeDTSI compiles each overlay, applies it with fdtoverlay (libfdt, the
// code U-Boot uses) to the minimal root and expects the same tree as the .dtsi gives, including
// the order of the /reserved-memory children.
func TestOverlayAppliesLikeDTSI(t *testing.T) {
	fo := tool(t, "fdtoverlay", "device-tree-compiler")
	for _, tp := range testPlans(t) {
		t.Run(tp.name, func(t *testing.T) {
			dtsi, _ := DTSI(tp.p)
			ov, err := Overlay(tp.p)
			if err != nil {
				t.Fatal(err)
			}
			want := compileDTS(t, minimalBase(tp.p)+"\n/include/ \"heaps.dtsi\"\n", map[string][]byte{"heaps.dtsi": dtsi})
			base := compileDTS(t, minimalBase(tp.p), nil)
			dtbo := compileDTS(t, string(ov), nil, "-W", "no-avoid_default_addr_size", "-W", "no-ranges_format")
			dir := t.TempDir()
			bp, op, rp := filepath.Join(dir, "base.dtb"), filepath.Join(dir, "ov.dtbo"), filepath.Join(dir, "out.dtb")
			writeFile(t, bp, base)
			writeFile(t, op, dtbo)
			run(t, nil, fo, "-i", bp, "-o", rp, op)
			got := readFile(t, rp)
			if d := changedPaths(canon(t, want), canon(t, got)); len(d) > 0 {
				t.Errorf("overlay applied with fdtoverlay differs from the .dtsi at %v", d)
			}
		})
	}
}

func TestDTSIRefuses(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *plan.Plan)
		want   string
	}{
		{"base above 4 GiB in one cell", func(p *plan.Plan) {
			p.Regions[1].Base = 1 << 32
			p.Regions[1].Node = ""
		}, "does not fit in 1 cell"},
		{"size-cells 3", func(p *plan.Plan) { p.SizeCells = 3 }, "1 or 2"},
		{"no-map and reusable", func(p *plan.Plan) { p.Regions[0].NoMap, p.Regions[0].Reuse = true, true }, "no-map and reusable"},
		{"duplicate label", func(p *plan.Plan) { p.Regions[1].Label = p.Regions[0].Label }, "both have the DT label"},
		{"bad device ref", func(p *plan.Plan) { p.Devices = []*plan.Device{{Ref: "gpu", Pools: []string{"optee"}}} }, "write &label or /path"},
		{"device label is a pool label", func(p *plan.Plan) {
			p.Devices = []*plan.Device{{Ref: "&optee", Pools: []string{"optee"}}}
		}, "defined twice"},
		{"device on unknown pool", func(p *plan.Plan) { p.Devices = []*plan.Device{{Ref: "&gpu", Pools: []string{"nope"}}} }, "not written"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := handPlans()["arm32"]
			tt.mutate(p)
			_, err := DTSI(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to say %q", err, tt.want)
			}
		})
	}
}

func TestBindingDocValidates(t *testing.T) {
	v := tool(t, "dt-doc-validate", "dt-schema")
	dir, _ := filepath.Abs(filepath.Join(repoRoot, "schemas", "bindings"))
	out, stderr := run(t, nil, v, "-u", dir, filepath.Join(dir, "dtheap,dma-heaps.yaml"))
	if out+stderr != "" {
		t.Fatalf("dt-doc-validate complains:\n%s%s", out, stderr)
	}
}
