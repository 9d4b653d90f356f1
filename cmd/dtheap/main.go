// Command dtheap turns a board's memory description (YAML) into validated reserved-memory
// devicetree, DMA-BUF heap kernel code and a boot-time check.
//
// Exit status: 0 clean, 1 findings at error level (or --check found a difference),
// 2 usage, input or I/O error.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dtheap/dtheap/internal/escape"
	"github.com/dtheap/dtheap/internal/output"
)

// Exit codes shared by every command.
const (
	exitOK       = 0
	exitFindings = 1
	exitUsage    = 2
)

// exitError carries an exit status through cobra's error return without printing twice.
type exitError struct {
	code int
	err  error // nil: the command already reported what happened
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// findingsExit ends a command with status 1 after it printed its findings.
func findingsExit() error { return &exitError{code: exitFindings} }

var root = &cobra.Command{
	Use:   "dtheap",
	Short: "Board memory YAML to reserved-memory devicetree, DMA-BUF heaps and a boot check",
	Long: `dtheap turns one YAML description of a board's memory into everything Linux needs to
hand that memory out as DMA-BUF heaps: it validates the layout against the kernel's own rules,
predicts where the kernel places every dynamic region, emits devicetree and kernel heap code,
and checks at boot that the heaps appeared and work.

Exit status: 0 clean, 1 findings at error level, 2 usage, input or I/O error.`,
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	output.CleanupOnSignal()
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	output.ResetInputs()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(root.ErrOrStderr(), "dtheap:", lines(ee.err))
		}
		return ee.code
	}
	fmt.Fprintln(root.ErrOrStderr(), "dtheap:", lines(err))
	return exitUsage
}

// lines keeps an error's own line breaks (dtc's messages have several) and shows every other
// control character escaped, so a file name cannot add a line of its own.
func lines(err error) string {
	ls := strings.Split(err.Error(), "\n")
	for i, l := range ls {
		ls[i] = escape.Line(l)
	}
	return strings.Join(ls, "\n")
}
