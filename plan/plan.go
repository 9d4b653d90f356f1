// Package plan is the placement planner: it resolves a loaded board into the Plan, the single
// model every emitter and the boot check read, predicting where the board's kernel places each
// dynamic reserved-memory region. What differs between kernel versions comes from package
// kmodel; this package replays it.
//
// # How Linux places reserved memory, and how this package replays it
//
// Read from drivers/of/fdt.c, drivers/of/of_reserved_mem.c, mm/memblock.c and lib/sort.c of
// Linux 6.1, 6.12 and 7.3, and checked against real boots (../shared/FACTS.md, sections 2 and 5):
//
//  1. Before the reserved-memory scan, memblock already holds the kernel image, the initrd and
//     (arm64) the DTB. The board describes these as firmware regions with emit: false; every
//     firmware region is treated as taken. riscv64 reserves the DTB only after the scan
//     (kmodel.Arch.DTBTakenAtScan), so a riscv64 board leaves it out (booted in
//     testdata/bootcorpus/18-riscv64-over-dtb). Regions that firmware inserts into
//     /reserved-memory itself (OpenSBI's mmode_resv0 on riscv64, OP-TEE's nodes that U-Boot
//     copies) are firmware regions with inserted: true: fixed, so reserved before any dynamic
//     one, and children of /reserved-memory ahead of dtheap's (libfdt's fdt_add_subnode()
//     adds a first child), which step 3 counts.
//  2. One pass over the /reserved-memory children in DT order (the inserted firmware regions,
//     then the board's emitted ones: firmware regions first, then pools) reserves every fixed
//     (reg) region at once (no-map ones are marked nomap, which memblock's allocator skips
//     just the same).
//  3. The order of the dynamic (size) regions, kmodel.Model.Placement:
//     6.1 saves every child into an array of at most 64 entries (fixed ones with their base and
//     size, dynamic ones with base 0 and size 0) and sorts it by (base, size) with the kernel's
//     heapsort (sort_r, bottom-up sift-down), which is not stable: the dynamic entries, all
//     equal, come first in a permutation that depends on every entry, fixed ones included.
//     This package runs the same algorithm over the same array (heapsort.go), inserted nodes
//     included (testdata/bootcorpus/17-riscv64-mixed to 19: left out, every 6.1 boot of them
//     contradicts the plan).
//     6.12 and 7.3 save only the dynamic nodes (at most 64) and allocate them in DT order.
//  4. Each dynamic region is allocated in that order: its alignment is `alignment` or
//     SMP_CACHE_BYTES, raised for a reusable shared-dma-pool to CMA_MIN_ALIGNMENT_BYTES =
//     PAGE_SIZE << pageblock_order; it tries each alloc-ranges entry in order (first fit wins),
//     or all memory when it has none. memblock allocates top-down: walking the free ranges
//     (memory minus reserved and nomap) from the highest, the first candidate
//     round_down(end - size, align) that stays inside the range wins. From 6.12 an alloc-ranges
//     entry that starts at or inside an earlier dynamic region (and does not end in one) is
//     allocated bottom-up instead. memblock never returns the first page and the caller treats
//     base 0 as failure.
//  5. A region whose setup then fails (a CMA pool off the CMA alignment or beyond the CMA slots,
//     no-map together with reusable where the kernel refuses it, the default CMA node that
//     cma= bypasses) gives its memory back at once, so the regions after it can use it.
//  6. The /memreserve/ entries (the board's memreserve: list, the blob's memory reservation
//     block) are memblock_reserve()d by early_init_fdt_scan_reserved_mem(), in order, up to the
//     first of size 0: on 6.1 before step 2, so they are taken like firmware regions and the
//     dynamic regions go around them; on 6.12 and 7.3 after step 4, so they move nothing and a
//     dynamic region may be placed on one (kmodel.Model.MemreserveFirst; booted in
//     testdata/bootcorpus/15-memreserve). Either way they are not free for Linux (Plan.Free).
//
// Assumptions: memblock is top-down (the default on arm64, arm and riscv64); no NUMA node
// constraints; nothing else (crashkernel, other early reservations) takes memory before the
// reserved-memory scan apart from what the board lists as firmware or memreserve.
package plan

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/dtheap/dtheap/board"
	"github.com/dtheap/dtheap/kmodel"
)

