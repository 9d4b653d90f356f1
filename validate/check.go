package validate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dtheap/dtheap/board"
	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/internal/size"
	"github.com/dtheap/dtheap/kmodel"
	"github.com/dtheap/dtheap/plan"
)

// Options select which findings are reported.
type Options struct {
	Disable []string // rule IDs not to report at all
	Werror  bool     // warnings become errors
	Verbose bool     // include info-level findings about predictions
}

// maxHeaps is the DMA-BUF heap core's limit on heaps (6.1 NUM_HEAP_MINORS).
const maxHeaps = 128

// checker collects findings for one board.
type checker struct {
	b      *board.Board
	p      *plan.Plan
	out    diag.List
	fields map[string]func(string) diag.Pos // region name -> field position
	silent map[string]map[string]bool       // region name -> silenced rule IDs
	// byName indexes regions and pools by name (the first of a name, as a scan would find),
	// so that per-region rules stay linear on boards with thousands of regions.
	byName      map[string]*plan.Region
	poolDefault map[string]bool // pool name -> its default: setting
	// dram is the banks as memblock holds them (dramSpans), worked out once for every
	// region's containment check.
	dram []plan.Range
}

// Check runs every rule over a planned board and returns the findings, sorted, with silenced
// and disabled rules removed. It also stores them in p.Findings.
func Check(b *board.Board, p *plan.Plan, opts Options) diag.List {
	c := &checker{b: b, p: p, fields: map[string]func(string) diag.Pos{}, silent: map[string]map[string]bool{},
		byName: make(map[string]*plan.Region, len(p.Regions)), poolDefault: make(map[string]bool, len(b.Pools)),
		dram: dramSpans(p.Memory)}
	for _, r := range p.Regions {
		if _, dup := c.byName[r.Name]; !dup {
			c.byName[r.Name] = r
		}
	}
	for i := range b.Firmware {
		f := &b.Firmware[i]
		c.fields[f.Name] = f.Field
		c.silence(f.Name, f.Silence)
	}
	for i := range b.Pools {
		pl := &b.Pools[i]
		c.fields[pl.Name] = pl.Field
		c.silence(pl.Name, pl.Silence)
		if _, dup := c.poolDefault[pl.Name]; !dup {
			c.poolDefault[pl.Name] = pl.Default
		}
	}
	c.memory()
	c.dramUnknown()
	c.names()
	c.regions()
	c.overlaps()
	c.placement()
	c.cma()
	c.heaps()
	c.access()
	c.devices()
	c.kernel()

	disabled := map[string]bool{}
	for _, d := range opts.Disable {
		disabled[d] = true
	}
	var out diag.List
	for _, f := range c.out {
		verboseOnly := f.Rule == "predicted-placement" || (f.Rule == "kernel-version" && c.p.KModel().Relation == kmodel.Exact)
		if disabled[f.Rule] || (f.Severity == diag.Info && !opts.Verbose && verboseOnly) {
			continue
		}
		if opts.Werror && f.Severity == diag.Warning {
			f.Severity = diag.Error
		}
		out = append(out, f)
	}
	out.Sort()
	p.Findings = out
	return out
}

func (c *checker) silence(name string, ids []string) {
	if len(ids) == 0 {
		return
	}
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	c.silent[name] = m
}

// report adds a finding for a rule about a region (name may be "") and returns it, or nil when
// the region silences the rule: a caller that adds to the finding must add to what it got, never
// to the last finding of the list, which may be another one.
func (c *checker) report(rule, region string, pos diag.Pos, hint string, format string, args ...any) *diag.Finding {
	r, ok := Lookup(rule)
	if !ok {
		panic("validate: unknown rule " + rule) // a programming error, caught by the catalog test
	}
	if region != "" && c.silent[region][rule] {
		return nil
	}
	c.out = append(c.out, diag.Finding{Pos: pos, Severity: r.Severity, Rule: rule,
		Message: fmt.Sprintf(format, args...), Hint: hint})
	return &c.out[len(c.out)-1]
}

func (c *checker) pos(region, field string) diag.Pos {
	if f := c.fields[region]; f != nil {
		return f(field)
	}
	return diag.Pos{}
}

