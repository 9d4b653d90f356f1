package benchboard

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/dtbind"
	"github.com/dtheap/dtheap/kmodel"
	"github.com/dtheap/dtheap/pipeline"
)

// load runs a generated board through the real loader, planner and validator.
func load(t *testing.T, n int) *pipeline.Result {
	t.Helper()
	path := filepath.Join(t.TempDir(), "board.yaml")
	if err := os.WriteFile(path, YAML(n), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := pipeline.Load(path, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Plan == nil {
		t.Fatalf("%d pools: the board did not load:\n%v", n, res.Findings)
	}
	return res
}

// TestBoardsLoadAndPlan checks what the benchmarks rely on: every generated size loads, has
// the pools it was asked for, and plans them (every dynamic pool the kernel keeps is placed).
func TestBoardsLoadAndPlan(t *testing.T) {
	for _, n := range []int{1, 10, MaxClean, 100, 1000, 10000} {
		res := load(t, n)
		pools := res.Plan.Pools()
		if len(pools) != n {
			t.Fatalf("%d pools asked, %d planned", n, len(pools))
		}
		dynamic := 0
		for _, r := range pools {
			if r.Fixed {
				continue
			}
			dynamic++
			if !r.Dropped && !r.Placed {
				t.Errorf("%d pools: dynamic pool %s is not placed: %s", n, r.Name, r.Failure)
			}
		}
		if n >= 10 && dynamic < n/5 {
			t.Errorf("%d pools: only %d dynamic", n, dynamic)
		}
		if n >= 10 && len(res.Plan.Heaps) < n/2 || len(res.Plan.Heaps) == 0 {
			t.Errorf("%d pools: only %d heaps", n, len(res.Plan.Heaps))
		}
		for _, f := range res.Findings {
			if f.Severity == diag.Error && !limitRules[f.Rule] {
				t.Errorf("%d pools: finding beyond the kernel's limits: %v", n, f)
			}
		}
	}
}

// limitRules are the findings a board larger than MaxClean is expected to have: it breaks
// the kernel's fixed limits, nothing else.
var limitRules = map[string]bool{"too-many-regions": true, "heap-count": true, "cma-slots": true}

// TestSmallBoardsClean checks that boards up to MaxClean pools have no findings at all at
// warning level or above, and that one more pool goes over the 64-region limit.
func TestSmallBoardsClean(t *testing.T) {
	for _, n := range []int{1, 10, MaxClean} {
		for _, f := range load(t, n).Findings {
			if f.Severity >= diag.Warning {
				t.Errorf("%d pools: %v", n, f)
			}
		}
	}
	if res := load(t, MaxClean+1); !hasRule(res.Findings, "too-many-regions") {
		t.Errorf("%d pools: no too-many-regions finding", MaxClean+1)
	}
}

func hasRule(l diag.List, id string) bool {
	for _, f := range l {
		if f.Rule == id {
			return true
		}
	}
	return false
}

// TestBaseDTBPatches checks that the stand-in base tree takes the plan's patch.
func TestBaseDTBPatches(t *testing.T) {
	for _, n := range []int{10, 1000} {
		p := load(t, n).Plan
		base, err := BaseDTB(p)
		if err != nil {
			t.Fatal(err)
		}
		res, err := dtbind.Patch(p, base)
		if err != nil {
			t.Fatalf("%d pools: %v", n, err)
		}
		if len(res.DTB) <= len(base) {
			t.Errorf("%d pools: patched tree (%d bytes) is not larger than the base (%d)", n, len(res.DTB), len(base))
		}
	}
}

func TestDeterministic(t *testing.T) {
	if !bytes.Equal(YAML(100), YAML(100)) {
		t.Fatal("YAML(100) differs between calls")
	}
}

// TestRegionCount pins the arithmetic behind MaxClean: the default CMA area and the pools
// plus the emitted firmware fill exactly the kernel's 64 regions.
func TestRegionCount(t *testing.T) {
	emitted := 0
	for _, r := range load(t, MaxClean).Plan.Regions {
		if r.Emit {
			emitted++
		}
	}
	// The boards say kernel 6.1, whose limit counts every child (kmodel).
	if limit := kmodel.ForVersion(kmodel.Version{Major: 6, Minor: 1}).RegionLimit; emitted != limit {
		t.Errorf("MaxClean board emits %d regions, want %d", emitted, limit)
	}
}

// TestBaseDTSMatchesBaseDTB checks that the source form compiles (dtc -@) to the same tree as
// the blob form, so that bench/dtc.sh and the Go benchmarks patch the same base.
func TestBaseDTSMatchesBaseDTB(t *testing.T) {
	dtc, err := exec.LookPath("dtc")
	if err != nil {
		t.Fatal("dtc is not installed: apt-get install device-tree-compiler")
	}
	decompile := func(blob []byte) string {
		c := exec.Command(dtc, "-q", "-I", "dtb", "-O", "dts", "-")
		c.Stdin = bytes.NewReader(blob)
		out, err := c.Output()
		if err != nil {
			t.Fatalf("dtc -I dtb: %v", err)
		}
		return string(out)
	}
	p := load(t, 100).Plan
	src, err := BaseDTS(p)
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command(dtc, "-@", "-q", "-I", "dts", "-O", "dtb", "-")
	c.Stdin = strings.NewReader(src)
	compiled, err := c.Output()
	if err != nil {
		t.Fatalf("dtc -I dts: %v\n%s", err, src)
	}
	blob, err := BaseDTB(p)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := decompile(compiled), decompile(blob); a != b {
		t.Errorf("BaseDTS compiles to\n%s\nBaseDTB is\n%s", a, b)
	}
}
