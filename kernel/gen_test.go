package kernel

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/internal/golden"
	"github.com/dtheap/dtheap/pipeline"
	"github.com/dtheap/dtheap/plan"
)

func loadBoard(t *testing.T, path string) *plan.Plan {
	t.Helper()
	res, err := pipeline.Load(path, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.HasErrors() {
		t.Fatalf("%s: %v", path, res.Findings)
	}
	return res.Plan
}

// TestGolden compares the generated per-board files of every reference board with the golden
// copies: the heap table, the Kconfig fragment, the manifest and the README.
func TestGolden(t *testing.T) {
	boards, _ := filepath.Glob("../boards/*.yaml")
	if len(boards) == 0 {
		t.Fatal("no boards in ../boards")
	}
	for _, b := range boards {
		name := strings.TrimSuffix(filepath.Base(b), ".yaml")
		t.Run(name, func(t *testing.T) {
			p := loadBoard(t, b)
			files, err := Generate(p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				switch f.Name {
				case "dtheap_board.c", "dtheap.config", "README", "manifest.json":
				default:
					continue
				}
				golden.Check(t, filepath.Join("testdata", "golden", name, f.Name), f.Data)
			}
		})
	}
}

func TestGenerateVariants(t *testing.T) {
	p := loadBoard(t, "../boards/qemu-virt-arm64.yaml")
	names := func(o Options) string {
		files, err := Generate(p, o)
		if err != nil {
			t.Fatal(err)
		}
		var n []string
		for _, f := range files {
			n = append(n, f.Name)
		}
		return strings.Join(n, " ")
	}
	mod := names(Options{})
	for _, want := range []string{"Kbuild", "Makefile", "dtheap_board.c", "dtheap.h", "dtheap_compat.h", "dtheap.config", "manifest.json"} {
		if !strings.Contains(" "+mod+" ", " "+want+" ") {
			t.Errorf("module variant lacks %s: %s", want, mod)
		}
	}
	if strings.Contains(mod, ".builtin") || strings.Contains(mod, ".patch") {
		t.Errorf("module variant has builtin or patch files: %s", mod)
	}
	bi := names(Options{Builtin: true})
	if !strings.Contains(bi, "Kconfig.builtin") || strings.Contains(" "+bi+" ", " Kbuild ") {
		t.Errorf("builtin variant: %s", bi)
	}
	if !strings.Contains(names(Options{WithExportPatch: true}), ExportPatchName) {
		t.Error("--export-patch did not add the patch")
	}
	a, _ := Generate(p, Options{})
	b, _ := Generate(p, Options{})
	for i := range a {
		if !bytes.Equal(a[i].Data, b[i].Data) {
			t.Errorf("%s not deterministic", a[i].Name)
		}
	}
}

func TestCheckTree(t *testing.T) {
	p := loadBoard(t, "../boards/qemu-virt-arm64.yaml")
	dir := t.TempDir()
	cfg := "CONFIG_OF_RESERVED_MEM=y\nCONFIG_DMA_SHARED_BUFFER=y\nCONFIG_DMABUF_HEAPS=y\nCONFIG_MODULES=y\nCONFIG_GENERIC_ALLOCATOR=y\nCONFIG_DEBUG_FS=y\nCONFIG_CMA=y\nCONFIG_DMA_CMA=y\nCONFIG_CMA_AREAS=16\nCONFIG_DMABUF_HEAPS_CMA=y\n"
	symvers := "0x0\tdma_heap_add\tvmlinux\tEXPORT_SYMBOL_GPL\t\n0x0\tdma_heap_get_drvdata\tvmlinux\tEXPORT_SYMBOL_GPL\t\n0x0\tdma_heap_get_name\tvmlinux\tEXPORT_SYMBOL_GPL\t\n"
	write := func(c, s string) {
		os.WriteFile(filepath.Join(dir, ".config"), []byte(c), 0o644)
		os.WriteFile(filepath.Join(dir, "Module.symvers"), []byte(s), 0o644)
	}
	tests := []struct {
		name, cfg, symvers, wantErr string
	}{
		{"complete tree", cfg, symvers, ""},
		{"no exports", cfg, "0x0\tdma_buf_export\tvmlinux\tEXPORT_SYMBOL_GPL\tDMA_BUF\n", "export patch"},
		{"CMA off", strings.Replace(cfg, "CONFIG_CMA=y", "# CONFIG_CMA is not set", 1), symvers, "CONFIG_CMA is not set"},
		{"too few CMA areas", strings.Replace(cfg, "CONFIG_CMA_AREAS=16", "CONFIG_CMA_AREAS=1", 1), symvers, "CONFIG_CMA_AREAS=1, the board needs at least 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			write(tt.cfg, tt.symvers)
			err := CheckTree(dir, p)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}
