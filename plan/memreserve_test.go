package plan

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dtheap/dtheap/board"
)

// TestMemreservePlacement: where a 32 MiB CMA pool goes on 1 GiB at 0x40000000 with
// /memreserve/ entries, per version. 6.1 reserves the entries first (placement goes around
// them), 6.12 and 7.3 after placement (the pool lands at the top as if they were not there);
// the kernel stops reading at an entry of size 0, so one after it does not move the pool on
// 6.1. The free list leaves every entry the kernel reads out on every version.
func TestMemreservePlacement(t *testing.T) {
	for _, tt := range []struct {
		name, version, memreserve string
		base                      uint64
		free                      uint64 // bytes free for Linux
	}{
		{"6.1 top entry", "6.1", "  - {name: a, base: 0x7f000000, size: 16MiB}\n", 0x7d000000, 1024<<20 - 48<<20},
		{"6.12 top entry", "6.12", "  - {name: a, base: 0x7f000000, size: 16MiB}\n", 0x7e000000, 1024<<20 - 32<<20},
		{"7.3 top entry", "7.3", "  - {name: a, base: 0x7f000000, size: 16MiB}\n", 0x7e000000, 1024<<20 - 32<<20},
		{"6.1 entry below the pool", "6.1", "  - {name: a, base: 0x70000000, size: 16MiB}\n", 0x7e000000, 1024<<20 - 48<<20},
		{"6.12 entry below the pool", "6.12", "  - {name: a, base: 0x70000000, size: 16MiB}\n", 0x7e000000, 1024<<20 - 48<<20},
		{"6.1 entry after size 0", "6.1", "  - {name: z, base: 0x7000000, size: 0}\n  - {name: a, base: 0x7f000000, size: 16MiB}\n", 0x7e000000, 1024<<20 - 32<<20},
		{"6.1 entry before size 0", "6.1", "  - {name: a, base: 0x7f000000, size: 16MiB}\n  - {name: z, base: 0x7000000, size: 0}\n", 0x7d000000, 1024<<20 - 48<<20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "b.yaml")
			src := "board: b\narch: arm64\nkernel: {version: \"" + tt.version + "\"}\nmemory:\n  - {name: dram, base: 0x40000000, size: 1GiB}\nmemreserve:\n" + tt.memreserve + "pools:\n  - {name: cam, kind: cma, size: 32MiB}\n"
			if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			b, fs, err := board.Load(path, board.Options{})
			if err != nil || b == nil {
				t.Fatalf("%v %v", err, fs)
			}
			p := Build(b)
			r := p.Region("cam")
			if !r.Placed || r.Base != tt.base {
				t.Errorf("cam at 0x%x (placed %v), want 0x%x", r.Base, r.Placed, tt.base)
			}
			var free uint64
			for _, f := range p.Free {
				free += f.Size
			}
			if free != tt.free {
				t.Errorf("free %d MiB, want %d MiB", free>>20, tt.free>>20)
			}
		})
	}
}