func span(r plan.Range) string {
	return fmt.Sprintf("0x%x-0x%x (%s)", r.Base, r.End(), size.Approx(r.Size))
}

func (c *checker) memory() {
	for i := range c.b.Memory {
		for j := i + 1; j < len(c.b.Memory); j++ {
			a, b := c.b.Memory[i], c.b.Memory[j]
			ra, rb := plan.Range{Base: a.Base, Size: a.Size}, plan.Range{Base: b.Base, Size: b.Size}
			if ra.Overlaps(rb) {
				c.report("memory-overlap", "", b.Pos, "fix the banks' base and size", "memory bank %q %s overlaps bank %q %s", b.Name, span(rb), a.Name, span(ra))
			}
		}
		m := c.b.Memory[i]
		c.cellFit("", m.Field("base"), m.Base, c.b.AddressCells, "base of memory bank "+m.Name)
		c.cellFit("", m.Field("size"), m.Size, c.b.SizeCells, "size of memory bank "+m.Name)
	}
}

func (c *checker) cellFit(region string, pos diag.Pos, v uint64, cells int, what string) {
	if cells == 1 && v > 0xffffffff {
		c.report("cells", region, pos, "set address-cells/size-cells: 2 at the top of the board", "%s 0x%x does not fit in one 32-bit cell", what, v)
	}
}

func (c *checker) names() {
	seen := map[string]*plan.Region{}
	labels := map[string]*plan.Region{}
	for _, r := range c.p.Regions {
		if prev := seen[r.Name]; prev != nil {
			c.report("duplicate-name", r.Name, r.Pos, "rename one of them", "region name %q is also used at %s", r.Name, prev.Pos)
		} else {
			seen[r.Name] = r
		}
		if prev := labels[r.Label]; prev != nil && seen[r.Name] != prev {
			c.report("duplicate-name", r.Name, c.pos(r.Name, "label"), "give one of them its own label:", "label %q of %q is also the label of %q", r.Label, r.Name, prev.Name)
		} else {
			labels[r.Label] = r
		}
	}
	for _, bp := range c.b.Pools {
		for _, d := range bp.Devices {
			if r := labels[strings.TrimPrefix(d.Node, "&")]; r != nil && strings.HasPrefix(d.Node, "&") {
				c.report("duplicate-name", bp.Name, d.Pos, fmt.Sprintf("give region %q another label:, e.g. %s_pool", r.Name, r.Label),
					"device %s has the same label as region %q: the devicetree would define label %q twice", d.Node, r.Name, r.Label)
			}
		}
	}
}

// inDRAM reports whether r lies inside memory. Banks are merged first: memblock_add coalesces
// adjacent and overlapping ranges of memblock.memory (mm/memblock.c memblock_merge_regions), so a
// region across the boundary of two touching banks is inside RAM.
func (c *checker) inDRAM(r plan.Range) bool {
	for _, m := range c.dram {
		if m.Contains(r) {
			return true
		}
	}
	return false
}

