package golden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps what Check reports instead of failing the test.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Errorf(format string, a ...any) { r.errors = append(r.errors, format) }
func (r *recorder) Fatalf(format string, a ...any) { r.errors = append(r.errors, format) }

func TestCheck(t *testing.T) {
	if Updating() {
		t.Skip("-update rewrites files; this test checks comparing")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "x.golden")
	if err := os.WriteFile(path, []byte("a\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		path string
		got  string
		fail string // substring of the report, "" for none
	}{
		{"same bytes pass", path, "a\nb\n", ""},
		{"a difference fails", path, "a\nc\n", "differs"},
		{"a missing golden fails", filepath.Join(dir, "none.golden"), "a\n", "creates it"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			Check(r, tt.path, []byte(tt.got))
			switch {
			case tt.fail == "" && len(r.errors) > 0:
				t.Errorf("reported %q", r.errors)
			case tt.fail != "" && (len(r.errors) == 0 || !strings.Contains(r.errors[0], tt.fail)):
				t.Errorf("reported %q, want a report saying %q", r.errors, tt.fail)
			}
		})
	}
}
