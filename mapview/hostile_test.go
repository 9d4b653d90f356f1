package mapview

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/internal/escape"
	"github.com/dtheap/dtheap/internal/hostile"
	"github.com/dtheap/dtheap/pipeline"
	"github.com/dtheap/dtheap/plan"
)

// svgShape and htmlShape parse a generated document, failing the test if it does not parse.
func svgShape(t *testing.T, doc []byte) hostile.Markup {
	t.Helper()
	m, err := hostile.SVGMarkup(doc)
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	return m
}

func htmlShape(t *testing.T, doc []byte) hostile.Markup {
	t.Helper()
	m, err := hostile.HTMLMarkup(doc)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// allowedShape is what the reference boards' maps use: a hostile map may use no other element
// or attribute.
func allowedShape(t *testing.T) (svg, page map[string]bool) {
	t.Helper()
	var plans []*plan.Plan
	for _, b := range referenceBoards(t) {
		plans = append(plans, load(t, b))
	}
	// The same layout as the hostile boards, with plain names.
	plain := hostileMapBoard(t, "plain.yaml", "plain", "plain", []string{"h0", "h1"})
	svg, page = map[string]bool{}, map[string]bool{}
	for _, p := range append(plans, plain) {
		for _, n := range names(svgShape(t, SVG([]*plan.Plan{p}))) {
			svg[n] = true
		}
		for _, n := range names(htmlShape(t, HTML([]*plan.Plan{p}))) {
			page[n] = true
		}
	}
	return svg, page
}

// names are a document's element names and element:attribute pairs.
func names(m hostile.Markup) []string {
	var out []string
	for n := range m.Elements {
		out = append(out, n)
	}
	for n := range m.Attributes {
		out = append(out, n)
	}
	return out
}

func extra(got hostile.Markup, allowed map[string]bool) []string {
	var out []string
	for _, n := range names(got) {
		if !allowed[n] {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func hostileMapBoard(t *testing.T, file, boardName, desc string, heaps []string) *plan.Plan {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "board: %s\ndescription: %s\narch: arm64\nmemory: [{name: dram, base: 0x40000000, size: 1GiB}]\npools:\n", escape.YAMLScalar(boardName), escape.YAMLScalar(desc))
	for i, h := range heaps {
		fmt.Fprintf(&b, "  - {name: p%d, kind: carveout, base: 0x%x, size: 16MiB, heap: %s}\n", i, 0x50000000+i*0x1000000, escape.YAMLScalar(h))
	}
	// One finding at least, so the findings list is drawn too (overlap with p0).
	b.WriteString("  - {name: clash, kind: reserved, base: 0x50000000, size: 1MiB}\n")
	path := filepath.Join(t.TempDir(), file)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := pipeline.Load(path, pipeline.Options{})
	if err != nil || res.Plan == nil {
		t.Fatalf("%v %v", err, res.Findings)
	}
	return res.Plan
}

func checkHostileMap(t *testing.T, allowedSVG, allowedHTML map[string]bool, p *plan.Plan) {
	t.Helper()
	svg := SVG([]*plan.Plan{p})
	s := svgShape(t, svg)
	if x := extra(s, allowedSVG); len(x) > 0 || s.Comments != 1 {
		t.Fatalf("board %q: the SVG has elements/attributes %v that were not generated, %d comments\n%s", p.Board, x, s.Comments, svg)
	}
	page := HTML([]*plan.Plan{p})
	h := htmlShape(t, page)
	if x := extra(h, allowedHTML); len(x) > 0 || h.Comments != 1 {
		t.Fatalf("board %q: the HTML has elements/attributes %v that were not generated, %d comments\n%s", p.Board, x, h.Comments, page)
	}
	// The board's name is still shown as text (escaped, not dropped).
	want := escape.Line(p.Board)
	if !strings.Contains(strings.Join(h.Texts, ""), strings.ToValidUTF8(want, "\ufffd")) && utf8Printable(p.Board) {
		t.Fatalf("board name %q is not in the page's text", p.Board)
	}
}

func utf8Printable(s string) bool { return escape.Line(s) == s }

// TestHTMLCommentInjection is issue 16's case: a board file named so that it ends the
// generated-by comment of the "script-free" report and adds a live <img onerror>.
func TestHTMLCommentInjection(t *testing.T) {
	svg, page := allowedShape(t)
	for _, file := range []string{"x---><img src=x onerror=alert(1)>.yaml", "x--!><img src=x onerror=alert(1)>.yaml", "-->.yaml", "x-.yaml"} {
		p := hostileMapBoard(t, file, "qemu", "d", []string{"video"})
		checkHostileMap(t, svg, page, p)
	}
	p := hostileMapBoard(t, "b.yaml", `<img src=x onerror=alert(1)>`, "<script>alert(1)</script>\nline two", []string{`"><img src=x onerror=alert(1)>`})
	checkHostileMap(t, svg, page, p)
}

// TestMapHostile is the property test of the SVG map and the HTML report: hostile board,
// file, description and heap names never add an element, an attribute or a comment.
func TestMapHostile(t *testing.T) {
	svg, page := allowedShape(t)
	rng := rand.New(rand.NewSource(1618))
	for i := 0; i < 25; i++ {
		file := strings.ReplaceAll(hostile.String(rng, hostile.Printable, 3), "/", "_") + ".yaml"
		var heaps []string
		seen := map[string]bool{"system": true}
		for len(heaps) < 2 {
			h := strings.ReplaceAll(hostile.String(rng, hostile.Printable, 3), "/", "_")
			if len(h) <= 64 && h != "." && h != ".." && !seen[h] {
				seen[h] = true
				heaps = append(heaps, h)
			}
		}
		p := hostileMapBoard(t, file, hostile.String(rng, hostile.Printable, 5), hostile.String(rng, append(hostile.Printable, "\n", "\t"), 6), heaps)
		checkHostileMap(t, svg, page, p)
	}
}
