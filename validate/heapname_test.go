package validate_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/lint"
	"github.com/dtheap/dtheap/pipeline"
)

// heapNameCases are both sides of the kernel's heap name handling, read from
// drivers/dma-buf/dma-heap.c dma_heap_add and lib/kobject.c kobject_set_name_vargs of 6.1,
// 6.12 and 7.3 (the same in all three): the name is device_create's format string, and '/'
// becomes '!'. want is the error the name draws ("" for none).
var heapNameCases = []struct {
	name, want string
}{
	{"dsp%d", "heap-name-format"},  // a conversion with no argument
	{"dsp%%0", "heap-name-format"}, // "%%" prints "%": the device is dsp%0, not dsp%%0
	{"dsp%", "heap-name-format"},   // a lone '%' at the end
	{"dsp-d", ""},                  // the nearest legal names
	{"dsp_pct0", ""},
	{"dsp!0", ""},          // '!' is what '/' becomes: legal in a name as written
	{"dsp/0", "heap-name"}, // becomes dsp!0
	{"dsp@50000000", ""},
}

// TestHeapNameYAML: every case on every modelled kernel, from a board file.
func TestHeapNameYAML(t *testing.T) {
	for _, v := range []string{"6.1", "6.12", "7.3"} {
		for _, tc := range heapNameCases {
			t.Run(v+"/"+tc.name, func(t *testing.T) {
				board := "board: t\narch: arm64\nkernel: {version: \"" + v + "\"}\n" +
					"memory:\n  - {name: dram, base: 0x40000000, size: 1GiB}\n" +
					"pools:\n  - {name: dsp, kind: carveout, base: 0x50000000, size: 16MiB, mapping: writecombine, heap: \"" + tc.name + "\"}\n"
				path := filepath.Join(t.TempDir(), "b.yaml")
				if err := os.WriteFile(path, []byte(board), 0o644); err != nil {
					t.Fatal(err)
				}
				res, err := pipeline.Load(path, pipeline.Options{})
				if err != nil {
					t.Fatal(err)
				}
				checkHeapNameFindings(t, res.Findings, tc.want, tc.name)
			})
		}
	}
}

// TestHeapNameTree: the same names written in a tree's dtheap,dma-heaps node, through dtheap
// lint; the finding names the pool's node.
func TestHeapNameTree(t *testing.T) {
	for _, v := range []string{"6.1", "7.3"} {
		for _, tc := range heapNameCases {
			t.Run(v+"/"+tc.name, func(t *testing.T) {
				dts := `/dts-v1/;
/ {
	#address-cells = <2>;
	#size-cells = <2>;
	memory@40000000 {
		device_type = "memory";
		reg = <0x0 0x40000000 0x0 0x40000000>;
	};
	reserved-memory {
		#address-cells = <2>;
		#size-cells = <2>;
		ranges;
		dsp: dsp@50000000 {
			compatible = "shared-dma-pool";
			reg = <0x0 0x50000000 0x0 0x1000000>;
			no-map;
		};
	};
	dma-heaps {
		compatible = "dtheap,dma-heaps";
		memory-region = <&dsp>;
		dtheap,heap-names = "` + tc.name + `";
		dtheap,heap-kinds = "carveout";
		dtheap,heap-mappings = "writecombine";
	};
};
`
				path := filepath.Join(t.TempDir(), "t.dts")
				if err := os.WriteFile(path, []byte(dts), 0o644); err != nil {
					t.Fatal(err)
				}
				res, err := lint.Lint(path, lint.Options{Kernel: v})
				if err != nil {
					t.Fatal(err)
				}
				checkHeapNameFindings(t, res.Findings, tc.want, tc.name)
				for _, f := range res.Findings {
					if f.Rule == tc.want && !strings.Contains(f.Pos.Node, "dsp@50000000") {
						t.Errorf("finding does not name the node: %v (node %q)", f, f.Pos.Node)
					}
				}
			})
		}
	}
}

func checkHeapNameFindings(t *testing.T, fs diag.List, want, name string) {
	t.Helper()
	fired := false
	for _, f := range fs {
		switch {
		case f.Rule == want:
			fired = true
			if f.Severity != diag.Error {
				t.Errorf("%s at %v, want error", f.Rule, f.Severity)
			}
		case f.Severity >= diag.Warning:
			t.Errorf("heap %q: unexpected %v", name, f)
		}
	}
	if want != "" && !fired {
		t.Errorf("heap %q: %s did not fire:\n%v", name, want, fs)
	}
}
