package lint_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/internal/testfile"
	"github.com/dtheap/dtheap/lint"
)

// TestMemreserveLint: a tree's /memreserve/ entries reach the rules with the position where
// each was written (through #include: cpp's line markers), and the verdict follows the kernel
// version: the dynamic pool at the top of DRAM lands on the entry on 6.12 and 7.3
// (memreserve-overlap) and goes around it on 6.1 (nothing). A .dtb has no source: the file.
func TestMemreserveLint(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	write := testfile.Writer(t, dir)
	write("soc.dtsi", "/* the boot loader's code */\n\t/memreserve/ 0x7f000000 0x1000000;\n")
	dts := write("board.dts", `/dts-v1/;
#include "soc.dtsi"
/memreserve/ 0x90000000 0x1000;
/ {
	#address-cells = <2>;
	#size-cells = <2>;
	memory@40000000 { device_type = "memory"; reg = <0 0x40000000 0 0x40000000>; };
	reserved-memory {
		#address-cells = <2>;
		#size-cells = <2>;
		ranges;
		cam { compatible = "shared-dma-pool"; reusable; size = <0 0x2000000>; };
	};
};
`)
	for _, tt := range []struct {
		version string
		overlap bool
	}{{"6.1", false}, {"6.12", true}, {"7.3", true}} {
		t.Run(tt.version, func(t *testing.T) {
			res, err := lint.Lint(dts, lint.Options{Kernel: tt.version})
			if err != nil {
				t.Fatal(err)
			}
			ov := find(res.Findings, "memreserve-overlap")
			if (ov != nil) != tt.overlap {
				t.Fatalf("memreserve-overlap %v, want %v:\n%v", ov, tt.overlap, res.Findings)
			}
			if ov != nil && (len(ov.Related) != 1 || !strings.HasSuffix(ov.Related[0].String(), "soc.dtsi:2:2")) {
				t.Errorf("overlap points at the entry %v, want soc.dtsi:2:2", ov.Related)
			}
			out := find(res.Findings, "memreserve-outside-dram")
			if out == nil || !strings.HasSuffix(out.Pos.String(), "board.dts:3:1") {
				t.Errorf("memreserve-outside-dram %v, want it at board.dts:3:1", out)
			}
		})
	}
	// The same tree compiled: no source, so the entry is placed at the file.
	blob := filepath.Join(dir, "board.dtb")
	pp, err := exec.Command("cpp", "-nostdinc", "-I", dir, "-undef", "-x", "assembler-with-cpp", "-D__DTS__", dts).Output()
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command("dtc", "-q", "-I", "dts", "-O", "dtb", "-o", blob, "-")
	c.Stdin = strings.NewReader(string(pp))
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("dtc: %v\n%s", err, out)
	}
	res, err := lint.Lint(blob, lint.Options{Kernel: "6.12"})
	if err != nil {
		t.Fatal(err)
	}
	if ov := find(res.Findings, "memreserve-overlap"); ov == nil || len(ov.Related) != 1 || ov.Related[0].String() != blob {
		t.Errorf("from the .dtb: %v", res.Findings)
	}
}
