// Package diag holds positioned findings about a board: what is wrong, where (file, line,
// column), under which rule, and how to fix it. It prints them the way dtc and go/scanner do,
// `file:line:col: severity[RULE]: message`, or as JSON for tools.
package diag

import (
	"github.com/dtheap/dtheap/internal/escape"

	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Pos is a place in a board file or a devicetree. Line and Col are 1-based; 0 means unknown.
// Node is the devicetree node path a finding about a tree concerns ("/reserved-memory/x@0"):
// a compiled .dtb has no lines, and in source it says which node the line belongs to.
type Pos struct {
	File string
	Line int
	Col  int
	Node string
}

func (p Pos) String() string {
	switch {
	case p.File == "":
		return "-"
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// IsValid reports whether the position names a file.
func (p Pos) IsValid() bool { return p.File != "" }

// Severity of a finding.
type Severity int

// Severities, in increasing order of gravity.
const (
	Info Severity = iota
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	}
	return "error"
}

// MarshalText makes severities readable in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ParseSeverity reads "info", "warning" or "error".
func ParseSeverity(s string) (Severity, error) {
	switch s {
	case "info":
		return Info, nil
	case "warning":
		return Warning, nil
	case "error":
		return Error, nil
	}
	return 0, fmt.Errorf("unknown severity %q (want info, warning or error)", s)
}

// Finding is one diagnostic.
type Finding struct {
	Pos      Pos
	Severity Severity
	Rule     string // stable rule ID, e.g. "overlap"; "syntax"/"schema" for load errors
	Message  string
	Hint     string // how to fix it; may be empty
	// Related points at the other party of a two-sided finding (e.g. the other region of an
	// overlap), so an editor can jump there.
	Related []Pos
}

func (f Finding) String() string {
	// Each part is one line (escape.Line): a file name or a message quoting a name cannot
	// forge another finding.
	s := escape.Line(fmt.Sprintf("%s: %s[%s]: %s", f.Pos, f.Severity, f.Rule, f.Message))
	if f.Pos.Node != "" {
		s = escape.Line(fmt.Sprintf("%s: %s[%s]: %s: %s", f.Pos, f.Severity, f.Rule, f.Pos.Node, f.Message))
	}
	if f.Hint != "" {
		s += "\n\thint: " + escape.Line(f.Hint)
	}
	for _, r := range f.Related {
		s += "\n\tsee: " + escape.Line(r.String())
	}
	return s
}

// Error lets a Finding be returned as an error.
func (f Finding) Error() string { return f.String() }

// List is a set of findings; it is an error when non-empty (like go/scanner.ErrorList).
type List []Finding

func (l List) Error() string {
	switch len(l) {
	case 0:
		return "no findings"
	case 1:
		return l[0].String()
	}
	return fmt.Sprintf("%s (and %d more)", l[0], len(l)-1)
}

// Err returns nil for an empty list, the list otherwise.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Sort orders findings by file, line, column, rule and message, so output is deterministic.
func (l List) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Col != b.Pos.Col {
			return a.Pos.Col < b.Pos.Col
		}
		if a.Pos.Node != b.Pos.Node {
			return a.Pos.Node < b.Pos.Node
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Message < b.Message
	})
}

// Count returns how many findings have at least the given severity.
func (l List) Count(min Severity) int {
	n := 0
	for _, f := range l {
		if f.Severity >= min {
			n++
		}
	}
	return n
}

// WriteText prints one finding per block, in the dtc/go style.
func (l List) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, f := range l {
		b.WriteString(f.String())
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// jsonFinding is the stable JSON shape of a finding.
type jsonFinding struct {
	Rule     string   `json:"rule"`
	Severity string   `json:"severity"`
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Column   int      `json:"column"`
	Node     string   `json:"node,omitempty"`
	Message  string   `json:"message"`
	Hint     string   `json:"hint,omitempty"`
	Related  []string `json:"related,omitempty"`
}

// JSON returns the findings in their stable JSON shape.
func (l List) JSON() []any {
	out := make([]any, 0, len(l))
	for _, f := range l {
		jf := jsonFinding{Rule: f.Rule, Severity: f.Severity.String(), File: f.Pos.File,
			Line: f.Pos.Line, Column: f.Pos.Col, Node: f.Pos.Node, Message: f.Message, Hint: f.Hint}
		for _, r := range f.Related {
			jf.Related = append(jf.Related, r.String())
		}
		out = append(out, jf)
	}
	return out
}

// WriteJSON prints the findings as a JSON array, one object per finding.
func (l List) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(l.JSON())
}
