package plan

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/board"
	"github.com/dtheap/dtheap/internal/testfile"
	"github.com/dtheap/dtheap/kmodel"
)

// The placement corpus: layouts in testdata/bootcorpus/*.yaml, each booted on every reference
// kernel by scripts/record-placement.sh, which keeps the kernel's own reserved-memory lines in
// testdata/bootcorpus/<layout>.<version>.log. These tests hold the planner to those boots: the
// predicted base of every pool must be the address the kernel logged.
//
// corpusVersions are the kernels whose logs the planner is held to (6.1.192, 6.12.117 and
// 7.3.4 as Debian ships them). Checked by hand on 2026-12-01: setting 7.3's model to 6.1's
// heapsort order (kmodel.Model.Placement = PlaceHeapsort for 7.3) fails 12 of the 14 layouts
// on 7.3 (all but 08-alloc-range-fixed and 12-big-ram, where both orders give the same
// addresses); TestBootCorpusTellsModelsApart keeps that property under test (14 of 16 since
// 15-memreserve and 16-memreserve-nomap; the riscv64 layouts 17 to 19 since, booted on the
// riscv64 reference kernels, make it 16 of 19 on 6.1). Checked by hand on 2026-12-01: setting 7.3's
// kmodel.Model.MemreserveFirst fails 15-memreserve on 7.3, clearing 6.1's fails both
// memreserve layouts on 6.1, in TestBootCorpusPlacement and TestBootCorpusMemreserve.
var corpusVersions = []string{"6.1", "6.12", "7.3"}

// The kernel's own lines (see scripts/record-placement.sh):
//   - 6.12 and later, every region set up (fdt_init_reserved_mem_node() in
//     drivers/of/of_reserved_mem.c): "OF: reserved mem: 0x..0x.. (N KiB) nomap|map
//     reusable|non-reusable NAME";
//   - every version, a CMA or DMA pool: "Reserved memory: created CMA memory pool at 0x...,
//     size N MiB" (rmem_cma_setup() in kernel/dma/contiguous.c) or "... created DMA memory
//     pool at 0x..." (rmem_dma_setup() in kernel/dma/coherent.c), printed by the region's init
//     function just before __reserved_mem_init_node() logs "OF: reserved mem: initialized node
//     NAME, compatible id ...". 6.1 names a region only this way.
var (
	rmemLine    = regexp.MustCompile(`OF: reserved mem: 0x([0-9a-f]+)\.\.0x([0-9a-f]+) \((\d+) KiB\) (?:nomap|map) (?:reusable|non-reusable) (\S+)$`)
	createdLine = regexp.MustCompile(`Reserved memory: created (?:CMA|DMA) memory pool at 0x([0-9a-f]+), size `)
	initLine    = regexp.MustCompile(`OF: reserved mem: initialized node (\S+), compatible id `)
)

// kernelRegion is where a boot log says the kernel put a region.
type kernelRegion struct {
	base uint64
	size uint64 // 0 when the log gives no exact size (6.1's pool lines round to MiB)
	line int
}

// parseBootLog reads a recorded log into node name -> region. Two lines naming the same node
// with different bases are an error: the log would contradict itself.
func parseBootLog(path string) (map[string]kernelRegion, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	got := map[string]kernelRegion{}
	add := func(name string, r kernelRegion) error {
		if old, ok := got[name]; ok {
			if old.base != r.base {
				return fmt.Errorf("%s:%d: %s at 0x%x, but line %d says 0x%x", path, r.line, name, r.base, old.line, old.base)
			}
			if old.size != 0 {
				return nil
			}
		}
		got[name] = r
		return nil
	}
	var pending *kernelRegion
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		if m := rmemLine.FindStringSubmatch(line); m != nil {
			lo, _ := strconv.ParseUint(m[1], 16, 64)
			hi, _ := strconv.ParseUint(m[2], 16, 64)
			if err := add(m[4], kernelRegion{base: lo, size: hi - lo + 1, line: n}); err != nil {
				return nil, err
			}
			continue
		}
		if m := createdLine.FindStringSubmatch(line); m != nil {
			base, _ := strconv.ParseUint(m[1], 16, 64)
			pending = &kernelRegion{base: base, line: n}
			continue
		}
		if m := initLine.FindStringSubmatch(line); m != nil && pending != nil {
			if err := add(m[1], *pending); err != nil {
				return nil, err
			}
			pending = nil
		}
	}
	return got, sc.Err()
}

