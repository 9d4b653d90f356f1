package dtbind

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	goldenfile "github.com/dtheap/dtheap/internal/golden"
	"github.com/dtheap/dtheap/pipeline"
	"github.com/dtheap/dtheap/plan"
	"github.com/u-root/u-root/pkg/dt"
)

// tool returns the path of an external program the tests need. A missing tool is a FAILURE,
// not a skip: CI installs them (.ci/run), and a silently skipped devicetree check is worse than
// none.
func tool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: apt-get install %s (the devicetree checks need it)", name, pkg)
	}
	return p
}

// run runs a command and returns stdout and stderr; a non-zero exit fails the test.
func run(t testing.TB, stdin []byte, name string, args ...string) (string, string) {
	t.Helper()
	c := exec.Command(name, args...)
	if stdin != nil {
		c.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, errb.String())
	}
	return out.String(), errb.String()
}

// repoRoot is the module root (tests run in dtbind/).
const repoRoot = ".."

// testPlan is one plan to test, with a name for golden files.
type testPlan struct {
	name string
	p    *plan.Plan
}

// testPlans returns the hand-built plans and every board in boards/ run through the pipeline.
func testPlans(t testing.TB) []testPlan {
	t.Helper()
	var out []testPlan
	hp := handPlans()
	var names []string
	for n := range hp {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, testPlan{"hand-" + n, hp[n]})
	}
	pattern := filepath.Join(repoRoot, "boards", "*.yaml")
	if g := os.Getenv("DTHEAP_TEST_BOARDS"); g != "" {
		pattern = g // e.g. to try one board while writing it
	}
	boards, _ := filepath.Glob(pattern)
	if len(boards) == 0 {
		t.Fatal("no boards/*.yaml found")
	}
	for _, b := range boards {
		out = append(out, testPlan{"board-" + strings.TrimSuffix(filepath.Base(b), ".yaml"), loadBoard(t, b)})
	}
	return out
}

// loadBoard loads a board file into a plan; error-level findings fail the test.
func loadBoard(t testing.TB, path string) *plan.Plan {
	t.Helper()
	res, err := pipeline.Load(path, pipeline.Options{})
	if err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	if res.HasErrors() || res.Plan == nil {
		var b bytes.Buffer
		res.Findings.WriteText(&b)
		t.Fatalf("%s has errors:\n%s", path, b.String())
	}
	// Golden output must not depend on where the test runs from.
	p := res.Plan
	for i, f := range p.Files {
		p.Files[i] = strings.TrimPrefix(filepath.ToSlash(f), "../")
	}
	return p
}

// golden compares got with testdata/golden/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", "golden", name), got)
}

// minimalBase is the smallest tree the plan's .dtsi can be included in: root cells, memory
// nodes, and the consumer devices (labelled for &label refs, nested for /path refs).
func minimalBase(p *plan.Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "/dts-v1/;\n\n/ {\n\t#address-cells = <%d>;\n\t#size-cells = <%d>;\n\tmodel = \"test %s\";\n\tcompatible = \"test,board\";\n",
		p.AddressCells, p.SizeCells, p.Board)
	cellsOf := func(v uint64, n int) string {
		cs, _ := toCells(v, n, "")
		var s []string
		for _, c := range cs {
			s = append(s, fmt.Sprintf("0x%x", c))
		}
		return strings.Join(s, " ")
	}
	for _, m := range p.Memory {
		fmt.Fprintf(&b, "\n\tmemory@%x {\n\t\tdevice_type = \"memory\";\n\t\treg = <%s %s>;\n\t};\n", m.Base, cellsOf(m.Base, p.AddressCells), cellsOf(m.Size, p.SizeCells))
	}
	// Path devices become a tree of nodes; every node with an address gets a reg in its
	// parent's cells so dtc has nothing to warn about.
	type tn struct {
		label    string
		children map[string]*tn
		order    []string
	}
	top := &tn{children: map[string]*tn{}}
	add := func(path []string, label string) {
		n := top
		for _, c := range path {
			k, ok := n.children[c]
			if !ok {
				k = &tn{children: map[string]*tn{}}
				n.children[c] = k
				n.order = append(n.order, c)
			}
			n = k
		}
		if label != "" {
			n.label = label
		}
	}
	for _, d := range p.Devices {
		if strings.HasPrefix(d.Ref, "&") {
			add([]string{strings.ReplaceAll(d.Ref[1:], "_", "-")}, d.Ref[1:])
		} else {
			add(strings.Split(strings.Trim(d.Ref, "/"), "/"), "")
		}
	}
	var write func(n *tn, depth, ac, sc int)
	write = func(n *tn, depth, ac, sc int) {
		for _, name := range n.order {
			c := n.children[name]
			ind := strings.Repeat("\t", depth)
			b.WriteString("\n" + ind)
			if c.label != "" {
				b.WriteString(c.label + ": ")
			}
			b.WriteString(name + " {\n")
			if i := strings.IndexByte(name, '@'); i >= 0 {
				var addr uint64
				fmt.Sscanf(name[i+1:], "%x", &addr)
				fmt.Fprintf(&b, "%s\treg = <%s %s>;\n", ind, cellsOf(addr, ac), cellsOf(0x1000, sc))
			}
			if len(c.order) > 0 {
				fmt.Fprintf(&b, "%s\t#address-cells = <1>;\n%s\t#size-cells = <1>;\n", ind, ind)
				write(c, depth+1, 1, 1)
			}
			b.WriteString(ind + "};\n")
		}
	}
	write(top, 1, p.AddressCells, p.SizeCells)
	b.WriteString("};\n")
	return b.String()
}