func (c *checker) regions() {
	ps := c.p.Kernel.PageSize
	for i, r := range c.p.Regions {
		what := "pool"
		if r.Kind == plan.KindFirmware {
			what = "firmware region"
		}
		if r.Size == 0 {
			c.report("zero-size", r.Name, c.pos(r.Name, "size"), "give it a size, or remove it", "%s %q has size 0", what, r.Name)
			continue
		}
		if r.Fixed {
			c.cellFit(r.Name, c.pos(r.Name, "base"), r.Base, c.p.AddressCells, "base of "+r.Name)
			c.cellFit(r.Name, c.pos(r.Name, "size"), r.Size, c.p.SizeCells, "size of "+r.Name)
			if c.dramKnown() && !c.inDRAM(r.Range) {
				c.outsideDRAM(r, what)
			}
			if needsPages(r) && (r.Base%ps != 0 || r.Size%ps != 0) {
				c.report("page-alignment", r.Name, c.pos(r.Name, "base"), fmt.Sprintf("use multiples of %s", size.Human(ps)), "%s %q at %s is not page aligned (page size %s)", what, r.Name, span(r.Range), size.Human(ps))
			}
			if r.IsPool() && (r.Alignment != 0 || len(r.AllocRanges) > 0) {
				field := "alignment"
				if r.Alignment == 0 {
					field = "alloc-ranges"
				}
				c.report("fixed-ignores-dynamic", r.Name, c.pos(r.Name, field), "remove base: to let the kernel place it, or remove "+field+":", "pool %q has a fixed base, so the kernel ignores its %s", r.Name, field)
			}
		} else {
			if needsPages(r) && r.Size%ps != 0 {
				c.report("page-alignment", r.Name, c.pos(r.Name, "size"), fmt.Sprintf("use a multiple of %s", size.Human(ps)), "pool %q size %s is not a multiple of the page size %s", r.Name, size.Approx(r.Size), size.Human(ps))
			}
			c.cellFit(r.Name, c.pos(r.Name, "size"), r.Size, c.p.SizeCells, "size of "+r.Name)
			c.cellFit(r.Name, c.pos(r.Name, "alignment"), r.Alignment, c.p.AddressCells, "alignment of "+r.Name)
			bp := c.b.Pools[i-len(c.b.Firmware)]
			for _, ar := range bp.AllocRanges {
				rr := plan.Range{Base: ar.Base, Size: ar.Size}
				c.cellFit(r.Name, ar.Pos, ar.Base, c.p.AddressCells, "alloc-ranges base")
				c.cellFit(r.Name, ar.Pos, ar.Size, c.p.SizeCells, "alloc-ranges size")
				if c.dramKnown() && !c.touchesDRAM(rr) {
					c.report("alloc-range-outside-dram", r.Name, ar.Pos, "remove the entry, or point it at DRAM", "alloc-ranges entry %s of pool %q holds no DRAM (%s): the kernel tries it and moves on", span(rr), r.Name, c.banks())
				}
			}
		}
		if c.p.Arch == "arm" && r.Compat == "shared-dma-pool" && !r.Reuse && !r.NoMap {
			hint, pos := "remove no-map: false", c.pos(r.Name, "no-map")
			if r.Kind == plan.KindCarveout {
				// A cached carveout is written without no-map (it must stay in the
				// linear map), which rmem_dma_setup refuses on 32-bit arm.
				hint, pos = "set mapping: writecombine (a write-combined carveout is no-map)", c.pos(r.Name, "mapping")
			}
			c.report("arm-map-unsupported", r.Name, pos, hint, "pool %q is a non-reusable shared-dma-pool without no-map, which 32-bit arm refuses", r.Name)
		}
	}
	c.regionLimit()
}

// regionLimit reports the first region the kernel drops for its region limit (plan marks it),
// in the words of the kernel's model: 6.1 counts every child, 6.12 and later only the dynamic
// ones.
func (c *checker) regionLimit() {
	km := c.p.KModel()
	var first *plan.Region
	for _, r := range c.p.Regions {
		if r.Dropped {
			first = r
			break
		}
	}
	if first == nil {
		return
	}
	if km.RegionLimit > 0 {
		c.report("too-many-regions", "", first.Pos, "merge regions or drop the ones the kernel need not know",
			"%d /reserved-memory children, Linux %s keeps only %d ('not enough space for all defined regions.'): %q and every region after it are ignored",
			c.emitted(), c.p.Kernel.Version, km.RegionLimit, first.Name)
		return
	}
	n := 0
	for _, r := range c.p.Regions {
		if r.Emit && !r.Fixed {
			n++
		}
	}
	c.report("too-many-regions", "", first.Pos, "give some pools a fixed base, or merge them: only dynamic regions count",
		"%d dynamic /reserved-memory children, Linux %s allocates only %d ('too many defined dynamic regions, skip'): %q and every dynamic region after it are never allocated",
		n, c.p.Kernel.Version, km.DynamicLimit, first.Name)
}

func (c *checker) emitted() int {
	n := 0
	for _, r := range c.p.Regions {
		if r.Emit {
			n++
		}
	}
	return n
}