type corpusLayout struct {
	name string // file name without .yaml
	path string
}

// log is the layout's recorded boot on a version: <layout>.<version>.log beside it.
func (l corpusLayout) log(version string) string {
	return strings.TrimSuffix(l.path, ".yaml") + "." + version + ".log"
}

// committedCorpusOnly skips a test that is about testdata/bootcorpus itself when
// DTHEAP_BOOTCORPUS points TestBootCorpusPlacement at another corpus.
func committedCorpusOnly(t *testing.T) {
	t.Helper()
	if otherCorpus != "" {
		t.Skip("DTHEAP_BOOTCORPUS is set: this test is about the committed corpus")
	}
}

// otherCorpus is a directory of layouts and their boot logs to hold the planner to instead of
// testdata/bootcorpus, for TestBootCorpusPlacement only: scripts/fuzz-placement.sh sets it to
// the random layouts it generated and booted. Empty: the committed corpus.
var otherCorpus = os.Getenv("DTHEAP_BOOTCORPUS")

func corpusLayouts(t *testing.T) []corpusLayout {
	t.Helper()
	dir := filepath.Join("testdata", "bootcorpus")
	if otherCorpus != "" {
		dir = otherCorpus
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Issue 12 asks for at least 12 layouts; a lost directory must not pass as an empty corpus.
	if len(paths) < 12 && otherCorpus == "" {
		t.Fatalf("placement corpus has %d layouts, want at least 12", len(paths))
	}
	if len(paths) == 0 {
		t.Fatalf("no layouts in %s", dir)
	}
	sort.Strings(paths)
	var out []corpusLayout
	for _, p := range paths {
		out = append(out, corpusLayout{strings.TrimSuffix(filepath.Base(p), ".yaml"), p})
	}
	return out
}

// planFor loads a corpus layout and plans it for a kernel version, as `dtheap plan` does with
// that version's .config (the layouts' other kernel facts, 4 KiB pages without hugetlb, are
// those of the reference kernels).
func planFor(t *testing.T, path, version string) *Plan {
	t.Helper()
	b, findings, err := board.Load(path, board.Options{})
	if err != nil || b == nil {
		t.Fatalf("%s: %v %v", path, err, findings)
	}
	b.Kernel.Version = version
	return Build(b)
}

// comparePlan lists every difference between a plan and a boot log: each pool's predicted
// base (and size, where the log says it exactly) against the logged one; a dynamic pool the
// kernel did not log is a difference too (every corpus pool is a CMA or DMA pool, which every
// version logs). It also returns how many dynamic pools it compared.
func comparePlan(p *Plan, got map[string]kernelRegion, logPath string) (diffs []string, dynamic int) {
	for _, r := range p.Regions {
		if !r.Emit {
			continue
		}
		k, ok := got[r.Node]
		if !ok {
			if !r.Fixed {
				diffs = append(diffs, fmt.Sprintf("%s: dynamic pool %s: the kernel logged no address for it", logPath, r.Node))
			}
			continue
		}
		if !r.Fixed {
			dynamic++
		}
		switch {
		case !r.Placed:
			diffs = append(diffs, fmt.Sprintf("%s:%d: pool %s: planner could not place it, kernel put it at 0x%x", logPath, k.line, r.Node, k.base))
		case r.Base != k.base:
			diffs = append(diffs, fmt.Sprintf("%s:%d: pool %s: planner 0x%x, kernel 0x%x", logPath, k.line, r.Node, r.Base, k.base))
		case k.size != 0 && r.Size != k.size:
			diffs = append(diffs, fmt.Sprintf("%s:%d: pool %s: planner size 0x%x, kernel 0x%x", logPath, k.line, r.Node, r.Size, k.size))
		}
	}
	return diffs, dynamic
}

// TestBootCorpusPlacement: for every layout and every version in corpusVersions, plan.Build's
// address for every pool equals the one the kernel logged on a real boot.
func TestBootCorpusPlacement(t *testing.T) {
	for _, l := range corpusLayouts(t) {
		for _, v := range corpusVersions {
			t.Run(l.name+"/"+v, func(t *testing.T) {
				logPath := l.log(v)
				got, err := parseBootLog(logPath)
				if err != nil {
					t.Fatalf("%v (record it with scripts/record-placement.sh)", err)
				}
				diffs, dynamic := comparePlan(planFor(t, l.path, v), got, logPath)
				for _, d := range diffs {
					t.Error(d)
				}
				if dynamic == 0 {
					t.Errorf("%s: no dynamic pool compared: the layout or the log lost them", logPath)
				}
			})
		}
	}
}

// TestBootCorpusParse checks the log reader on the lines of each version, both sides: a 6.1
// pool line pairs with the next "initialized node", a 6.12 region line carries its own name,
// and a log that contradicts itself is an error.
func TestBootCorpusParse(t *testing.T) {
	dir := t.TempDir()
	write := testfile.Writer(t, dir)
	tests := []struct {
		name, log string
		want      map[string]kernelRegion
		wantErr   bool
	}{
		{name: "6.1 pool lines", log: `# comment: OF: reserved mem: initialized node x, compatible id y
[    0.000000] Reserved memory: created CMA memory pool at 0x000000007f000000, size 16 MiB
[    0.000000] OF: reserved mem: initialized node a, compatible id shared-dma-pool
[    0.000000] Reserved memory: created DMA memory pool at 0x000000007e000000, size 8 MiB
[    0.000000] OF: reserved mem: initialized node b@7e000000, compatible id shared-dma-pool
`, want: map[string]kernelRegion{"a": {base: 0x7f000000, line: 2}, "b@7e000000": {base: 0x7e000000, line: 4}}},
		{name: "6.12 region lines win the size", log: `[    0.000000] Reserved memory: created CMA memory pool at 0x000000007e000000, size 32 MiB
[    0.000000] OF: reserved mem: initialized node big, compatible id shared-dma-pool
[    0.000000] OF: reserved mem: 0x000000007e000000..0x000000007fffffff (32768 KiB) map reusable big
[    0.000000] OF: reserved mem: 0x000000007d000000..0x000000007d0fffff (1024 KiB) nomap non-reusable x
`, want: map[string]kernelRegion{"big": {base: 0x7e000000, size: 32 << 20, line: 3}, "x": {base: 0x7d000000, size: 1 << 20, line: 4}}},
		{name: "an init line without a pool line names nothing", log: `[    0.000000] OF: reserved mem: initialized node a, compatible id foo
`, want: map[string]kernelRegion{}},
		{name: "contradiction", wantErr: true, log: `[    0.000000] OF: reserved mem: 0x000000007e000000..0x000000007fffffff (32768 KiB) map reusable big
[    0.000000] OF: reserved mem: 0x000000007c000000..0x000000007dffffff (32768 KiB) map reusable big
`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseBootLog(write(fmt.Sprintf("%d.log", i), tt.log))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestBootCorpusTellsModelsApart: the recorded logs must be able to fail the planner. For
// every recorded version, planning the same layouts with a kernel model whose placement order
// differs (kmodel.Model.Placement: 6.1's heapsort permutation against 6.12's and 7.3's DT
// order) must contradict the log of at least one layout; otherwise the corpus could not tell
// a planner that replays the wrong kernel from the right one.
func TestBootCorpusTellsModelsApart(t *testing.T) {
	committedCorpusOnly(t)
	layouts := corpusLayouts(t)
	for _, v := range corpusVersions {
		mv, err := kmodel.For(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range kmodel.Proven {
			w := p.String()
			mw := kmodel.ForVersion(p)
			if mw.Placement == mv.Placement {
				continue
			}
			t.Run(v+"/as-"+w, func(t *testing.T) {
				contradicted := 0
				for _, l := range layouts {
					logPath := l.log(v)
					got, err := parseBootLog(logPath)
					if err != nil {
						t.Fatal(err)
					}
					if diffs, _ := comparePlan(planFor(t, l.path, w), got, logPath); len(diffs) > 0 {
						contradicted++
					}
				}
				if contradicted == 0 {
					t.Errorf("no %s log contradicts the %s model (%s): the corpus cannot catch a planner using the wrong order", v, w, mw.Placement)
				}
				t.Logf("%d of %d layouts booted on %s contradict the %s model", contradicted, len(layouts), v, w)
			})
		}
	}
}

// memblockReserveLine is mm/memblock.c memblock_reserve()'s line under memblock=debug, which
// scripts/record-placement.sh keeps for layouts with /memreserve/ entries.
var memblockReserveLine = regexp.MustCompile(`memblock_reserve: \[0x([0-9a-f]+)-0x([0-9a-f]+)\]`)

// TestBootCorpusMemreserve holds kmodel.Model.MemreserveFirst to the boots: in the log of every
// layout with /memreserve/ entries, each entry's memblock_reserve line comes before the first
// pool the kernel set up on a version that reserves them first (6.1), and after the last one on
// the others (6.12, 7.3: early_init_fdt_scan_reserved_mem() runs fdt_scan_reserved_mem()
// first); a no-map fixed region over an entry fails ("failed to reserve memory for node") on
// 6.1 only. And the placement log must be able to fail the other model: a planner that
// ignores the entries (6.1) or takes them before placement (6.12, 7.3) contradicts it.
func TestBootCorpusMemreserve(t *testing.T) {
	committedCorpusOnly(t)
	cases, nomapCases := 0, 0
	for _, l := range corpusLayouts(t) {
		for _, v := range corpusVersions {
			p := planFor(t, l.path, v)
			if len(p.Memreserve) == 0 {
				continue
			}
			cases++
			t.Run(l.name+"/"+v, func(t *testing.T) {
				logPath := l.log(v)
				data, err := os.ReadFile(logPath)
				if err != nil {
					t.Fatal(err)
				}
				got, err := parseBootLog(logPath)
				if err != nil {
					t.Fatal(err)
				}
				// The lines of the dynamic pools (fixed ones are logged at their init, after
				// the /memreserve/ loop on 6.12 and 7.3, which says nothing about the order).
				firstPool, lastPool := 0, 0
				for _, r := range p.Regions {
					if k, ok := got[r.Node]; ok && !r.Fixed {
						if firstPool == 0 || k.line < firstPool {
							firstPool = k.line
						}
						lastPool = max(lastPool, k.line)
					}
				}
				reserved := map[Range]int{}
				for i, line := range strings.Split(string(data), "\n") {
					if strings.HasPrefix(line, "#") {
						continue
					}
					if m := memblockReserveLine.FindStringSubmatch(line); m != nil {
						lo, _ := strconv.ParseUint(m[1], 16, 64)
						hi, _ := strconv.ParseUint(m[2], 16, 64)
						if _, seen := reserved[Range{lo, hi - lo + 1}]; !seen {
							reserved[Range{lo, hi - lo + 1}] = i + 1
						}
					}
				}
				if firstPool == 0 {
					t.Fatalf("%s: no dynamic pool line", logPath)
				}
				for _, mr := range p.Memreserve {
					n, ok := reserved[mr.Range]
					switch {
					case !ok:
						t.Errorf("%s: no memblock_reserve line for /memreserve/ %s %s (boot without memblock=debug?)", logPath, mr.Name, fmt.Sprint(mr.Range))
					case mr.First && n > firstPool:
						t.Errorf("%s:%d: /memreserve/ %s reserved after the first pool (line %d), but the %s model reserves it first", logPath, n, mr.Name, firstPool, v)
					case !mr.First && n < lastPool:
						t.Errorf("%s:%d: /memreserve/ %s reserved before the last pool (line %d), but the %s model reserves it after placement", logPath, n, mr.Name, lastPool, v)
					}
				}

				// A no-map fixed region over an entry: 6.1 has reserved the entry already, so
				// early_init_dt_reserve_memory() refuses to mark it no-map ("failed to reserve
				// memory for node"); 6.12 and 7.3 mark it before they reserve the entry.
				for _, r := range p.Regions {
					if !r.Emit || !r.Fixed || !r.NoMap {
						continue
					}
					for _, mr := range p.Memreserve {
						if mr.Ignored || !r.Overlaps(mr.Range) {
							continue
						}
						nomapCases++
						failed := strings.Contains(string(data), "failed to reserve memory for node '"+r.Node+"'")
						if failed != mr.First {
							t.Errorf("%s: no-map %s over /memreserve/ %s: 'failed to reserve memory for node' logged %v, the %s model says %v", logPath, r.Node, mr.Name, failed, v, mr.First)
						}
					}
				}

				b, _, err := board.Load(l.path, board.Options{})
				if err != nil || b == nil {
					t.Fatal(err)
				}
				b.Kernel.Version = v
				if p.Memreserve[0].First {
					b.Memreserve = nil // the planner before /memreserve/ was modelled
				} else {
					for _, e := range b.Memreserve { // taken before placement, as on 6.1
						b.Firmware = append(b.Firmware, board.Firmware{Name: e.Name, Base: e.Base, Size: e.Size})
					}
					b.Memreserve = nil
				}
				if diffs, _ := comparePlan(Build(b), got, logPath); len(diffs) == 0 {
					t.Errorf("%s: a planner with the other /memreserve/ order predicts the same addresses: the layout cannot tell the models apart", logPath)
				}
			})
		}
	}
	if cases == 0 || nomapCases == 0 {
		t.Fatalf("%d corpus boots with /memreserve/ entries, %d of a no-map region over one: want both", cases, nomapCases)
	}
}

// TestBootCorpusRiscv64DTB holds kmodel.Arch.DTBTakenAtScan (false on riscv64) to the boots of
// 18-riscv64-over-dtb: QEMU put the DTB in the top 2 MiB of its 1 GiB (riscv_load_fdt(),
// 0xbfe00000), and every kernel placed the first pool over it, because setup_bootmem() reserves
// the DTB only after early_init_fdt_scan_reserved_mem(). A planner that keeps pools off the DTB,
// as an arm64 board must (the same layout with the DTB listed as a firmware region), must
// contradict every one of those logs, so the corpus catches a riscv64 model with the arm64 fact.
func TestBootCorpusRiscv64DTB(t *testing.T) {
	committedCorpusOnly(t)
	const name = "18-riscv64-over-dtb"
	l := corpusLayout{name, filepath.Join("testdata", "bootcorpus", name+".yaml")}
	src, err := os.ReadFile(l.path)
	if err != nil {
		t.Fatal(err)
	}
	const dtb = "  - {name: dtb, base: 0xbfe00000, size: 64KiB, emit: false}\n"
	withDTB := strings.Replace(string(src), "firmware:\n", "firmware:\n"+dtb, 1)
	if withDTB == string(src) {
		t.Fatalf("%s.yaml has no firmware: list to add the DTB to", name)
	}
	armMinded := testfile.Writer(t, t.TempDir())(name+".yaml", withDTB)
	for _, v := range corpusVersions {
		t.Run(v, func(t *testing.T) {
			logPath := l.log(v)
			got, err := parseBootLog(logPath)
			if err != nil {
				t.Fatal(err)
			}
			// 6.1's lines give no exact size: the pool's own size is the board's.
			onDTB := false
			for _, r := range planFor(t, l.path, v).Regions {
				if k, ok := got[r.Node]; ok && k.base <= 0xbfe00000 && 0xbfe00000 < k.base+r.Size {
					onDTB = true
				}
			}
			if !onDTB {
				t.Errorf("%s: no pool the kernel placed covers the DTB at 0xbfe00000", logPath)
			}
			if diffs, _ := comparePlan(planFor(t, armMinded, v), got, logPath); len(diffs) == 0 {
				t.Errorf("%s: a plan that keeps pools off the DTB matches the boot: the layout cannot tell riscv64's DTB reservation from arm64's", logPath)
			}
		})
	}
}

// TestBootCorpusInserted holds board.Firmware.Inserted to the 6.1 boots of the riscv64 layouts:
// OpenSBI adds mmode_resv0 as the first child of /reserved-memory, so 6.1's heapsort permutes
// one more entry than dtheap writes. Planned as if the node were not in the tree (inserted:
// false), the dynamic pools land elsewhere: at least one 6.1 log must say so, or the corpus
// could not catch a planner that forgets the inserted node.
func TestBootCorpusInserted(t *testing.T) {
	committedCorpusOnly(t)
	const v = "6.1"
	contradicted, cases := 0, 0
	for _, l := range corpusLayouts(t) {
		src, err := os.ReadFile(l.path)
		if err != nil {
			t.Fatal(err)
		}
		notInTree := strings.ReplaceAll(string(src), "inserted: true", "inserted: false, emit: false")
		if notInTree == string(src) {
			continue
		}
		cases++
		logPath := l.log(v)
		got, err := parseBootLog(logPath)
		if err != nil {
			t.Fatal(err)
		}
		path := testfile.Writer(t, t.TempDir())(l.name+".yaml", notInTree)
		if diffs, _ := comparePlan(planFor(t, path, v), got, logPath); len(diffs) > 0 {
			contradicted++
		}
	}
	if cases == 0 {
		t.Fatal("no corpus layout has an inserted region")
	}
	if contradicted == 0 {
		t.Errorf("none of the %d layouts with an inserted region tells it apart on %s", cases, v)
	}
	t.Logf("%d of %d layouts with an inserted region contradict a plan without it on %s", contradicted, cases, v)
}
