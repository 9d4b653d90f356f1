package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dtheap/dtheap/board"
	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/internal/escape"
	"github.com/dtheap/dtheap/internal/output"
	"github.com/dtheap/dtheap/pipeline"
	"github.com/dtheap/dtheap/plan"
	"github.com/dtheap/dtheap/validate"
)

// boardFlags are the flags every command that reads a board takes.
type boardFlags struct {
	kconfig string
	disable []string
	werror  bool
}

func (f *boardFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.kconfig, "kconfig", "", "read kernel facts (version, page size, hugetlb, CMA areas) from this kernel .config")
	fs.StringSliceVar(&f.disable, "disable", nil, "rule IDs not to report (see validate --list-rules); repeatable")
	fs.BoolVar(&f.werror, "werror", false, "treat warnings as errors")
}

var globalBoardFlags boardFlags

func (f *boardFlags) options() (pipeline.Options, error) {
	for _, id := range f.disable {
		if _, ok := validate.Lookup(id); !ok {
			return pipeline.Options{}, &exitError{code: exitUsage, err: fmt.Errorf("--disable %s: no such rule (dtheap validate --list-rules lists them)", id)}
		}
	}
	return pipeline.Options{Kconfig: f.kconfig, Validate: validate.Options{Disable: f.disable, Werror: f.werror}}, nil
}

// load runs the pipeline on one board, mapping I/O errors to exit status 2.
func load(path string, opts pipeline.Options) (*pipeline.Result, error) {
	output.AddInput(path)
	output.AddInput(opts.Kconfig)
	res, err := pipeline.Load(path, opts)
	if err != nil {
		var ioe *board.IOError
		if !errors.As(err, &ioe) {
			err = fmt.Errorf("%s: %w", path, err)
		}
		return nil, &exitError{code: exitUsage, err: err}
	}
	if res.Board != nil {
		for _, f := range res.Board.Files {
			output.AddInput(f)
		}
	}
	return res, nil
}

// loadPlan loads a board for an emitter: findings go to stderr; error-level findings stop the
// command with status 1, since emitting output for a board the kernel would reject helps nobody.
func loadPlan(cmd *cobra.Command, path string) (*plan.Plan, error) {
	opts, err := globalBoardFlags.options()
	if err != nil {
		return nil, err
	}
	res, err := load(path, opts)
	if err != nil {
		return nil, err
	}
	stderr := cmd.ErrOrStderr()
	if err := res.Findings.WriteText(stderr); err != nil {
		return nil, err
	}
	if res.HasErrors() {
		fmt.Fprintf(stderr, "dtheap: %s: %d error(s); nothing written\n", escape.Line(path), res.Findings.Count(diag.Error))
		return nil, findingsExit()
	}
	return res.Plan, nil
}

func writeFindings(w io.Writer, l diag.List, format string) error {
	if format == "json" {
		return l.WriteJSON(w)
	}
	return l.WriteText(w)
}

func init() { globalBoardFlags.register(root.PersistentFlags()) }