func (c *checker) banks() string {
	var s []string
	for _, m := range c.p.Memory {
		s = append(s, fmt.Sprintf("%s 0x%x-0x%x", m.Name, m.Base, m.End()))
	}
	return "DRAM: " + strings.Join(s, ", ")
}

func (c *checker) overlaps() {
	rs := c.p.Regions
	for _, pr := range plan.OverlappingPairs(rs) {
		a, b := rs[pr[0]], rs[pr[1]]
		lo, hi := max(a.Base, b.Base), min(a.End(), b.End())
		pos := b.Pos
		if b.Fixed {
			pos = c.pos(b.Name, "base")
		}
		hint := "move or shrink one of them"
		if a.Kind == plan.KindFirmware || b.Kind == plan.KindFirmware {
			hint = "firmware owns its region: move the pool"
		}
		rule := "overlap"
		if plainReservation(a) && plainReservation(b) {
			rule = "reserved-overlap"
		}
		if c.silent[a.Name][rule] {
			continue
		}
		if f := c.report(rule, b.Name, pos, hint, "%s %q %s overlaps %s %q %s: 0x%x-0x%x (%s) shared",
			kindWord(b), b.Name, span(b.Range), kindWord(a), a.Name, span(a.Range), lo, hi, size.Approx(hi-lo)); f != nil {
			f.Related = []diag.Pos{a.Pos}
		}
	}
}

func kindWord(r *plan.Region) string {
	if r.Kind == plan.KindFirmware {
		return "firmware region"
	}
	return string(r.Kind) + " pool"
}

func (c *checker) placement() {
	for _, r := range c.p.Regions {
		if r.Fixed || r.Size == 0 || r.Dropped || r.Bypassed || !c.dramKnown() {
			continue
		}
		if !r.Placed {
			if r.AtZero {
				c.report("dynamic-at-zero", r.Name, c.pos(r.Name, "size"), "give it an alloc-ranges entry that starts above the first page, or a fixed base", "pool %q (%s) fits only at address 0, which the kernel never allocates: the boot logs 'failed to allocate memory for node'", r.Name, size.Approx(r.Size))
				continue
			}
			c.report("unplaceable", r.Name, c.pos(r.Name, "size"), fmt.Sprintf("shrink it to at most %s, or free memory", size.Approx(r.LargestHole)),
				"pool %q (%s, alignment %s) fits nowhere: the largest free hole is %s", r.Name, size.Approx(r.Size), size.Human(r.EffectiveAlign), size.Approx(r.LargestHole))
			continue
		}
		c.report("predicted-placement", r.Name, c.pos(r.Name, "size"), "", "pool %q is predicted at %s (allocated %d of %d dynamic pools)", r.Name, span(r.Range), r.AllocIndex+1, len(c.p.AllocOrder))
	}
}

