// Package lint judges a devicetree the kernel will boot (a .dtb, or .dts/.dtsi source through
// cpp and dtc) against what the kernel does with its /reserved-memory: the tree-level rules
// (cell counts, property lengths, no-map with reusable: package dtbind reads the tree as the
// kernel does) and every rule of package validate, run on the board the tree describes, so
// that lint and validate share one catalog of IDs and severities. Every finding names the
// devicetree node, and for source the file and line where it was written.
package lint

import (
	"fmt"
	"strings"

	"github.com/dtheap/dtheap/board"
	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/dtbind"
	"github.com/dtheap/dtheap/internal/size"
	"github.com/dtheap/dtheap/kmodel"
	"github.com/dtheap/dtheap/plan"
	"github.com/dtheap/dtheap/validate"
)

// Options say what the tree cannot: the kernel and its configuration, the DRAM when the boot
// loader fills it in, where #include and /include/ look.
type Options struct {
	Includes []string     // -I: directories for #include and /include/
	Kernel   string       // kernel version ("6.1", "6.12", "7.3"); default 6.1
	Kconfig  string       // a kernel .config: page size, hugetlb, CMA, CMA areas, version
	Cmdline  string       // the kernel command line (cma=)
	Arch     string       // arm64, arm, riscv64; default guessed from the CPUs
	Memory   []plan.Range // DRAM, replacing the tree's (for trees that leave it to the boot loader)
	Validate validate.Options
}

// Result is what lint found in one tree.
type Result struct {
	File     string
	Findings diag.List
	// Regions counts the /reserved-memory regions the kernel would see (after the nodes it
	// skips); Nodes counts the /reserved-memory children as written.
	Regions, Nodes    int
	HasReservedMemory bool
	// Board is the tree read as dtheap import reads it (DRAM judged unknown when the tree
	// contradicts it: see contradictedDRAM).
	Board *dtbind.Board
}

// InputError is a tree that could not be read or compiled (exit status 2).
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Lint reads one tree and returns its findings, sorted.
func Lint(path string, opts Options) (*Result, error) {
	t, err := readTree(path, opts.Includes)
	if err != nil {
		return nil, &InputError{fmt.Errorf("%s: %w", path, err)}
	}
	return lintTree(t, opts)
}

// LintBlob judges a flattened tree already in memory (name is used in positions).
func LintBlob(name string, blob []byte, opts Options) (*Result, error) {
	return lintTree(&tree{blob: blob, file: name}, opts)
}

func lintTree(t *tree, opts Options) (*Result, error) {
	version := opts.Kernel
	if version == "" && opts.Kconfig != "" {
		var scratch board.Board
		if _, err := board.ApplyKconfig(&scratch, opts.Kconfig); err != nil {
			return nil, &InputError{err}
		}
		version = scratch.Kernel.Version
	}
	if version == "" {
		version = "6.1"
	}
	// The kernel block of the board import would write (Board.YAML): lint's defaults.
	km, err := kmodel.For(version)
	if err != nil {
		km = kmodel.ForVersion(kmodel.Proven[0])
	}
	k := plan.Kernel{Version: version, PageSize: 4096, Hugetlb: true, CMAAreas: km.CMAAreas(kmodel.Config{})}
	db, err := dtbind.Import(t.blob, dtbind.ImportOptions{Source: t.file, Arch: opts.Arch, Kernel: &k, Memory: opts.Memory, Pos: t.pos, Fragment: t.fragment})
	if err != nil {
		return nil, &InputError{fmt.Errorf("%s: %w", t.file, err)}
	}
	res := &Result{File: t.file, HasReservedMemory: !hasNote(db.Notes, "the tree has no /reserved-memory"), Board: db}
	var findings diag.List
	if len(opts.Memory) == 0 {
		findings = append(findings, contradictedDRAM(db, t)...)
	}
	b := toBoard(db, t, version, opts)
	if opts.Kconfig != "" {
		fs, err := board.ApplyKconfig(b, opts.Kconfig)
		if err != nil {
			return nil, &InputError{err}
		}
		findings = append(findings, fs...)
		if opts.Kernel != "" {
			b.Kernel.Version = opts.Kernel // --kernel wins over the .config's header
		}
		hasDefault := false
		for _, p := range db.Pools {
			hasDefault = hasDefault || p.Default
		}
		b.Kernel.Cmdline, err = withKconfigArea(opts.Cmdline, opts.Kconfig, db.Memory, hasDefault)
		if err != nil {
			return nil, &InputError{err}
		}
	}
	res.Nodes = db.Children
	if !db.Ignored {
		res.Regions = len(b.Pools)
	}
	p := plan.Build(b)
	findings = append(findings, validate.Check(b, p, opts.Validate)...)
	disabled := map[string]bool{}
	for _, d := range opts.Validate.Disable {
		disabled[d] = true
	}
	for _, f := range db.Findings {
		if disabled[f.Rule] {
			continue
		}
		if opts.Validate.Werror && f.Severity == diag.Warning {
			f.Severity = diag.Error
		}
		findings = append(findings, f)
	}
	findings.Sort()
	res.Findings = findings
	return res, nil
}

