package validate

import (
	"fmt"

	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/plan"
)

// The /memreserve/ rules. What the kernel does with the blob's memory reservation block, read
// from early_init_fdt_scan_reserved_mem() (drivers/of/fdt.c of 6.1, 6.12 and 7.3; the model is
// kmodel.Model.MemreserveFirst):
//
//   - every entry is memblock_reserve()d: reserved, in the linear map, never no-map; the loop
//     stops at the first entry of size 0 (if (!size) break;);
//   - 6.1 runs the loop before fdt_scan_reserved_mem(): dynamic pools are placed around the
//     entries, and a no-map fixed region over one fails, because early_init_dt_reserve_memory()
//     refuses to mark memory no-map that memblock already has reserved (-EBUSY, "failed to
//     reserve memory for node") when that memory is DRAM;
//   - 6.12 and 7.3 run it after fdt_scan_reserved_mem(), which has already reserved the fixed
//     regions and allocated the dynamic ones: a dynamic pool may be placed on an entry, and
//     memblock_reserve() over it (memblock_add_range() inserts only what is not there yet) says
//     nothing;
//   - nothing compares the entries with /reserved-memory: __rmem_check_for_overlap() looks at
//     reserved_mem[] only, so no OVERLAP DETECTED either.

// liveMemreserve returns the entries the kernel reads (up to the first of size 0), of non-zero size.
func (c *Context) liveMemreserve() []*plan.Memreserve {
	var out []*plan.Memreserve
	for _, m := range c.Plan.Memreserve {
		if !m.Ignored && m.Size > 0 {
			out = append(out, m)
		}
	}
	return out
}

// reportMemreserve reports a finding that concerns a region and a /memreserve/ entry; the
// silence: of either silences it.
func (c *Context) reportMemreserve(r *plan.Region, m *plan.Memreserve, pos diag.Pos, hint, format string, args ...any) {
	if m.Silences(c.rule.ID) {
		return
	}
	if f := c.report(r, pos, hint, format, args...); f != nil {
		f.Related = []diag.Pos{m.Pos}
	}
}

// checkMemreserveOverlap: a pool (a CMA area or a heap: memory the kernel hands out) on memory
// the boot loader keeps.
func checkMemreserveOverlap(c *Context) {
	for _, r := range c.placed() {
		if plainReservation(r) || r.Size == 0 || r.Dropped {
			continue
		}
		for _, m := range c.liveMemreserve() {
			if !r.Overlaps(m.Range) {
				continue
			}
			var why, hint string
			switch {
			case !r.Fixed:
				// Only 6.12 and later: on 6.1 the planner placed it around the entry.
				why = fmt.Sprintf("Linux %s places dynamic pools before it reserves /memreserve/ entries (early_init_fdt_scan_reserved_mem() runs fdt_scan_reserved_mem() first), so the pool is predicted on top of it and hands out memory the boot loader keeps", c.Plan.Kernel.Version)
				hint = "describe the memory as a firmware region (a /reserved-memory node: reserved before any dynamic pool on every kernel) instead of a /memreserve/ entry, or give the pool alloc-ranges that leave the entry out"
			case r.NoMap && m.First && c.touchesDRAM(r.Range):
				why = fmt.Sprintf("Linux %s reserves /memreserve/ entries first, so it cannot mark the pool no-map ('failed to reserve memory for node': early_init_dt_reserve_memory() refuses no-map over reserved memory) and the pool's memory is the boot loader's", c.Plan.Kernel.Version)
				hint = "move the pool off the entry, or drop the entry if the boot loader does not keep that memory"
			default:
				why = "the kernel reserves both without a word (nothing compares /memreserve/ with /reserved-memory) and the pool hands out memory the boot loader keeps"
				hint = "move the pool off the entry, or drop the entry if the boot loader does not keep that memory"
			}
			c.reportMemreserve(r, m, r.Field("base"), hint, "%s %q at %s overlaps /memreserve/ entry %q at %s: %s",
				what(r), r.Name, span(r.Range), m.Name, span(m.Range), why)
		}
	}
}

