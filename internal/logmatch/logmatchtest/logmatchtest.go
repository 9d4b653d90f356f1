// Package logmatchtest holds logmatch patterns to the regexps they replace, for tests only: it
// imports package regexp, which the boot checker must not link.
package logmatchtest

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/dtheap/dtheap/internal/logmatch"
)

// Mismatch returns a description of the first input on which p and the regexp re disagree
// (Find against FindStringSubmatch), or "" when they agree on all of inputs and on the
// variants Variants makes of each.
func Mismatch(p *logmatch.Pattern, re string, inputs []string) string {
	r := regexp.MustCompile(re)
	for _, in := range inputs {
		for _, v := range Variants(in) {
			got, want := p.Find(v), r.FindStringSubmatch(v)
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
				return fmt.Sprintf("pattern %q, regexp %q, input %q:\n  logmatch %q\n  regexp   %q", p, re, v, got, want)
			}
		}
	}
	return ""
}

// Variants returns s and edits of it that move it across the edges of a pattern: bytes
// dropped, doubled or replaced one at a time, a timestamp, spaces and text around it, and
// case changes.
func Variants(s string) []string {
	out := []string{s, "", s + " ", " " + s, "[    0.000000] " + s, "x" + s, s + "x", s + s,
		strings.ToUpper(s), strings.ToLower(s), s + "\n" + s, strings.ReplaceAll(s, " ", "  ")}
	repl := []string{"", " ", "'", "x", "0", "A", ",", "(", "\t", "é", "\xff"}
	for i := 0; i < len(s); i++ {
		out = append(out, s[:i]+s[i+1:], s[:i]+s[i:i+1]+s[i:])
		for _, r := range repl {
			out = append(out, s[:i]+r+s[i+1:])
		}
	}
	return out
}
