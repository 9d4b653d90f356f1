package board

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/internal/escape"
)

// value is a YAML value with the position of every part, so that every finding can point at
// the line and column (and file, across extends) a value came from.
type value struct {
	kind   valueKind
	pos    diag.Pos // the value itself
	keyPos diag.Pos // its key, when it is a mapping entry
	tag    string   // YAML tag of a scalar: !!str, !!int, !!bool, !!float, !!null
	text   string
	keys   []string // mapping keys in file order
	fields map[string]*value
	items  []*value
}

type valueKind int

const (
	scalarValue valueKind = iota
	mapValue
	listValue
)

// maxNodes bounds the number of values built from one file, aliases included, so that an
// alias bomb is an error, not an out-of-memory.
const maxNodes = 1 << 20

var intLikeRE = regexp.MustCompile(`^[0-9_]+$`)

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML parses a file into a value tree. Syntax errors, duplicate keys and alias bombs are
// findings with positions.
func parseYAML(file string, data []byte) (*value, diag.List) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, diag.List{yamlError(file, err)}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, diag.List{{Pos: diag.Pos{File: file, Line: 1, Col: 1}, Severity: diag.Error, Rule: "syntax",
			Message: "the file is empty", Hint: "start from a board in boards/, e.g. boards/qemu-virt-arm64.yaml"}}
	}
	// yaml.v3 keeps an alias as a pointer; the tree built here expands it. Aliases may add
	// no more than the document's own size plus a little, so an alias bomb (a few lines
	// expanding to billions of values) is a finding before it costs memory.
	b := &treeBuilder{file: file, limit: min(maxNodes, 2*countNodes(&doc)+aliasAllowance)}
	v := b.build(doc.Content[0], 0)
	return v, b.errs
}

func yamlError(file string, err error) diag.Finding {
	msg := err.Error()
	f := diag.Finding{Pos: diag.Pos{File: file}, Severity: diag.Error, Rule: "syntax", Message: msg}
	if te, ok := err.(*yaml.TypeError); ok && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		f.Pos.Line, _ = strconv.Atoi(m[1])
		if !isScannerProblem(m[2]) {
			// yaml.v3 prints the 0-based line of a parser (not scanner) error's mark.
			f.Pos.Line++
		}
		f.Message = "YAML syntax: " + m[2]
	} else {
		f.Message = "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")
	}
	if strings.Contains(msg, "found character that cannot start any token") {
		f.Hint = "YAML forbids tabs for indentation: indent with spaces"
	}
	return f
}

// isScannerProblem reports whether a yaml.v3 problem comes from its scanner, whose errors carry
// a 1-based line; every other (parser) problem carries the mark's 0-based line.
func isScannerProblem(problem string) bool {
	if strings.HasPrefix(problem, "exceeded max depth") {
		return true
	}
	for _, p := range scannerProblems {
		if problem == p {
			return true
		}
	}
	return false
}

// scannerProblems are the problem texts of yaml.v3's scanner (scannerc.go, v3.0.1).
var scannerProblems = []string{
	"block sequence entries are not allowed in this context",
	"could not find expected ':'",
	"could not find expected directive name",
	"did not find URI escaped octet",
	"did not find expected '!'",
	"did not find expected alphabetic or numeric character",
	"did not find expected comment or line break",
	"did not find expected digit or '.' character",
	"did not find expected hexdecimal number",
	"did not find expected tag URI",
	"did not find expected version number",
	"did not find expected whitespace or line break",
	"did not find expected whitespace",
	"did not find the expected '>'",
	"found a tab character that violates indentation",
	"found a tab character where an indentation space is expected",
	"found an incorrect leading UTF-8 octet",
	"found an incorrect trailing UTF-8 octet",
	"found an indentation indicator equal to 0",
	"found character that cannot start any token",
	"found extremely long version number",
	"found invalid Unicode character escape code",
	"found unexpected document indicator",
	"found unexpected end of stream",
	"found unexpected non-alphabetical character",
	"found unknown directive name",
	"found unknown escape character",
	"mapping keys are not allowed in this context",
	"mapping values are not allowed in this context",
}

