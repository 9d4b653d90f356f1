package check

import (
	"strconv"
	"strings"

	"github.com/dtheap/dtheap/internal/logmatch"
)

// The selftest's output is read line by line without package regexp, which the boot
// checker must not link (internal/logmatch says why); selftest_test.go holds every reader
// here to the regexp it replaced:
//
//	6.1's printf results:  (?m)\bOK\s*$  and  \bFAIL \(
//	TAP, as kselftest.h prints it (6.12 and 7.3 dmabuf-heap.c use it): ksft_test_result_pass
//	"ok N name", ksft_test_result_fail "not ok N name", ksft_test_result_skip "ok N # SKIP
//	why", ksft_print_cnts "# Totals: pass:P fail:F xfail:X xpass:Y skip:S error:E",
//	ksft_exit_fail_msg "Bail out! why":
//	  header  (?m)^(TAP version \d+|1\.\.\d+)\s*$
//	  result  (?m)^(not )?ok \d+\b(.*)$
//	  totals  (?m)^# Totals: pass:(\d+) fail:(\d+) xfail:(\d+) xpass:(\d+) skip:(\d+) error:(\d+)
//	  bail    (?m)^Bail out!

// wordBefore reports whether s[i-1] is a word byte: no \b before s[i] then.
func wordBefore(s string, i int) bool { return i > 0 && logmatch.IsWord(s[i-1]) }

// countWords counts the places where word starts a word of out (no \b before it) and ends
// says yes to what follows it, given the index just past it.
func countWords(out, word string, ends func(k int) bool) int {
	n := 0
	for i := 0; ; i++ {
		j := strings.Index(out[i:], word)
		if j < 0 {
			return n
		}
		i += j
		if !wordBefore(out, i) && ends(i+len(word)) {
			n++
		}
	}
}

// countOK counts the OKs that end a line, spaces aside.
func countOK(out string) int {
	return countWords(out, "OK", func(k int) bool {
		for k < len(out) && out[k] != '\n' && logmatch.IsSpace(out[k]) {
			k++
		}
		return k == len(out) || out[k] == '\n'
	})
}

// countFAIL counts the words FAIL followed by " (".
func countFAIL(out string) int {
	return countWords(out, "FAIL (", func(int) bool { return true })
}

// digits returns the length of the run of decimal digits s starts with.
func digits(s string) int {
	n := 0
	for n < len(s) && '0' <= s[n] && s[n] <= '9' {
		n++
	}
	return n
}

// isTAPHeader: "TAP version N" or "1..N", then only spaces.
func isTAPHeader(line string) bool {
	rest, ok := strings.CutPrefix(line, "TAP version ")
	if !ok {
		rest, ok = strings.CutPrefix(line, "1..")
	}
	if !ok || digits(rest) == 0 {
		return false
	}
	for i := digits(rest); i < len(rest); i++ {
		if !logmatch.IsSpace(rest[i]) {
			return false
		}
	}
	return true
}

// tapResult reads "ok N rest" or "not ok N rest"; the number must end at a word edge.
func tapResult(line string) (not bool, rest string, ok bool) {
	body, not := strings.CutPrefix(line, "not ok ")
	if !not {
		if body, ok = strings.CutPrefix(line, "ok "); !ok {
			return false, "", false
		}
	}
	n := digits(body)
	if n == 0 || n < len(body) && logmatch.IsWord(body[n]) {
		return false, "", false
	}
	return not, body[n:], true
}

// tapTotals reads the six counts of a "# Totals:" line.
func tapTotals(line string) ([6]int, bool) {
	var c [6]int
	rest := line
	for i, key := range []string{"# Totals: pass:", " fail:", " xfail:", " xpass:", " skip:", " error:"} {
		var ok bool
		if rest, ok = strings.CutPrefix(rest, key); !ok {
			return c, false
		}
		n := digits(rest)
		if n == 0 {
			return c, false
		}
		c[i], _ = strconv.Atoi(rest[:n])
		rest = rest[n:]
	}
	return c, true
}

// SelftestCounts is what one run of the kernel's dmabuf-heap selftest reported.
type SelftestCounts struct {
	Pass, Fail, Skip int
	TAP              bool // the kselftest TAP format (6.12 and later), else 6.1's own text
}

// ParseSelftest counts the passed and failed sub-tests in the output of the kernel selftest
// tools/testing/selftests/dmabuf-heaps/dmabuf-heap.c; see ParseSelftestCounts.
func ParseSelftest(out string) (ok, failed int) {
	c := ParseSelftestCounts(out)
	return c.Pass, c.Fail
}

// ParseSelftestCounts reads both formats the selftest has had. 6.1 prints with printf
// "  Testing ...:  OK" or "FAIL (why)". 6.12 and 7.3 print TAP through kselftest.h; their
// "# FAIL (...)" lines are diagnostics (ksft_print_msg), not results, so TAP output is read
// as TAP only: the "# Totals:" line when it is there, else the "ok"/"not ok" lines. A skipped
// test (vgem missing for the import test) is neither a pass nor a failure; xfail counts as a
// pass, xpass and error as failures, "Bail out!" as one failure.
func ParseSelftestCounts(out string) SelftestCounts {
	lines := strings.Split(out, "\n")
	header, bail := false, false
	var totals [6]int
	hasTotals := false
	var c SelftestCounts
	results := 0
	for _, l := range lines {
		header = header || isTAPHeader(l)
		bail = bail || strings.HasPrefix(l, "Bail out!")
		if t, ok := tapTotals(l); ok {
			totals, hasTotals = t, true // the last one counts
		}
		not, rest, ok := tapResult(l)
		if !ok {
			continue
		}
		results++
		directive := strings.TrimSpace(rest)
		switch {
		case not:
			c.Fail++
		case strings.HasPrefix(directive, "# SKIP"):
			c.Skip++
		case strings.HasPrefix(directive, "# XPASS"):
			c.Fail++
		default:
			c.Pass++
		}
	}
	if !header && results == 0 && !hasTotals {
		return SelftestCounts{Pass: countOK(out), Fail: countFAIL(out)}
	}
	c.TAP = true
	if hasTotals {
		c.Pass, c.Fail, c.Skip = totals[0]+totals[2], totals[1]+totals[3]+totals[5], totals[4]
	}
	if bail {
		c.Fail++
	}
	return c
}

// mappableHeaps are the heaps the selftest may see: it mmaps every heap it finds, so an
// unmapped heap would fail it by design.
func mappableHeaps(hs []string, mappable func(string) bool) []string {
	var out []string
	for _, h := range hs {
		if mappable(h) {
			out = append(out, h)
		}
	}
	return out
}

// prefixLines prefixes every line of s, so selftest output is told apart on a shared console.
func prefixLines(prefix, s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix) + "\n"
}
