package dtbind

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/u-root/u-root/pkg/dt"

	"github.com/dtheap/dtheap/board"
	"github.com/dtheap/dtheap/internal/escape"
	"github.com/dtheap/dtheap/internal/hostile"
	"github.com/dtheap/dtheap/pipeline"
	"github.com/dtheap/dtheap/plan"
)

// hostileCase is one board whose free-form strings come from the hostile alphabet.
type hostileCase struct {
	file, board, compat string
	heaps               []string
}

// hostileDevices are valid devicetree paths (the loader refuses any other), with every
// character a node name may hold.
var hostileDevices = []string{"/soc,x/gpu_1.a+b-c", "/vpu"}

func (c hostileCase) write(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "board: %s\narch: arm64\nmemory: [{name: dram, base: 0x40000000, size: 1GiB}]\npools:\n", escape.YAMLScalar(c.board))
	for i, h := range c.heaps {
		kind := []string{"carveout", "unmapped", "cma"}[i%3]
		fmt.Fprintf(&b, "  - {name: p%d, kind: %s, base: 0x%x, size: 16MiB, heap: %s, devices: [%s]}\n", i, kind, 0x50000000+i*0x1000000,
			escape.YAMLScalar(h), escape.YAMLScalar(hostileDevices[i%2]))
	}
	fmt.Fprintf(&b, "  - {name: r, kind: reserved, base: 0x60000000, size: 1MiB, compatible: %s}\n", escape.YAMLScalar(c.compat))
	path := filepath.Join(t.TempDir(), c.file)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// hostileBase is the tree the .dtsi is included in: root cells, memory, the device nodes.
const hostileBase = `/dts-v1/;

/ {
	#address-cells = <2>;
	#size-cells = <2>;
	model = "test";
	compatible = "test,board";

	memory@40000000 {
		device_type = "memory";
		reg = <0x0 0x40000000 0x0 0x40000000>;
	};

	soc,x {
		gpu_1.a+b-c {
		};
	};

	vpu {
	};
};

/include/ "heaps.dtsi"
`

// treeProps lists every node path and property name of a tree, sorted.
func treeProps(root *dt.Node) []string {
	var out []string
	walkPaths(root, "/", func(n *dt.Node, path string) {
		if strings.Contains(path, "/__") {
			return
		}
		out = append(out, path)
		for _, p := range n.Properties {
			if p.Name == "phandle" { // dtc -@ numbers labelled nodes
				continue
			}
			out = append(out, path+":"+p.Name)
		}
	})
	sort.Strings(out)
	return out
}