func hasNote(notes []string, s string) bool {
	for _, n := range notes {
		if n == s {
			return true
		}
	}
	return false
}

// toBoard describes the tree as a board: every region the kernel reserves, positioned at its
// node. When the kernel ignores /reserved-memory as a whole, the board has no pools (the
// tree-level finding says why). Without --kconfig the kernel facts are the arm64 and riscv
// defconfigs' (4 KiB pages, hugetlb, CMA on).
func toBoard(db *dtbind.Board, t *tree, version string, opts Options) *board.Board {
	b := &board.Board{Name: db.Name, Description: db.Description, Arch: db.Arch,
		AddressCells: db.AddressCells, SizeCells: db.SizeCells, Files: []string{t.file},
		MemoryUnknown: db.MemoryUnknown, Pos: map[string]diag.Pos{}}
	b.Kernel = board.Kernel{Version: version, PageSize: 4096, Hugetlb: true, PageblockOrder: -1,
		// CMAAreas 0: the version's Kconfig default, without NUMA (kmodel).
		CMAAreas: 0, CMA: true, Cmdline: opts.Cmdline, From: "lint defaults",
		Pos: map[string]diag.Pos{"version": {File: t.file}}}
	memPos := t.pos("/", "")
	if db.MemoryPath != "" {
		memPos = t.pos(db.MemoryPath, "reg")
	} else if mp := memoryNode(t); mp != "" {
		memPos = t.pos(mp, "reg")
	}
	b.Pos["memory"] = memPos
	for _, m := range db.Memory {
		b.Memory = append(b.Memory, board.Bank{Name: m.Name, Base: m.Base, Size: m.Size, Pos: memPos})
	}
	if b.Arch == "arm64" || b.Arch == "riscv64" {
		b.Zones = []board.Zone{{Name: "dma32", Limit: 4 << 30, Default: true, Pos: t.pos("/", "")}}
	}
	// Where each /memreserve/ was written (cpp's line markers; memreserveSpots), when the
	// source has as many as the blob; else the file, with the entry named in the message.
	for i, m := range db.Memreserve {
		pos := diag.Pos{File: t.file}
		if len(t.memreserve) == len(db.Memreserve) {
			pos = t.memreserve[i]
		}
		b.Memreserve = append(b.Memreserve, board.Memreserve{Name: m.Name, Base: m.Base, Size: m.Size, Pos: pos})
	}
	if db.Ignored {
		return b
	}
	for i, p := range db.Pools {
		pos := t.pos(p.Path, "")
		fields := map[string]diag.Pos{}
		for _, f := range []struct{ field, prop string }{
			{"base", "reg"}, {"size", "size"}, {"alignment", "alignment"}, {"alloc-ranges", "alloc-ranges"},
			{"default", "linux,cma-default"}, {"no-map", "no-map"}, {"kind", "compatible"},
		} {
			fields[f.field] = t.pos(p.Path, f.prop)
		}
		if p.Fixed {
			fields["size"] = fields["base"]
		}
		bp := board.Pool{Name: p.Name, Label: fmt.Sprintf("r%d", i), Kind: string(p.Kind), Default: p.Default,
			Fixed: p.Fixed, Base: p.Base, Size: p.Size, Alignment: p.Alignment, Heap: p.Heap,
			Mapping: string(p.Mapping), Compatible: p.Compatible, NoMap: p.NoMap, Pos: pos, Fields: fields}
		for _, r := range p.AllocRanges {
			bp.AllocRanges = append(bp.AllocRanges, board.Range{Base: r.Base, Size: r.Size, Pos: fields["alloc-ranges"]})
		}
		for _, d := range p.Devices {
			bp.Devices = append(bp.Devices, board.Device{Node: d, Pos: pos})
		}
		b.Pools = append(b.Pools, bp)
	}
	return b
}

