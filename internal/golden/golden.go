// Package golden compares what a test produced with a golden file under testdata/, and
// rewrites the file instead when the test binary runs with -update, the way protobuf's and
// sqlc's generator tests do. A difference is shown as a unified diff, so a reviewer sees what
// changed rather than two whole files.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/dtheap/dtheap/internal/output"
)

var update = flag.Bool("update", false, "rewrite the golden files from the current output (review the diff before committing)")

// Updating reports whether the test binary runs with -update.
func Updating() bool { return *update }

// Check compares got with the golden file at path. With -update it writes got there
// (creating directories) instead of comparing.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update rewrites it after you check the change):\n%s",
			path, output.UnifiedDiff(path+" (golden)", path+" (got)", string(want), string(got)))
	}
}