func checkHostileDTS(t *testing.T, c hostileCase) {
	t.Helper()
	path := c.write(t)
	res, err := pipeline.Load(path, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.HasErrors() {
		t.Fatalf("%+v: %v", c, res.Findings)
	}
	p := res.Plan
	dtsi, err := DTSI(p)
	if err != nil {
		t.Fatal(err)
	}
	blob := compileDTS(t, hostileBase, map[string][]byte{"heaps.dtsi": dtsi})
	f, err := readFDT(blob)
	if err != nil {
		t.Fatal(err)
	}
	// Exactly the nodes and properties we generate: nothing injected.
	want := []string{"/", "/:#address-cells", "/:#size-cells", "/:compatible", "/:model",
		"/memory@40000000", "/memory@40000000:device_type", "/memory@40000000:reg",
		"/soc,x", "/soc,x/gpu_1.a+b-c", "/soc,x/gpu_1.a+b-c:memory-region", "/soc,x/gpu_1.a+b-c:memory-region-names",
		"/vpu",
		"/reserved-memory", "/reserved-memory:#address-cells", "/reserved-memory:#size-cells", "/reserved-memory:ranges",
		"/reserved-memory/r@60000000", "/reserved-memory/r@60000000:compatible", "/reserved-memory/r@60000000:reg", "/reserved-memory/r@60000000:no-map",
		"/dma-heaps", "/dma-heaps:compatible", "/dma-heaps:memory-region", "/dma-heaps:memory-region-names",
		"/dma-heaps:dtheap,heap-names", "/dma-heaps:dtheap,heap-kinds", "/dma-heaps:dtheap,heap-mappings"}
	for i := range c.heaps {
		n := fmt.Sprintf("/reserved-memory/p%d@%x", i, 0x50000000+i*0x1000000)
		want = append(want, n, n+":compatible", n+":reg")
		if i == 1 {
			want = append(want, "/vpu:memory-region", "/vpu:memory-region-names")
		}
		switch i % 3 {
		case 0:
			// A cached carveout (the default mapping) stays in the linear map: no no-map.
		case 1:
			want = append(want, n+":no-map")
		case 2:
			want = append(want, n+":reusable")
		}
	}
	sort.Strings(want)
	if got := treeProps(f.RootNode); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%+v: the tree holds\n%s\nwant\n%s\nsource:\n%s", c, strings.Join(got, "\n"), strings.Join(want, "\n"), dtsi)
	}
	// The values dtc read are the strings we wrote, byte for byte.
	heapNode, _ := f.RootNode.Find(func(n *dt.Node) bool { return n.Name == "dma-heaps" })
	hn, _ := heapNode.LookProperty("dtheap,heap-names")
	if got := stringList(hn); strings.Join(got, "\x00") != strings.Join(c.heaps, "\x00") {
		t.Fatalf("dtheap,heap-names = %q, want %q", got, c.heaps)
	}
	rn, _ := f.RootNode.Find(func(n *dt.Node) bool { return n.Name == "r@60000000" })
	cp, _ := rn.LookProperty("compatible")
	if got := stringList(cp); len(got) != 1 || got[0] != c.compat {
		t.Fatalf("compatible = %q, want %q", got, c.compat)
	}

	// The overlay compiles too and carries the same names.
	ov, err := Overlay(p)
	if err != nil {
		t.Fatal(err)
	}
	ovBlob := compileDTS(t, string(ov), nil, "-W", "no-avoid_default_addr_size", "-W", "no-ranges_format")
	of, err := readFDT(ovBlob)
	if err != nil {
		t.Fatal(err)
	}
	oh, ok := of.RootNode.Find(func(n *dt.Node) bool { return n.Name == "dma-heaps" })
	if !ok {
		t.Fatal("overlay has no dma-heaps node")
	}
	ohn, _ := oh.LookProperty("dtheap,heap-names")
	if got := stringList(ohn); strings.Join(got, "\x00") != strings.Join(c.heaps, "\x00") {
		t.Fatalf("overlay dtheap,heap-names = %q, want %q", got, c.heaps)
	}

	// Import the tree back: the YAML re-reads to the same pools, heaps, compatible, devices.
	imp, err := Import(blob, ImportOptions{Source: c.file})
	if err != nil {
		t.Fatal(err)
	}
	yml := imp.YAML()
	ypath := filepath.Join(t.TempDir(), "imported.yaml")
	if err := os.WriteFile(ypath, yml, 0o644); err != nil {
		t.Fatal(err)
	}
	back, findings, err := board.Load(ypath, board.Options{})
	if err != nil || back == nil {
		t.Fatalf("imported YAML does not load: %v %v\n%s", err, findings, yml)
	}
	var got, wantPools []string
	for _, pl := range back.Pools {
		got = append(got, fmt.Sprintf("%s %s %x %x heap=%q compat=%q devices=%q", pl.Name, pl.Kind, pl.Base, pl.Size, pl.Heap, pl.Compatible, nodesOf(pl.Devices)))
	}
	for _, r := range p.Regions {
		devs := []board.Device{}
		for _, d := range p.Devices {
			for _, pool := range d.Pools {
				if pool == r.Name {
					devs = append(devs, board.Device{Node: d.Ref})
				}
			}
		}
		heap := ""
		if r.Heap != nil {
			heap = r.Heap.Name
		}
		compat := ""
		if r.Kind == plan.KindReserved {
			compat = r.Compat
		}
		wantPools = append(wantPools, fmt.Sprintf("%s %s %x %x heap=%q compat=%q devices=%q", r.Name, r.Kind, r.Base, r.Size, heap, compat, nodesOf(devs)))
	}
	gotS := strings.Join(got, "\n")
	gotS = strings.ReplaceAll(gotS, "devices=[]", "devices=[]")
	if gotS != strings.Join(wantPools, "\n") {
		t.Fatalf("imported board:\n%s\nwant\n%s\nYAML:\n%s", gotS, strings.Join(wantPools, "\n"), yml)
	}
	if back.Name == "" || bytes.Contains(yml, []byte("\nfirmware:")) {
		t.Fatalf("imported YAML:\n%s", yml)
	}
}

func nodesOf(ds []board.Device) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Node)
	}
	return out
}

// TestDTSInjection is issue 16's devicetree cases: a board name or file name that ends the
// header comment and adds a property dtc accepts.
func TestDTSInjection(t *testing.T) {
	for _, c := range []hostileCase{
		{file: "board.yaml", board: "x */ / { pwned; }; /*", compat: "ramoops", heaps: []string{"video"}},
		{file: "x*/ / { pwned; }; /*.yaml", board: "qemu", compat: "ramoops", heaps: []string{"video"}},
		{file: "board.yaml", board: "qemu", compat: `a"; pwned; x = "`, heaps: []string{`v"; pwned; x = "`, "caf\u00e9beef"}},
	} {
		t.Run(c.board+c.file, func(t *testing.T) { checkHostileDTS(t, c) })
	}
}