func (c *checker) cma() {
	k := c.p.Kernel
	km := c.p.KModel()
	var defaults []*plan.Region
	for _, r := range c.p.Regions {
		if r.Kind != plan.KindCMA {
			if r.DefaultCMA || c.poolDefault[r.Name] {
				c.report("default-not-cma", r.Name, c.pos(r.Name, "default"), "only kind: cma pools can be the default CMA area", "pool %q is kind %s but says default: true", r.Name, r.Kind)
			}
			continue
		}
		if !k.CMAEnabled {
			c.report("cma-disabled", r.Name, c.pos(r.Name, "kind"), "enable CONFIG_CMA and CONFIG_DMA_CMA, or make the pool a carveout", "pool %q is a CMA pool but the kernel has no CMA", r.Name)
			continue
		}
		if r.NoMap {
			c.nomapReusable(r)
			continue
		}
		if r.DefaultCMA {
			defaults = append(defaults, r)
		}
		if r.Placed && (r.Base%k.CMAAlignment != 0 || r.Size%k.CMAAlignment != 0) {
			field, what := "size", fmt.Sprintf("size %s", size.Approx(r.Size))
			if r.Base%k.CMAAlignment != 0 {
				field, what = "base", fmt.Sprintf("base 0x%x", r.Base)
			}
			up := (r.Size + k.CMAAlignment - 1) / k.CMAAlignment * k.CMAAlignment
			c.report("cma-alignment", r.Name, c.pos(r.Name, field), fmt.Sprintf("use a base and size that are multiples of %s (e.g. size %s)", size.Human(k.CMAAlignment), size.Human(up)),
				"CMA pool %q: %s is not a multiple of the CMA alignment %s (page size %s, pageblock order %d)", r.Name, what, size.Human(k.CMAAlignment), size.Human(k.PageSize), k.PageblockOrder)
		}
		if r.Placed {
			for _, z := range c.p.Zones {
				if r.Base < z.Limit && r.End() > z.Limit {
					c.report("cma-zone-crossing", r.Name, c.pos(r.Name, "base"), fmt.Sprintf("keep the pool wholly below or above 0x%x", z.Limit), "CMA pool %q %s crosses the %s zone limit at 0x%x", r.Name, span(r.Range), z.Name, z.Limit)
				}
			}
		}
	}
	c.cmaSlots(km)
	if len(defaults) > 1 {
		for _, d := range defaults[1:] {
			c.report("multiple-default-cma", d.Name, c.pos(d.Name, "default"), "keep default: true on one pool", "pool %q is a second default CMA pool (first: %q)", d.Name, defaults[0].Name)
		}
	}
	if kmodel.CmdlineCMA(k.Cmdline) && len(defaults) > 0 {
		pos := c.b.Kernel.Pos["cmdline"]
		msg := "the command line's cma= overrides the default CMA pool %q: Linux %s bypasses the node ('bypass ... node, using cmdline CMA params instead')"
		if !km.CmdlineCMAReservesDefault {
			msg = "the command line's cma= overrides the default CMA pool %q: Linux %s skips the node ('Skipping dt linux,cma-default node in favor for \"cma=\" kernel param.')"
		}
		c.report("cmdline-cma", defaults[0].Name, pos, "remove cma= from the command line to use the pool node", msg, defaults[0].Name, k.Version)
	}
}

// cmaSlots reports the first CMA pool the kernel refuses for want of a CMA slot (the plan hands
// the slots out in the kernel's init order), or the cma= area if that is the one left out.
func (c *checker) cmaSlots(km *kmodel.Model) {
	k := c.p.Kernel
	used := 0
	var first *plan.Region
	for _, r := range c.p.Regions {
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
		c.report("cma-slots", "", c.b.Kernel.Pos["cmdline"], hint,
			"%d CMA areas with the one cma= makes, but Linux %s has %d slots (%s): the cma= area fails", used, k.Version, k.CMASlots, slots)
		return
	}
	c.report("cma-slots", first.Name, first.Pos, hint,
		"%d CMA areas but Linux %s has %d slots (%s): %q and the CMA pools set up after it fail ('Not enough slots for CMA reserved regions!')", used, k.Version, k.CMASlots, slots, first.Name)
}

// nomapReusable reports a cma pool that also says no-map: every kernel mishandles it, each in
// its own way (kmodel.Model.NoMapReusable).
func (c *checker) nomapReusable(r *plan.Region) {
	hint := "remove no-map: (a CMA pool stays in the linear map), or make the pool kind: carveout"
	if r.MemoryLost {
		c.report("nomap-reusable", r.Name, c.pos(r.Name, "no-map"), hint,
			"pool %q is no-map and reusable: Linux %s accepts it without an error (it logs 'nomap reusable') but makes no CMA area of it: its %s stay reserved and nothing can use them",
			r.Name, c.p.Kernel.Version, size.Approx(r.Size))
		return
	}
	c.report("nomap-reusable", r.Name, c.pos(r.Name, "no-map"), hint,
		"pool %q is no-map and reusable: Linux %s refuses it ('node %s compatible matching fail') and gives the memory back: no CMA area, no heap",
		r.Name, c.p.Kernel.Version, r.Node)
}

