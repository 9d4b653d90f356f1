package main

import (
	"github.com/spf13/cobra"

	"github.com/dtheap/dtheap/internal/output"
)

// writeOutput writes a generated file atomically, or with check compares it with the file on
// disk and ends the command with status 1 (and a diff on stdout) when they differ.
func writeOutput(cmd *cobra.Command, path string, data []byte, check bool) error {
	changed, err := output.Write(path, data, check, cmd.OutOrStdout())
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if check && changed {
		return findingsExit()
	}
	return nil
}
