// Package logmatch finds the fixed shapes of kernel log lines the doctor and the boot checker
// look for, without package regexp.
//
// dtheap-check runs as PID 1 under QEMU TCG, where every instruction the guest runs for the
// first time is translated first. Linking package regexp alone makes every start of the checker
// run regexp/syntax's and unicode's table initialisers (their Unicode class maps), about 7,000
// guest instructions before main that QEMU translates on each boot, although the checker only
// matches log lines when a check has failed (BENCHMARKS.md, "Boot check").
//
// A pattern is literal text with fields in braces:
//
//	{S}        one or more bytes other than space, \t, \n, \f, \r (regexp \S+)
//	{d}        one or more decimal digits (\d+)
//	{x}        0x and one or more lowercase hex digits (0x[0-9a-f]+)
//	{X}        0x and one or more hex digits of either case (0x[0-9a-fA-F]+)
//	{w}        one or more word bytes, [0-9A-Za-z_] (\w+)
//	{q}        one or more bytes other than ' ([^']+)
//	{a|b|c}    one of the alternatives, tried in that order ((a|b|c))
//
// Every field is captured. A leading ^ anchors the match at the start of the line, a trailing $
// at its end. Matching follows regexp's leftmost-first rules (what FindStringSubmatch returns):
// the leftmost start that matches; at each field the longest run first, then shorter ones, and
// the alternatives in order. The tests hold every pattern dtheap uses to the regexp it replaced.
package logmatch

import (
	"fmt"
	"strings"
	"sync"
)

// Pattern is a pattern, compiled on first use when made by New.
type Pattern struct {
	once         sync.Once
	src          string
	elems        []elem
	start, end   bool // anchored at ^ / $
	fields       int
	firstLiteral string // the literal the pattern starts with, to find start positions fast
}

// elem is a literal (class 0) or a field.
type elem struct {
	lit   string
	class byte     // 'S', 'd', 'x', 'X', 'w', 'q', or '|' for alternatives
	alts  []string // class '|'
}

// New returns the pattern src, compiled when it is first matched, so that a package-level
// pattern costs its program's start nothing; a malformed one panics there. Patterns are
// constants of the program, and its tests match every one.
func New(src string) *Pattern {
	return &Pattern{src: src}
}

// Compile compiles a pattern now (see the package documentation).
func Compile(src string) (*Pattern, error) {
	p := &Pattern{src: src}
	var err error
	p.once.Do(func() { err = p.compile() })
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Pattern) compile() error {
	src := p.src
	s := src
	if strings.HasPrefix(s, "^") {
		p.start, s = true, s[1:]
	}
	if strings.HasSuffix(s, "$") {
		p.end, s = true, s[:len(s)-1]
	}
	for s != "" {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			p.elems = append(p.elems, elem{lit: s})
			break
		}
		if i > 0 {
			p.elems = append(p.elems, elem{lit: s[:i]})
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return fmt.Errorf("logmatch: pattern %q: { without }", src)
		}
		f := s[i+1 : i+j]
		s = s[i+j+1:]
		switch {
		case len(f) == 1 && strings.Contains("SdxXwq", f):
			p.elems = append(p.elems, elem{class: f[0]})
		case strings.Contains(f, "|"):
			alts := strings.Split(f, "|")
			for _, a := range alts {
				if a == "" {
					return fmt.Errorf("logmatch: pattern %q: empty alternative in {%s}", src, f)
				}
			}
			p.elems = append(p.elems, elem{class: '|', alts: alts})
		default:
			return fmt.Errorf("logmatch: pattern %q: unknown field {%s}", src, f)
		}
		p.fields++
	}
	for k := 1; k < len(p.elems); k++ {
		if p.elems[k].class != 0 && p.elems[k-1].class != 0 && p.elems[k-1].class != '|' {
			// Two runs side by side would split a run between them in ways this matcher
			// does not enumerate; no pattern needs it.
			return fmt.Errorf("logmatch: pattern %q: a field right after a run field", src)
		}
	}
	if len(p.elems) > 0 && p.elems[0].class == 0 {
		p.firstLiteral = p.elems[0].lit
	}
	return nil
}

// String returns the pattern's source.
func (p *Pattern) String() string { return p.src }

// Match reports whether s contains a match.
func (p *Pattern) Match(s string) bool { return p.Find(s) != nil }

// Find returns the leftmost match in s as regexp's FindStringSubmatch does: the whole match,
// then each field; nil when there is none.
func (p *Pattern) Find(s string) []string {
	p.once.Do(func() {
		if err := p.compile(); err != nil {
			panic(err)
		}
	})
	caps := make([]int, 2*p.fields)
	for from := 0; from <= len(s); from++ {
		if p.firstLiteral != "" && !p.start {
			i := strings.Index(s[from:], p.firstLiteral)
			if i < 0 {
				return nil
			}
			from += i
		}
		if end, ok := p.matchAt(s, from, 0, caps); ok {
			m := make([]string, 1+p.fields)
			m[0] = s[from:end]
			for k := 0; k < p.fields; k++ {
				m[1+k] = s[caps[2*k]:caps[2*k+1]]
			}
			return m
		}
		if p.start {
			break
		}
	}
	return nil
}

// matchAt matches elems[k:] at s[i:], filling caps from field number fieldOf(k); it returns
// where the match ends.
func (p *Pattern) matchAt(s string, i, k int, caps []int) (int, bool) {
	if k == len(p.elems) {
		if p.end && i != len(s) {
			return 0, false
		}
		return i, true
	}
	e := p.elems[k]
	field := p.fieldIndex(k)
	switch e.class {
	case 0:
		if !strings.HasPrefix(s[i:], e.lit) {
			return 0, false
		}
		return p.matchAt(s, i+len(e.lit), k+1, caps)
	case '|':
		for _, a := range e.alts {
			if strings.HasPrefix(s[i:], a) {
				if end, ok := p.matchAt(s, i+len(a), k+1, caps); ok {
					caps[2*field], caps[2*field+1] = i, i+len(a)
					return end, true
				}
			}
		}
		return 0, false
	}
	body := i
	if e.class == 'x' || e.class == 'X' {
		if !strings.HasPrefix(s[i:], "0x") {
			return 0, false
		}
		body = i + 2
	}
	n := body
	for n < len(s) && inClass(e.class, s[n]) {
		n++
	}
	// Greedy: the longest run first, then shorter ones, as regexp's backtracking order.
	for j := n; j > body; j-- {
		if end, ok := p.matchAt(s, j, k+1, caps); ok {
			caps[2*field], caps[2*field+1] = i, j
			return end, true
		}
	}
	return 0, false
}

// fieldIndex is the capture number of elems[k] (a field).
func (p *Pattern) fieldIndex(k int) int {
	n := 0
	for _, e := range p.elems[:k] {
		if e.class != 0 {
			n++
		}
	}
	return n
}

func inClass(class, c byte) bool {
	switch class {
	case 'S':
		return !IsSpace(c)
	case 'd':
		return '0' <= c && c <= '9'
	case 'x':
		return '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
	case 'X':
		return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
	case 'w':
		return IsWord(c)
	case 'q':
		return c != '\''
	}
	return false
}

// IsSpace reports whether c is in regexp's \s: space, \t, \n, \f, \r (not \v).
func IsSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// IsWord reports whether c is in regexp's \w, whose edges \b finds.
func IsWord(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}
