package dtbind

import (
	"bytes"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/plan"
	"github.com/u-root/u-root/pkg/dt"
)

const qemuBase = "testdata/qemu-virt-1g.dtb" // qemu-system-aarch64 -M virt,dumpdtb=F -cpu cortex-a57 -m 1024 -nic none

// qemuPlans are the plans that describe QEMU virt with 1 GiB: the board file, and the hand
// example with its consumers moved onto nodes QEMU's tree has.
func qemuPlans(t *testing.T) []testPlan {
	ex := handPlans()["example"]
	for _, r := range ex.Regions {
		r.Devices = nil
	}
	ex.Devices = []*plan.Device{{Ref: "/virtio_mmio@a000000", Pools: []string{"video"}}, {Ref: "/pl061@9030000", Pools: []string{"cam", "dsp"}}}
	return []testPlan{
		{"board-qemu-virt-arm64", loadBoard(t, filepath.Join(repoRoot, "boards", "qemu-virt-arm64.yaml"))},
		{"hand-example", ex},
	}
}

// TestPatchQEMU patches the tree QEMU itself dumps and checks that the result decompiles, that
// only the intended nodes changed (everything else decompiles to the same text), that
// dt-validate finds nothing new, and that patching again changes nothing.
func TestPatchQEMU(t *testing.T) {
	base := readFile(t, qemuBase)
	baseDTS := decompile(t, base)
	baseComplaints := dtValidate(t, base, nil)
	for _, tp := range qemuPlans(t) {
		t.Run(tp.name, func(t *testing.T) {
			res, err := Patch(tp.p, base)
			if err != nil {
				t.Fatal(err)
			}
			gotDTS := decompile(t, res.DTB)
			golden(t, tp.name+".qemu.patched.dts", []byte(gotDTS))

			allowed := []string{"/reserved-memory", "/dma-heaps"}
			for _, r := range tp.p.Regions {
				if r.Emit {
					allowed = append(allowed, "/reserved-memory/"+nodeName(r))
				}
			}
			for _, d := range tp.p.Devices {
				allowed = append(allowed, d.Ref)
			}
			cb, cp := canon(t, base), canon(t, res.DTB)
			changed := changedPaths(cb, cp)
			// The root changes only by gaining children.
			rootProps := func(ls []string) string {
				return strings.Join(slices.DeleteFunc(slices.Clone(ls), func(l string) bool { return strings.HasPrefix(l, "children:") }), "\n")
			}
			if rootProps(cb["/"]) != rootProps(cp["/"]) {
				t.Errorf("patch changed the root's properties")
			}
			changed = slices.DeleteFunc(changed, func(c string) bool { return c == "/" })
			for _, c := range changed {
				if !slices.Contains(allowed, c) {
					t.Errorf("patch changed %s, which is not one of the intended nodes %v", c, allowed)
				}
			}
			for _, a := range allowed {
				if a != "/dma-heaps" && !slices.Contains(changed, a) {
					t.Errorf("patch did not touch %s", a)
				}
			}
			// The rest must decompile to the very same text: same phandles, same order.
			if a, b := stripOurs(baseDTS), stripOurs(gotDTS); a != b {
				t.Errorf("outside the intended nodes the decompiled trees differ")
			}
			for _, c := range dtValidate(t, res.DTB, foreignCompat(tp.p)) {
				if !slices.Contains(baseComplaints, c) {
					t.Errorf("dt-validate complains about the patched tree (not about the base): %s", c)
				}
			}
			again, err := Patch(tp.p, res.DTB)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again.DTB, res.DTB) {
				t.Errorf("patching the patched tree changed it again")
			}
		})
	}
}

var memRegionLine = regexp.MustCompile(`(?m)^\s*memory-region(-names)? = .*\n`)

// stripOurs removes from decompiled source the top-level nodes a patch writes and the
// memory-region properties, leaving what must be untouched.
func stripOurs(dts string) string {
	var out []string
	skip := ""
	for _, l := range strings.SplitAfter(dts, "\n") {
		if skip != "" {
			if l == "\t};\n" {
				skip = ""
			}
			continue
		}
		for _, n := range []string{"reserved-memory", "dma-heaps", "__symbols__"} {
			if l == "\t"+n+" {\n" {
				skip = n
			}
		}
		if skip == "" && l != "\n" {
			out = append(out, l)
		}
	}
	return memRegionLine.ReplaceAllString(strings.Join(out, ""), "")
}

