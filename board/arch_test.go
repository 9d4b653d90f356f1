package board

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestPageSizeByArch: both sides of the page-size rule per architecture (kmodel.Arch.PageSizes:
// arm64 4, 16 and 64 KiB; riscv64 4 KiB only).
func TestPageSizeByArch(t *testing.T) {
	for _, tt := range []struct {
		arch, ps string
		ok       bool
	}{
		{"riscv64", "4KiB", true},
		{"riscv64", "16KiB", false},
		{"riscv64", "64KiB", false},
		{"arm64", "4KiB", true},
		{"arm64", "16KiB", true},
		{"arm64", "64KiB", true},
	} {
		t.Run(tt.arch+"-"+tt.ps, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "b.yaml")
			src := fmt.Sprintf("board: b\narch: %s\nkernel: {version: \"6.12\", page-size: %s}\n"+
				"memory: [{name: d, base: 0x80000000, size: 1GiB}]\npools: [{name: a, kind: cma, size: 64MiB, heap: a}]\n", tt.arch, tt.ps)
			if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			b, findings, err := Load(f, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := b != nil && len(findings) == 0; got != tt.ok {
				t.Errorf("loads cleanly: %v, want %v (findings %v)", got, tt.ok, findings)
			}
		})
	}
}