// smpCacheBytes is the alignment memblock uses when a dynamic region gives none.
const smpCacheBytes = 64

// Build resolves a board into a plan. It never fails: what cannot be placed is marked so on
// the region (Placed false) for the validator to report.
func Build(b *board.Board) *Plan {
	p := &Plan{
		Board:         b.Name,
		Description:   b.Description,
		Files:         b.Files,
		Arch:          b.Arch,
		AddressCells:  b.AddressCells,
		SizeCells:     b.SizeCells,
		MemoryUnknown: b.MemoryUnknown,
	}
	p.Model, p.Kernel = kernelFacts(b)
	for _, m := range b.Memory {
		p.Memory = append(p.Memory, Bank{Name: m.Name, Range: Range{m.Base, m.Size}})
	}
	for _, z := range b.Zones {
		p.Zones = append(p.Zones, Zone{Name: z.Name, Limit: z.Limit})
	}
	for i := range b.Firmware {
		f := &b.Firmware[i]
		r := &Region{Name: f.Name, Label: f.Label, Kind: KindFirmware, Emit: f.Emit, Inserted: f.Inserted, NoMap: f.Emit,
			Fixed: true, Range: Range{f.Base, f.Size}, Placed: true, AllocIndex: -1,
			Pos: f.Pos, Silenced: f.Silence, Firmware: f}
		r.Node = nodeName(f.Name, f.Base, true)
		p.Regions = append(p.Regions, r)
	}
	for i := range b.Pools {
		p.Regions = append(p.Regions, poolRegion(&b.Pools[i], p.Kernel))
	}
	ended := false
	for i := range b.Memreserve {
		e := &b.Memreserve[i]
		// early_init_fdt_scan_reserved_mem(): for (n = 0; ; n++) { ...; if (!size) break; ... }
		ended = ended || e.Size == 0
		p.Memreserve = append(p.Memreserve, &Memreserve{Name: e.Name, Range: Range{e.Base, e.Size},
			Ignored: ended, First: p.Model.MemreserveFirst, Pos: e.Pos, Silenced: e.Silence, Entry: e})
	}
	place(p)
	heapsAndDevices(p, b)
	return p
}

func nodeName(name string, base uint64, fixed bool) string {
	if !fixed {
		return name
	}
	return name + "@" + strconv.FormatUint(base, 16)
}

func poolRegion(bp *board.Pool, k Kernel) *Region {
	r := &Region{Name: bp.Name, Label: bp.Label, Kind: Kind(bp.Kind), Emit: true,
		Fixed: bp.Fixed, Range: Range{bp.Base, bp.Size}, Alignment: bp.Alignment,
		AllocIndex: -1, Pos: bp.Pos, Silenced: bp.Silence, Placed: bp.Fixed, Pool: bp}
	switch r.Kind {
	case KindCMA:
		r.Reuse, r.Compat, r.DefaultCMA, r.NoMap = true, "shared-dma-pool", bp.Default, bp.NoMap
	case KindCarveout, KindUnmapped:
		// The board decides (a cached carveout is mapped); an imported tree says what it has.
		r.NoMap, r.Compat = bp.NoMap, "shared-dma-pool"
	case KindReserved:
		r.NoMap, r.Compat = bp.NoMap, bp.Compatible
	}
	for _, ar := range bp.AllocRanges {
		r.AllocRanges = append(r.AllocRanges, Range{ar.Base, ar.Size})
	}
	if !r.Fixed {
		r.Base = 0
		r.EffectiveAlign = r.Alignment
		if r.EffectiveAlign == 0 {
			r.EffectiveAlign = smpCacheBytes
		}
		if r.Reuse && !r.NoMap && k.CMAEnabled && r.EffectiveAlign < k.CMAAlignment {
			r.EffectiveAlign = k.CMAAlignment
		}
	}
	for _, d := range bp.Devices {
		r.Devices = append(r.Devices, d.Node)
	}
	r.Node = nodeName(r.Name, r.Base, r.Fixed)
	return r
}

