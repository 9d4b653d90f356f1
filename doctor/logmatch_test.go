package doctor

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/internal/logmatch"
	"github.com/dtheap/dtheap/internal/logmatch/logmatchtest"
)

// logCorpus is every line of the recorded boots under testdata, and one of each line the
// doctor reads as the kernels print them.
func logCorpus(t *testing.T) []string {
	lines := []string{
		"[    0.000000] OF: reserved mem: 0x0000000070000000..0x0000000072ffffff (49152 KiB) nomap non-reusable dsp@70000000",
		"OF: reserved mem: 0x40000000..0x40ffffff (16384 KiB) map reusable linux,cma",
		"OF: reserved mem: initialized node video@60000000, compatible id shared-dma-pool",
		"OF: reserved mem: failed to allocate memory for node 'camera'",
		"OF: reserved mem: failed to reserve memory for node 'kern@40000000': base 0x40000000, size 16 MiB",
		"OF: reserved mem: node bad@50000000 compatible matching fail",
		"Reserved memory: bypass linux,cma node, using cmdline CMA params instead",
		`Skipping dt linux,cma-default node in favor for "cma=" kernel param`,
		"OF: reserved mem: OVERLAP DETECTED!",
		"a@60000000 (0x0000000060000000--0x0000000060ffffff) overlaps with b@60800000 (0x0000000060800000--0x00000000617fffff)",
		"[    0.000000] a@60000000 (0x60000000--0x60ffffff) overlaps with b (0x60800000--0x617fffff)",
		"OF: reserved mem: invalid alloc-ranges property in 'odd', skipping node.",
		"OF: reserved mem: invalid size property in 'x'",
		"Reserved memory: unsupported node format, ignoring",
		"OF: reserved mem: fdt_scan_reserved_mem_reg_nodes() ignores 1 regions in node 'multi@50000000'",
		"OF: reserved mem: Reserved memory: node 'multi@50000000' has 2 <base size> entries, only the first is used",
		"cma: CMA area split could not be activated",
	}
	files, _ := filepath.Glob("testdata/*/dmesg.txt")
	if len(files) == 0 {
		t.Fatal("no recorded boots under testdata")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.Split(string(b), "\n")...)
	}
	return lines
}

// TestLogPatternsMatchTheRegexps holds each pattern to the regexp the doctor used before
// logmatch, on the recorded boots and on edits of every line (logmatchtest.Variants).
func TestLogPatternsMatchTheRegexps(t *testing.T) {
	corpus := logCorpus(t)
	// Only the lines some pattern could match get every edit; the rest are checked as they are.
	var near, far []string
	for _, l := range corpus {
		if strings.Contains(l, "reserved mem") || strings.Contains(l, "Reserved memory") || strings.Contains(l, "overlaps") ||
			strings.Contains(l, "cma") || strings.Contains(l, "node") {
			near = append(near, l)
		} else {
			far = append(far, l)
		}
	}
	for _, c := range []struct {
		p  *logmatch.Pattern
		re string
	}{
		{setup612, `OF: reserved mem: (0x[0-9a-f]+)\.\.(0x[0-9a-f]+) \((\d+) KiB\) (nomap|map) (reusable|non-reusable) (\S+)$`},
		{initNode, `OF: reserved mem: initialized node (\S+), compatible id (\S+)`},
		{allocFail, `failed to allocate memory for node '([^']+)'`},
		{resvFail, `failed to reserve memory for node '([^']+)'`},
		{matchFail, `OF: reserved mem: node (\S+) compatible matching fail`},
		{bypass, `Reserved memory: bypass (\S+) node, using cmdline CMA params instead`},
		{skipDef, `Skipping dt linux,cma-default node in favor for "cma=" kernel param`},
		{badProp, `invalid (size|alignment|alloc-ranges|reg) property in '([^']+)'`},
		{unsupp, `Reserved memory: unsupported node format, ignoring`},
		{regIgnored, `fdt_scan_reserved_mem_reg_nodes\(\) ignores (\d+) regions in node '([^']+)'`},
		{regFirst, `Reserved memory: node '([^']+)' has (\d+) <base size> entries, only the first is used`},
		{cmaActFail, `cma: CMA area (\S+) could not be activated`},
	} {
		if d := logmatchtest.Mismatch(c.p, c.re, near); d != "" {
			t.Error(d)
		}
		re := regexp.MustCompile(c.re)
		for _, l := range far {
			if got, want := c.p.Find(l), re.FindStringSubmatch(l); fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
				t.Errorf("%q on %q: logmatch %q, regexp %q", c.p, l, got, want)
			}
		}
	}
	// The overlap line's optional time stamp: the fields must be the regexp's (the whole
	// match differs by the stamp, and nothing reads it).
	re := regexp.MustCompile(`^(?:\[[^\]]*\]\s*)?(\S+) \((0x[0-9a-f]+)--(0x[0-9a-f]+)\) overlaps with (\S+) \(`)
	for _, l := range near {
		for _, v := range logmatchtest.Variants(l) {
			got, want := findOverlapped(v), re.FindStringSubmatch(v)
			if (got == nil) != (want == nil) || got != nil && fmt.Sprintf("%q", got[1:]) != fmt.Sprintf("%q", want[1:]) {
				t.Fatalf("overlap line %q: logmatch %q, regexp %q", v, got, want)
			}
		}
	}
}
