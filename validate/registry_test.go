package validate

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/internal/golden"
)

var ruleID = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// TestRegistry holds every entry of the one rule table to what a rule must have: a stable,
// unique ID, a severity, a one-line doc, something that judges it (a check function, or the
// tree reader for a Tree rule) and only prerequisites Check knows. That each rule fires on a
// corpus board or tree and can be silenced is TestRuleCorpus's and TestSilenceEveryRule's.
func TestRegistry(t *testing.T) {
	if len(Rules) < 40 {
		t.Fatalf("only %d rules registered", len(Rules))
	}
	seen := map[string]bool{}
	for _, r := range Rules {
		if !ruleID.MatchString(r.ID) {
			t.Errorf("rule ID %q is not lower-case words joined by -", r.ID)
		}
		if seen[r.ID] {
			t.Errorf("rule %s registered twice", r.ID)
		}
		seen[r.ID] = true
		if r.Severity != diag.Info && r.Severity != diag.Warning && r.Severity != diag.Error {
			t.Errorf("rule %s: severity %v", r.ID, r.Severity)
		}
		if len(r.Doc) < 20 || strings.ContainsAny(r.Doc, "\n\t") {
			t.Errorf("rule %s: doc %q is not one line of explanation", r.ID, r.Doc)
		}
		if r.check == nil && !r.Tree {
			t.Errorf("rule %s has no check function and is not a tree rule: nothing judges it", r.ID)
		}
		for _, n := range r.Needs {
			if n != NeedDRAM && n != NeedPlacement {
				t.Errorf("rule %s needs %q, which Check does not know", r.ID, n)
			}
		}
		if got, ok := Lookup(r.ID); !ok || got.ID != r.ID {
			t.Errorf("Lookup(%q) = %v, %v", r.ID, got.ID, ok)
		}
	}
	if _, ok := Lookup("no-such-rule"); ok {
		t.Error("Lookup found a rule that does not exist")
	}
}

// TestReportOutsideRule: report belongs to the rule running; a call outside one is a
// programming error that must not pass silently.
func TestReportOutsideRule(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("report outside a rule did not panic")
		}
	}()
	(&Context{}).report(nil, diag.Pos{}, "", "x")
}

// TestCatalogDoc keeps RULES.md, the catalog's documentation, generated from the table.
func TestCatalogDoc(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteCatalogMarkdown(&buf); err != nil {
		t.Fatal(err)
	}
	for _, r := range Rules {
		if !strings.Contains(buf.String(), "| `"+r.ID+"` |") {
			t.Errorf("rule %s missing from the Markdown catalog", r.ID)
		}
	}
	golden.Check(t, filepath.Join("..", "RULES.md"), buf.Bytes())
}