// kernelFacts derives the numbers the rules need from the board's kernel section, through the
// model of its version (package kmodel). A version the schema let through but kmodel cannot
// read gets 6.1's model, as a board without a version does.
func kernelFacts(b *board.Board) (*kmodel.Model, Kernel) {
	bk := b.Kernel
	m, err := kmodel.For(bk.Version)
	if err != nil {
		m = kmodel.ForVersion(kmodel.Proven[0])
	}
	cfg := kconfig(bk)
	cfg.Arch = b.Arch
	k := Kernel{Version: bk.Version, Model: m.Version.String(), ModelNote: m.Note(), PageSize: bk.PageSize,
		Hugetlb: bk.Hugetlb, THP: bk.THP, NUMA: bk.NUMA, Cmdline: bk.Cmdline, CMAEnabled: bk.CMA,
		PageblockOrder: m.PageblockOrder(cfg), CMAAlignment: m.CMAAlignment(cfg),
		CMAAreas: m.CMAAreas(cfg), CMASlots: m.CMASlots(cfg)}
	return m, k
}

func kconfig(bk board.Kernel) kmodel.Config {
	return kmodel.Config{PageSize: bk.PageSize, Hugetlb: bk.Hugetlb, THP: bk.THP, MaxOrder: bk.MaxOrder,
		PageBlockMaxOrder: bk.PageBlockMaxOrder, PageblockOrder: bk.PageblockOrder,
		PageblockOrderSet: bk.PageblockOrder >= 0, CMAAreas: bk.CMAAreas, NUMA: bk.NUMA}
}

// KModel returns the kernel model the plan was made with (for a plan built by hand, the model
// of its kernel version).
func (p *Plan) KModel() *kmodel.Model {
	if p.Model == nil {
		m, err := kmodel.For(p.Kernel.Version)
		if err != nil {
			m = kmodel.ForVersion(kmodel.Proven[0])
		}
		p.Model = m
	}
	return p.Model
}

