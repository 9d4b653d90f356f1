package check

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
)

var (
	selftestOK   = lazyRegexp(`(?m)\bOK\s*$`)
	selftestFail = lazyRegexp(`\bFAIL \(`)

	// TAP, as kselftest.h prints it (6.12 and 7.3 dmabuf-heap.c use it): ksft_test_result_pass
	// "ok N name", ksft_test_result_fail "not ok N name", ksft_test_result_skip "ok N # SKIP
	// why", ksft_print_cnts "# Totals: pass:P fail:F xfail:X xpass:Y skip:S error:E",
	// ksft_exit_fail_msg "Bail out! why".
	tapHeader = lazyRegexp(`(?m)^(TAP version \d+|1\.\.\d+)\s*$`)
	tapResult = lazyRegexp(`(?m)^(not )?ok \d+\b(.*)$`)
	tapTotals = lazyRegexp(`(?m)^# Totals: pass:(\d+) fail:(\d+) xfail:(\d+) xpass:(\d+) skip:(\d+) error:(\d+)`)
	tapBail   = lazyRegexp(`(?m)^Bail out!`)
)

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
	results := tapResult().FindAllStringSubmatch(out, -1)
	if !tapHeader().MatchString(out) && len(results) == 0 && !tapTotals().MatchString(out) {
		return SelftestCounts{Pass: len(selftestOK().FindAllString(out, -1)), Fail: len(selftestFail().FindAllString(out, -1))}
	}
	c := SelftestCounts{TAP: true}
	if m := tapTotals().FindAllStringSubmatch(out, -1); len(m) > 0 {
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
	if tapBail().MatchString(out) {
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

// lazyRegexp compiles expr on first use. The checker's package-level patterns are only needed
// on fallback paths (no debugfs) and for the selftest: compiled at package init, every boot
// would pay for them (compiling regexps is slow under TCG; BENCHMARKS.md "Boot check").
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
