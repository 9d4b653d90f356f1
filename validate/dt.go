package validate

import (
	"github.com/dtheap/dtheap/diag"
)

// treeRules are the rules about how a devicetree writes /reserved-memory: cell counts,
// property lengths, flags the kernel refuses together. A board file cannot break them (the
// emitters write them right), so only dtheap lint and dtheap import report them, from the
// tree they read (package dtbind); they are in the one catalog so that IDs, severities,
// --disable and --list-rules work the same everywhere. Each one's kernel source is cited
// where dtbind checks it.
var treeRules = []Rule{
	{"rmem-cells", diag.Error, "/reserved-memory has no #address-cells/#size-cells, or not the root's: 'Reserved memory: unsupported node format, ignoring', and the kernel ignores EVERY region"},
	{"rmem-ranges", diag.Error, "/reserved-memory has no ranges property: 'unsupported node format, ignoring', and the kernel ignores EVERY region"},
	{"reg-length", diag.Error, "a region's reg is not a whole number of <address size> entries of the root's cell counts: 'invalid reg property', the node is skipped"},
	{"reg-entries", diag.Info, "a region's reg has more than one entry: 6.1 and 6.12 reserve every entry but record only the first; 7.3 reserves only the first (warning there)"},
	{"size-length", diag.Error, "a dynamic region's size is not #size-cells cells: 'invalid size property', the node is skipped"},
	{"alignment-length", diag.Error, "a dynamic region's alignment is not #address-cells cells: 'invalid alignment property', the node is skipped"},
	{"alloc-ranges-length", diag.Error, "alloc-ranges is not a whole number of <address size> pairs: 6.1 and 6.12 skip the node ('invalid alloc-ranges property'); 7.3 ignores the whole property and places the region anywhere (of_flat_dt_get_addr_size_prop returns nothing; warning there)"},
	{"nomap-reusable", diag.Error, "a region is both no-map and reusable (in a tree, or a board's cma pool with no-map: true): no pool is made; 6.1/6.12 refuse it ('compatible matching fail') and give the memory back, 7.3 accepts it silently ('nomap reusable') and the memory is lost"},
	{"alignment-power-of-two", diag.Warning, "a dynamic region's alignment is not a power of two: memblock's round_down masks with alignment-1, so the region lands on an address that is not a multiple of it"},
	{"no-reg-or-size", diag.Warning, "a /reserved-memory child has neither reg nor size: the kernel skips it without a word"},
	{"node-disabled", diag.Info, "a /reserved-memory child has status other than okay: the kernel skips it (of_fdt_device_is_available)"},
	{"reg-zero-size", diag.Warning, "a region's reg has size 0 (a placeholder the boot loader fills in?): as written the kernel logs 'failed to reserve memory' and reserves nothing"},
	{"carveout-cached", diag.Error, "a carveout heap mapped cached on a no-map region (an imported or linted tree; a board's cached carveout is written without no-map): the DMA API's cache maintenance goes through the kernel's linear map, which no-map memory is not in, so the driver refuses the heap at probe"},
	{"carveout-wc-mapped", diag.Error, "a write-combined carveout or an unmapped heap on a region without no-map (an imported or linted tree): the linear map would hold a cacheable alias of it, so the driver refuses the heap at probe"},
}

// boardRulesExtra are rules a board file can break that live with the tree rules because
// they came with reading trees.
var boardRulesExtra = []Rule{
	{"dram-unknown", diag.Info, "memory: unknown (the boot loader decides the DRAM): the rules that need DRAM (outside-dram, alloc-range-outside-dram, unplaceable, dynamic-at-zero, cma-zone-crossing, dma-limit) could not judge"},
}

func init() {
	Rules = append(Rules, boardRulesExtra...)
	Rules = append(Rules, treeRules...)
}

// TreeOnly reports whether a rule can only fire on a devicetree (lint, import), not on a
// board file.
func TreeOnly(id string) bool {
	for _, r := range treeRules {
		if r.ID == id {
			return true
		}
	}
	return false
}

// dramUnknown says once which rules could not judge a board whose DRAM is unknown; those
// rules are skipped (see their callers) instead of calling every region outside DRAM.
func (c *checker) dramUnknown() {
	if !c.p.MemoryUnknown {
		return
	}
	n := 0
	for _, r := range c.p.Regions {
		if !r.Fixed && r.Emit {
			n++
		}
	}
	c.report("dram-unknown", "", c.b.Pos["memory"], "give the DRAM (--memory BASE:SIZE to dtheap lint or import, or the memory: list)",
		"DRAM unknown: could not judge outside-dram, alloc-range-outside-dram, unplaceable, dynamic-at-zero, cma-zone-crossing and dma-limit; %d dynamic pool(s) not placed", n)
}

// dramKnown is false for memory: unknown: every rule that compares against DRAM stays silent.
func (c *checker) dramKnown() bool { return !c.p.MemoryUnknown }
