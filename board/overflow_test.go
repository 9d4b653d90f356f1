package board_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/board"
)

// TestSpanOverflow is issue 16's arithmetic case, with both sides of each boundary: a pool at
// 0xffffffffff000000 of 32 MiB wrapped past 2^64 and validated clean (dts wrote the wrapped
// reg); every base + size and alloc-range end is now checked against 2^64 and, with one address
// cell, against 4 GiB.
func TestSpanOverflow(t *testing.T) {
	const mem = "memory: [{name: dram, base: 0x40000000, size: 1GiB}]\n"
	for _, tc := range []struct {
		name, yaml, want string // want "" = loads
	}{
		{"issue: pool wraps", "arch: arm64\n" + mem + "pools: [{name: p, kind: carveout, base: 0xffffffffff000000, size: 32MiB}]\n",
			`board.yaml:4:67: error[cells]: pool "p" at 0xffffffffff000000 of size 0x2000000 ends past the 64-bit address space`},
		{"pool ends at 2^64", "arch: arm64\n" + mem + "pools: [{name: p, kind: carveout, base: 0xfffffffffe000000, size: 32MiB}]\n",
			`ends past the 64-bit address space`},
		{"pool ends a page below 2^64", "arch: arm64\n" + mem + "pools: [{name: p, kind: carveout, base: 0xfffffffffdfff000, size: 32MiB}]\n", ""},
		{"bank wraps", "arch: arm64\nmemory: [{name: dram, base: 0xffffffff00000000, size: 8GiB}]\n",
			`board.yaml:3:55: error[cells]: memory bank "dram" at 0xffffffff00000000 of size 0x200000000 ends past`},
		{"firmware wraps", "arch: arm64\n" + mem + "firmware: [{name: f, base: 0xffffffffffffff00, size: 4KiB}]\n",
			`firmware region "f" at 0xffffffffffffff00 of size 0x1000 ends past`},
		{"alloc-range wraps", "arch: arm64\n" + mem + "pools: [{name: p, kind: cma, size: 4MiB, alloc-ranges: [{base: 0xfffffffff0000000, size: 1GiB}]}]\n",
			`alloc-ranges entry of pool "p" at 0xfffffffff0000000 of size 0x40000000 ends past`},
		{"one cell: ends at 4 GiB", "arch: arm\nmemory: [{name: dram, base: 0xc0000000, size: 1GiB}]\n", ""},
		{"one cell: ends past 4 GiB", "arch: arm\nmemory: [{name: dram, base: 0xc0000000, size: 0x40001000}]\n",
			`memory bank "dram" at 0xc0000000 of size 0x40001000 ends at 0x100001000, past the 4 GiB that one address cell can reach`},
		{"one cell: pool past 4 GiB", "arch: arm\nmemory: [{name: dram, base: 0x80000000, size: 1GiB}]\npools: [{name: p, kind: carveout, base: 0xfff00000, size: 2MiB}]\n",
			`pool "p" at 0xfff00000 of size 0x200000 ends at 0x100100000`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "board.yaml")
			os.WriteFile(path, []byte("board: x\n"+tc.yaml), 0o644)
			b, findings, err := board.Load(path, board.Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := strings.ReplaceAll(findings.Error(), dir+"/", "")
			if tc.want == "" {
				if b == nil {
					t.Fatalf("refused: %s", got)
				}
				return
			}
			if b != nil || !strings.Contains(got, tc.want) {
				t.Fatalf("findings:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// TestAliasBomb: yaml.v3 expands aliases (FACTS), so nine lines of "billion laughs" built a
// million values (hundreds of MiB) before the old limit hit. Aliases may now add no more than
// the document's size plus 10,000 values: the bomb is a positioned finding at a small cost,
// and a board that reuses a list by alias still loads.
func TestAliasBomb(t *testing.T) {
	var bomb strings.Builder
	bomb.WriteString("board: x\narch: arm64\nmemory: [{name: dram, base: 0x40000000, size: 1GiB}]\nlol:\n  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		bomb.WriteString("  " + n + ": &" + n + " [" + strings.Repeat("*"+prev+",", 8) + "*" + prev + "]\n")
		prev = n
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "bomb.yaml")
	os.WriteFile(path, []byte(bomb.String()), 0o644)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b, findings, err := board.Load(path, board.Options{})
	runtime.ReadMemStats(&after)
	if err != nil || b != nil || !strings.Contains(findings.Error(), "aliases expand to more than") {
		t.Fatalf("bomb: %v %v", err, findings)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Fatalf("the bomb cost %d MiB before it was refused", alloc>>20)
	}
	// Reuse by alias is fine.
	ok := "board: x\narch: arm64\nmemory: [{name: dram, base: 0x40000000, size: 1GiB}]\npools:\n" +
		"  - {name: a, kind: carveout, base: 0x50000000, size: 16MiB, devices: &d [\"&gpu\", \"&vpu\"]}\n" +
		"  - {name: b, kind: carveout, base: 0x52000000, size: 16MiB, devices: *d}\n"
	os.WriteFile(path, []byte(ok), 0o644)
	if b, findings, err := board.Load(path, board.Options{}); err != nil || b == nil || len(b.Pools[1].Devices) != 2 {
		t.Fatalf("alias reuse: %v %v", err, findings)
	}
}