func (c *checker) heaps() {
	k := c.p.Kernel
	kernelNames := map[string]string{"system": "the kernel's system heap"}
	for _, h := range c.p.Heaps {
		if h.Provider == "kernel" {
			kernelNames[h.Name] = fmt.Sprintf("the kernel's own CMA heap over pool %q", h.Pool)
		}
	}
	for _, n := range k.OwnHeaps {
		if _, ok := kernelNames[n]; !ok {
			kernelNames[n] = "the kernel's own CMA heap over the area cma= makes"
		}
	}
	seen := map[string]*plan.Heap{}
	n := 0
	for _, h := range c.p.Heaps {
		if h.Provider != "dtheap" {
			n++
			continue
		}
		n++
		r := h.Region
		switch {
		case h.Name == "" || h.Name == "." || h.Name == ".." || strings.Contains(h.Name, "/"):
			c.report("heap-name", r.Name, h.Pos, "name the heap after its memory, e.g. video@70000000", "heap name %q of pool %q cannot be a file in /dev/dma_heap", h.Name, r.Name)
		case len(h.Name) > nameMax:
			c.report("heap-name", r.Name, h.Pos, fmt.Sprintf("shorten it to at most %d bytes", nameMax), "heap name of pool %q is %d bytes, longer than a file name may be (NAME_MAX %d): /dev/dma_heap/%.16s... cannot be created", r.Name, len(h.Name), nameMax, h.Name)
		}
		if why, bad := kernelNames[h.Name]; bad {
			c.report("heap-name-kernel", r.Name, h.Pos, "pick another name", "heap name %q is taken by %s (Linux %s): the module's dma_heap_add would fail after a sysfs duplicate-name trace", h.Name, why, k.Version)
		}
		if prev := seen[h.Name]; prev != nil {
			c.report("heap-name-duplicate", r.Name, h.Pos, "give each heap its own name", "heap name %q is also used by pool %q", h.Name, prev.Pool)
		} else {
			seen[h.Name] = h
		}
		if r.Kind == plan.KindReserved {
			c.report("heap-kind", r.Name, h.Pos, "make the pool kind: carveout, unmapped or cma", "pool %q is kind: reserved, which has no heap", r.Name)
		}
		if r.DefaultCMA && k.DefaultCMAHeap != "" {
			c.report("heap-on-default-cma", r.Name, h.Pos, "remove heap: and use the kernel's heap "+k.DefaultCMAHeap, "the kernel already makes heap %q over the default CMA pool %q", k.DefaultCMAHeap, r.Name)
		}
	}
	c.cmaHeapNames()
	for i := range c.b.Pools {
		p := &c.b.Pools[i]
		if (p.Kind == "carveout" || p.Kind == "unmapped") && p.Heap != "" {
			c.carveoutMapping(p)
		}
		if p.Mapping == "" {
			continue
		}
		switch p.Kind {
		case "unmapped":
			c.report("mapping-unmapped", p.Name, p.Field("mapping"), "remove mapping:", "pool %q is unmapped: it is never CPU-mapped", p.Name)
		case "carveout":
			if p.Heap == "" {
				c.report("heap-kind", p.Name, p.Field("mapping"), "add heap: NAME, or remove mapping:", "mapping: on pool %q, which is not a heap", p.Name)
			}
		default:
			c.report("heap-kind", p.Name, p.Field("mapping"), "remove mapping:", "mapping: is only for carveout heaps, not kind: %s", p.Kind)
		}
	}
	// n+1: the kernel's system heap takes a minor too. With it, the heap at index
	// maxHeaps-1 of the plan's list is the first one refused.
	if n+1 > maxHeaps {
		c.report("heap-count", "", c.p.Heaps[maxHeaps-1].Pos, "expose fewer pools as heaps", "%d heaps, the DMA-BUF heap core allows %d (with the kernel's own)", n+1, maxHeaps)
	}
}

