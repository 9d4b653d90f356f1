package kernel

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/internal/golden"
	"github.com/dtheap/dtheap/kmodel"
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
	os.MkdirAll(filepath.Join(dir, "include", "config"), 0o755)
	write := func(c, s string) {
		os.WriteFile(filepath.Join(dir, ".config"), []byte(c), 0o644)
		os.WriteFile(filepath.Join(dir, "Module.symvers"), []byte(s), 0o644)
		os.WriteFile(filepath.Join(dir, "include", "config", "kernel.release"), []byte("6.1.192\n"), 0o644)
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

// TestTreeVersion: dtheap build says which kernel it found and refuses a tree whose kernel
// model is not the board's, or older than every model.
func TestTreeVersion(t *testing.T) {
	p := loadBoard(t, "../boards/qemu-virt-arm64.yaml") // kernel 6.1
	for _, tt := range []struct {
		name, release, makefile, want, wantErr string
	}{
		{"release file", "6.1.192\n", "", "6.1.192", ""},
		{"same model, later version", "6.6.30\n", "", "6.6.30", ""},
		{"Makefile only", "", "# SPDX\nVERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 0\nEXTRAVERSION =\n", "6.1", ""},
		{"7.3 tree for a 6.1 board", "7.3.4\n", "", "7.3.4", "the tree is Linux 7.3.4 (dtheap's 7.3 model) but the board is planned for Linux 6.1"},
		{"6.12 tree for a 6.1 board", "", "VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 117\n", "6.12.117", "set kernel: {version: \"6.12\"}"},
		{"too old", "5.15.0\n", "", "5.15.0", "older than 6.1"},
		{"no version", "", "", "", "cannot tell the tree's kernel version"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.release != "" {
				os.MkdirAll(filepath.Join(dir, "include", "config"), 0o755)
				os.WriteFile(filepath.Join(dir, "include", "config", "kernel.release"), []byte(tt.release), 0o644)
			}
			if tt.makefile != "" {
				os.WriteFile(filepath.Join(dir, "Makefile"), []byte(tt.makefile), 0o644)
			}
			got, err := TreeVersion(dir)
			if tt.want != "" && (err != nil || got != tt.want) {
				t.Fatalf("TreeVersion = %q, %v; want %q", got, err, tt.want)
			}
			os.WriteFile(filepath.Join(dir, ".config"), []byte("CONFIG_OF_RESERVED_MEM=y\n"), 0o644)
			cerr := CheckTree(dir, p)
			if tt.wantErr == "" {
				if cerr != nil && strings.Contains(cerr.Error(), "Linux") && strings.Contains(cerr.Error(), "model") {
					t.Fatalf("version refused: %v", cerr)
				}
				return
			}
			if cerr == nil || !strings.Contains(cerr.Error(), tt.wantErr) {
				t.Fatalf("CheckTree: %v, want it to say %q", cerr, tt.wantErr)
			}
		})
	}
}

func planFor(t *testing.T, body, version string) *plan.Plan {
	t.Helper()
	f := filepath.Join(t.TempDir(), "b.yaml")
	src := "board: b\narch: arm64\nkernel: {version: \"" + version + "\"}\nmemory:\n  - {name: dram, base: 0x40000000, size: 1GiB}\n" + body
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return loadBoard(t, f)
}

