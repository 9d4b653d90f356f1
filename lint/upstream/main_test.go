package main

import (
	"regexp"
	"testing"

	"github.com/dtheap/dtheap/diag"
)

// TestAllowList: every committed entry parses and cites the kernel source line (file.c:LINE)
// that proves the loss; matching needs version, tree, rule and node alike.
func TestAllowList(t *testing.T) {
	allow, err := readAllow("allow.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(allow) == 0 {
		t.Fatal("allow.txt has no entries")
	}
	cite := regexp.MustCompile(`[a-z_/]+\.[ch]:[0-9]+`)
	for _, a := range allow {
		if !cite.MatchString(a.why) {
			t.Errorf("%s %s %s: the reason cites no kernel source line: %q", a.version, a.tree, a.rule, a.why)
		}
	}
	a := allow[0]
	f := diag.Finding{Rule: a.rule, Pos: diag.Pos{Node: a.node}}
	if match(allow, a.version, a.tree, f) == nil {
		t.Error("an entry does not match its own finding")
	}
	f.Pos.Node += "x"
	if match(allow, a.version, a.tree, f) != nil {
		t.Error("an entry matches another node")
	}
	if match(allow, "0.0", a.tree, diag.Finding{Rule: a.rule, Pos: diag.Pos{Node: a.node}}) != nil {
		t.Error("an entry matches another kernel version")
	}
}
