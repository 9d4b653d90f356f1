package validate

import (
	"fmt"
	"strings"

	"github.com/dtheap/dtheap/diag"
)

// checkDRAMUnknown says once which rules could not judge a board whose DRAM is unknown: those
// that need the DRAM do not run (Rule.Needs), and those that need placement see no dynamic
// pool, since none is placed. The names come from the catalog, so the message cannot drift
// from what Check does. Info rules are left out: they judge nothing.
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
	var dram, placement []string
	for _, r := range c.rules {
		if r.Severity == diag.Info {
			continue
		}
		for _, need := range r.Needs {
			switch need {
			case NeedDRAM:
				dram = append(dram, r.ID)
			case NeedPlacement:
				placement = append(placement, r.ID)
			}
		}
	}
	msg := "DRAM unknown: could not judge " + andList(dram)
	if n == 0 {
		msg += "; every pool is fixed"
	} else {
		msg += fmt.Sprintf("; %d dynamic pool(s) not placed, which %s could not judge either", n, andList(placement))
	}
	c.report(nil, c.Board.Pos["memory"], "give the DRAM (--memory BASE:SIZE to dtheap lint or import, or the memory: list)", "%s", msg)
}

// andList joins names as "a, b and c".
func andList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