// heapsAndDevices attaches heaps and consumer devices to the regions. The kernel's own CMA
// heaps come first for each pool, then the one our module registers; on a kernel that makes a
// heap over every CMA area itself (7.3), a cma pool's heap: names one of the kernel's heaps and
// the module registers none over it.
func heapsAndDevices(p *Plan, b *board.Board) {
	km := p.KModel()
	byName := map[string]*Region{}
	for _, r := range p.Regions {
		if r.IsPool() {
			if _, dup := byName[r.Name]; !dup {
				byName[r.Name] = r
			}
		}
	}
	own := map[*Region][]string{}
	if p.Kernel.CMAEnabled {
		var areas []kmodel.CMAArea
		var regs []*Region
		for _, r := range p.initOrder {
			if r.Kind == KindCMA && r.Placed && r.Refused == "" && !r.Bypassed && !r.Dropped {
				areas = append(areas, kmodel.CMAArea{Node: r.Node, Default: r.DefaultCMA})
				regs = append(regs, r)
			}
		}
		if kmodel.CmdlineCMA(p.Kernel.Cmdline) && len(areas) < p.Kernel.CMASlots {
			areas = append(areas, kmodel.CMAArea{Node: kmodel.CmdlineCMAName, Default: true})
			regs = append(regs, nil)
		}
		for _, kh := range km.KernelCMAHeaps(areas) {
			p.Kernel.OwnHeaps = append(p.Kernel.OwnHeaps, kh.Name)
			if r := regs[kh.Area]; r != nil {
				own[r] = append(own[r], kh.Name)
				if r.DefaultCMA && p.Kernel.DefaultCMAHeap == "" {
					p.Kernel.DefaultCMAHeap = kh.Name
				}
			}
		}
	}
	devIndex := map[string]*Device{}
	for i := range b.Pools {
		bp := &b.Pools[i]
		r := byName[bp.Name]
		for _, name := range own[r] {
			h := &Heap{Name: name, Pool: r.Name, Kind: KindCMA, Mapping: MapCached, Provider: "kernel", Region: r, Pos: bp.Pos}
			if bp.Heap == name {
				h.Pos = bp.Field("heap")
			}
			if r.Heap == nil || bp.Heap == name {
				r.Heap = h
			}
			p.Heaps = append(p.Heaps, h)
		}
		switch {
		case bp.Heap == "":
		case contains(own[r], bp.Heap):
			// heap: names the kernel's own heap over this pool: nothing for the module to do.
		case r.Kind == KindCMA && km.CMAHeapsFromKernel():
			// The kernel makes this pool's heaps itself, under other names (rule
			// cma-heap-name): the module must not register one over it.
		default:
			h := &Heap{Name: bp.Heap, Pool: r.Name, Kind: r.Kind, Provider: "dtheap", Region: r, Pos: bp.Field("heap")}
			switch r.Kind {
			case KindUnmapped:
				h.Mapping = MapNone
			case KindCarveout:
				h.Mapping = MapCached
				if bp.Mapping == "writecombine" {
					h.Mapping = MapWriteCombine
				}
			default:
				h.Mapping = MapCached
			}
			r.Heap = h
			p.Heaps = append(p.Heaps, h)
		}
		applyAccess(p.Heaps, r, bp)
		for _, d := range bp.Devices {
			dev := devIndex[d.Node]
			if dev == nil {
				dev = &Device{Ref: d.Node}
				devIndex[d.Node] = dev
				p.Devices = append(p.Devices, dev)
			}
			if d.DMABits != 0 && (dev.DMABits == 0 || d.DMABits < dev.DMABits) {
				dev.DMABits = d.DMABits
			}
			dev.Pools = append(dev.Pools, r.Name)
		}
	}
}

// applyAccess gives every heap over the pool the board's group and mode, and the pool's own
// heap (r.Heap: the one heap: names, else the first) its aliases.
func applyAccess(heaps []*Heap, r *Region, bp *board.Pool) {
	if r == nil || (bp.Access == nil && len(bp.Aliases) == 0) {
		return
	}
	for _, h := range heaps {
		if h.Region != r {
			continue
		}
		if a := bp.Access; a != nil {
			h.Group = a.Group
			switch {
			case a.ModeSet:
				h.Mode = FormatMode(a.Mode)
			case a.Group != "":
				h.Mode = ImpliedMode
			}
		}
		if h == r.Heap {
			for _, al := range bp.Aliases {
				h.Aliases = append(h.Aliases, al.Name)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Pools returns the pool regions (not firmware), in board order.
func (p *Plan) Pools() []*Region {
	var out []*Region
	for _, r := range p.Regions {
		if r.IsPool() {
			out = append(out, r)
		}
	}
	return out
}

// Region returns the region of that name, or nil.
func (p *Plan) Region(name string) *Region {
	for _, r := range p.Regions {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// sortedRanges returns ranges sorted by base.
func sortedRanges(rs []Range) []Range {
	out := append([]Range(nil), rs...)
	sort.Slice(out, func(i, j int) bool { return out[i].Base < out[j].Base })
	return out
}

// String gives a one-line description, for messages.
func (r *Region) String() string {
	if !r.Placed {
		return fmt.Sprintf("%s (%s, unplaced)", r.Name, r.Kind)
	}
	return fmt.Sprintf("%s [0x%x-0x%x)", r.Name, r.Base, r.End())
}
