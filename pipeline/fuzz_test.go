package pipeline_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/board"
	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/dtbind"
	"github.com/dtheap/dtheap/internal/hostile"
	"github.com/dtheap/dtheap/internal/input"
	"github.com/dtheap/dtheap/kernel"
	"github.com/dtheap/dtheap/mapview"
	"github.com/dtheap/dtheap/pipeline"
	"github.com/dtheap/dtheap/plan"
	"github.com/dtheap/dtheap/provision"
	"github.com/dtheap/dtheap/provision/manifest"
)

// FuzzFrontHalf runs the whole front half on arbitrary bytes as a board file, the way every
// command does: load -> plan -> validate, then every emitter, and re-reads each output with the
// tool that consumes it. Nothing may panic; whatever an emitter writes must parse:
//   - the SVG map as XML and the HTML report with an HTML parser, with only the elements the
//     map draws (boards with errors are drawn too, as dtheap map does);
//   - for boards without errors (the other emitters refuse them): the .dtsi (in a base tree
//     holding the board's devices) and the overlay with dtc, the imported YAML of the compiled
//     tree with the board loader, dtheap_board.c with gcc -fsyntax-only against a stub header,
//     the manifest with the checker's own decoder, and the README and Kconfig fragment must
//     be free of control characters.
//
// Seeds: every board in ../boards, the rule corpus, the hostile and overflow regression
// boards, and what earlier runs found (testdata/fuzz/FuzzFrontHalf: 71 inputs from two runs on
// 1 December 2026, 11 and 10 minutes, 53,264 and 143,987 executions, no failure). Run it with
//
//	nice -n 10 go test ./pipeline -run '^$' -fuzz FuzzFrontHalf -fuzztime 10m
func FuzzFrontHalf(f *testing.F) {
	for _, pat := range []string{"../boards/*.yaml", "../validate/testdata/rules/*.yaml"} {
		files, _ := filepath.Glob(pat)
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte("board: 'evil*/ int pwned = 1; /*'\narch: arm64\nmemory: [{name: dram, base: 0x40000000, size: 1GiB}]\n" +
		"pools: [{name: v, kind: carveout, base: 0x50000000, size: 16MiB, heap: \"caf\u00e9beef --> <img>\", devices: [\"/soc,x/gpu@1\", \"&gpu\"]}]\n"))
	f.Add([]byte("board: x\narch: arm64\nmemory: [{name: dram, base: 0x40000000, size: 1GiB}]\npools: [{name: p, kind: carveout, base: 0xffffffffff000000, size: 32MiB}]\n"))
	f.Add([]byte("board: x\narch: arm\nmemory: [{name: dram, base: 0x80000000, size: 1GiB}]\npools: [{name: p, kind: cma, size: 16MiB, alignment: 0x8000000, alloc-ranges: [{base: 0x80000000, size: 0x7fffffff}]}]\n"))
	dtc, errDTC := exec.LookPath("dtc")
	gcc, errGCC := exec.LookPath("gcc")
	if errDTC != nil || errGCC != nil {
		f.Fatal("the fuzz target re-reads outputs with dtc and gcc: apt-get install device-tree-compiler gcc")
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "board.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := pipeline.Load(path, pipeline.Options{})
		if err != nil {
			var ioe *board.IOError
			var ie *input.Error
			if !errors.As(err, &ioe) && !errors.As(err, &ie) {
				t.Fatalf("Load: %v (%T)", err, err)
			}
			return
		}
		if res.Plan == nil {
			if !res.HasErrors() {
				t.Fatal("no plan and no error")
			}
			return
		}
		p := res.Plan
		checkMarkup(t, p)
		if res.HasErrors() {
			return
		}
		checkDTS(t, dtc, dir, p)
		checkC(t, gcc, dir, p)
		checkManifest(t, p)
	})
}

// mapElements are the elements the SVG map and the HTML report are made of.
var mapElements = map[string]bool{
	"svg": true, "title": true, "defs": true, "pattern": true, "rect": true, "line": true, "polyline": true,
	"path": true, "g": true, "text": true, "tspan": true, "html": true, "head": true, "meta": true, "style": true,
	"body": true, "h1": true, "h2": true, "h3": true, "p": true, "figure": true, "section": true, "table": true,
	"tr": true, "th": true, "td": true, "span": true, "ul": true, "li": true, "br": true, "polygon": true, "circle": true,
}

func checkMarkup(t *testing.T, p *plan.Plan) {
	svg := mapview.SVG([]*plan.Plan{p})
	m, err := hostile.SVGMarkup(svg)
	if err != nil {
		t.Fatalf("%v\n%s", err, svg)
	}
	checkElements(t, "SVG", m, func(attr string) bool {
		return strings.HasPrefix(strings.ToLower(attr), "on") || attr == "href"
	})
	m, err = hostile.HTMLMarkup(mapview.HTML([]*plan.Plan{p}))
	if err != nil {
		t.Fatal(err)
	}
	checkElements(t, "HTML", m, func(attr string) bool {
		return strings.HasPrefix(attr, "on") || attr == "href" || attr == "src"
	})
}

