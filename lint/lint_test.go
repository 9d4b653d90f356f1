package lint_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/dtbind"
	"github.com/dtheap/dtheap/lint"
	"github.com/dtheap/dtheap/plan"
)

func needTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"dtc", "cpp"} {
		if _, err := exec.LookPath(tool); err != nil {
			// CI installs both (make test); a silently skipped devicetree check is worse than a failure.
			t.Fatalf("%s is not installed (apt-get install device-tree-compiler cpp)", tool)
		}
	}
}

// defects are the devicetree mistakes issue 13 lists: each corpus tree (shared with the
// validate rule corpus) must draw its rule, at its node, from lint and from import.
var defects = []struct {
	rule, node string
	sev        diag.Severity
}{
	{"rmem-cells", "/reserved-memory", diag.Error},
	{"rmem-ranges", "/reserved-memory", diag.Error},
	{"size-length", "/reserved-memory/camera", diag.Error},
	{"alignment-length", "/reserved-memory/camera", diag.Error},
	{"alloc-ranges-length", "/reserved-memory/camera", diag.Error},
	{"nomap-reusable", "/reserved-memory/dsp@50000000", diag.Error},
	{"alignment-power-of-two", "/reserved-memory/buf", diag.Warning},
	{"reg-length", "/reserved-memory/fw@50000000", diag.Error},
}

func corpus(rule string) string {
	return filepath.Join("..", "validate", "testdata", "rules", rule+".dts")
}

func find(l diag.List, rule string) *diag.Finding {
	for i := range l {
		if l[i].Rule == rule {
			return &l[i]
		}
	}
	return nil
}

func TestDefectsLintSource(t *testing.T) {
	needTools(t)
	for _, d := range defects {
		t.Run(d.rule, func(t *testing.T) {
			res, err := lint.Lint(corpus(d.rule), lint.Options{})
			if err != nil {
				t.Fatal(err)
			}
			f := find(res.Findings, d.rule)
			if f == nil {
				t.Fatalf("no %s finding: %v", d.rule, res.Findings)
			}
			if f.Pos.Node != d.node || f.Severity != d.sev || f.Pos.Line == 0 || !strings.HasSuffix(f.Pos.File, d.rule+".dts") {
				t.Errorf("got %s at %s (node %q), want %v at %s with a line", f.Severity, f.Pos, f.Pos.Node, d.sev, d.node)
			}
			// The line named is the one that holds the node or the faulty property.
			src, _ := os.ReadFile(corpus(d.rule))
			line := strings.Split(string(src), "\n")[f.Pos.Line-1]
			base := d.node[strings.LastIndex(d.node, "/")+1:]
			if !strings.Contains(line, base) && !strings.Contains(line, strings.SplitN(d.rule, "-", 2)[0]) && !strings.Contains(line, "cells") && !strings.Contains(line, "reusable") {
				t.Errorf("line %d %q is neither node %s nor its property", f.Pos.Line, line, base)
			}
		})
	}
}

