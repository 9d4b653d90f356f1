package validate

// The rules about regions: their names, sizes, places, overlaps and the kernel's limits. One
// function per rule, each registered in Rules (rules.go); a rule reads the plan through its
// Context and reports only its own findings.

import (
	"fmt"
	"strings"

	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/internal/size"
	"github.com/dtheap/dtheap/kmodel"
	"github.com/dtheap/dtheap/plan"
)

// maxHeaps is the DMA-BUF heap core's limit on heaps (6.1 NUM_HEAP_MINORS).
const maxHeaps = 128

func span(r plan.Range) string {
	return fmt.Sprintf("0x%x-0x%x (%s)", r.Base, r.End(), size.Approx(r.Size))
}

// what names a region in a message.
func what(r *plan.Region) string {
	if r.Kind == plan.KindFirmware {
		return "firmware region"
	}
	return "pool"
}

func kindWord(r *plan.Region) string {
	if r.Kind == plan.KindFirmware {
		return "firmware region"
	}
	return string(r.Kind) + " pool"
}

func checkMemoryOverlap(c *Context) {
	mem := c.Board.Memory
	for i := range mem {
		for j := i + 1; j < len(mem); j++ {
			a, b := mem[i], mem[j]
			ra, rb := plan.Range{Base: a.Base, Size: a.Size}, plan.Range{Base: b.Base, Size: b.Size}
			if ra.Overlaps(rb) {
				c.report(nil, b.Pos, "fix the banks' base and size", "memory bank %q %s overlaps bank %q %s", b.Name, span(rb), a.Name, span(ra))
			}
		}
	}
}

// checkCells: every address and size written into the tree must fit the root's cells.
func checkCells(c *Context) {
	fit := func(r *plan.Region, pos diag.Pos, v uint64, cells int, what string) {
		if cells == 1 && v > 0xffffffff {
			c.report(r, pos, "set address-cells/size-cells: 2 at the top of the board", "%s 0x%x does not fit in one 32-bit cell", what, v)
		}
	}
	for i := range c.Board.Memory {
		m := &c.Board.Memory[i]
		fit(nil, m.Field("base"), m.Base, c.Board.AddressCells, "base of memory bank "+m.Name)
		fit(nil, m.Field("size"), m.Size, c.Board.SizeCells, "size of memory bank "+m.Name)
	}
	for _, r := range c.Plan.Regions {
		if r.Size == 0 {
			continue // zero-size
		}
		if r.Fixed {
			fit(r, r.Field("base"), r.Base, c.Plan.AddressCells, "base of "+r.Name)
			fit(r, r.Field("size"), r.Size, c.Plan.SizeCells, "size of "+r.Name)
			continue
		}
		fit(r, r.Field("size"), r.Size, c.Plan.SizeCells, "size of "+r.Name)
		fit(r, r.Field("alignment"), r.Alignment, c.Plan.AddressCells, "alignment of "+r.Name)
		if r.Pool == nil {
			continue
		}
		for _, ar := range r.Pool.AllocRanges {
			fit(r, ar.Pos, ar.Base, c.Plan.AddressCells, "alloc-ranges base")
			fit(r, ar.Pos, ar.Size, c.Plan.SizeCells, "alloc-ranges size")
		}
	}
}

func checkDuplicateName(c *Context) {
	seen := map[string]*plan.Region{}
	labels := map[string]*plan.Region{}
	for _, r := range c.Plan.Regions {
		if prev := seen[r.Name]; prev != nil {
			c.report(r, r.Pos, "rename one of them", "region name %q is also used at %s", r.Name, prev.Pos)
		} else {
			seen[r.Name] = r
		}
		if prev := labels[r.Label]; prev != nil && seen[r.Name] != prev {
			c.report(r, r.Field("label"), "give one of them its own label:", "label %q of %q is also the label of %q", r.Label, r.Name, prev.Name)
		} else {
			labels[r.Label] = r
		}
	}
	for _, r := range c.pools() {
		for _, d := range r.Pool.Devices {
			if l := labels[strings.TrimPrefix(d.Node, "&")]; l != nil && strings.HasPrefix(d.Node, "&") {
				c.report(r, d.Pos, fmt.Sprintf("give region %q another label:, e.g. %s_pool", l.Name, l.Label),
					"device %s has the same label as region %q: the devicetree would define label %q twice", d.Node, l.Name, l.Label)
			}
		}
	}
}

