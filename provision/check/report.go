package check

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/dtheap/dtheap/internal/escape"
	"github.com/dtheap/dtheap/provision/manifest"
)

// Report is the checker's answer. Its JSON shape is a contract for factory and fleet tooling:
// add fields, never rename them.
type Report struct {
	Tool    string   `json:"tool"` // always "dtheap-check"
	Board   string   `json:"board"`
	Arch    string   `json:"arch"`
	Verdict Status   `json:"verdict"` // PASS or FAIL
	Total   int      `json:"total"`
	Passed  int      `json:"passed"`
	Failed  int      `json:"failed"`
	Skipped int      `json:"skipped"`
	Checks  []Result `json:"checks"`
}

// NewReport counts results and sets the verdict: FAIL if any check failed, or if nothing at
// all passed (a run that only skipped proves nothing).
func NewReport(m *manifest.Manifest, results []Result) *Report {
	rep := &Report{Tool: "dtheap-check", Checks: results}
	if m != nil {
		rep.Board, rep.Arch = m.Board, m.Arch
	}
	if rep.Checks == nil {
		rep.Checks = []Result{}
	}
	for _, r := range results {
		rep.Total++
		switch r.Status {
		case Pass:
			rep.Passed++
		case Fail:
			rep.Failed++
		default:
			rep.Skipped++
		}
	}
	rep.Verdict = Pass
	if rep.Failed > 0 || rep.Passed == 0 {
		rep.Verdict = Fail
	}
	return rep
}

// Add appends a result computed outside Run (e.g. the selftest) and recounts.
func (rep *Report) Add(res Result) {
	*rep = *NewReport(&manifest.Manifest{Board: rep.Board, Arch: rep.Arch}, append(rep.Checks, res))
}

// OK reports whether the verdict is PASS.
func (rep *Report) OK() bool { return rep.Verdict == Pass }

// FormatResult is the one-line human form of a result, as printed on the console. IDs and
// details carry heap names and kernel text: escape.Line keeps each result on its one line, so
// a name cannot forge a "PASS ..." line of its own.
func FormatResult(r Result) string {
	if r.Detail == "" {
		return fmt.Sprintf("%-4s %s", r.Status, escape.Line(r.ID))
	}
	return fmt.Sprintf("%-4s %s: %s", r.Status, escape.Line(r.ID), escape.Line(r.Detail))
}

// FormatTimed is FormatResult with the check's own wall time appended in brackets, e.g.
// "PASS heap/dsp/alloc: allocated 1 MiB, ... [3.2ms]" (dtheap-check --timings). Results that
// ran no step carry no time and print as FormatResult does.
func FormatTimed(r Result) string {
	if r.Duration <= 0 {
		return FormatResult(r)
	}
	return fmt.Sprintf("%s [%v]", FormatResult(r), r.Duration.Round(time.Microsecond))
}

// Summary is the final machine-greppable line.
func (rep *Report) Summary() string {
	return fmt.Sprintf("dtheap-check: verdict %s (%d checks, %d failed, %d skipped)", escape.Line(string(rep.Verdict)), rep.Total, rep.Failed, rep.Skipped)
}

// WriteText writes one line per check and the summary line.
func (rep *Report) WriteText(w io.Writer) error {
	for _, r := range rep.Checks {
		if _, err := fmt.Fprintln(w, FormatResult(r)); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w, rep.Summary())
	return err
}

// WriteJSON writes the report as indented JSON with a trailing newline.
func (rep *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
