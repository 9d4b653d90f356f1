package check

import (
	"regexp"
	"strings"
)

var (
	selftestOK   = regexp.MustCompile(`(?m)\bOK\s*$`)
	selftestFail = regexp.MustCompile(`\bFAIL \(`)
)

// ParseSelftest counts the passed and failed sub-tests in the output of the 6.1 kernel selftest
// tools/testing/selftests/dmabuf-heaps/dmabuf-heap.c, which prints "...:  OK" or "FAIL (why)".
func ParseSelftest(out string) (ok, failed int) {
	return len(selftestOK.FindAllString(out, -1)), len(selftestFail.FindAllString(out, -1))
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