func checkZeroSize(c *Context) {
	for _, r := range c.Plan.Regions {
		if r.Size == 0 {
			c.report(r, r.Field("size"), "give it a size, or remove it", "%s %q has size 0", what(r), r.Name)
		}
	}
}

// inDRAM reports whether r lies inside memory. Banks are merged first: memblock_add coalesces
// adjacent and overlapping ranges of memblock.memory (mm/memblock.c memblock_merge_regions), so a
// region across the boundary of two touching banks is inside RAM.
func (c *Context) inDRAM(r plan.Range) bool {
	for _, m := range c.DRAM {
		if m.Contains(r) {
			return true
		}
	}
	return false
}

// outsideDRAM returns the fixed regions that are not wholly inside memory (see dram.go for
// what that costs each kind).
func (c *Context) outsideDRAM() []*plan.Region {
	var rs []*plan.Region
	for _, r := range c.Plan.Regions {
		if r.Size != 0 && r.Fixed && !c.inDRAM(r.Range) {
			rs = append(rs, r)
		}
	}
	return rs
}

func checkPageAlignment(c *Context) {
	ps := c.Plan.Kernel.PageSize
	for _, r := range c.Plan.Regions {
		if r.Size == 0 || !needsPages(r) {
			continue
		}
		if r.Fixed {
			if r.Base%ps != 0 || r.Size%ps != 0 {
				c.report(r, r.Field("base"), fmt.Sprintf("use multiples of %s", size.Human(ps)), "%s %q at %s is not page aligned (page size %s)", what(r), r.Name, span(r.Range), size.Human(ps))
			}
		} else if r.Size%ps != 0 {
			c.report(r, r.Field("size"), fmt.Sprintf("use a multiple of %s", size.Human(ps)), "pool %q size %s is not a multiple of the page size %s", r.Name, size.Approx(r.Size), size.Human(ps))
		}
	}
}

func checkFixedIgnoresDynamic(c *Context) {
	for _, r := range c.Plan.Regions {
		if r.Size == 0 || !r.Fixed || !r.IsPool() || (r.Alignment == 0 && len(r.AllocRanges) == 0) {
			continue
		}
		field := "alignment"
		if r.Alignment == 0 {
			field = "alloc-ranges"
		}
		c.report(r, r.Field(field), "remove base: to let the kernel place it, or remove "+field+":", "pool %q has a fixed base, so the kernel ignores its %s", r.Name, field)
	}
}

func checkAllocRangeOutsideDRAM(c *Context) {
	for _, r := range c.pools() {
		if r.Size == 0 || r.Fixed {
			continue
		}
		for _, ar := range r.Pool.AllocRanges {
			rr := plan.Range{Base: ar.Base, Size: ar.Size}
			if !c.touchesDRAM(rr) {
				c.report(r, ar.Pos, "remove the entry, or point it at DRAM", "alloc-ranges entry %s of pool %q holds no DRAM (%s): the kernel tries it and moves on", span(rr), r.Name, c.banks())
			}
		}
	}
}

func checkArmMapUnsupported(c *Context) {
	if c.Plan.Arch != "arm" {
		return
	}
	for _, r := range c.Plan.Regions {
		if r.Size == 0 || r.Compat != "shared-dma-pool" || r.Reuse || r.NoMap {
			continue
		}
		hint, pos := "remove no-map: false", r.Field("no-map")
		if r.Kind == plan.KindCarveout {
			// A cached carveout is written without no-map (it must stay in the
			// linear map), which rmem_dma_setup refuses on 32-bit arm.
			hint, pos = "set mapping: writecombine (a write-combined carveout is no-map)", r.Field("mapping")
		}
		c.report(r, pos, hint, "pool %q is a non-reusable shared-dma-pool without no-map, which 32-bit arm refuses", r.Name)
	}
}