// checkElements fails on an element the map is not made of, an attribute refused says is
// live (event handlers, links), or a comment count other than the generator's one.
func checkElements(t *testing.T, what string, m hostile.Markup, refused func(attr string) bool) {
	t.Helper()
	for e := range m.Elements {
		if !mapElements[e] {
			t.Fatalf("%s has element %q", what, e)
		}
	}
	for ea := range m.Attributes {
		if _, attr, _ := strings.Cut(ea, ":"); refused(attr) {
			t.Fatalf("%s has attribute %q", what, attr)
		}
	}
	if m.Comments != 1 {
		t.Fatalf("%s has %d comments", what, m.Comments)
	}
}

func runTool(t *testing.T, dir string, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	c := exec.Command(name, args...)
	c.Dir = dir
	if stdin != nil {
		c.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, errb.String())
	}
	return out.Bytes()
}

// baseTree is a tree the .dtsi can be included in: the root's cells, the memory, and a node
// for every consumer device (labelled for &label, nested for /path).
func baseTree(p *plan.Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "/dts-v1/;\n/ {\n\t#address-cells = <%d>;\n\t#size-cells = <%d>;\n\tmodel = \"fuzz\";\n", p.AddressCells, p.SizeCells)
	type node struct {
		label string
		kids  map[string]*node
	}
	top := &node{kids: map[string]*node{}}
	for _, d := range p.Devices {
		var parts []string
		label := ""
		if strings.HasPrefix(d.Ref, "&") {
			label = d.Ref[1:]
			parts = []string{"dev-" + strings.ReplaceAll(strings.ToLower(label), "_", "-")}
		} else {
			parts = strings.Split(strings.Trim(d.Ref, "/"), "/")
		}
		n := top
		for _, c := range parts {
			k := n.kids[c]
			if k == nil {
				k = &node{kids: map[string]*node{}}
				n.kids[c] = k
			}
			n = k
		}
		if label != "" {
			n.label = label
		}
	}
	var write func(n *node, depth int)
	write = func(n *node, depth int) {
		names := make([]string, 0, len(n.kids))
		for k := range n.kids {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, name := range names {
			k := n.kids[name]
			b.WriteString(strings.Repeat("\t", depth))
			if k.label != "" {
				b.WriteString(k.label + ": ")
			}
			b.WriteString(name + " {\n")
			write(k, depth+1)
			b.WriteString(strings.Repeat("\t", depth) + "};\n")
		}
	}
	write(top, 1)
	b.WriteString("};\n/include/ \"heaps.dtsi\"\n")
	return b.String()
}

func checkDTS(t *testing.T, dtc, dir string, p *plan.Plan) {
	dtsi, err := dtbind.DTSI(p)
	if err != nil {
		return // refused with a message, as dts does
	}
	os.WriteFile(filepath.Join(dir, "heaps.dtsi"), dtsi, 0o644)
	os.WriteFile(filepath.Join(dir, "base.dts"), []byte(baseTree(p)), 0o644)
	blob := runTool(t, dir, nil, dtc, "-q", "-@", "-I", "dts", "-O", "dtb", "-o", "-", "base.dts")
	if ov, err := dtbind.Overlay(p); err == nil {
		runTool(t, dir, ov, dtc, "-q", "-@", "-I", "dts", "-O", "dtb", "-o", "-", "-")
	}
	// Import the compiled tree: its YAML must load back, and say the same heap names.
	imp, err := dtbind.Import(blob, dtbind.ImportOptions{Source: "fuzz.dtb"})
	if err != nil {
		t.Fatalf("import of the compiled .dtsi: %v", err)
	}
	ypath := filepath.Join(dir, "imported.yaml")
	os.WriteFile(ypath, imp.YAML(), 0o644)
	back, findings, err := board.Load(ypath, board.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		if f.Severity == diag.Error && (f.Rule == "syntax" || f.Rule == "schema") {
			t.Fatalf("imported YAML does not read back: %v\n%s", f, imp.YAML())
		}
	}
	if back != nil {
		var want, got []string
		for _, h := range p.Heaps {
			if h.Provider == provision.ProviderDtheap {
				want = append(want, h.Name)
			}
		}
		for _, pl := range back.Pools {
			if pl.Heap != "" {
				got = append(got, pl.Heap)
			}
		}
		sort.Strings(want)
		sort.Strings(got)
		if strings.Join(want, "\x00") != strings.Join(got, "\x00") {
			t.Fatalf("heaps %q came back from import as %q", want, got)
		}
	}
}

func checkC(t *testing.T, gcc, dir string, p *plan.Plan) {
	files, err := kernel.Generate(p, kernel.Options{})
	if err != nil {
		return
	}
	for _, f := range files {
		switch f.Name {
		case "dtheap_board.c":
			os.WriteFile(filepath.Join(dir, "dtheap.h"), []byte(hostile.KernelStubHeader), 0o644)
			os.WriteFile(filepath.Join(dir, "dtheap_board.c"), f.Data, 0o644)
			runTool(t, dir, nil, gcc, "-std=gnu11", "-Werror", "-Wall", "-Wcomment", "-fsyntax-only", "dtheap_board.c")
		case "README", "dtheap.config":
			for i, c := range f.Data {
				if c < 0x20 && c != '\n' || c == 0x7f {
					t.Fatalf("%s has control byte 0x%02x at %d", f.Name, c, i)
				}
			}
		}
	}
}

func checkManifest(t *testing.T, p *plan.Plan) {
	b, err := provision.FromPlan(p).MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := manifest.Decode(bytes.NewReader(b)); err != nil {
		t.Fatalf("the checker refuses the manifest of a board without errors: %v\n%s", err, b)
	}
}
