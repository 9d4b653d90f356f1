package validate_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dtheap/dtheap/pipeline"
)

// TestKconfigByVersion: the same .config numbers mean different things per version.
// CONFIG_ARCH_FORCE_MAX_ORDER=10 is MAX_ORDER 10 (largest order 9, 2 MiB CMA alignment) on 6.1
// (include/linux/mmzone.h: orders 0..MAX_ORDER-1) but MAX_PAGE_ORDER 10 (4 MiB) on 6.12
// (orders 0..MAX_PAGE_ORDER); CONFIG_TRANSPARENT_HUGEPAGE lowers pageblock_order only from 6.12
// (include/linux/pageblock-flags.h); CONFIG_NUMA raises the CMA_AREAS default (mm/Kconfig).
func TestKconfigByVersion(t *testing.T) {
	dir := t.TempDir()
	b := filepath.Join(dir, "b.yaml")
	os.WriteFile(b, []byte("board: b\narch: arm64\nmemory:\n  - {name: dram, base: 0x40000000, size: 1GiB}\n"), 0o644)
	for _, tt := range []struct {
		name, config string
		align        uint64
		areas, slots int
		model        string
	}{
		{"6.1, max order 10", "# Linux/arm64 6.1.192 Kernel Configuration\nCONFIG_ARM64=y\nCONFIG_ARCH_FORCE_MAX_ORDER=10\nCONFIG_CMA=y\nCONFIG_DMA_CMA=y\n", 2 << 20, 7, 8, "6.1"},
		{"6.12, max order 10", "# Linux/arm64 6.12.117 Kernel Configuration\nCONFIG_ARM64=y\nCONFIG_ARCH_FORCE_MAX_ORDER=10\nCONFIG_CMA=y\nCONFIG_DMA_CMA=y\n", 4 << 20, 8, 8, "6.12"},
		{"6.1, THP", "# Linux/arm64 6.1.192 Kernel Configuration\nCONFIG_ARM64=y\nCONFIG_TRANSPARENT_HUGEPAGE=y\nCONFIG_CMA=y\nCONFIG_DMA_CMA=y\n", 4 << 20, 7, 8, "6.1"},
		{"7.3, THP and NUMA", "# Linux/arm64 7.3.4 Kernel Configuration\nCONFIG_ARM64=y\nCONFIG_TRANSPARENT_HUGEPAGE=y\nCONFIG_NUMA=y\nCONFIG_CMA=y\nCONFIG_DMA_CMA=y\n", 2 << 20, 20, 20, "7.3"},
		{"7.3, PAGE_BLOCK_MAX_ORDER 8", "# Linux/arm64 7.3.4 Kernel Configuration\nCONFIG_ARM64=y\nCONFIG_PAGE_BLOCK_MAX_ORDER=8\nCONFIG_CMA=y\nCONFIG_DMA_CMA=y\nCONFIG_CMA_AREAS=4\n", 1 << 20, 4, 4, "7.3"},
		{"6.6 gets 6.1's model", "# Linux/arm64 6.6.50 Kernel Configuration\nCONFIG_ARM64=y\nCONFIG_CMA=y\nCONFIG_DMA_CMA=y\n", 4 << 20, 7, 8, "6.1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := filepath.Join(dir, "config")
			os.WriteFile(cfg, []byte(tt.config), 0o644)
			res, err := pipeline.Load(b, pipeline.Options{Kconfig: cfg})
			if err != nil || res.Plan == nil {
				t.Fatalf("load: %v %v", err, res.Findings)
			}
			k := res.Plan.Kernel
			if k.CMAAlignment != tt.align || k.CMAAreas != tt.areas || k.CMASlots != tt.slots || k.Model != tt.model {
				t.Errorf("kernel %+v, want alignment %#x, CMA_AREAS %d, %d slots, model %s", k, tt.align, tt.areas, tt.slots, tt.model)
			}
		})
	}
}
