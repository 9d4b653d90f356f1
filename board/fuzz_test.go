package board_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/board"
	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/plan"
	"github.com/dtheap/dtheap/validate"
)

// FuzzLoad feeds arbitrary bytes to the loader as a board file. board.Load must never panic
// or hang; it returns a board, or findings with at least one error, or an *IOError. When a
// board comes back, the planner and the validator run on it too, since every command does
// that next and must not panic either.
//
// Seed corpus (f.Add):
//   - every board in ../boards/ and ../boards/socs/ (valid boards, extends: included; in the
//     fuzzer's temp dir their extends: names a missing file, which is a finding);
//   - every YAML file under testdata/ (the broken boards of TestLoadErrors: syntax, duplicate
//     and unknown keys, wrong types, "64MB", 64-bit overflow, extends cycles and misuse) and
//     the rule corpus ../validate/testdata/rules/ (one broken kernel rule each);
//   - hand-written nasty inputs: an alias bomb ("billion laughs"), deep flow and block
//     nesting, tabs for indentation, a merge key, non-string keys, an empty document, a
//     bare scalar, several documents, NUL and invalid UTF-8 bytes, an extends: of itself and
//     of a directory, huge and negative numbers, and a board with every kind of pool.
//
// Run it with: go test ./board -run XXX -fuzz FuzzLoad -fuzztime 60s
func FuzzLoad(f *testing.F) {
	var seeds []string
	for _, pat := range []string{
		"../boards/*.yaml", "../boards/socs/*.yaml",
		"testdata/*/*.yaml", "../validate/testdata/rules/*.yaml",
	} {
		m, err := filepath.Glob(pat)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, m...)
	}
	if len(seeds) < 20 {
		f.Fatalf("only %d seed files found", len(seeds))
	}
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range nastySeeds() {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "board.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		b, findings, err := board.Load(path, board.Options{})
		if err != nil {
			var ioe *board.IOError
			if !errors.As(err, &ioe) {
				t.Fatalf("Load error %v (%T), want *board.IOError", err, err)
			}
			return
		}
		if b == nil {
			if findings.Count(diag.Error) == 0 {
				t.Fatalf("no board and no error finding: %v", findings)
			}
			return
		}
		if findings.Count(diag.Error) > 0 {
			t.Fatalf("a board and error findings: %v", findings)
		}
		p := plan.Build(b)
		validate.Check(b, p, validate.Options{Verbose: true})
	})
}

func nastySeeds() []string {
	// Billion laughs: nine levels of nine aliases.
	var bomb strings.Builder
	bomb.WriteString("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		bomb.WriteString(n + ": &" + n + " [")
		for i := 0; i < 9; i++ {
			if i > 0 {
				bomb.WriteString(",")
			}
			bomb.WriteString("*" + prev)
		}
		bomb.WriteString("]\n")
		prev = n
	}
	// An alias bomb inside a board, where the loader walks it.
	poolBomb := "board: x\narch: arm64\nmemory: [{name: dram, base: 0x40000000, size: 1GiB}]\n" +
		"pools: &p [{name: a, kind: cma, size: 4MiB, devices: &d [\"&a\", \"&b\"]}]\n" +
		"zones: [*p, *p, *p, *p]\n"
	return []string{
		bomb.String(),
		poolBomb,
		strings.Repeat("[", 5000) + strings.Repeat("]", 5000),
		strings.Repeat("{a: ", 2000) + "1" + strings.Repeat("}", 2000),
		deepBlock(300),
		"board: tabs\n\tarch: arm64\n",
		"board: x\narch: arm64\nmemory:\n\t- {name: dram, base: 0, size: 1G}\n",
		"board: x\n<<: {arch: arm64}\nmemory: [{name: d, base: 0, size: 1G}]\n",
		"? [a, b]\n: c\n",
		"{[1]: 2, {a: b}: c}\n",
		"",
		"---\n",
		"just a scalar\n",
		"board: a\n---\nboard: b\n",
		"board: \x00\x01\xff\xfe\narch: arm64\n",
		"extends: board.yaml\nboard: self\n",
		"extends: .\nboard: dir\n",
		"extends: ''\nboard: empty\n",
		"board: x\narch: arm64\nmemory: [{name: d, base: -1, size: 99999999999999999999999}]\n",
		"board: x\narch: arm64\nmemory: [{name: d, base: 0xffffffffffffffff, size: 0xffffffffffffffff}]\n" +
			"pools: [{name: p, kind: cma, base: 0xfffffffffffff000, size: 0x1000}]\n",
		"board: x\narch: arm64\nmemory: [{name: d, base: 0, size: 1G}]\n" +
			"pools: [{name: p, kind: carveout, size: 1G, alignment: 0x8000000000000000, alloc-ranges: [{base: 0xffffffffffffffff, size: 2}]}]\n",
		"board: all-kinds\narch: arm\nkernel: {version: \"6.19\", page-size: 64KiB, hugetlb: true, pageblock-order: 20, cma-areas: 1, cmdline: \"cma=1G\"}\n" +
			"memory: [{name: d, base: 0x80000000, size: 2G}]\nzones: [{name: dma, limit: 0xc0000000}]\n" +
			"firmware: [{name: tfa, base: 0x80000000, size: 2M, emit: false, silence: [overlap]}]\n" +
			"pools:\n" +
			"  - {name: \"linux,cma\", kind: cma, default: true, size: 256M, alloc-ranges: [{base: 0x80000000, size: 1G}], heap: x}\n" +
			"  - {name: c, kind: carveout, base: 0x90000000, size: 64M, heap: c, mapping: writecombine, devices: [\"&a\", {node: /b, dma-bits: 24}]}\n" +
			"  - {name: u, kind: unmapped, size: 0, heap: \"\", mapping: cached}\n" +
			"  - {name: r, kind: reserved, compatible: ramoops, no-map: false, base: 0xa0000000, size: 1M, heap: r}\n",
	}
}

func deepBlock(depth int) string {
	var b strings.Builder
	for i := 0; i < depth; i++ {
		b.WriteString(strings.Repeat(" ", i) + "k:\n")
	}
	return b.String()
}
