package generator

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dtheap/dtheap/board"
	"github.com/dtheap/dtheap/dtbind"
	"github.com/dtheap/dtheap/internal/benchboard"
	"github.com/dtheap/dtheap/kernel"
	"github.com/dtheap/dtheap/mapview"
	"github.com/dtheap/dtheap/pipeline"
	"github.com/dtheap/dtheap/plan"
	"github.com/dtheap/dtheap/provision"
	"github.com/dtheap/dtheap/validate"
)

// sizes are the synthetic board sizes, in pools: one decade apart, so the ratio of two
// neighbouring results is the growth factor per 10x.
var sizes = []int{10, 100, 1000, 10000}

// input is one board the benchmarks run on, loaded and planned once.
type input struct {
	name  string // sub-benchmark name: board=NAME or pools=N
	path  string // the board file
	pools int    // pools the plan must have
	board *board.Board
	plan  *plan.Plan
	base  []byte // a base .dtb the plan patches into
}

var (
	inputsOnce sync.Once
	inputsList []*input
	inputsErr  error
)

// inputs returns the largest reference board and the synthetic boards, each checked to load
// and plan with the pools it should have: a benchmark of a board that did not load would
// measure an error path.
func inputs(tb testing.TB) []*input {
	tb.Helper()
	inputsOnce.Do(func() { inputsList, inputsErr = loadInputs() })
	if inputsErr != nil {
		tb.Fatal(inputsErr)
	}
	return inputsList
}

func loadInputs() ([]*input, error) {
	ref, err := largestReference()
	if err != nil {
		return nil, err
	}
	out := []*input{ref}
	dir, err := os.MkdirTemp("", "dtheap-bench-")
	if err != nil {
		return nil, err
	}
	for _, n := range sizes {
		path := filepath.Join(dir, fmt.Sprintf("synthetic-%d.yaml", n))
		if err := os.WriteFile(path, benchboard.YAML(n), 0o644); err != nil {
			return nil, err
		}
		in, err := loadInput(fmt.Sprintf("pools=%d", n), path, n)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

// largestReference picks the board in boards/ with the most regions.
func largestReference() (*input, error) {
	paths, err := filepath.Glob(filepath.Join("..", "..", "boards", "*.yaml"))
	if err != nil || len(paths) == 0 {
		return nil, fmt.Errorf("no reference boards in ../../boards (%v)", err)
	}
	var best *input
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		in, err := loadInput("board="+name, path, -1)
		if err != nil {
			return nil, err
		}
		if best == nil || len(in.plan.Regions) > len(best.plan.Regions) {
			best = in
		}
	}
	return best, nil
}

// loadInput loads and plans one board; pools < 0 takes whatever the board has.
func loadInput(name, path string, pools int) (*input, error) {
	res, err := pipeline.Load(path, pipeline.Options{})
	if err != nil {
		return nil, err
	}
	if res.Plan == nil {
		return nil, fmt.Errorf("%s did not load: %v", path, res.Findings)
	}
	if n := len(res.Plan.Pools()); pools >= 0 && n != pools {
		return nil, fmt.Errorf("%s: %d pools planned, want %d", path, n, pools)
	}
	base, err := benchboard.BaseDTB(res.Plan)
	if err != nil {
		return nil, fmt.Errorf("%s: base tree: %w", path, err)
	}
	return &input{name: name, path: path, pools: len(res.Plan.Pools()), board: res.Board, plan: res.Plan, base: base}, nil
}

// emitted counts the regions written into /reserved-memory.
func emitted(p *plan.Plan) int {
	n := 0
	for _, r := range p.Regions {
		if r.Emit {
			n++
		}
	}
	return n
}

// placedHeaps counts the heaps whose pool has a place: the ones the manifest lists.
func placedHeaps(p *plan.Plan, provider string) int {
	n := 0
	for _, h := range p.Heaps {
		if h.Region.Placed && (provider == "" || h.Provider == provider) {
			n++
		}
	}
	return n
}

// job is one benchmarked piece of work: run does it and returns its output, check says
// whether that output shows the whole job was done.
type job struct {
	run   func(in *input) ([]byte, error)
	check func(in *input, out []byte) error
}

// once runs the job one time and checks its output.
func (j job) once(in *input) ([]byte, error) {
	out, err := j.run(in)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in.name, err)
	}
	if err := j.check(in, out); err != nil {
		return nil, fmt.Errorf("%s: %w", in.name, err)
	}
	return out, nil
}

