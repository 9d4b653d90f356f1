package board

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKconfig(t *testing.T) {
	dir := t.TempDir()
	boardFile := filepath.Join(dir, "b.yaml")
	os.WriteFile(boardFile, []byte("board: b\narch: arm64\nkernel: {version: \"5.10\", page-size: 4KiB, cma-areas: 2}\nmemory: [{name: d, base: 0x40000000, size: 1GiB}]\n"), 0o644)
	tests := []struct {
		name, config string
		check        func(t *testing.T, k Kernel)
		wantErr      string
	}{
		{"6.1 arm64 64K pages hugetlb", "#\n# Linux/arm64 6.1.112 Kernel Configuration\n#\nCONFIG_ARM64=y\nCONFIG_ARM64_64K_PAGES=y\nCONFIG_HUGETLB_PAGE=y\nCONFIG_ARCH_FORCE_MAX_ORDER=14\nCONFIG_CMA=y\nCONFIG_DMA_CMA=y\nCONFIG_CMA_AREAS=19\n",
			func(t *testing.T, k Kernel) {
				if k.Version != "6.1" || k.PageSize != 64<<10 || !k.Hugetlb || k.MaxOrder != 14 || k.CMAAreas != 19 || !k.CMA {
					t.Errorf("kernel facts %+v", k)
				}
				if p := k.Pos["cma-areas"]; !strings.HasSuffix(p.File, ".config") || p.Line != 10 {
					t.Errorf("cma-areas position %v, want the .config line 10", p)
				}
			}, ""},
		{"CMA off", "# Linux/arm64 6.1.0 Kernel Configuration\nCONFIG_ARM64=y\n# CONFIG_CMA is not set\n",
			func(t *testing.T, k Kernel) {
				if k.CMA || k.CMAAreas != 0 || k.PageSize != 4096 {
					t.Errorf("kernel facts %+v", k)
				}
			}, ""},
		{"wrong architecture", "# Linux/riscv 6.1.0 Kernel Configuration\nCONFIG_RISCV=y\nCONFIG_64BIT=y\n", nil, "riscv64 kernel configuration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := filepath.Join(dir, tt.name+".config")
			os.WriteFile(cfg, []byte(tt.config), 0o644)
			b, findings, err := Load(boardFile, Options{Kconfig: cfg})
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != "" {
				if len(findings) == 0 || !strings.Contains(findings.Error(), tt.wantErr) {
					t.Fatalf("findings %v, want %q", findings, tt.wantErr)
				}
				return
			}
			if b == nil {
				t.Fatalf("findings: %v", findings)
			}
			tt.check(t, b.Kernel)
		})
	}
	if _, _, err := Load(boardFile, Options{Kconfig: filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing --kconfig file must be an I/O error")
	}
}
