package validate

// checkDRAMUnknown says once which rules could not judge a board whose DRAM is unknown; those
// rules do not run (Rule.Needs) instead of calling every region outside DRAM.
func checkDRAMUnknown(c *Context) {
	if !c.Plan.MemoryUnknown {
		return
	}
	n := 0
	for _, r := range c.Plan.Regions {
		if !r.Fixed && r.Emit {
			n++
		}
	}
	c.report(nil, c.Board.Pos["memory"], "give the DRAM (--memory BASE:SIZE to dtheap lint or import, or the memory: list)",
		"DRAM unknown: could not judge outside-dram, alloc-range-outside-dram, unplaceable, dynamic-at-zero, cma-zone-crossing and dma-limit; %d dynamic pool(s) not placed", n)
}
