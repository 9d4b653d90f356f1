package dtbind

import (
	"testing"

	"github.com/dtheap/dtheap/validate"
)

// validateJudged are the tree rules the validate package judges on the board a tree becomes
// (a carveout heap's mapping against the region's no-map), not the tree reader.
var validateJudged = map[string]bool{"carveout-cached": true, "carveout-wc-mapped": true}

// TestTreeRuleTables: every step of rootRules and nodeRules is a tree rule of the validate
// catalog, registered once, and every tree rule of the catalog is judged here or by validate.
func TestTreeRuleTables(t *testing.T) {
	here := map[string]bool{}
	add := func(id string) {
		if here[id] {
			t.Errorf("rule %s registered twice", id)
		}
		here[id] = true
		if r, ok := validate.Lookup(id); !ok || !r.Tree {
			t.Errorf("rule %s is not a tree rule of the validate catalog", id)
		}
	}
	for _, r := range rootRules {
		add(r.rule)
	}
	for _, st := range nodeRules {
		if st.rule != "" {
			add(st.rule)
		}
	}
	for _, r := range validate.Rules {
		if r.Tree && !here[r.ID] && !validateJudged[r.ID] {
			t.Errorf("tree rule %s is judged nowhere", r.ID)
		}
		if validateJudged[r.ID] && here[r.ID] {
			t.Errorf("tree rule %s judged twice", r.ID)
		}
	}
}
