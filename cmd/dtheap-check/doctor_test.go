package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestFailedRunExplains: a failed check runs the doctor on the same root, so the report says
// what the kernel did with each reserved-memory node and heap, with the evidence. The root is
// one of the doctor's recorded system copies (no manifest there: the check fails).
func TestFailedRunExplains(t *testing.T) {
	var o options
	fs := newFlagSet(&o)
	if err := fs.Parse([]string{"--root", filepath.Join("..", "..", "doctor", "testdata", "qemu-6.12")}); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if run(o, &out, &errb) {
		t.Fatal("run passed without a manifest")
	}
	for _, want := range []string{
		"dtheap-check: doctor: failed       /reserved-memory/big:",
		"dtheap-check: doctor:     evidence: [    0.000000] OF: reserved mem: failed to allocate memory for node 'big': size 2048 MiB",
		"dtheap-check: doctor: missing      heap secure (dtheap)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// The summary stays the last line.
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if !strings.HasPrefix(lines[len(lines)-1], "dtheap-check: verdict FAIL") {
		t.Errorf("last line %q", lines[len(lines)-1])
	}
}
