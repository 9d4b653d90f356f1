package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// runCapture runs the CLI in-process and returns its exit status and output.
func runCapture(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	defer root.SetOut(nil)
	defer root.SetErr(nil)
	// Flags keep their values between in-process runs: put every one back to its default.
	globalBoardFlags = boardFlags{}
	resetFlags(root)
	code := run(args)
	return code, out.String(), errb.String()
}

func resetFlags(c *cobra.Command) {
	reset := func(f *pflag.Flag) {
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			_ = sv.Replace(nil)
		} else {
			_ = f.Value.Set(f.DefValue)
		}
		f.Changed = false
	}
	c.Flags().VisitAll(reset)
	c.PersistentFlags().VisitAll(reset)
	for _, sub := range c.Commands() {
		resetFlags(sub)
	}
}

// cliCase is one dtheap command line and what it must give: the exit status and a substring
// of stdout+stderr.
type cliCase struct {
	name string
	args []string
	code int
	want string
}

func runCases(t *testing.T, tests []cliCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCapture(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errs)
			}
			if !strings.Contains(out+errs, tt.want) {
				t.Errorf("output lacks %q:\nstdout: %s\nstderr: %s", tt.want, out, errs)
			}
		})
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("board: x\narch: arm64\nmemory: [{name: d, base: 0x40000000, size: 1GiB}]\npools:\n  - {name: a, kind: carveout, base: 0x40000000, size: 16MiB}\n  - {name: b, kind: carveout, base: 0x40800000, size: 16MiB}\n"), 0o644)
	tests := []cliCase{
		{"valid board", []string{"validate", "../../boards/qemu-virt-arm64.yaml"}, 0, "0 error(s)"},
		{"overlap", []string{"validate", bad}, 1, "bad.yaml:6:37: error[overlap]"},
		{"overlap as json", []string{"validate", "--format", "json", bad}, 1, `"rule": "overlap"`},
		{"rule disabled", []string{"validate", "--disable", "overlap", bad}, 0, ""},
		{"unknown rule", []string{"validate", "--disable", "nope", bad}, 2, "no such rule"},
		{"missing file", []string{"validate", filepath.Join(dir, "none.yaml")}, 2, "no such file"},
		{"bad flag", []string{"validate", "--frobnicate"}, 2, "unknown flag"},
		{"plan table", []string{"plan", "../../boards/qemu-virt-arm64.yaml"}, 0, "predicted (#1)"},
		{"plan json", []string{"plan", "--format", "json", "../../boards/qemu-virt-arm64.yaml"}, 0, `"alloc_order"`},
		{"emitter refuses a bad board", []string{"manifest", bad}, 1, "nothing written"},
		{"list rules", []string{"validate", "--list-rules"}, 0, "cma-alignment"},
	}
	runCases(t, tests)
}
