// Package plan is the placement planner: it resolves a loaded board into the Plan, the single
// model every emitter and the boot check read, predicting where Linux 6.1 places each dynamic
// reserved-memory region.
//
// # How 6.1 places reserved memory, and how this package replays it
//
// Read from drivers/of/fdt.c, drivers/of/of_reserved_mem.c, mm/memblock.c and lib/sort.c of
// Linux 6.1, and checked against real boots (see ../shared/FACTS.md, section 2):
//
//  1. Before the reserved-memory scan, memblock already holds the kernel image, the initrd and
//     the DTB. The board describes these as firmware regions with emit: false; every firmware
//     region is treated as taken.
//  2. One pass over the /reserved-memory children in DT order (the board's order: firmware
//     regions first, then pools) reserves every fixed (reg) region at once (no-map ones are
//     marked nomap, which memblock's allocator skips just the same) and saves every child into
//     an array of at most 64 entries: fixed ones with their base and size, dynamic ones with
//     base 0 and size 0.
//  3. When two or more are saved, the array is sorted by (base, size) with the kernel's
//     heapsort (sort_r, bottom-up sift-down), which is not stable: the dynamic entries, all
//     equal, come first in a permutation that depends on every entry, fixed ones included.
//     This package runs the same algorithm over the same array (heapsort.go), so the order is
//     the kernel's, not DT order.
//  4. The array is walked in sorted order. Each dynamic entry is allocated then: its alignment
//     is `alignment` or SMP_CACHE_BYTES, raised for a reusable shared-dma-pool to
//     CMA_MIN_ALIGNMENT_BYTES = PAGE_SIZE << pageblock_order; it tries each alloc-ranges entry
//     in order (first fit wins), or all memory when it has none. memblock allocates top-down:
//     walking the free ranges (memory minus reserved and nomap) from the highest, the first
//     candidate round_down(end - size, align) that stays inside the range wins. memblock never
//     returns the first page (start is raised to PAGE_SIZE) and the caller treats base 0 as
//     failure.
//
// Assumptions: memblock is top-down (the default on arm64, arm and riscv64); no NUMA node
// constraints; nothing else (crashkernel, other early reservations) takes memory before the
// reserved-memory scan apart from what the board lists as firmware; later kernels
// (about 6.13 on) restructured this code and are not replayed differently.
package plan

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/dtheap/dtheap/board"
)

// MaxReservedRegions is MAX_RESERVED_REGIONS in 6.1 drivers/of/of_reserved_mem.c.
const MaxReservedRegions = 64

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
		Kernel:        kernelFacts(b),
		MemoryUnknown: b.MemoryUnknown,
	}
	for _, m := range b.Memory {
		p.Memory = append(p.Memory, Bank{Name: m.Name, Range: Range{m.Base, m.Size}})
	}
	for _, z := range b.Zones {
		p.Zones = append(p.Zones, Zone{Name: z.Name, Limit: z.Limit})
	}
	for i := range b.Firmware {
		f := &b.Firmware[i]
		r := &Region{Name: f.Name, Label: f.Label, Kind: KindFirmware, Emit: f.Emit, NoMap: f.Emit,
			Fixed: true, Range: Range{f.Base, f.Size}, Placed: true, AllocIndex: -1,
			Pos: f.Pos, Silenced: f.Silence}
		r.Node = nodeName(f.Name, f.Base, true)
		p.Regions = append(p.Regions, r)
	}
	for i := range b.Pools {
		p.Regions = append(p.Regions, poolRegion(&b.Pools[i], p.Kernel))
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
		AllocIndex: -1, Pos: bp.Pos, Silenced: bp.Silence, Placed: bp.Fixed}
	switch r.Kind {
	case KindCMA:
		r.Reuse, r.Compat, r.DefaultCMA = true, "shared-dma-pool", bp.Default
	case KindCarveout, KindUnmapped:
		r.NoMap, r.Compat = true, "shared-dma-pool"
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

// VersionAtLeast reports whether a "major.minor" version is at least maj.min.
func VersionAtLeast(v string, maj, min int) bool {
	parts := strings.SplitN(v, ".", 3)
	a, _ := strconv.Atoi(parts[0])
	b := 0
	if len(parts) > 1 {
		b, _ = strconv.Atoi(parts[1])
	}
	return a > maj || (a == maj && b >= min)
}

// kernelFacts derives the numbers the rules need from the board's kernel section.
func kernelFacts(b *board.Board) Kernel {
	bk := b.Kernel
	k := Kernel{Version: bk.Version, PageSize: bk.PageSize, Hugetlb: bk.Hugetlb,
		CMAAreas: bk.CMAAreas, Cmdline: bk.Cmdline, CMAEnabled: bk.CMA}
	pageShift := 12
	switch bk.PageSize {
	case 16 << 10:
		pageShift = 14
	case 64 << 10:
		pageShift = 16
	}
	maxOrder := bk.MaxOrder
	if maxOrder == 0 {
		// 6.1 defaults: arm64 ARCH_FORCE_MAX_ORDER 11/12/14 for 4K/16K/64K pages; 11 elsewhere.
		maxOrder = map[int]int{12: 11, 14: 12, 16: 14}[pageShift]
	}
	order := maxOrder - 1
	if bk.Hugetlb {
		// HUGETLB_PAGE_ORDER is the PMD order: PMD_SHIFT - PAGE_SHIFT = PAGE_SHIFT - 3.
		if h := pageShift - 3; h < order {
			order = h
		}
	}
	if bk.PageblockOrder >= 0 {
		order = bk.PageblockOrder
	}
	k.PageblockOrder = order
	k.CMAAlignment = bk.PageSize << order
	// 6.1: MAX_CMA_AREAS = 1 + CONFIG_CMA_AREAS; the +1 went away around 6.9.
	k.CMASlots = k.CMAAreas
	if !VersionAtLeast(k.Version, 6, 9) {
		k.CMASlots++
	}
	for _, p := range b.Pools {
		if p.Kind == "cma" && p.Default {
			k.DefaultCMAHeap = nodeName(p.Name, p.Base, p.Fixed)
			if VersionAtLeast(k.Version, 6, 17) {
				k.DefaultCMAHeap = "default_cma_region"
			}
			break
		}
	}
	return k
}

// heapsAndDevices attaches heaps and consumer devices to the regions.
func heapsAndDevices(p *Plan, b *board.Board) {
	byName := map[string]*Region{}
	for _, r := range p.Regions {
		if r.IsPool() {
			byName[r.Name] = r
		}
	}
	devIndex := map[string]*Device{}
	for i := range b.Pools {
		bp := &b.Pools[i]
		r := byName[bp.Name]
		if r.DefaultCMA && p.Kernel.DefaultCMAHeap != "" && p.Kernel.CMAEnabled {
			p.Heaps = append(p.Heaps, &Heap{Name: p.Kernel.DefaultCMAHeap, Pool: r.Name, Kind: KindCMA,
				Mapping: MapCached, Provider: "kernel", Region: r, Pos: bp.Pos})
		}
		if bp.Heap != "" {
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