func TestDefectsLintDTB(t *testing.T) {
	needTools(t)
	for _, d := range defects {
		t.Run(d.rule, func(t *testing.T) {
			blob, err := exec.Command("dtc", "-q", "-I", "dts", "-O", "dtb", "-o", "-", corpus(d.rule)).Output()
			if err != nil {
				t.Fatal(err)
			}
			dtb := filepath.Join(t.TempDir(), d.rule+".dtb")
			if err := os.WriteFile(dtb, blob, 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := lint.Lint(dtb, lint.Options{})
			if err != nil {
				t.Fatal(err)
			}
			f := find(res.Findings, d.rule)
			if f == nil || f.Pos.Node != d.node || f.Pos.File != dtb || f.Pos.Line != 0 {
				t.Errorf("want %s at %s in %s, got %v", d.rule, d.node, dtb, res.Findings)
			}
		})
	}
}

func TestDefectsImport(t *testing.T) {
	needTools(t)
	for _, d := range defects {
		t.Run(d.rule, func(t *testing.T) {
			b, err := lint.Import(corpus(d.rule), nil, dtbind.ImportOptions{Source: d.rule + ".dts"})
			if err != nil {
				t.Fatal(err)
			}
			f := find(b.Findings, d.rule)
			if f == nil || f.Pos.Node != d.node || f.Severity != d.sev {
				t.Errorf("import: want %s at %s, got %v", d.rule, d.node, b.Findings)
			}
		})
	}
}

// TestVersions: what 7.3 does differently (of_flat_dt_get_addr_size_prop) changes the
// findings, on both sides of the version boundary.
func TestVersions(t *testing.T) {
	needTools(t)
	tests := []struct {
		rule, kernel string
		sev          diag.Severity
	}{
		{"alloc-ranges-length", "6.1", diag.Error},
		{"alloc-ranges-length", "6.12", diag.Error},
		{"alloc-ranges-length", "7.3", diag.Warning}, // ignored: placed anywhere
		{"reg-entries", "6.12", diag.Info},
		{"reg-entries", "7.3", diag.Warning}, // only the first entry reserved
		{"reg-length", "6.12", diag.Error},
		{"reg-length", "7.3", diag.Error},
	}
	for _, tt := range tests {
		res, err := lint.Lint(corpus(tt.rule), lint.Options{Kernel: tt.kernel})
		if err != nil {
			t.Fatal(err)
		}
		if f := find(res.Findings, tt.rule); f == nil || f.Severity != tt.sev {
			t.Errorf("%s on %s: want %v, got %v", tt.rule, tt.kernel, tt.sev, res.Findings)
		}
	}
}

// TestSourceThroughCPP: includes, macros and a .dts that extends a node of its .dtsi, as
// the kernel's dtbs build preprocesses them; positions point into the file that wrote each
// property; DRAM left to the boot loader is unknown, or taken from Memory.
func TestSourceThroughCPP(t *testing.T) {
	needTools(t)
	inc := filepath.Join("testdata", "include")
	res, err := lint.Lint(filepath.Join("testdata", "src", "board.dts"), lint.Options{Includes: []string{inc}})
	if err != nil {
		t.Fatal(err)
	}
	f := find(res.Findings, "alignment-power-of-two")
	if f == nil || f.Pos.File != filepath.Join("testdata", "src", "board.dts") || f.Pos.Line != 7 || f.Pos.Node != "/reserved-memory/camera" {
		t.Errorf("alignment-power-of-two: want board.dts:7 at /reserved-memory/camera, got %v", res.Findings)
	}
	if f := find(res.Findings, "dram-unknown"); f == nil || f.Severity != diag.Info || !strings.HasSuffix(f.Pos.File, "soc.dtsi") || f.Pos.Line != 11 {
		t.Errorf("dram-unknown: want info at soc.dtsi:11, got %v", res.Findings)
	}
	if res.Findings.Count(diag.Error) != 0 || res.Regions != 1 {
		t.Errorf("want no errors and 1 region, got %d regions: %v", res.Regions, res.Findings)
	}
	// With the DRAM given, the pool is placed and nothing could-not-judge remains.
	res, err = lint.Lint(filepath.Join("testdata", "src", "board.dts"), lint.Options{Includes: []string{inc},
		Memory: []plan.Range{{Base: 0x40000000, Size: 1 << 30}}})
	if err != nil {
		t.Fatal(err)
	}
	if find(res.Findings, "dram-unknown") != nil || res.Findings.Count(diag.Error) != 0 {
		t.Errorf("with --memory: %v", res.Findings)
	}
	// A .dtsi alone is linted too.
	res, err = lint.Lint(filepath.Join("testdata", "src", "soc.dtsi"), lint.Options{Includes: []string{inc}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Regions != 1 || find(res.Findings, "dram-unknown") == nil {
		t.Errorf("soc.dtsi: %d regions, %v", res.Regions, res.Findings)
	}
	// Without the include directory, cpp fails: an input error naming the file.
	if _, err := lint.Lint(filepath.Join("testdata", "src", "board.dts"), lint.Options{}); err == nil || !strings.Contains(err.Error(), "sizes.h") {
		t.Errorf("missing include: got %v", err)
	}
}

func TestSARIF(t *testing.T) {
	needTools(t)
	res, err := lint.Lint(corpus("nomap-reusable"), lint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	if err := res.Findings.WriteSARIF(&buf, "dtheap", "", "", []diag.SARIFRule{{ID: "nomap-reusable", Severity: diag.Error, Doc: "d"}}); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []struct {
				RuleID    string `json:"ruleId"`
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }    `json:"artifactLocation"`
						Region           struct{ StartLine int } `json:"region"`
					} `json:"physicalLocation"`
					LogicalLocations []struct{ FullyQualifiedName string } `json:"logicalLocations"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(buf.String()), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 {
		t.Fatalf("not a SARIF 2.1.0 log: %s", buf.String())
	}
	found := false
	for _, r := range log.Runs[0].Results {
		if r.RuleID == "nomap-reusable" && r.Level == "error" && len(r.Locations) == 1 &&
			r.Locations[0].PhysicalLocation.Region.StartLine > 0 &&
			r.Locations[0].LogicalLocations[0].FullyQualifiedName == "/reserved-memory/dsp@50000000" {
			found = true
		}
	}
	if !found {
		t.Errorf("no nomap-reusable result with line and node:\n%s", buf.String())
	}
}

// TestContradictedDRAM: a tree whose alloc-ranges window holds none of the DRAM its /memory
// states has a boot loader placeholder for DRAM (unknown, info); a window that holds some of
// it is judged, and a pool too large for it is unplaceable.
func TestContradictedDRAM(t *testing.T) {
	needTools(t)
	tree := func(window string) string {
		return `/dts-v1/;
/ { #address-cells = <2>; #size-cells = <2>;
	memory@80000000 { device_type = "memory"; reg = <0x0 0x80000000 0x0 0x40000000>; };
	reserved-memory { #address-cells = <2>; #size-cells = <2>; ranges;
		linux,cma { compatible = "shared-dma-pool"; reusable; size = <0x0 0x3c000000>;
			alloc-ranges = <0x0 ` + window + ` 0x0 0x3c000000>; linux,cma-default; };
	};
};
`
	}
	for _, tc := range []struct {
		window      string
		unknown     bool
		unplaceable bool
	}{
		{"0xc0000000", true, false}, // starts where the stated DRAM ends: none of it is DRAM
		{"0x96000000", true, false}, // 672 MiB of it is stated DRAM: the 960 MiB pool needs the rest
		{"0x7c000000", false, true}, // ends below the stated DRAM's end, 896 MiB of it DRAM: judged, too small
	} {
		path := filepath.Join(t.TempDir(), "t.dts")
		if err := os.WriteFile(path, []byte(tree(tc.window)), 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := lint.Lint(path, lint.Options{Kernel: "7.3"})
		if err != nil {
			t.Fatal(err)
		}
		if got := find(res.Findings, "dram-unknown") != nil; got != tc.unknown {
			t.Errorf("window %s: dram-unknown %v, want %v: %v", tc.window, got, tc.unknown, res.Findings)
		}
		if got := find(res.Findings, "unplaceable") != nil; got != tc.unplaceable {
			t.Errorf("window %s: unplaceable %v, want %v: %v", tc.window, got, tc.unplaceable, res.Findings)
		}
		if !tc.unknown {
			continue
		}
		// Given the real DRAM, the window is judged against it.
		res, err = lint.Lint(path, lint.Options{Kernel: "7.3", Memory: []plan.Range{{Base: 0x80000000, Size: 4 << 30}}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Findings.Count(diag.Warning) != 0 {
			t.Errorf("window %s with 4 GiB: %v", tc.window, res.Findings)
		}
	}
}

// TestKconfigDefaultArea: a .config whose CONFIG_CMA_SIZE_MBYTES makes the default CMA area
// (no cma=, no linux,cma-default node) takes a CMA slot; 8 pools fill 6.12's 8 slots, so the
// area is the ninth. Both sides: size 0, or a default node among the pools, makes no area.
func TestKconfigDefaultArea(t *testing.T) {
	needTools(t)
	pools := func(def bool) string {
		var b strings.Builder
		for i := 0; i < 8; i++ {
			extra := ""
			if def && i == 0 {
				extra = " linux,cma-default;"
			}
			b.WriteString("\t\tp" + string(rune('0'+i)) + ` { compatible = "shared-dma-pool"; reusable; size = <0x0 0x400000>;` + extra + " };\n")
		}
		return b.String()
	}
	tree := func(def bool) string {
		return `/dts-v1/;
/ { #address-cells = <2>; #size-cells = <2>;
	memory@40000000 { device_type = "memory"; reg = <0x0 0x40000000 0x0 0x40000000>; };
	reserved-memory { #address-cells = <2>; #size-cells = <2>; ranges;
` + pools(def) + `	};
};
`
	}
	kconfig := func(mb int) string {
		return "# Linux/arm64 6.12.0 Kernel Configuration\nCONFIG_ARM64=y\nCONFIG_CMA=y\nCONFIG_DMA_CMA=y\nCONFIG_CMA_AREAS=8\nCONFIG_CMA_SIZE_MBYTES=" + strconv.Itoa(mb) + "\nCONFIG_CMA_SIZE_SEL_MBYTES=y\n"
	}
	for _, tc := range []struct {
		name    string
		def     bool
		mb      int
		kconfig bool
		slots   bool
	}{
		{"no kconfig", false, 0, false, false},
		{"kconfig 32 MiB", false, 32, true, true},
		{"kconfig 0 MiB", false, 0, true, false},
		{"default node", true, 32, true, false},
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, "t.dts")
		if err := os.WriteFile(path, []byte(tree(tc.def)), 0o644); err != nil {
			t.Fatal(err)
		}
		opts := lint.Options{Kernel: "6.12"}
		if tc.kconfig {
			opts.Kconfig = filepath.Join(dir, ".config")
			if err := os.WriteFile(opts.Kconfig, []byte(kconfig(tc.mb)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		res, err := lint.Lint(path, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := find(res.Findings, "cma-slots") != nil; got != tc.slots {
			t.Errorf("%s: cma-slots %v, want %v: %v", tc.name, got, tc.slots, res.Findings)
		}
	}
}

// TestFragmentCells: a .dtsi whose root leaves #address-cells/#size-cells to the tree that
// includes it is judged with /reserved-memory's cells; the same text as a whole .dts has the
// root defaults (<2 1>), which /reserved-memory's <2 2> breaks.
func TestFragmentCells(t *testing.T) {
	needTools(t)
	src := `/ {
	reserved-memory {
		#address-cells = <2>;
		#size-cells = <2>;
		ranges;
		fw@50000000 { reg = <0x0 0x50000000 0x0 0x100000>; no-map; };
	};
};
`
	dir := t.TempDir()
	dtsi := filepath.Join(dir, "frag.dtsi")
	dts := filepath.Join(dir, "whole.dts")
	if err := os.WriteFile(dtsi, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dts, []byte("/dts-v1/;\n"+src), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := lint.Lint(dtsi, lint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Findings.Count(diag.Warning) != 0 || res.Regions != 1 {
		t.Errorf(".dtsi: %d regions, %v", res.Regions, res.Findings)
	}
	res, err = lint.Lint(dts, lint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f := find(res.Findings, "rmem-cells"); f == nil {
		t.Errorf(".dts: want rmem-cells, got %v", res.Findings)
	}
}