// bench runs one sub-benchmark per input: the job once, untimed and checked, then b.N times.
func bench(b *testing.B, j job) {
	for _, in := range inputs(b) {
		b.Run(in.name, func(b *testing.B) {
			if _, err := j.once(in); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := j.run(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// poolCount is the output of the front-half jobs: how many pools came out.
func poolCount(n int) []byte { return []byte(fmt.Sprint(n)) }

// checkPools accepts the output of a front-half job that produced the input's pools.
func checkPools(in *input, out []byte) error {
	if got := string(out); got != fmt.Sprint(in.pools) {
		return fmt.Errorf("%s pools, want %d", got, in.pools)
	}
	return nil
}

// loadValidatePlan is what every command does first: read the YAML file, check the schema,
// decode, plan and validate (pipeline.Load).
var loadValidatePlan = job{func(in *input) ([]byte, error) {
	res, err := pipeline.Load(in.path, pipeline.Options{})
	if err != nil {
		return nil, err
	}
	if res.Plan == nil {
		return nil, fmt.Errorf("did not load: %v", res.Findings)
	}
	return poolCount(len(res.Plan.Pools())), nil
}, checkPools}

// load is the loader alone: YAML parse, schema check, decode.
var load = job{func(in *input) ([]byte, error) {
	bd, findings, err := board.Load(in.path, board.Options{})
	if err != nil {
		return nil, err
	}
	if bd == nil {
		return nil, fmt.Errorf("did not load: %v", findings)
	}
	return poolCount(len(bd.Pools)), nil
}, checkPools}

// validatePlan is placement and the rules on a loaded board: issue #8's 100 ms target is
// for this one at 10,000 pools.
var validatePlan = job{func(in *input) ([]byte, error) {
	p := plan.Build(in.board)
	validate.Check(in.board, p, validate.Options{})
	return poolCount(len(p.Pools())), nil
}, checkPools}

// placement is the planner alone; its output is the number of dynamic pools it allocated.
var placement = job{func(in *input) ([]byte, error) {
	return poolCount(len(plan.Build(in.board).AllocOrder)), nil
}, func(in *input, out []byte) error {
	if got, want := string(out), fmt.Sprint(len(in.plan.AllocOrder)); got != want {
		return fmt.Errorf("%s dynamic pools allocated, want %s", got, want)
	}
	return nil
}}

// rules is the rule catalog alone over the plan, verbose so that every allocated dynamic
// pool reports its predicted place.
var rules = job{func(in *input) ([]byte, error) {
	p := *in.plan // Check stores its findings in the plan: keep the shared one as it was
	return poolCount(len(validate.Check(in.board, &p, validate.Options{Verbose: true}))), nil
}, func(in *input, out []byte) error {
	var n int
	fmt.Sscan(string(out), &n)
	if n < len(in.plan.AllocOrder) {
		return fmt.Errorf("%d findings, want at least %d (one per allocated dynamic pool)", n, len(in.plan.AllocOrder))
	}
	return nil
}}

// countRegions checks that a devicetree source has one node per emitted region: fixed ones
// have reg, dynamic ones size, and no other node we write has either.
func countRegions(in *input, out []byte) error {
	got := bytes.Count(out, []byte("\treg = <")) + bytes.Count(out, []byte("\tsize = <"))
	if want := emitted(in.plan); got != want {
		return fmt.Errorf("%d region nodes written, want %d", got, want)
	}
	return nil
}

// dtsi is dtheap dts: the .dtsi fragment.
var dtsi = job{func(in *input) ([]byte, error) { return dtbind.DTSI(in.plan) }, countRegions}

// overlay is dtheap dts --overlay.
var overlay = job{func(in *input) ([]byte, error) { return dtbind.Overlay(in.plan) }, countRegions}

// patch is dtheap dtb: parse the base blob, patch it, write it.
var patch = job{func(in *input) ([]byte, error) {
	res, err := dtbind.Patch(in.plan, in.base)
	if err != nil {
		return nil, err
	}
	return res.DTB, nil
}, func(in *input, out []byte) error {
	// Patch records every region's label in /__symbols__ as "/reserved-memory/<node>".
	if got, want := bytes.Count(out, []byte("/reserved-memory/")), emitted(in.plan); got != want {
		return fmt.Errorf("%d /reserved-memory symbols in the patched tree, want %d", got, want)
	}
	return nil
}}

// kernelFiles is dtheap kernel: driver sources, dtheap_board.c, Kbuild, Kconfig fragment,
// manifest and README. Its output is dtheap_board.c, the part that grows with the board.
var kernelFiles = job{func(in *input) ([]byte, error) {
	files, err := kernel.Generate(in.plan, kernel.Options{})
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if f.Name == "dtheap_board.c" {
			return f.Data, nil
		}
	}
	return nil, fmt.Errorf("no dtheap_board.c among %d files", len(files))
}, func(in *input, out []byte) error {
	if got, want := bytes.Count(out, []byte(".region = ")), placedHeaps(in.plan, provision.ProviderDtheap); got != want {
		return fmt.Errorf("%d heaps in dtheap_board.c, want %d", got, want)
	}
	return nil
}}

// manifest is dtheap manifest: the boot manifest as JSON.
var manifest = job{func(in *input) ([]byte, error) {
	var buf bytes.Buffer
	err := provision.FromPlan(in.plan).Encode(&buf)
	return buf.Bytes(), err
}, func(in *input, out []byte) error {
	if got, want := bytes.Count(out, []byte(`"provider"`)), placedHeaps(in.plan, ""); got != want {
		return fmt.Errorf("%d heaps in the manifest, want %d", got, want)
	}
	return nil
}}

// countLabelled checks that a map labels every placed region with a size: one region label
// each on the right of the bar.
func countLabelled(in *input, out []byte) error {
	want := 0
	for _, r := range in.plan.Regions {
		if r.Placed && r.Size > 0 {
			want++
		}
	}
	if got := bytes.Count(out, []byte(`class="label region-label"`)); got != want {
		return fmt.Errorf("%d region labels in the map, want %d", got, want)
	}
	return nil
}

// svgMap is dtheap map -o map.svg.
var svgMap = job{func(in *input) ([]byte, error) { return mapview.SVG([]*plan.Plan{in.plan}), nil }, countLabelled}

// htmlReport is dtheap map -o report.html: the map, the region table and the findings.
var htmlReport = job{func(in *input) ([]byte, error) { return mapview.HTML([]*plan.Plan{in.plan}), nil }, countLabelled}

func BenchmarkLoadValidatePlan(b *testing.B) { bench(b, loadValidatePlan) }
func BenchmarkLoad(b *testing.B)             { bench(b, load) }
func BenchmarkValidatePlan(b *testing.B)     { bench(b, validatePlan) }
func BenchmarkPlan(b *testing.B)             { bench(b, placement) }
func BenchmarkValidate(b *testing.B)         { bench(b, rules) }
func BenchmarkDTSI(b *testing.B)             { bench(b, dtsi) }
func BenchmarkOverlay(b *testing.B)          { bench(b, overlay) }
func BenchmarkPatch(b *testing.B)            { bench(b, patch) }
func BenchmarkKernel(b *testing.B)           { bench(b, kernelFiles) }
func BenchmarkManifest(b *testing.B)         { bench(b, manifest) }
func BenchmarkMapSVG(b *testing.B)           { bench(b, svgMap) }
func BenchmarkMapHTML(b *testing.B)          { bench(b, htmlReport) }

// TestJobsDoTheirWork runs every benchmarked job once on every input, untimed, with the checks
// the benchmarks make: a benchmark that silently measured an error path would be worthless.
func TestJobsDoTheirWork(t *testing.T) {
	ins := inputs(t)
	if len(ins) != 1+len(sizes) {
		t.Fatalf("%d inputs, want the reference board and %d sizes", len(ins), len(sizes))
	}
	jobs := map[string]job{"LoadValidatePlan": loadValidatePlan, "Load": load, "ValidatePlan": validatePlan,
		"Plan": placement, "Validate": rules, "DTSI": dtsi, "Overlay": overlay, "Patch": patch,
		"Kernel": kernelFiles, "Manifest": manifest, "MapSVG": svgMap, "MapHTML": htmlReport}
	for name, j := range jobs {
		for _, in := range ins {
			if _, err := j.once(in); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
}