// memoryNode finds the first /memory node path for positions when the tree states no size.
func memoryNode(t *tree) string {
	best := ""
	for k := range t.where {
		if strings.HasPrefix(k, "/memory") && !strings.Contains(k, "\x00") && strings.Count(k, "/") == 1 && (best == "" || k < best) {
			best = k
		}
	}
	return best
}

// Import reads a tree as Lint does (source through cpp and dtc, with positions) and imports it
// as a board; the board's Findings are the tree-level findings lint would report.
func Import(path string, includes []string, opts dtbind.ImportOptions) (*dtbind.Board, error) {
	t, err := readTree(path, includes)
	if err != nil {
		return nil, &InputError{fmt.Errorf("%s: %w", path, err)}
	}
	opts.Pos, opts.Fragment = t.pos, t.fragment
	b, err := dtbind.Import(t.blob, opts)
	if err != nil {
		return nil, &InputError{fmt.Errorf("%s: %w", path, err)}
	}
	return b, nil
}

// contradictedDRAM handles a tree whose own alloc-ranges need DRAM its /memory does not state
// (an i.MX8QM board says 1 GiB at 0x80000000 and puts a 960 MiB CMA window at 0xc0000000; a
// TQMa8QM says the same 1 GiB, "should be corrected by bootloader", and a 960 MiB window at
// 0x96000000 of which only 672 MiB is stated DRAM). Boot loaders rewrite /memory with the DRAM they find (U-Boot's
// fdt_fixup_memory_banks), so the stated DRAM is a placeholder the tree itself contradicts:
// judging placement against it would call a booting board's pool unplaceable. The DRAM is
// then unknown (the rules that need it say so, as info) unless --memory gives it; the
// finding says which window showed it.
func contradictedDRAM(db *dtbind.Board, t *tree) diag.List {
	if db.MemoryUnknown || db.Ignored {
		return nil
	}
	var top uint64 // the end of the stated DRAM
	for _, m := range db.Memory {
		top = max(top, m.End())
	}
	inDRAM := func(r plan.Range) uint64 { // bytes of r that are stated DRAM
		var n uint64
		for _, m := range db.Memory {
			lo, hi := max(r.Base, m.Base), min(r.End(), m.End())
			if hi > lo {
				n += hi - lo
			}
		}
		return n
	}
	var out diag.List
	for _, p := range db.Pools {
		if p.Fixed || len(p.AllocRanges) == 0 {
			continue
		}
		// The window that shows it: one that holds the pool by its own size and reaches past
		// the stated DRAM, where the stated part cannot hold the pool. A window that holds
		// the pool inside the stated DRAM, or is smaller than the pool, shows nothing.
		var shows *plan.Range
		for i, r := range p.AllocRanges {
			if r.Size == 0 || inDRAM(r) >= p.Size {
				shows = nil
				break
			}
			if shows == nil && r.Size >= p.Size && r.End() > top {
				shows = &p.AllocRanges[i]
			}
		}
		if shows == nil {
			continue
		}
		r := *shows
		out = append(out, diag.Finding{Pos: t.pos(p.Path, "alloc-ranges"), Severity: diag.Info, Rule: "dram-unknown",
			Message: fmt.Sprintf("alloc-ranges 0x%x-0x%x of %s (%s) needs memory beyond the DRAM /memory states (%s): the stated DRAM is taken as the boot loader's placeholder, and judged unknown",
				r.Base, r.End(), p.Node, size.Approx(p.Size), banks(db.Memory)),
			Hint: "give the board's real DRAM with --memory BASE:SIZE"})
		db.MemoryUnknown, db.Memory = true, nil
		break
	}
	return out
}

func banks(ms []plan.Bank) string {
	var s []string
	for _, m := range ms {
		s = append(s, fmt.Sprintf("0x%x-0x%x", m.Base, m.End()))
	}
	return strings.Join(s, ", ")
}
