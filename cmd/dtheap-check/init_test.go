package main

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestPackageInitIsCheap: the checker runs as /init, where package initialisation is paid on
// every boot and is slow under TCG (BENCHMARKS.md "Boot check": compiling the doctor's and
// kmodel's regexps at init took about 30 ms of a boot). No dtheap package in the binary may
// do real work at init: each may allocate at most 2 KiB there (one small regexp is more).
// The test binary links the same packages; GODEBUG=inittrace=1 reports each one's init.
func TestPackageInitIsCheap(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	line := regexp.MustCompile(`(?m)^init (github\.com/dtheap/dtheap/\S+) @.* (\d+) bytes, (\d+) allocs$`)
	seen := map[string]bool{}
	for _, m := range line.FindAllStringSubmatch(string(out), -1) {
		seen[m[1]] = true
		if b, _ := strconv.Atoi(m[2]); b > 2048 {
			t.Errorf("%s allocates %s bytes (%s allocs) at init: make it lazy", m[1], m[2], m[3])
		}
	}
	// Packages with an init must be in the trace, or the test proves nothing. (The doctor has
	// none left: its log patterns are logmatch.New values the compiler lays out statically.)
	for _, p := range []string{"kmodel", "provision/check"} {
		if !seen["github.com/dtheap/dtheap/"+p] {
			t.Errorf("no init trace for %s in:\n%s", p, strings.TrimSpace(string(out)))
		}
	}
}