// TestPatchKeepsAndReplaces: a firmware child the board does not know is kept (ahead of ours);
// an old child of one of our regions is replaced and its phandle, which another node uses, kept.
func TestPatchKeepsAndReplaces(t *testing.T) {
	p := handPlans()["arm32"]
	video := region("video", plan.KindCMA, 0x90000000, 16*MiB, true)
	p.Regions = append(p.Regions, video)
	addHeap(p, video, "video", plan.MapCached, "dtheap")
	src := strings.TrimSuffix(minimalBase(p), "};\n") + `
	reserved-memory {
		#address-cells = <1>;
		#size-cells = <1>;
		ranges;

		bl31@9f000000 {
			reg = <0x9f000000 0x100000>;
			no-map;
		};

		old_video: video@88000000 {
			compatible = "shared-dma-pool";
			reg = <0x88000000 0x1000000>;
			reusable;
		};
	};

	display {
		memory-region = <&old_video>;
	};
};
`
	base := compileDTS(t, src, nil)
	res, err := Patch(p, base)
	if err != nil {
		t.Fatal(err)
	}
	f, err := readFDT(res.DTB)
	if err != nil {
		t.Fatal(err)
	}
	rm, _ := f.RootNode.LookupChildByName("reserved-memory")
	var names []string
	for _, c := range rm.Children {
		names = append(names, c.Name)
	}
	if want := []string{"bl31@9f000000", "linux,cma", "optee@9e000000", "video@90000000"}; !slices.Equal(names, want) {
		t.Errorf("children %v, want %v", names, want)
	}
	c := canon(t, res.DTB)
	if got := strings.Join(c["/display"], "; "); !strings.Contains(got, "memory-region -> /reserved-memory/video@90000000") {
		t.Errorf("/display no longer points at the video pool: %s", got)
	}
	if got := strings.Join(c["/dma-heaps"], "; "); !strings.Contains(got, "memory-region -> /reserved-memory/video@90000000") {
		t.Errorf("/dma-heaps: %s", got)
	}
	notes := strings.Join(res.Notes, "\n")
	if !strings.Contains(notes, "replaced /reserved-memory/video@88000000") || !strings.Contains(notes, "kept /reserved-memory/bl31@9f000000") {
		t.Errorf("notes:\n%s", notes)
	}
	// 6.1 sorts the kept child with linux,cma (dynamic): the note says to describe it, until
	// the board does.
	const hint = "list it under firmware: with inserted: true"
	if !strings.Contains(notes, hint) {
		t.Errorf("6.1 plan with a dynamic pool: the kept child's note lacks %q:\n%s", hint, notes)
	}
	bl31 := region("bl31", plan.KindFirmware, 0x9f000000, MiB, true)
	bl31.Emit, bl31.Inserted = false, true
	p.Regions = append([]*plan.Region{bl31}, p.Regions...)
	res, err = Patch(p, base)
	if err != nil {
		t.Fatal(err)
	}
	if notes := strings.Join(res.Notes, "\n"); strings.Contains(notes, hint) || !strings.Contains(notes, "kept /reserved-memory/bl31@9f000000") {
		t.Errorf("bl31 described as inserted: the note still asks for it, or the child was not kept:\n%s", notes)
	}
	// 6.12 places the dynamic pools in DT order, whatever fixed children come first.
	p.Regions, p.Kernel.Version, p.Model = p.Regions[1:], "6.12", nil
	if res, err = Patch(p, base); err != nil {
		t.Fatal(err)
	}
	if notes := strings.Join(res.Notes, "\n"); strings.Contains(notes, hint) {
		t.Errorf("6.12 plan: the kept child's note asks for it:\n%s", notes)
	}
	// Phandles stay unique.
	seen := map[uint32]string{}
	walkPaths(f.RootNode, "/", func(n *dt.Node, path string) {
		if ph := phandleOf(n); ph != 0 {
			if other, dup := seen[ph]; dup {
				t.Errorf("phandle %d on %s and %s", ph, other, path)
			}
			seen[ph] = path
		}
	})
}

func TestPatchRefuses(t *testing.T) {
	qemu := readFile(t, qemuBase)
	example := handPlans()["example"]
	withDevice := func(ref string) *plan.Plan {
		p := handPlans()["arm32"]
		p.Devices = []*plan.Device{{Ref: ref, Pools: []string{"optee"}}}
		return p
	}
	arm32 := handPlans()["arm32"]
	arm32Base := minimalBase(arm32)
	tests := []struct {
		name string
		p    *plan.Plan
		base func(t *testing.T) []byte
		want string
	}{
		{"not a dtb", arm32, func(*testing.T) []byte { return []byte("hello") }, "not a devicetree"},
		{"root cells", arm32, func(*testing.T) []byte { return qemu }, "#address-cells = <2>"},
		{"memory differs", example, func(t *testing.T) []byte {
			return compileDTS(t, strings.Replace(minimalBase(example), "0x0 0x40000000>", "0x0 0x80000000>", 1), nil)
		}, "does not match board"},
		{"reserved-memory cells", arm32, func(t *testing.T) []byte {
			return compileDTS(t, strings.TrimSuffix(arm32Base, "};\n")+"\treserved-memory {\n\t\t#address-cells = <1>;\n\t\t#size-cells = <2>;\n\t\tranges;\n\t};\n};\n", nil,
				"-W", "no-ranges_format")
		}, "Linux ignores EVERY"},
		{"label without symbols", withDevice("&gpu"), func(t *testing.T) []byte {
			return compileDTS(t, arm32Base, nil, "-@") // minimal base has no labels: no __symbols__ either
		}, "no /__symbols__"},
		{"unknown label", withDevice("&gpu"), func(t *testing.T) []byte {
			return compileDTS(t, strings.TrimSuffix(arm32Base, "};\n")+"\tvpu: vpu {\n\t};\n};\n", nil)
		}, `no label "gpu"`},
		{"unknown path", withDevice("/soc/gpu"), func(t *testing.T) []byte { return compileDTS(t, arm32Base, nil) }, "no node /soc/gpu"},
		{"kept child overlaps", arm32, func(t *testing.T) []byte {
			return compileDTS(t, strings.TrimSuffix(arm32Base, "};\n")+"\treserved-memory {\n\t\t#address-cells = <1>;\n\t\t#size-cells = <1>;\n\t\tranges;\n\n\t\ttee@9f000000 {\n\t\t\treg = <0x9f000000 0x100000>;\n\t\t};\n\t\tfw@9d000000 {\n\t\t\treg = <0x9d000000 0x1800000>;\n\t\t};\n\t};\n};\n", nil)
		}, "overlaps region optee"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Patch(tt.p, tt.base(t))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to say %q", err, tt.want)
			}
		})
	}
}
