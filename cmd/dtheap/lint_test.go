package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLintAndImportCommands(t *testing.T) {
	rules := filepath.Join("..", "..", "validate", "testdata", "rules")
	clean := filepath.Join(t.TempDir(), "clean.dts")
	os.WriteFile(clean, []byte(`/dts-v1/;
/ { #address-cells = <2>; #size-cells = <2>;
	memory@40000000 { device_type = "memory"; reg = <0x0 0x40000000 0x0 0x40000000>; };
	reserved-memory { #address-cells = <2>; #size-cells = <2>; ranges;
		linux,cma { compatible = "shared-dma-pool"; reusable; size = <0x0 0x4000000>; linux,cma-default; };
	};
};
`), 0o644)
	nomap := filepath.Join(rules, "nomap-reusable.dts")
	tests := []cliCase{
		{"clean tree", []string{"lint", clean}, 0, "1 tree(s): 0 error(s), 0 warning(s)"},
		{"defect", []string{"lint", nomap}, 1, "nomap-reusable.dts:23:4: error[nomap-reusable]: /reserved-memory/dsp@50000000:"},
		{"defect json", []string{"lint", "--format", "json", nomap}, 1, `"node": "/reserved-memory/dsp@50000000"`},
		{"defect sarif", []string{"lint", "--format", "sarif", nomap}, 1, `"version": "2.1.0"`},
		{"disabled", []string{"lint", "--disable", "nomap-reusable", nomap}, 0, ""},
		{"7.3 alloc-ranges", []string{"lint", "--kernel", "7.3", filepath.Join(rules, "alloc-ranges-length.dts")}, 0, "warning[alloc-ranges-length]"},
		{"bad kernel", []string{"lint", "--kernel", "six", clean}, 2, "--kernel"},
		{"bad memory", []string{"lint", "--memory", "0x40000000", clean}, 2, "BASE:SIZE"},
		{"no tree", []string{"lint"}, 2, "name at least one"},
		{"missing tree", []string{"lint", filepath.Join(t.TempDir(), "none.dts")}, 2, "no such file"},
		{"bad format", []string{"lint", "--format", "xml", clean}, 2, "--format"},
		{"import reports", []string{"import", nomap}, 1, "error[nomap-reusable]: /reserved-memory/dsp@50000000"},
		{"import unknown dram", []string{"import", filepath.Join("..", "..", "lint", "testdata", "src", "soc.dtsi"), "-I", filepath.Join("..", "..", "lint", "testdata", "include")}, 0, "memory: unknown"},
		{"import --memory", []string{"import", "--memory", "0x40000000:2GiB", filepath.Join("..", "..", "lint", "testdata", "src", "soc.dtsi"), "-I", filepath.Join("..", "..", "lint", "testdata", "include")}, 0, "{name: dram, base: 0x40000000, size: 2GiB}"},
	}
	runCases(t, tests)
}

// TestImportedUnknownDRAMValidates: a board imported from a tree that leaves the DRAM to the
// boot loader loads, and validate says (info) what it could not judge instead of erroring.
func TestImportedUnknownDRAMValidates(t *testing.T) {
	out := filepath.Join(t.TempDir(), "b.yaml")
	code, _, errs := runCapture(t, "import", "-o", out, filepath.Join("..", "..", "lint", "testdata", "src", "soc.dtsi"), "-I", filepath.Join("..", "..", "lint", "testdata", "include"))
	if code != 0 {
		t.Fatalf("import: exit %d: %s", code, errs)
	}
	code, stdout, errs := runCapture(t, "validate", out)
	if code != 0 || !strings.Contains(stdout, "info[dram-unknown]") {
		t.Errorf("validate: exit %d\n%s%s", code, stdout, errs)
	}
}

func TestDoctorCommand(t *testing.T) {
	rec := filepath.Join("..", "..", "doctor", "testdata")
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"doctor", filepath.Join(rec, "qemu-6.12")}, 1, "failed       /reserved-memory/big"},
		{[]string{"doctor", "--format", "json", filepath.Join(rec, "qemu-6.1")}, 1, `"verdict": "overlapping"`},
		{[]string{"doctor", t.TempDir()}, 2, "sys/firmware/fdt"},
	} {
		code, out, errs := runCapture(t, tt.args...)
		if code != tt.code || !strings.Contains(out+errs, tt.want) {
			t.Errorf("%v: exit %d (want %d), output lacks %q:\n%s%s", tt.args, code, tt.code, tt.want, out, errs)
		}
	}
}