// carveoutMapping reports a carveout or unmapped heap whose region's no-map does not suit
// its mapping; dtheap_check_region() (kernel/src/dtheap_core.c) refuses both at probe. A cached
// heap needs its memory in the linear map: arm64's arch_sync_dma_for_device/_for_cpu
// (arch/arm64/mm/dma-mapping.c) clean and invalidate through phys_to_virt(), and map_mem()
// (arch/arm64/mm/mmu.c) leaves no-map memory out of that map, so on hardware with a
// non-coherent device it faults (QEMU's TCG makes cache maintenance a no-op and cannot show
// it). A write-combined or never-mapped heap must be no-map, or the linear map keeps a
// cacheable alias of it. A board cannot say either (the loader derives no-map from mapping:);
// a tree read by dtheap lint can.
func (c *checker) carveoutMapping(p *board.Pool) {
	cached := p.Kind == "carveout" && p.Mapping != "writecombine"
	switch {
	case cached && p.NoMap:
		pos, how := p.Field("heap"), "mapped cached (the default)"
		if p.Mapping != "" {
			pos, how = p.Field("mapping"), "mapped cached"
		}
		c.report("carveout-cached", p.Name, pos,
			"remove no-map from the region (a cached carveout stays in the linear map), or set mapping: writecombine",
			"carveout heap %q is %s, but pool %q is no-map: cache maintenance for a non-coherent device would go through the kernel's linear map, which no-map memory is not in; the driver refuses the heap", p.Heap, how, p.Name)
	case !cached && !p.NoMap:
		how := "a write-combined carveout"
		if p.Kind == "unmapped" {
			how = "unmapped"
		}
		c.report("carveout-wc-mapped", p.Name, p.Field("no-map"),
			"add no-map to the region",
			"heap %q is %s, but pool %q is not no-map: the linear map would keep a cacheable alias of it; the driver refuses the heap", p.Heap, how, p.Name)
	}
}

func (c *checker) devices() {
	for _, p := range c.b.Pools {
		r := c.byName[p.Name] // c.p.Region(p.Name), without a scan per pool
		for _, d := range p.Devices {
			if d.DMABits == 0 || d.DMABits >= 64 || !r.Placed {
				continue
			}
			limit := uint64(1) << d.DMABits
			if r.End() > limit {
				c.report("dma-limit", p.Name, d.Pos, fmt.Sprintf("place the pool below 0x%x (alloc-ranges or base)", limit),
					"device %s can address %d bits (below 0x%x) but pool %q is at %s", d.Node, d.DMABits, limit, p.Name, span(r.Range))
			}
		}
	}
}

// cmaHeapNames: on a kernel that registers a heap over every CMA area itself (7.3), a cma
// pool's heap: can only name one of those heaps; the module registers none over it.
func (c *checker) cmaHeapNames() {
	km := c.p.KModel()
	if !km.CMAHeapsFromKernel() {
		return
	}
	for i := range c.b.Pools {
		bp := &c.b.Pools[i]
		r := c.byName[bp.Name]
		if bp.Kind != "cma" || bp.Heap == "" || r == nil || r.Refused != "" || r.Bypassed || !r.Placed || !c.p.Kernel.CMAEnabled {
			continue
		}
		var names []string
		for _, h := range c.p.Heaps {
			if h.Provider == "kernel" && h.Region == r {
				names = append(names, h.Name)
			}
		}
		if len(names) == 0 || slices.Contains(names, bp.Heap) {
			continue
		}
		want := kmodel.CMAName(r.Node)
		hint := fmt.Sprintf("write heap: %s (the node's full name), or remove heap:", want)
		also := ""
		if r.DefaultCMA {
			hint = fmt.Sprintf("write heap: %s or heap: %s, or remove heap:", want, km.DefaultHeapName)
			also = fmt.Sprintf(" (and, as the default area, %s)", km.DefaultHeapName)
		}
		c.report("cma-heap-name", bp.Name, bp.Field("heap"), hint,
			"Linux %s registers a heap over every CMA area itself, named after its node: pool %q becomes /dev/dma_heap/%s%s, and no heap %q will exist",
			c.p.Kernel.Version, bp.Name, want, also, bp.Heap)
	}
}

// kernel says which kernel model the plan used: always when the version is not a proven
// model, with -v otherwise.
func (c *checker) kernel() {
	k := c.p.Kernel
	km := c.p.KModel()
	msg := fmt.Sprintf("kernel %s: dtheap's %s model (read from that version's source, proven by a boot)", k.Version, km.Version)
	if note := km.Note(); note != "" {
		msg = note
	}
	c.report("kernel-version", "", c.b.Kernel.Pos["version"], "", "%s", msg)
}