type treeBuilder struct {
	file  string
	nodes int
	limit int // values the tree may hold, aliases expanded
	errs  diag.List
}

// aliasAllowance is how many values aliases may add beyond the document's own nodes.
const aliasAllowance = 10000

// countNodes counts the nodes written in the document, not following aliases.
func countNodes(n *yaml.Node) int {
	c := 1
	for _, k := range n.Content {
		c += countNodes(k)
	}
	return c
}

func (b *treeBuilder) pos(n *yaml.Node) diag.Pos {
	return diag.Pos{File: b.file, Line: n.Line, Col: n.Column}
}

func (b *treeBuilder) build(n *yaml.Node, depth int) *value {
	b.nodes++
	if b.nodes > b.limit || depth > 100 {
		if b.nodes == b.limit+1 || depth == 101 {
			b.errs = append(b.errs, diag.Finding{Pos: b.pos(n), Severity: diag.Error, Rule: "syntax",
				Message: fmt.Sprintf("document too large or too deeply nested: aliases expand to more than %d values, or nesting is deeper than 100", b.limit),
				Hint:    "a board file needs no aliases that expand recursively (an alias bomb): write the values out"})
		}
		return &value{kind: scalarValue, tag: "!!null", pos: b.pos(n)}
	}
	switch n.Kind {
	case yaml.AliasNode:
		v := b.build(n.Alias, depth+1)
		cp := *v
		cp.pos = b.pos(n)
		return &cp
	case yaml.MappingNode:
		v := &value{kind: mapValue, pos: b.pos(n), fields: map[string]*value{}}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				b.errs = append(b.errs, diag.Finding{Pos: b.pos(k), Severity: diag.Error, Rule: "syntax",
					Message: "YAML merge keys (<<) are not supported", Hint: "use extends: for a base file, or write the keys out"})
				continue
			}
			if k.Kind != yaml.ScalarNode {
				b.errs = append(b.errs, diag.Finding{Pos: b.pos(k), Severity: diag.Error, Rule: "syntax",
					Message: "mapping keys must be plain strings"})
				continue
			}
			if prev, dup := v.fields[k.Value]; dup {
				b.errs = append(b.errs, diag.Finding{Pos: b.pos(k), Severity: diag.Error, Rule: "syntax",
					Message: fmt.Sprintf("duplicate key %q (first at line %d)", k.Value, prev.keyPos.Line),
					Hint:    "remove one of them", Related: []diag.Pos{prev.keyPos}})
				continue
			}
			child := b.build(val, depth+1)
			child.keyPos = b.pos(k)
			v.keys = append(v.keys, k.Value)
			v.fields[k.Value] = child
		}
		return v
	case yaml.SequenceNode:
		v := &value{kind: listValue, pos: b.pos(n)}
		for _, c := range n.Content {
			v.items = append(v.items, b.build(c, depth+1))
		}
		return v
	case yaml.DocumentNode:
		if len(n.Content) > 0 {
			return b.build(n.Content[0], depth+1)
		}
	}
	return &value{kind: scalarValue, pos: b.pos(n), tag: n.ShortTag(), text: n.Value}
}

// get returns a mapping's field or nil.
func (v *value) get(key string) *value {
	if v == nil || v.kind != mapValue {
		return nil
	}
	return v.fields[key]
}

