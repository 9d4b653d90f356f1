package board

import (
	"strings"
	"testing"

	"github.com/dtheap/dtheap/internal/testfile"
)

// TestLoadMemreserve: memreserve: entries decode in board order with positions; across
// extends: they merge by name like firmware (override: replaces the keys given, delete: drops
// one, a second entry of the same name is an error); a missing base, an unknown key and an
// entry that wraps the address space are refused with the entry's position.
func TestLoadMemreserve(t *testing.T) {
	dir := t.TempDir()
	write := testfile.Writer(t, dir)
	write("base.yaml", `board: base
arch: arm64
memory:
  - {name: dram, base: 0x40000000, size: 1GiB}
memreserve:
  - {name: spin, base: 0x40000000, size: 4KiB}
  - {name: fb, base: 0x7e000000, size: 16MiB}
  - {name: old, base: 0x7d000000, size: 1MiB}
`)
	path := write("board.yaml", `extends: base.yaml
board: b
memreserve:
  - {name: fb, override: true, size: 8MiB}
  - {name: old, delete: true}
  - {name: loader, base: 0x7f000000, size: 16MiB, silence: [memreserve-overlap]}
`)
	b, findings, err := Load(path, Options{})
	if err != nil || b == nil {
		t.Fatalf("Load: %v\n%v", err, findings)
	}
	var got []string
	for _, m := range b.Memreserve {
		got = append(got, m.Name)
	}
	if strings.Join(got, " ") != "spin fb loader" {
		t.Fatalf("entries %v, want spin fb loader (old deleted)", got)
	}
	fb := b.Memreserve[1]
	if fb.Base != 0x7e000000 || fb.Size != 8<<20 {
		t.Errorf("fb %+v: want the base's base and the board's size", fb)
	}
	if p := fb.Field("base").String(); !strings.HasSuffix(p, "base.yaml:7:22") {
		t.Errorf("fb base at %s, want the base file's position", p)
	}
	if s := b.Memreserve[2].Silence; len(s) != 1 || s[0] != "memreserve-overlap" {
		t.Errorf("loader silence %v", s)
	}

	for _, tt := range []struct{ name, text, pos, msg string }{
		{"no-base.yaml", "board: x\narch: arm64\nmemory: unknown\npools: []\nmemreserve:\n  - {name: a, size: 4KiB}\n", "no-base.yaml:6:5", `memreserve entry "a" has no base`},
		{"unknown.yaml", "board: x\narch: arm64\nmemory: unknown\npools: []\nmemreserve:\n  - {name: a, base: 0, size: 4KiB, no-map: true}\n", "unknown.yaml:6:36", `unknown key "no-map"`},
		{"wraps.yaml", "board: x\narch: arm64\nmemory: unknown\npools: []\nmemreserve:\n  - {name: a, base: 0xffffffffffff0000, size: 1MiB}\n", "wraps.yaml:6:47", "ends past the 64-bit address space"},
		{"dup.yaml", "extends: base.yaml\nboard: x\nmemreserve:\n  - {name: fb, base: 0x70000000, size: 4KiB}\n", "dup.yaml:4:12", `memreserve entry "fb" is already defined`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, fs, err := Load(write(tt.name, tt.text), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) == 0 || !strings.HasSuffix(fs[0].Pos.String(), tt.pos) || !strings.Contains(fs[0].Message, tt.msg) {
				t.Errorf("findings %v, want %s: ...%s...", fs, tt.pos, tt.msg)
			}
		})
	}
}