// TestHeapsByVersion: on 7.3 the kernel registers every CMA heap itself
// (drivers/dma-buf/heaps/cma_heap.c add_cma_heaps(); FACTS.md section 5: our dma_heap_add for
// video@60000000 and camera failed with -EEXIST after a sysfs duplicate-name trace), so the
// module's table holds only the carveout and unmapped heaps; on 6.1 and 6.12 it holds every
// heap but the default CMA area's.
func TestHeapsByVersion(t *testing.T) {
	body := "pools:\n" +
		"  - {name: \"linux,cma\", kind: cma, default: true, size: 64MiB}\n" +
		"  - {name: video, kind: cma, base: 0x60000000, size: 48MiB, heap: video@60000000}\n" +
		"  - {name: camera, kind: cma, size: 48MiB, heap: camera}\n" +
		"  - {name: dsp, kind: carveout, base: 0x70000000, size: 48MiB, heap: dsp, mapping: writecombine}\n"
	for _, tt := range []struct {
		v      string
		module []string
		absent []string
	}{
		{"6.1", []string{`"video@60000000"`, `"camera"`, `"dsp"`}, []string{`"linux,cma"`}},
		{"6.12", []string{`"video@60000000"`, `"camera"`, `"dsp"`}, []string{`"linux,cma"`}},
		{"7.3", []string{`"dsp"`}, []string{`"video@60000000"`, `"camera"`, `"linux,cma"`, `"default_cma_region"`}},
	} {
		p := planFor(t, body, tt.v)
		c, err := BoardC(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tt.module {
			if !strings.Contains(string(c), ".name = "+w) {
				t.Errorf("%s: dtheap_board.c lacks heap %s", tt.v, w)
			}
		}
		for _, w := range tt.absent {
			if strings.Contains(string(c), ".name = "+w) {
				t.Errorf("%s: dtheap_board.c registers %s, which the kernel registers itself", tt.v, w)
			}
		}
		_, err = Generate(p, Options{WithExportPatch: true})
		if (err != nil) != (tt.v == "7.3") {
			t.Errorf("%s: --export-patch: %v (7.3 exports dma_heap_add: the patch is refused there only)", tt.v, err)
		}
	}
	// A 7.3 board with only cma pools needs no module at all.
	p := planFor(t, "pools:\n  - {name: video, kind: cma, base: 0x60000000, size: 48MiB, heap: video@60000000}\n", "7.3")
	if NeedsModule(p) {
		t.Fatal("7.3 board with one cma heap needs a module")
	}
	files, err := Generate(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
		if f.Name == "README" && !strings.Contains(string(f.Data), "No module: board b needs no heap module on Linux 7.3") {
			t.Errorf("README does not say why there is no module:\n%s", f.Data)
		}
	}
	if got := strings.Join(names, " "); got != "README dtheap.config manifest.json" {
		t.Errorf("files for a board without module heaps: %s", got)
	}
	if _, err := Generate(p, Options{Builtin: true}); err == nil {
		t.Error("--builtin accepted for a board with no module heaps")
	}
	if _, err := Build(p, BuildOptions{KDir: t.TempDir()}); err == nil {
		t.Error("Build accepted a board with no module heaps")
	}
}

// TestFileNamesCoverEveryVariant: FileNames (what dtheap kernel may clean from DIR) holds every
// file any variant writes, on every kernel model, without generating refused variants.
func TestFileNamesCoverEveryVariant(t *testing.T) {
	all := FileNames()
	for _, v := range []string{"6.1", "6.12", "7.3"} {
		p := planFor(t, "pools:\n  - {name: dsp, kind: carveout, base: 0x70000000, size: 16MiB, heap: dsp, mapping: writecombine}\n", v)
		for _, o := range []Options{{}, {Builtin: true}, {WithExportPatch: true}} {
			files, err := Generate(p, o)
			if err != nil {
				continue // refused on this kernel (the export patch on 7.3)
			}
			for _, f := range files {
				if !all[f.Name] {
					t.Errorf("%s %+v writes %s, which FileNames lacks", v, o, f.Name)
				}
			}
		}
	}
}

// TestNoDuplicateKernelHeap: the generated table never holds a heap the kernel registers under
// the same name, whatever the rules were told (--disable heap-name-kernel).
func TestNoDuplicateKernelHeap(t *testing.T) {
	for _, tt := range []struct{ v, body string }{
		{"6.1", "pools:\n  - {name: dsp, kind: carveout, base: 0x70000000, size: 16MiB, heap: system, mapping: writecombine}\n"},
		{"7.3", "pools:\n  - {name: camera, kind: cma, size: 48MiB}\n  - {name: dsp, kind: carveout, base: 0x70000000, size: 16MiB, heap: camera, mapping: writecombine}\n"},
	} {
		f := filepath.Join(t.TempDir(), "b.yaml")
		os.WriteFile(f, []byte("board: b\narch: arm64\nkernel: {version: \""+tt.v+"\"}\nmemory:\n  - {name: dram, base: 0x40000000, size: 1GiB}\n"+tt.body), 0o644)
		res, err := pipeline.Load(f, pipeline.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := BoardC(res.Plan); err == nil || !strings.Contains(err.Error(), "registers a heap of that name itself") {
			t.Errorf("%s: BoardC: %v", tt.v, err)
		}
	}
}

// TestCompatHeaderAgreesWithKmodel: kernel/src/dtheap_compat.h picks the MODULE_IMPORT_NS form
// and the DMA_BUF_HEAP import by LINUX_VERSION_CODE; on every proven kernel its choice must be
// what kmodel read from that kernel's source (include/linux/module.h, drivers/dma-buf/dma-heap.c).
func TestCompatHeaderAgreesWithKmodel(t *testing.T) {
	h, err := src.ReadFile("src/dtheap_compat.h")
	if err != nil {
		t.Fatal(err)
	}
	at := func(line string) kmodel.Version {
		// The #if DTHEAP_KV_AT_LEAST(major, minor) right before the line.
		text := string(h)
		i := strings.Index(text, line)
		if i < 0 {
			t.Fatalf("dtheap_compat.h has no %s", line)
		}
		j := strings.LastIndex(text[:i], "DTHEAP_KV_AT_LEAST(")
		var v kmodel.Version
		if _, err := fmt.Sscanf(text[j:], "DTHEAP_KV_AT_LEAST(%d, %d)", &v.Major, &v.Minor); err != nil {
			t.Fatalf("cannot read the version before %s: %v", line, err)
		}
		return v
	}
	quoted := at(`MODULE_IMPORT_NS("DMA_BUF");`)
	heapNS := at(`MODULE_IMPORT_NS("DMA_BUF_HEAP");`)
	for _, v := range kmodel.Proven {
		m := kmodel.ForVersion(v)
		if got := v.AtLeast(quoted); got != m.QuotedNamespaces {
			t.Errorf("Linux %s: the header quotes namespaces: %v, kmodel: %v", v, got, m.QuotedNamespaces)
		}
		if got := v.AtLeast(heapNS); got != m.ExportsHeapAPI {
			t.Errorf("Linux %s: the header imports DMA_BUF_HEAP: %v, kmodel says exported: %v", v, got, m.ExportsHeapAPI)
		}
	}
}
