package board_test

import (
	"os"
	"path/filepath"
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
