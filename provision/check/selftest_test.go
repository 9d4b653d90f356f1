package check

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The selftest readers before they were written without package regexp, kept as the reference
// the line readers are held to.
var (
	refOK     = regexp.MustCompile(`(?m)\bOK\s*$`)
	refFail   = regexp.MustCompile(`\bFAIL \(`)
	refHeader = regexp.MustCompile(`(?m)^(TAP version \d+|1\.\.\d+)\s*$`)
	refResult = regexp.MustCompile(`(?m)^(not )?ok \d+\b(.*)$`)
	refTotals = regexp.MustCompile(`(?m)^# Totals: pass:(\d+) fail:(\d+) xfail:(\d+) xpass:(\d+) skip:(\d+) error:(\d+)`)
	refBail   = regexp.MustCompile(`(?m)^Bail out!`)
)

func refParseSelftestCounts(out string) SelftestCounts {
	results := refResult.FindAllStringSubmatch(out, -1)
	if !refHeader.MatchString(out) && len(results) == 0 && !refTotals.MatchString(out) {
		return SelftestCounts{Pass: len(refOK.FindAllString(out, -1)), Fail: len(refFail.FindAllString(out, -1))}
	}
	c := SelftestCounts{TAP: true}
	if m := refTotals.FindAllStringSubmatch(out, -1); len(m) > 0 {
		n := func(i int) int { v, _ := strconv.Atoi(m[len(m)-1][i]); return v }
		c.Pass, c.Fail, c.Skip = n(1)+n(3), n(2)+n(4)+n(6), n(5)
	} else {
		for _, r := range results {
			directive := strings.TrimSpace(r[2])
			switch {
			case r[1] != "":
				c.Fail++
			case strings.HasPrefix(directive, "# SKIP"):
				c.Skip++
			case strings.HasPrefix(directive, "# XPASS"):
				c.Fail++
			default:
				c.Pass++
			}
		}
	}
	if refBail.MatchString(out) {
		c.Fail++
	}
	return c
}

var selftestSamples = []string{
	"  Testing alloced 4k buffers are zeroed:  OK\n  Testing x:  FAIL (why)\n",
	"OK", "OK\n", "OK \r\n", "OK\v\n", "xOK\n", "_OK", "(OK)\n", "OKAY\n", "OK\n\nOK", "OK OK\n", "OKOK\n",
	"FAIL (", "xFAIL (", " FAIL (FAIL (", "FAIL(", "-FAIL (x",
	"TAP version 13\n1..44\nok 1 a\nnot ok 2 b\nok 3 # SKIP c\nok 4 # XPASS d\n# Totals: pass:1 fail:2 xfail:3 xpass:4 skip:5 error:6\n",
	"TAP version 13 \n", "TAP version \n", "1..5", "1..5x\n", " 1..5\n", "1..\n",
	"ok 1", "ok 12abc\n", "ok 1_\n", "ok 1-x\n", "ok x\n", "not ok 3\n", "not  ok 3\n", "ok 3\r\n", " ok 3\n",
	"# Totals: pass:1 fail:2 xfail:3 xpass:4 skip:5 error:6x\n# Totals: pass:9 fail:9 xfail:9 xpass:9 skip:9 error:9\n",
	"# Totals: pass:1 fail:2 xfail:3 xpass:4 skip:5 error:\n", "# Totals: pass:1 fail:2\n",
	"Bail out!\n", "x Bail out!\n", "ok 1\nBail out! y", "\n\n", "",
}

// TestSelftestReadersMatchTheRegexps holds ParseSelftestCounts to the regexp-based reader it
// replaced, on the samples, the TAP and printf tests' outputs and edits of each.
func TestSelftestReadersMatchTheRegexps(t *testing.T) {
	for _, s := range selftestSamples {
		for _, v := range selftestVariants(s) {
			if got, want := ParseSelftestCounts(v), refParseSelftestCounts(v); got != want {
				t.Errorf("ParseSelftestCounts(%q) = %+v, the regexps read %+v", v, got, want)
			}
		}
	}
}

func selftestVariants(s string) []string {
	out := []string{s, s + s, strings.ReplaceAll(s, "\n", "\r\n"), "x" + s, "\n" + s}
	for i := 0; i < len(s); i++ {
		out = append(out, s[:i]+s[i+1:], s[:i]+" "+s[i:], s[:i]+"\n"+s[i:], s[:i]+"1"+s[i+1:], s[:i]+"a"+s[i+1:])
	}
	return out
}

func FuzzSelftestReaders(f *testing.F) {
	for _, s := range selftestSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ParseSelftestCounts(s), refParseSelftestCounts(s); got != want {
			t.Fatalf("ParseSelftestCounts(%q) = %+v, the regexps read %+v", s, got, want)
		}
	})
}
