package validate_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/pipeline"
	"github.com/dtheap/dtheap/validate"
)

func needs(r validate.Rule, n validate.Need) bool {
	for _, x := range r.Needs {
		if x == n {
			return true
		}
	}
	return false
}

// TestNeedDRAM: a rule that needs the DRAM does not run on a board whose DRAM is unknown, and
// dram-unknown says what could not be judged. Each such rule's corpus board, which breaks it,
// is loaded again with memory: unknown: the rule must be silent (no false error from a DRAM
// the board does not state), dram-unknown must fire, and nothing else at error level may
// appear.
func TestNeedDRAM(t *testing.T) {
	memory := regexp.MustCompile(`(?m)^memory:\n(  - .*\n)+`)
	n := 0
	for _, r := range validate.Rules {
		if !needs(r, validate.NeedDRAM) {
			continue
		}
		n++
		t.Run(r.ID, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata", "rules", r.ID+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if !memory.Match(src) {
				t.Fatalf("corpus board %s.yaml has no memory: list to replace", r.ID)
			}
			path := filepath.Join(t.TempDir(), "board.yaml")
			if err := os.WriteFile(path, memory.ReplaceAll(src, []byte("memory: unknown\n")), 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := pipeline.Load(path, pipeline.Options{Validate: validate.Options{Verbose: true}})
			if err != nil {
				t.Fatal(err)
			}
			if hasRule(res.Findings, r.ID) {
				t.Errorf("%s fired with the DRAM unknown:\n%v", r.ID, res.Findings)
			}
			said := ""
			for _, f := range res.Findings {
				if f.Rule == "dram-unknown" {
					said = f.Message
				}
			}
			if said == "" {
				t.Errorf("dram-unknown did not say what could not be judged:\n%v", res.Findings)
			} else if r.Severity != diag.Info && !strings.Contains(said, r.ID) {
				t.Errorf("dram-unknown does not name %s: %s", r.ID, said)
			}
			for _, f := range res.Findings {
				if f.Severity == diag.Error {
					t.Errorf("error with the DRAM unknown: %v", f)
				}
			}
		})
	}
	if n < 4 {
		t.Errorf("only %d rules need DRAM", n)
	}
}

// TestNeedPlacement: cma-alignment needs the pool's place. An unaligned dynamic CMA pool that
// fits is judged (cma-alignment); the same pool too large for the DRAM is unplaceable, and
// cma-alignment, whose prerequisite failed, does not run on it.
func TestNeedPlacement(t *testing.T) {
	board := func(size string) string {
		return `board: need-placement
arch: arm64
kernel: {version: "6.1", page-size: 4KiB, hugetlb: false, cma-areas: 7}
memory:
  - {name: dram, base: 0x40000000, size: 256MiB}
pools:
  - {name: video, kind: cma, size: ` + size + `}
`
	}
	for _, tc := range []struct {
		size string
		want []string // rules that fire
		not  []string // rules that must not
	}{
		{"34MiB", []string{"cma-alignment"}, []string{"unplaceable"}},
		{"514MiB", []string{"unplaceable"}, []string{"cma-alignment"}},
	} {
		t.Run(tc.size, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "board.yaml")
			if err := os.WriteFile(path, []byte(board(tc.size)), 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := pipeline.Load(path, pipeline.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range tc.want {
				if !hasRule(res.Findings, id) {
					t.Errorf("%s did not fire:\n%v", id, res.Findings)
				}
			}
			for _, id := range tc.not {
				if hasRule(res.Findings, id) {
					t.Errorf("%s fired:\n%v", id, res.Findings)
				}
			}
		})
	}
}

// TestDRAMUnknownMessage: what dram-unknown says follows from the catalog: the rules that
// need DRAM, and those that need placement only when there is a dynamic pool to place.
func TestDRAMUnknownMessage(t *testing.T) {
	for _, tc := range []struct {
		pools string
		want  []string
		not   []string
	}{
		{"  - {name: rproc, kind: reserved, base: 0x10000000, size: 64KiB}\n",
			[]string{"could not judge outside-dram, alloc-range-outside-dram, unplaceable and dynamic-at-zero; every pool is fixed"},
			[]string{"cma-alignment", "dma-limit"}},
		{"  - {name: video, kind: cma, size: 64MiB}\n",
			[]string{"1 dynamic pool(s) not placed, which memreserve-overlap, cma-alignment, cma-zone-crossing, cma-heap-name and dma-limit could not judge either"},
			[]string{"every pool is fixed"}},
	} {
		path := filepath.Join(t.TempDir(), "board.yaml")
		board := "board: dram-unknown\narch: arm64\nkernel: {version: \"6.1\"}\nmemory: unknown\npools:\n" + tc.pools
		if err := os.WriteFile(path, []byte(board), 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := pipeline.Load(path, pipeline.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var msg string
		for _, f := range res.Findings {
			if f.Rule == "dram-unknown" {
				msg = f.Message
			}
		}
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("dram-unknown says %q, want %q in it", msg, w)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(msg, w) {
				t.Errorf("dram-unknown says %q, which should not hold %q", msg, w)
			}
		}
	}
}