// checkMemreserveNoMap: on a kernel that reserves /memreserve/ entries first (6.1), a no-map
// firmware region or plain reservation over one cannot be marked no-map. Nothing is lost (the
// entry keeps the memory reserved), but the memory stays in the linear map, where the CPU may
// fetch from it speculatively: what no-map was for (secure memory) is gone. 6.12 and later mark
// it no-map before they reserve the entry: nothing to say there.
func checkMemreserveNoMap(c *Context) {
	for _, r := range c.Plan.Regions {
		if !plainReservation(r) || !r.Emit || !r.Fixed || !r.NoMap || r.Size == 0 || !c.touchesDRAM(r.Range) {
			continue
		}
		for _, m := range c.liveMemreserve() {
			if !m.First || !r.Overlaps(m.Range) {
				continue
			}
			c.reportMemreserve(r, m, r.Field("base"), "leave the memory out of /memreserve/ (the no-map node reserves it), or drop no-map if the linear map may hold it",
				"%s %q at %s is no-map and overlaps /memreserve/ entry %q at %s: Linux %s reserves /memreserve/ entries first, so early_init_dt_reserve_memory() refuses to mark it no-map ('failed to reserve memory for node') and it stays in the linear map",
				what(r), r.Name, span(r.Range), m.Name, span(m.Range), c.Plan.Kernel.Version)
		}
	}
}

// checkMemreserveZeroSize: an entry of size 0 reserves nothing, and the kernel reads no entry
// after it (memreserve-ignored reports those).
func checkMemreserveZeroSize(c *Context) {
	for _, m := range c.Plan.Memreserve {
		if m.Size == 0 && !m.Silences(c.rule.ID) {
			c.report(nil, m.Field("size"), "remove it, or give its size", "/memreserve/ entry %q at 0x%x has size 0: it reserves nothing, and the kernel stops reading /memreserve/ there (early_init_fdt_scan_reserved_mem(): if (!size) break;)", m.Name, m.Base)
		}
	}
}

// checkMemreserveIgnored: an entry after one of size 0 is never reserved.
func checkMemreserveIgnored(c *Context) {
	var stop *plan.Memreserve
	for _, m := range c.Plan.Memreserve {
		if stop == nil && m.Size == 0 {
			stop = m
			continue
		}
		if stop != nil && !m.Silences(c.rule.ID) {
			if f := c.report(nil, m.Pos, "remove the entry of size 0 before it", "/memreserve/ entry %q at %s is never reserved: the kernel stops reading /memreserve/ at entry %q of size 0 before it", m.Name, span(m.Range), stop.Name); f != nil {
				f.Related = []diag.Pos{stop.Pos}
			}
		}
	}
}

// checkMemreserveOutsideDRAM: memblock_reserve() of addresses memblock.memory does not hold
// records a range no allocator looks at: the part outside DRAM keeps nothing, and nothing is
// lost either. Upstream trees do it on purpose (arch/arm64/boot/dts/realtek/rtd129x.dtsi
// reserves 0x0-0x1f000, which its boards' /memory starts after), so it is info: a warning
// would be a false alarm on trees that boot.
func checkMemreserveOutsideDRAM(c *Context) {
	for _, m := range c.liveMemreserve() {
		if c.inDRAM(m.Range) || m.Silences(c.rule.ID) {
			continue
		}
		how := "partly outside DRAM: only the part inside is kept from Linux"
		if !c.touchesDRAM(m.Range) {
			how = "outside DRAM: there is no memory there for Linux to be kept from"
		}
		c.report(nil, m.Field("base"), "", "/memreserve/ entry %q at %s is %s (%s)", m.Name, span(m.Range), how, c.banks())
	}
}
