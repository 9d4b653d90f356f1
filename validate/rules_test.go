package validate_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/internal/golden"
	"github.com/dtheap/dtheap/lint"
	"github.com/dtheap/dtheap/pipeline"
	"github.com/dtheap/dtheap/validate"
)

// alsoFires lists, per rule, the other error-level rules its corpus board cannot avoid, with
// the reason. Keep it short: every entry is a rule that cannot be tested alone.
var alsoFires = map[string][]string{
	// 6.1 allows 128 heaps including its system heap, so heap-count needs at least 127 pools
	// with heaps, and every pool is a /reserved-memory child: more than 64 of them.
	"heap-count": {"too-many-regions"},
}

// verbose lists the rules only reported with -v (validate.Options.Verbose).
var verbose = map[string]bool{"predicted-placement": true}

// TestRuleCorpus loads testdata/rules/<rule>.yaml for every rule in the catalog, compares the
// findings with testdata/rules/<rule>.golden (go test ./validate -update rewrites them), and
// checks that the rule fires and no other rule fires at error level.
func TestRuleCorpus(t *testing.T) {
	for _, r := range validate.Rules {
		t.Run(r.ID, func(t *testing.T) {
			board := filepath.Join("testdata", "rules", r.ID+".yaml")
			if validate.TreeOnly(r.ID) {
				board = filepath.Join("testdata", "rules", r.ID+".dts") // only a devicetree can break it
			}
			if _, err := os.Stat(board); err != nil {
				t.Fatalf("rule %s has no corpus board: add %s that breaks exactly this rule, and run go test ./validate -update", r.ID, board)
			}
			res, err := loadCorpus(board, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := res.Findings.WriteText(&buf); err != nil {
				t.Fatal(err)
			}
			compareGolden(t, filepath.Join("testdata", "rules", r.ID+".golden"), buf.Bytes())

			allowed := map[string]bool{r.ID: true}
			for _, id := range alsoFires[r.ID] {
				allowed[id] = true
			}
			fired := false
			for _, f := range res.Findings {
				if f.Rule == r.ID {
					fired = true
					if f.Severity != r.Severity {
						t.Errorf("finding %v has severity %v, the catalog says %v", f, f.Severity, r.Severity)
					}
				}
				if f.Severity == diag.Error && !allowed[f.Rule] {
					t.Errorf("corpus board for %s also breaks %s:\n%v", r.ID, f.Rule, f)
				}
			}
			if !fired {
				t.Errorf("rule %s did not fire on %s; findings:\n%s", r.ID, board, buf.String())
			}
			for _, id := range alsoFires[r.ID] {
				if !hasRule(res.Findings, id) {
					t.Errorf("alsoFires says %s fires with %s, but it did not: update alsoFires", id, r.ID)
				}
			}
		})
	}
}

// TestCorpusHasNoStrays keeps testdata/rules/ in step with the catalog: a corpus board for a
// rule that no longer exists is an error (rename or delete it with the rule).
func TestCorpusHasNoStrays(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "rules", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		id := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(filepath.Base(f), ".yaml"), ".golden"), ".dts")
		if _, ok := validate.Lookup(id); !ok {
			t.Errorf("%s: no rule %q in validate.Rules", f, id)
		}
	}
}

// TestVerboseOnly checks that predicted-placement is silent without -v.
func TestVerboseOnly(t *testing.T) {
	res, err := pipeline.Load(filepath.Join("testdata", "rules", "predicted-placement.yaml"), pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if hasRule(res.Findings, "predicted-placement") {
		t.Errorf("predicted-placement reported without Verbose:\n%v", res.Findings)
	}
}

// TestBoardsClean checks that every board in boards/ (and every SoC base in boards/socs/)
// validates without findings at warning level or above.
func TestBoardsClean(t *testing.T) {
	var boards []string
	for _, pat := range []string{"*.yaml", "socs/*.yaml"} {
		m, err := filepath.Glob(filepath.Join("..", "boards", pat))
		if err != nil {
			t.Fatal(err)
		}
		boards = append(boards, m...)
	}
	sort.Strings(boards)
	if len(boards) < 5 {
		t.Fatalf("found only %d boards in ../boards", len(boards))
	}
	for _, b := range boards {
		t.Run(filepath.Base(b), func(t *testing.T) {
			res, err := pipeline.Load(b, pipeline.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Plan == nil {
				t.Fatalf("%s did not load:\n%v", b, res.Findings)
			}
			for _, f := range res.Findings {
				if f.Severity >= diag.Warning {
					t.Errorf("%v", f)
				}
			}
		})
	}
}

// loadCorpus runs a corpus board through validate, or a corpus tree through dtheap lint.
func loadCorpus(path, id string) (*pipeline.Result, error) {
	if strings.HasSuffix(path, ".dts") {
		res, err := lint.Lint(path, lint.Options{})
		if err != nil {
			return nil, err
		}
		return &pipeline.Result{Findings: res.Findings}, nil
	}
	return pipeline.Load(path, pipeline.Options{Validate: validate.Options{Verbose: verbose[id]}})
}

func hasRule(l diag.List, id string) bool {
	for _, f := range l {
		if f.Rule == id {
			return true
		}
	}
	return false
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	golden.Check(t, path, got)
}