// checkTooManyRegions reports the first region the kernel drops for its region limit (plan
// marks it), in the words of the kernel's model: 6.1 counts every child, 6.12 and later only
// the dynamic ones. It is about the board as a whole: no entry's silence: applies.
func checkTooManyRegions(c *Context) {
	km := c.kmodel()
	var first *plan.Region
	for _, r := range c.Plan.Regions {
		if r.Dropped {
			first = r
			break
		}
	}
	if first == nil {
		return
	}
	if km.RegionLimit > 0 {
		c.report(nil, first.Pos, "merge regions or drop the ones the kernel need not know",
			"%d /reserved-memory children, Linux %s keeps only %d ('not enough space for all defined regions.'): %q and every region after it are ignored",
			c.emitted(), c.Plan.Kernel.Version, km.RegionLimit, first.Name)
		return
	}
	n := 0
	for _, r := range c.Plan.Regions {
		if r.Emit && !r.Fixed {
			n++
		}
	}
	c.report(nil, first.Pos, "give some pools a fixed base, or merge them: only dynamic regions count",
		"%d dynamic /reserved-memory children, Linux %s allocates only %d ('too many defined dynamic regions, skip'): %q and every dynamic region after it are never allocated",
		n, c.Plan.Kernel.Version, km.DynamicLimit, first.Name)
}

// emitted counts the /reserved-memory children of the tree Linux gets: dtheap's and the ones
// firmware inserts.
func (c *Context) emitted() int {
	n := 0
	for _, r := range c.Plan.Regions {
		if r.Emit || r.Inserted {
			n++
		}
	}
	return n
}

func (c *Context) banks() string {
	var s []string
	for _, m := range c.Plan.Memory {
		s = append(s, fmt.Sprintf("%s 0x%x-0x%x", m.Name, m.Base, m.End()))
	}
	return "DRAM: " + strings.Join(s, ", ")
}

// overlaps reports the overlapping pairs that the running rule judges: plain (both plain
// reservations, reserved-overlap) or not (overlap). The finding is on the later region of the
// pair; silence: on either one silences it.
func (c *Context) overlaps(plain bool) {
	rs := c.Plan.Regions
	for _, pr := range plan.OverlappingPairs(rs) {
		a, b := rs[pr[0]], rs[pr[1]]
		if (plainReservation(a) && plainReservation(b)) != plain || a.Silences(c.rule.ID) {
			continue
		}
		lo, hi := max(a.Base, b.Base), min(a.End(), b.End())
		pos := b.Pos
		if b.Fixed {
			pos = b.Field("base")
		}
		hint := "move or shrink one of them"
		if a.Kind == plan.KindFirmware || b.Kind == plan.KindFirmware {
			hint = "firmware owns its region: move the pool"
		}
		if f := c.report(b, pos, hint, "%s %q %s overlaps %s %q %s: 0x%x-0x%x (%s) shared",
			kindWord(b), b.Name, span(b.Range), kindWord(a), a.Name, span(a.Range), lo, hi, size.Approx(hi-lo)); f != nil {
			f.Related = []diag.Pos{a.Pos}
		}
	}
}

func checkOverlap(c *Context)         { c.overlaps(false) }
func checkReservedOverlap(c *Context) { c.overlaps(true) }

// unplaced returns the dynamic pools the planner could not place (needs DRAM: with it unknown
// no dynamic pool is placed, and dram-unknown says so).
func (c *Context) unplaced() []*plan.Region {
	var rs []*plan.Region
	for _, r := range c.Plan.Regions {
		if !r.Fixed && r.Size != 0 && !r.Dropped && !r.Bypassed && !r.Placed {
			rs = append(rs, r)
		}
	}
	return rs
}

func checkDynamicAtZero(c *Context) {
	for _, r := range c.unplaced() {
		if r.AtZero {
			c.report(r, r.Field("size"), "give it an alloc-ranges entry that starts above the first page, or a fixed base", "pool %q (%s) fits only at address 0, which the kernel never allocates: the boot logs 'failed to allocate memory for node'", r.Name, size.Approx(r.Size))
		}
	}
}

func checkUnplaceable(c *Context) {
	for _, r := range c.unplaced() {
		if !r.AtZero {
			c.report(r, r.Field("size"), fmt.Sprintf("shrink it to at most %s, or free memory", size.Approx(r.LargestHole)),
				"pool %q (%s, alignment %s) fits nowhere: the largest free hole is %s", r.Name, size.Approx(r.Size), size.Human(r.EffectiveAlign), size.Approx(r.LargestHole))
		}
	}
}

// checkPredictedPlacement says, with -v, where each dynamic pool is predicted.
func checkPredictedPlacement(c *Context) {
	if !c.Verbose {
		return
	}
	for _, r := range c.Plan.Regions {
		if r.Fixed || r.Size == 0 || r.Dropped || r.Bypassed || !r.Placed {
			continue
		}
		c.report(r, r.Field("size"), "", "pool %q is predicted at %s (allocated %d of %d dynamic pools)", r.Name, span(r.Range), r.AllocIndex+1, len(c.Plan.AllocOrder))
	}
}

