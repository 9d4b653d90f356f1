package lint_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/lint"
)

// FuzzLint runs the whole of dtheap lint (the tree reader, the tree-level rules, the board
// built from the tree, the planner and every validate rule) on arbitrary blobs, under each
// modelled kernel version: errors are fine, panics are not, and every finding names a rule of
// the catalog and, when it is about the tree, a node. Seeds: small upstream .dtb files
// (testdata/seeds), the rule corpus trees compiled, and what earlier runs found
// (testdata/fuzz/FuzzLint).
//
//	go test ./lint -run '^$' -fuzz FuzzLint -fuzztime 10m -fuzzminimizetime 2s
func FuzzLint(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "seeds", "*.dtb"))
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seeds in testdata/seeds: %v", err)
	}
	for _, s := range seeds {
		blob, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(blob, uint8(0))
	}
	versions := []string{"6.1", "6.12", "7.3"}
	f.Fuzz(func(t *testing.T, blob []byte, v uint8) {
		res, err := lint.LintBlob("fuzz.dtb", blob, lint.Options{Kernel: versions[int(v)%len(versions)]})
		if err != nil {
			return
		}
		for _, fd := range res.Findings {
			if fd.Rule == "" || fd.Severity > diag.Error {
				t.Fatalf("malformed finding %+v", fd)
			}
		}
	})
}