// TestDTSHostile is the property test for the .dtsi, the overlay and import: hostile board,
// file, heap and compatible strings give a tree dtc compiles without a warning, holding
// exactly the generated nodes and properties and each string's exact bytes, and the imported
// YAML loads back to the same pools.
func TestDTSHostile(t *testing.T) {
	rng := rand.New(rand.NewSource(1617))
	for i := 0; i < 12; i++ {
		c := hostileCase{
			file:   strings.ReplaceAll(hostile.String(rng, hostile.Printable, 3), "/", "_") + ".yaml",
			board:  hostile.String(rng, hostile.Printable, 5),
			compat: hostile.String(rng, hostile.Printable, 3),
		}
		seen := map[string]bool{"system": true}
		for len(c.heaps) < 3 {
			// Not '/' nor '%': validate refuses both in a heap name (heap-name, heap-name-format).
			h := strings.NewReplacer("/", "_", "%", "_").Replace(hostile.String(rng, hostile.Printable, 3))
			if len(h) <= 64 && h != "." && h != ".." && !seen[h] {
				seen[h] = true
				c.heaps = append(c.heaps, h)
			}
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkHostileDTS(t, c) })
	}
}

// TestDevicePathRefused: a device path that would end &{...} in DTS and add a node is refused
// by the emitter (the board loader refuses it first, with its position).
func TestDevicePathRefused(t *testing.T) {
	p := handPlans()["example"]
	p.Devices = []*plan.Device{{Ref: "/soc} ; / { pwned; }; &{/soc", Pools: []string{p.Regions[0].Name}}}
	if out, err := DTSI(p); err == nil || !strings.Contains(err.Error(), "devicetree node names use only") {
		t.Fatalf("DTSI = %v\n%s", err, out)
	}
}

// TestImportNodeNameInjection is issue 16's YAML case: a node name with a newline in a .dtb
// became a live line of the imported board (here a firmware: entry and a pool), which then
// validated clean. Now such a node is skipped with a note (a one-line comment) and the YAML
// holds exactly the other pools.
func TestImportNodeNameInjection(t *testing.T) {
	c := hostileCase{file: "b.yaml", board: "qemu", compat: "ramoops", heaps: []string{"video", "dsp"}}
	res, err := pipeline.Load(c.write(t), pipeline.Options{})
	if err != nil || res.HasErrors() {
		t.Fatal(err, res.Findings)
	}
	dtsi, err := DTSI(res.Plan)
	if err != nil {
		t.Fatal(err)
	}
	f, err := readFDT(compileDTS(t, hostileBase, map[string][]byte{"heaps.dtsi": dtsi}))
	if err != nil {
		t.Fatal(err)
	}
	inject := "x@1 {}\nfirmware: [{name: evil, base: 0x40000000, size: 1GiB}]\n#"
	r, _ := f.RootNode.Find(func(n *dt.Node) bool { return n.Name == "r@60000000" })
	r.Name = inject
	v, _ := f.RootNode.Find(func(n *dt.Node) bool { return n.Name == "vpu" })
	v.Name = "vpu\nfirmware: [{name: evil2, base: 0x40000000, size: 1GiB}]"
	blob, err := writeFDT(f)
	if err != nil {
		t.Fatal(err)
	}
	imp, err := Import(blob, ImportOptions{Source: "evil\n.dtb"})
	if err != nil {
		t.Fatal(err)
	}
	yml := imp.YAML()
	path := filepath.Join(t.TempDir(), "imported.yaml")
	if err := os.WriteFile(path, yml, 0o644); err != nil {
		t.Fatal(err)
	}
	back, findings, err := board.Load(path, board.Options{})
	if err != nil || back == nil {
		t.Fatalf("imported YAML does not load: %v %v\n%s", err, findings, yml)
	}
	if len(back.Firmware) != 0 || len(back.Pools) != 2 || back.Pools[0].Name != "p0" || back.Pools[1].Name != "p1" {
		t.Fatalf("imported board has firmware %+v, pools %+v\n%s", back.Firmware, back.Pools, yml)
	}
	for _, pl := range back.Pools {
		for _, d := range pl.Devices {
			if strings.Contains(d.Node, "vpu") {
				t.Fatalf("the consumer with a newline in its name was imported: %+v", d)
			}
		}
	}
	for _, l := range strings.Split(string(yml), "\n") {
		if strings.Contains(l, "evil") && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "description:") {
			t.Fatalf("the injected text is live YAML: %q\n%s", l, yml)
		}
	}
}