// cmaPools returns the regions the kernel makes CMA areas of, as far as the board says: kind
// cma on a kernel with CMA, without no-map (cma-disabled and nomap-reusable report the others,
// and no other CMA rule judges them).
func (c *Context) cmaPools(rs []*plan.Region) []*plan.Region {
	var out []*plan.Region
	for _, r := range rs {
		if r.Kind == plan.KindCMA && c.Plan.Kernel.CMAEnabled && !r.NoMap {
			out = append(out, r)
		}
	}
	return out
}

func checkDefaultNotCMA(c *Context) {
	for _, r := range c.Plan.Regions {
		if r.Kind != plan.KindCMA && (r.DefaultCMA || (r.Pool != nil && r.Pool.Default)) {
			c.report(r, r.Field("default"), "only kind: cma pools can be the default CMA area", "pool %q is kind %s but says default: true", r.Name, r.Kind)
		}
	}
}

func checkCMADisabled(c *Context) {
	if c.Plan.Kernel.CMAEnabled {
		return
	}
	for _, r := range c.Plan.Regions {
		if r.Kind == plan.KindCMA {
			c.report(r, r.Field("kind"), "enable CONFIG_CMA and CONFIG_DMA_CMA, or make the pool a carveout", "pool %q is a CMA pool but the kernel has no CMA", r.Name)
		}
	}
}

// checkNoMapReusable reports a cma pool that also says no-map: every kernel mishandles it, each
// in its own way (kmodel.Model.NoMapReusable). In a tree dtbind reports it too (the node as
// written); a board says it with no-map: true on a cma pool.
func checkNoMapReusable(c *Context) {
	if !c.Plan.Kernel.CMAEnabled {
		return // cma-disabled
	}
	hint := "remove no-map: (a CMA pool stays in the linear map), or make the pool kind: carveout"
	for _, r := range c.Plan.Regions {
		if r.Kind != plan.KindCMA || !r.NoMap {
			continue
		}
		if r.MemoryLost {
			c.report(r, r.Field("no-map"), hint,
				"pool %q is no-map and reusable: Linux %s accepts it without an error (it logs 'nomap reusable') but makes no CMA area of it: its %s stay reserved and nothing can use them",
				r.Name, c.Plan.Kernel.Version, size.Approx(r.Size))
			continue
		}
		c.report(r, r.Field("no-map"), hint,
			"pool %q is no-map and reusable: Linux %s refuses it ('node %s compatible matching fail') and gives the memory back: no CMA area, no heap",
			r.Name, c.Plan.Kernel.Version, r.Node)
	}
}

func checkCMAAlignment(c *Context) {
	k := c.Plan.Kernel
	for _, r := range c.cmaPools(c.regions()) {
		if r.Base%k.CMAAlignment == 0 && r.Size%k.CMAAlignment == 0 {
			continue
		}
		field, what := "size", fmt.Sprintf("size %s", size.Approx(r.Size))
		if r.Base%k.CMAAlignment != 0 {
			field, what = "base", fmt.Sprintf("base 0x%x", r.Base)
		}
		up := (r.Size + k.CMAAlignment - 1) / k.CMAAlignment * k.CMAAlignment
		c.report(r, r.Field(field), fmt.Sprintf("use a base and size that are multiples of %s (e.g. size %s)", size.Human(k.CMAAlignment), size.Human(up)),
			"CMA pool %q: %s is not a multiple of the CMA alignment %s (page size %s, pageblock order %d)", r.Name, what, size.Human(k.CMAAlignment), size.Human(k.PageSize), k.PageblockOrder)
	}
}

func checkCMAZoneCrossing(c *Context) {
	for _, r := range c.cmaPools(c.regions()) {
		for _, z := range c.Plan.Zones {
			if r.Base < z.Limit && r.End() > z.Limit {
				c.report(r, r.Field("base"), fmt.Sprintf("keep the pool wholly below or above 0x%x", z.Limit), "CMA pool %q %s crosses the %s zone limit at 0x%x", r.Name, span(r.Range), z.Name, z.Limit)
			}
		}
	}
}

