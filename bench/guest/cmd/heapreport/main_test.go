package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdata holds the consoles of one real `make bench-e2e` run (one boot of each kind; the heap
// boot with two heapbench rounds, tight, paced and exhausted) on the QEMU board.
func TestReportFromRealConsoles(t *testing.T) {
	js := filepath.Join(t.TempDir(), "results.json")
	var out bytes.Buffer
	err := run([]string{
		"--heap", "testdata/heap.txt",
		"--checker", "testdata/check.txt", "--baseline", "testdata/base.txt",
		"--extra", "minimal /init + module load=testdata/base-module.txt",
		"--binary", "this test=main_test.go",
		"--json", js,
	}, &out)
	if err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"## Heaps in the guest (measured)", "## Boot check (measured)",
		"| linux,cma | kernel cma | 1 MiB |", "| system | kernel system | 8 MiB |",
		"| video@60000000 | dtheap cma | 4 KiB |", "| dsp | dtheap carveout | 64 KiB |",
		"| secure | dtheap unmapped | skipped (EPERM) |", "| system | N/A",
		"| dtheap-check | 1 |", "| minimal /init | 1 |", "| minimal /init + module load | 1 |",
		"| heap/video@60000000 |", "| module |", "| this test |",
		"Target (issue #8): the boot check adds",
		"Target (issue #14): the boot check adds",
		"| dsp | dtheap carveout | 1 MiB |", "(zeroed memory available) |", "(no zeroed memory) |",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Heaps struct {
			Heaps []struct{ Name string }
			Stats []struct{ Heap, Op string }
		}
		Boot    struct{ Checker struct{ Boots []any } }
		Targets []struct {
			Name        string
			Met         bool
			NotMeasured bool `json:"not_measured"`
		}
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Heaps.Heaps) != 6 || len(res.Heaps.Stats) == 0 || len(res.Boot.Checker.Boots) != 1 {
		t.Errorf("JSON: %d heaps, %d stats, %d checker boots", len(res.Heaps.Heaps), len(res.Heaps.Stats), len(res.Boot.Checker.Boots))
	}
	// 3 carveout targets (issue 14) + 4 sizes x 2 dtheap cma heaps + the two boot targets (#8, #14)
	if len(res.Targets) != 13 {
		t.Errorf("%d targets, want 13: %+v", len(res.Targets), res.Targets)
	}
	// The console is of a heapbench with both regimes: every target has its measurement.
	for _, tg := range res.Targets {
		if tg.NotMeasured {
			t.Errorf("target %q not measured in a real console", tg.Name)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for name, args := range map[string][]string{
		"nothing":        {},
		"checker alone":  {"--checker", "testdata/check.txt"},
		"missing file":   {"--heap", "testdata/nope.txt"},
		"not a heap run": {"--heap", "testdata/base.txt"},
		"bad extra":      {"--checker", "testdata/check.txt", "--baseline", "testdata/base.txt", "--extra", "nofile"},
		"not a boot":     {"--checker", "main_test.go", "--baseline", "testdata/base.txt"},
	} {
		if err := run(args, &bytes.Buffer{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
