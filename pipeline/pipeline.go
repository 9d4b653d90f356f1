// Package pipeline runs the front half of dtheap in its one direction: load the board file,
// plan the placement, validate. Every command that reads a board starts here.
package pipeline

import (
	"github.com/dtheap/dtheap/board"
	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/plan"
	"github.com/dtheap/dtheap/validate"
)

// Options for Load.
type Options struct {
	Kconfig  string           // kernel .config whose facts replace the board's kernel section
	Validate validate.Options // which findings to report
}

// Result is a loaded, planned and validated board.
type Result struct {
	Board    *board.Board
	Plan     *plan.Plan // nil when the file could not be loaded
	Findings diag.List  // load, schema and rule findings, sorted
}

// Load reads, plans and validates one board. The error is for unreadable files only; findings,
// including YAML and schema errors, are in the result.
func Load(path string, opts Options) (*Result, error) {
	b, findings, err := board.Load(path, board.Options{Kconfig: opts.Kconfig})
	if err != nil {
		return nil, err
	}
	res := &Result{Board: b, Findings: findings}
	if b == nil {
		return res, nil
	}
	res.Plan = plan.Build(b)
	res.Findings = append(res.Findings, validate.Check(b, res.Plan, opts.Validate)...)
	res.Findings.Sort()
	res.Plan.Findings = res.Findings
	return res, nil
}

// HasErrors reports whether any finding is at error level.
func (r *Result) HasErrors() bool { return r.Findings.Count(diag.Error) > 0 }