// compileDTS compiles source with dtc (-@ keeps labels in __symbols__), failing on any
// warning: the acceptance bar is "no warnings".
func compileDTS(t testing.TB, src string, files map[string][]byte, extra ...string) []byte {
	t.Helper()
	dtc := tool(t, "dtc", "device-tree-compiler")
	dir := t.TempDir()
	for n, d := range files {
		if err := os.WriteFile(filepath.Join(dir, n), d, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	in := filepath.Join(dir, "in.dts")
	os.WriteFile(in, []byte(src), 0o644)
	args := append([]string{"-@", "-I", "dts", "-O", "dtb", "-o", "-"}, extra...)
	args = append(args, in)
	out, stderr := run(t, nil, dtc, args...)
	if stderr != "" {
		t.Fatalf("dtc warned:\n%s\nsource:\n%s", stderr, src)
	}
	return []byte(out)
}

// decompile runs dtc -I dtb -O dts and returns the source (the "decompiles with dtc" check).
func decompile(t testing.TB, blob []byte) string {
	t.Helper()
	out, _ := run(t, blob, tool(t, "dtc", "device-tree-compiler"), "-I", "dtb", "-O", "dts", "-o", "-", "-")
	return out
}

// canon flattens a tree into "path: prop = value" lines, independent of property order and of
// phandle numbering: phandle properties are dropped and memory-region cells are replaced by the
// paths they point at.
// Overlay bookkeeping nodes (__symbols__, __fixups__, __local_fixups__) are left out.
func canon(t testing.TB, blob []byte) map[string][]string {
	t.Helper()
	f, err := readFDT(blob)
	if err != nil {
		t.Fatalf("reading tree: %v", err)
	}
	paths := map[uint32]string{}
	walkPaths(f.RootNode, "/", func(n *dt.Node, path string) {
		if ph := phandleOf(n); ph != 0 {
			paths[ph] = path
		}
	})
	out := map[string][]string{}
	walkPaths(f.RootNode, "/", func(n *dt.Node, path string) {
		if strings.Contains(path, "/__") {
			return
		}
		var lines []string
		for _, p := range n.Properties {
			switch p.Name {
			case "phandle", "linux,phandle":
				continue
			case "memory-region":
				cs, _ := cells(&p)
				var ts []string
				for _, c := range cs {
					ts = append(ts, paths[c])
				}
				lines = append(lines, p.Name+" -> "+strings.Join(ts, ", "))
				continue
			}
			lines = append(lines, fmt.Sprintf("%s = %q", p.Name, p.Value))
		}
		sort.Strings(lines)
		var kids []string
		for _, c := range n.Children {
			if !strings.HasPrefix(c.Name, "__") {
				kids = append(kids, c.Name)
			}
		}
		// Only the order of /reserved-memory children means anything (the kernel scans
		// them in order); elsewhere, e.g. where an overlay prepends, order is ignored.
		if path != "/reserved-memory" {
			sort.Strings(kids)
		}
		lines = append(lines, "children: "+strings.Join(kids, " "))
		out[path] = lines
	})
	return out
}

// changedPaths lists the paths whose canonical content differs between two trees.
func changedPaths(a, b map[string][]string) []string {
	var out []string
	for p, la := range a {
		if lb, ok := b[p]; !ok || strings.Join(la, "\n") != strings.Join(lb, "\n") {
			out = append(out, p)
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// schemaOnce builds the processed schema (6.1 reserved-memory bindings + ours) once per run.
var (
	schemaOnce sync.Once
	schemaPath string
	schemaErr  error
)

// processedSchema returns a dt-validate schema file. The 6.1 bindings come from
// $DTHEAP_LINUX_BINDINGS (a bindings/reserved-memory directory) or are extracted once from
// /usr/src/linux-source-6.1.tar.xz into the user cache directory.
func processedSchema(t testing.TB) string {
	t.Helper()
	mk := tool(t, "dt-mk-schema", "dt-schema")
	schemaOnce.Do(func() {
		dir, err := linuxBindings()
		if err != nil {
			schemaErr = err
			return
		}
		out, err := exec.Command(mk, "-j", dir, filepath.Join(repoRoot, "schemas", "bindings")).Output()
		if err != nil {
			schemaErr = fmt.Errorf("dt-mk-schema: %v", err)
			return
		}
		f, err := os.CreateTemp("", "dtheap-schema-*.json")
		if err != nil {
			schemaErr = err
			return
		}
		f.Write(out)
		f.Close()
		schemaPath = f.Name()
	})
	if schemaErr != nil {
		t.Fatal(schemaErr)
	}
	return schemaPath
}

func linuxBindings() (string, error) {
	if d := os.Getenv("DTHEAP_LINUX_BINDINGS"); d != "" {
		return d, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	const member = "linux-source-6.1/Documentation/devicetree/bindings/reserved-memory"
	dir := filepath.Join(cache, "dtheap", "linux-6.1-bindings")
	want := filepath.Join(dir, member)
	if _, err := os.Stat(filepath.Join(want, "shared-dma-pool.yaml")); err == nil {
		return want, nil
	}
	const tarball = "/usr/src/linux-source-6.1.tar.xz"
	if _, err := os.Stat(tarball); err != nil {
		return "", fmt.Errorf("need the Linux 6.1 reserved-memory bindings: apt-get install linux-source-6.1, or set DTHEAP_LINUX_BINDINGS to a bindings/reserved-memory directory")
	}
	// Extract into a temporary directory and rename, so an interrupted run leaves no half cache.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "extract-*")
	if err != nil {
		return "", err
	}
	if out, err := exec.Command("tar", "-xJf", tarball, "-C", tmp, "--wildcards", member+"/*").CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("extracting bindings from %s: %v\n%s", tarball, err, out)
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	return want, nil
}

// dtValidate runs dt-validate and returns its complaints, one string per complaint (it exits 0
// even when it has some). Complaints about nodes named in skip are dropped: those are regions
// with a compatible of their own (ramoops, ...) whose bindings want properties the board format
// does not carry, which dtheap cannot add.
func dtValidate(t testing.TB, blob []byte, skip map[string]bool) []string {
	t.Helper()
	v := tool(t, "dt-validate", "dt-schema")
	schema := processedSchema(t)
	f := filepath.Join(t.TempDir(), "tree.dtb")
	os.WriteFile(f, blob, 0o644)
	c := exec.Command(v, "-s", schema, f)
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	if err := c.Run(); err != nil {
		t.Fatalf("dt-validate: %v\n%s", err, out.String())
	}
	var msgs []string
	for _, l := range strings.Split(out.String(), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || strings.HasPrefix(l, "From schema:"):
		case strings.HasPrefix(l, f+": "):
			msgs = append(msgs, strings.TrimPrefix(l, f+": "))
		case len(msgs) > 0:
			msgs[len(msgs)-1] += "\n\t" + l
		default:
			msgs = append(msgs, l)
		}
	}
	var kept []string
	for _, m := range msgs {
		node, _, _ := strings.Cut(m, ":")
		if !skip[node] {
			kept = append(kept, m)
		}
	}
	return kept
}

// foreignCompat lists the node names of regions with a compatible other than shared-dma-pool.
func foreignCompat(p *plan.Plan) map[string]bool {
	m := map[string]bool{}
	for _, r := range p.Regions {
		if r.Emit && r.Compat != "" && r.Compat != "shared-dma-pool" {
			m[nodeName(r)] = true
		}
	}
	return m
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if schemaPath != "" {
		os.Remove(schemaPath)
	}
	os.Exit(code)
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
