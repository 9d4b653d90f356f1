package logmatch_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/internal/logmatch"
	"github.com/dtheap/dtheap/internal/logmatch/logmatchtest"
)

// shapes covers every kind of field, anchors, backtracking into a run and alternatives that
// share a prefix, each with the regexp it stands for.
var shapes = []struct{ pat, re string }{
	{"node {S}, id {S}", `node (\S+), id (\S+)`},
	{"a {d} b", `a (\d+) b`},
	{"at {x}..{x} ({d} KiB)", `at (0x[0-9a-f]+)\.\.(0x[0-9a-f]+) \((\d+) KiB\)`},
	{"base {X} size {X}", `base (0x[0-9a-fA-F]+) size (0x[0-9a-fA-F]+)`},
	{"heap {S}: {w} on {S} base", `heap (\S+): (\w+) on (\S+) base`},
	{"node '{q}'", `node '([^']+)'`},
	{"{nomap|map} {reusable|non-reusable} {S}$", `(nomap|map) (reusable|non-reusable) (\S+)$`},
	{"^{S} ({x}--{x}) overlaps with {S} (", `^(\S+) \((0x[0-9a-f]+)--(0x[0-9a-f]+)\) overlaps with (\S+) \(`},
	{"^# Totals: pass:{d} fail:{d}", `^# Totals: pass:(\d+) fail:(\d+)`},
	{"x{S}x$", `x(\S+)x$`},
	{"{a|ab}c", `(a|ab)c`},
	{"plain text", `plain text`},
	{"^plain$", `^plain$`},
}

var corpus = []string{
	"node foo@1, id shared-dma-pool", "node a,b, id c", "node , id x", "a 123 b", "a 12x b", "a  b",
	"OF: reserved mem: at 0x40000000..0x4fffffff (262144 KiB) nomap non-reusable dsp@40000000",
	"at 0x0..0x1 (1 KiB)", "at 0X0..0x1 (1 KiB)", "at 0x..0x1 (1 KiB)",
	"base 0xABCdef size 0x10", "base 0x size 0x1",
	"dtheap: heap video@60000000: cma on video@60000000 base 0x60000000 size 0x3000000",
	"failed to reserve memory for node 'dsp@70000000': base 0x70000000", "node ''", "node 'a'b'",
	"map reusable x", "nomap non-reusable y z", "mapx reusable x",
	"dsp (0x70000000--0x72ffffff) overlaps with secure (0x72000000--0x73ffffff)",
	"# Totals: pass:5 fail:0 xfail:0", "xax", "xaxx", "x x", "abc", "ac", "aabc",
	"plain text here", "plain", "",
}

func TestMatchesRegexp(t *testing.T) {
	for _, s := range shapes {
		p, err := logmatch.Compile(s.pat)
		if err != nil {
			t.Fatal(err)
		}
		if d := logmatchtest.Mismatch(p, s.re, corpus); d != "" {
			t.Error(d)
		}
	}
}

func TestFind(t *testing.T) {
	p := logmatch.New("node {S}, compatible id {S}")
	m := p.Find("[ 0.1] OF: reserved mem: initialized node dsp@70000000, compatible id shared-dma-pool")
	if len(m) != 3 || m[1] != "dsp@70000000" || m[2] != "shared-dma-pool" || !strings.HasPrefix(m[0], "node dsp") {
		t.Errorf("Find = %q", m)
	}
	// The run backs off to leave the comma for the literal, as regexp's \S+ does.
	if m := p.Find("node a,b,, compatible id c"); m == nil || m[1] != "a,b," {
		t.Errorf("Find with commas in the run = %q", m)
	}
	if p.Match("node , compatible id c") {
		t.Error("an empty run matched")
	}
}

func TestCompileErrors(t *testing.T) {
	for _, bad := range []string{"a {S", "{z}", "{a||b}", "{S}{d}", "{S}{a|b}"} {
		if _, err := logmatch.Compile(bad); err == nil {
			t.Errorf("Compile(%q) accepted a malformed pattern", bad)
		}
	}
}

func FuzzMatchesRegexp(f *testing.F) {
	for _, c := range corpus {
		f.Add(c)
	}
	type pair struct {
		p  *logmatch.Pattern
		re *regexp.Regexp
	}
	var pairs []pair
	for _, s := range shapes {
		pairs = append(pairs, pair{logmatch.New(s.pat), regexp.MustCompile(s.re)})
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, pr := range pairs {
			got, want := pr.p.Find(s), pr.re.FindStringSubmatch(s)
			if len(got) != len(want) {
				t.Fatalf("%q on %q: logmatch %q, regexp %q", pr.p, s, got, want)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%q on %q: logmatch %q, regexp %q", pr.p, s, got, want)
				}
			}
		}
	})
}