// defaultCMA returns the default CMA pools, in order.
func (c *Context) defaultCMA() []*plan.Region {
	var out []*plan.Region
	for _, r := range c.cmaPools(c.Plan.Regions) {
		if r.DefaultCMA {
			out = append(out, r)
		}
	}
	return out
}

func checkMultipleDefaultCMA(c *Context) {
	defaults := c.defaultCMA()
	if len(defaults) < 2 {
		return
	}
	for _, d := range defaults[1:] {
		c.report(d, d.Field("default"), "keep default: true on one pool", "pool %q is a second default CMA pool (first: %q)", d.Name, defaults[0].Name)
	}
}

func checkCmdlineCMA(c *Context) {
	k := c.Plan.Kernel
	defaults := c.defaultCMA()
	if !kmodel.CmdlineCMA(k.Cmdline) || len(defaults) == 0 {
		return
	}
	msg := "the command line's cma= overrides the default CMA pool %q: Linux %s bypasses the node ('bypass ... node, using cmdline CMA params instead')"
	if !c.kmodel().CmdlineCMAReservesDefault {
		msg = "the command line's cma= overrides the default CMA pool %q: Linux %s skips the node ('Skipping dt linux,cma-default node in favor for \"cma=\" kernel param.')"
	}
	c.report(defaults[0], c.Board.Kernel.Pos["cmdline"], "remove cma= from the command line to use the pool node", msg, defaults[0].Name, k.Version)
}

// checkCMASlots reports the first CMA pool the kernel refuses for want of a CMA slot (the plan
// hands the slots out in the kernel's init order), or the cma= area if that is the one left out.
func checkCMASlots(c *Context) {
	k := c.Plan.Kernel
	km := c.kmodel()
	used := 0
	var first *plan.Region
	for _, r := range c.Plan.Regions {
		switch {
		case r.NoCMASlot:
			used++
			if first == nil {
				first = r
			}
		case r.Kind == plan.KindCMA && r.Placed && r.Refused == "" && !r.Bypassed && k.CMAEnabled:
			used++
		}
	}
	if kmodel.CmdlineCMA(k.Cmdline) {
		used++
	}
	if used <= k.CMASlots {
		return
	}
	slots := fmt.Sprintf("MAX_CMA_AREAS = CONFIG_CMA_AREAS = %d", k.CMAAreas)
	if km.CMASlotsExtra > 0 {
		slots = fmt.Sprintf("MAX_CMA_AREAS = %d + CONFIG_CMA_AREAS=%d", km.CMASlotsExtra, k.CMAAreas)
	}
	hint := fmt.Sprintf("raise CONFIG_CMA_AREAS to at least %d, or merge pools", km.CMAAreasFor(used))
	if first == nil {
		c.report(nil, c.Board.Kernel.Pos["cmdline"], hint,
			"%d CMA areas with the one cma= makes, but Linux %s has %d slots (%s): the cma= area fails", used, k.Version, k.CMASlots, slots)
		return
	}
	c.report(first, first.Pos, hint,
		"%d CMA areas but Linux %s has %d slots (%s): %q and the CMA pools set up after it fail ('Not enough slots for CMA reserved regions!')", used, k.Version, k.CMASlots, slots, first.Name)
}

func checkDMALimit(c *Context) {
	for _, r := range c.regions() {
		if r.Pool == nil {
			continue
		}
		for _, d := range r.Pool.Devices {
			if d.DMABits == 0 || d.DMABits >= 64 {
				continue
			}
			limit := uint64(1) << d.DMABits
			if r.End() > limit {
				c.report(r, d.Pos, fmt.Sprintf("place the pool below 0x%x (alloc-ranges or base)", limit),
					"device %s can address %d bits (below 0x%x) but pool %q is at %s", d.Node, d.DMABits, limit, r.Name, span(r.Range))
			}
		}
	}
}

// checkKernelVersion says which kernel model the plan used: always when the version is not a
// proven model, with -v otherwise.
func checkKernelVersion(c *Context) {
	k := c.Plan.Kernel
	km := c.kmodel()
	if km.Relation == kmodel.Exact && !c.Verbose {
		return
	}
	msg := fmt.Sprintf("kernel %s: dtheap's %s model (read from that version's source, proven by a boot)", k.Version, km.Version)
	if note := km.Note(); note != "" {
		msg = note
	}
	c.report(nil, c.Board.Kernel.Pos["version"], "", "%s", msg)
}
