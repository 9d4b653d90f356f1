package validate

import (
	"fmt"

	"github.com/dtheap/dtheap/board"
	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/kmodel"
	"github.com/dtheap/dtheap/plan"
)

// Options select which findings are reported.
type Options struct {
	Disable []string // rule IDs not to report at all
	Werror  bool     // warnings become errors
	Verbose bool     // include info-level findings about predictions
}

// Context is a rule's one input: the validated board and the plan built from it, with what
// the rules share worked out once. A rule reads regions from the plan; each region carries
// the board entry it came from (plan.Region.Pool, .Firmware), so no rule matches the board's
// lists to the plan's by index or name.
type Context struct {
	Board *board.Board
	Plan  *plan.Plan
	// DRAM is the banks as memblock holds them (dramSpans), for every containment check.
	DRAM []plan.Range
	// Verbose is Options.Verbose: rules whose findings are only wanted with -v ask it.
	Verbose bool

	rules []Rule // the catalog the run uses (Rules), for rules that speak about other rules
	rule  *Rule  // the rule running: report reports for it and for nothing else
	out   []*diag.Finding
}

// Check runs every rule of the catalog over a planned board and returns the findings, sorted,
// with silenced and disabled rules removed. It also stores them in p.Findings.
//
// As dtc's checks.c runs its check table, Check runs Rules in order; a rule whose
// prerequisite (Rule.Needs) does not hold for the board is not run, and dram-unknown says
// which rules could not judge.
func Check(b *board.Board, p *plan.Plan, opts Options) diag.List {
	c := &Context{Board: b, Plan: p, DRAM: dramSpans(p.Memory), Verbose: opts.Verbose, rules: Rules}
	for i := range c.rules {
		r := &c.rules[i]
		if r.check == nil || !c.holds(r.Needs) {
			continue
		}
		c.rule = r
		r.check(c)
	}
	c.rule = nil

	disabled := map[string]bool{}
	for _, d := range opts.Disable {
		disabled[d] = true
	}
	var out diag.List
	for _, f := range c.out {
		if disabled[f.Rule] {
			continue
		}
		if opts.Werror && f.Severity == diag.Warning {
			f.Severity = diag.Error
		}
		out = append(out, *f)
	}
	out.Sort()
	p.Findings = out
	return out
}

// holds reports whether every board-wide prerequisite holds. NeedPlacement is per region:
// placed() hands such a rule only the regions whose place is known.
func (c *Context) holds(needs []Need) bool {
	for _, n := range needs {
		if n == NeedDRAM && c.Plan.MemoryUnknown {
			return false
		}
	}
	return true
}

// report adds a finding of the running rule about a region (nil for a finding about the board
// as a whole, which only --disable removes) and returns it, or nil when the region's board
// entry silences the rule. The finding is the caller's own: adding to it (Related) cannot touch
// another one.
func (c *Context) report(r *plan.Region, pos diag.Pos, hint string, format string, args ...any) *diag.Finding {
	if c.rule == nil {
		panic("validate: report outside a rule") // a programming error, caught by every test
	}
	if r != nil && r.Silences(c.rule.ID) {
		return nil
	}
	f := &diag.Finding{Pos: pos, Severity: c.rule.Severity, Rule: c.rule.ID,
		Message: fmt.Sprintf(format, args...), Hint: hint}
	c.out = append(c.out, f)
	return f
}

// placed returns the regions a rule that needs placement can judge: fixed regions and the
// dynamic ones the planner placed. The others are unplaceable (that rule says so) or not
// placed at all because the DRAM is unknown (dram-unknown says so).
func (c *Context) placed() []*plan.Region {
	var rs []*plan.Region
	for _, r := range c.Plan.Regions {
		if r.Placed {
			rs = append(rs, r)
		}
	}
	return rs
}

// regions returns the regions the running rule judges: all of them, or with NeedPlacement the
// placed ones.
func (c *Context) regions() []*plan.Region {
	for _, n := range c.rule.Needs {
		if n == NeedPlacement {
			return c.placed()
		}
	}
	return c.Plan.Regions
}

// pools returns the regions made from the board's pools, in board order.
func (c *Context) pools() []*plan.Region {
	var rs []*plan.Region
	for _, r := range c.Plan.Regions {
		if r.Pool != nil {
			rs = append(rs, r)
		}
	}
	return rs
}

func (c *Context) kmodel() *kmodel.Model { return c.Plan.KModel() }