// toJSON converts the tree into plain JSON values for schema validation, recording where each
// JSON pointer location came from.
//
// With where nil nothing is recorded and no pointer is built: the schema check converts once
// without (the common case is a valid board, and 100,000 pools make 800,000 pointers) and
// again with, only to place the errors of a board that fails.
func (v *value) toJSON(ptr string, where map[string]*value) any {
	if where != nil {
		where[ptr] = v
	}
	switch v.kind {
	case mapValue:
		m := make(map[string]any, len(v.keys))
		for _, k := range v.keys {
			child := ""
			if where != nil {
				child = ptr + "/" + escapePtr(k)
			}
			m[k] = v.fields[k].toJSON(child, where)
		}
		return m
	case listValue:
		l := make([]any, len(v.items))
		for i, it := range v.items {
			child := ""
			if where != nil {
				child = ptr + "/" + strconv.Itoa(i)
			}
			l[i] = it.toJSON(child, where)
		}
		return l
	}
	switch v.tag {
	case "!!int":
		if n, ok := parseYAMLInt(v.text); ok {
			return json.Number(strconv.FormatUint(n, 10))
		}
		// Negative or out of range: keep it a number the schema refuses (minimum 0).
		return json.Number("-1")
	case "!!float":
		if _, ok := parseYAMLInt(v.text); !ok && intLikeRE.MatchString(v.text) {
			// An integer too large for 64 bits: let the decoder say so precisely.
			return v.text
		}
		if _, err := strconv.ParseFloat(v.text, 64); err == nil {
			return json.Number(v.text)
		}
		return v.text
	case "!!bool":
		return strings.EqualFold(v.text, "true")
	case "!!null":
		return nil
	}
	return v.text
}

func escapePtr(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// parseYAMLInt reads a non-negative YAML 1.2 integer (decimal, 0x, 0o, 0b, with _ separators).
func parseYAMLInt(s string) (uint64, bool) {
	s = strings.ReplaceAll(s, "_", "")
	base := 10
	switch {
	case strings.HasPrefix(s, "0x"), strings.HasPrefix(s, "0X"):
		base, s = 16, s[2:]
	case strings.HasPrefix(s, "0o"):
		base, s = 8, s[2:]
	case strings.HasPrefix(s, "0b"):
		base, s = 2, s[2:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	n, err := strconv.ParseUint(s, base, 64)
	return n, err == nil
}

// checkText refuses control characters (and line or paragraph separators) in every key and
// string of a file: names end up in C, devicetree source, YAML, HTML and on the boot console,
// where such a character could end a line or a comment and forge what follows. Free text
// (description:) may hold newlines and tabs, which every emitter escapes.
func checkText(v *value, key string) diag.List {
	var out diag.List
	var walk func(v *value, key string)
	walk = func(v *value, key string) {
		switch v.kind {
		case mapValue:
			for _, k := range v.keys {
				f := v.fields[k]
				if r, i := badRune(k, false); i >= 0 {
					out = append(out, textFinding(f.keyPos, "key", k, r, i))
				}
				walk(f, k)
			}
		case listValue:
			for _, it := range v.items {
				walk(it, key)
			}
		default:
			if r, i := badRune(v.text, key == "description"); i >= 0 {
				out = append(out, textFinding(v.pos, key, v.text, r, i))
			}
		}
	}
	walk(v, key)
	return out
}

// badRune returns the first control character, line or paragraph separator, or invalid UTF-8
// byte in s and its byte offset, or -1.
func badRune(s string, freeText bool) (rune, int) {
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			return rune(s[i]), i
		case freeText && (r == '\n' || r == '\t'):
		case unicode.IsControl(r), r == '\u2028', r == '\u2029':
			return r, i
		}
	}
	return 0, -1
}

func textFinding(pos diag.Pos, key, s string, r rune, i int) diag.Finding {
	what := fmt.Sprintf("control character U+%04X", r)
	if r == utf8.RuneError || r >= 0x80 && r < 0x100 && !utf8.ValidString(s) {
		what = fmt.Sprintf("byte 0x%02x that is not UTF-8", r)
	}
	if key == "" {
		key = "value"
	}
	return diag.Finding{Pos: pos, Severity: diag.Error, Rule: "schema",
		Message: fmt.Sprintf("%s %s has a %s at byte %d", key, escape.Quote(s), what, i+1),
		Hint:    "names and paths end up in C, devicetree, YAML, HTML and console output: use printable characters only (description: may also hold newlines and tabs)"}
}
