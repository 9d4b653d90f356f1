// Package testfile writes the small input files that tests build their boards and trees from.
package testfile

import (
	"os"
	"path/filepath"
	"testing"
)

// Writer returns a function that writes text to name under dir and returns the file's path,
// failing the test if it cannot.
func Writer(t testing.TB, dir string) func(name, text string) string {
	return func(name, text string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
}
