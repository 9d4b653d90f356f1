package output

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnifiedDiffMatchesDiffU(t *testing.T) {
	diffPath, err := exec.LookPath("diff")
	if err != nil {
		t.Skip("diff not installed: nothing to compare against")
	}
	lines := func(n int, f func(i int) string) string {
		var sb strings.Builder
		for i := 0; i < n; i++ {
			sb.WriteString(f(i) + "\n")
		}
		return sb.String()
	}
	base := lines(40, func(i int) string { return "line " + string(rune('a'+i%26)) + strings.Repeat("x", i%3) })
	tests := []struct{ name, a, b string }{
		{"equal", base, base},
		{"one change", base, strings.Replace(base, "line c\n", "line C\n", 1)},
		{"insert at start", base, "new\n" + base},
		{"delete at end", base, base[:len(base)-len("line nx\n")]},
		{"two hunks", base, strings.Replace(strings.Replace(base, "line b", "B", 1), "line nx\n", "", 1)},
		{"near changes merge", base, strings.Replace(strings.Replace(base, "line b", "B", 1), "line f", "F", 1)},
		{"from empty", "", "a\nb\n"},
		{"to empty", "a\nb\n", ""},
		{"no final newline", "a\nb", "a\nb\n"},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pa, pb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
			os.WriteFile(pa, []byte(tt.a), 0o644)
			os.WriteFile(pb, []byte(tt.b), 0o644)
			out, _ := exec.Command(diffPath, "-u", "--label", "A", "--label", "B", pa, pb).Output()
			if got := UnifiedDiff("A", "B", tt.a, tt.b); got != string(out) {
				t.Errorf("UnifiedDiff differs from diff -u\n--- got\n%s--- diff -u\n%s", got, out)
			}
		})
	}
}

func TestWriteAndCheck(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.dtsi")
	var buf bytes.Buffer

	// Check on a missing file: differs.
	if changed, err := Write(p, []byte("a\n"), true, &buf); err != nil || !changed {
		t.Fatalf("check missing: changed=%v err=%v", changed, err)
	}
	if _, err := os.Stat(p); err == nil {
		t.Fatal("check mode wrote the file")
	}
	if changed, err := Write(p, []byte("a\n"), false, &buf); err != nil || !changed {
		t.Fatalf("write: changed=%v err=%v", changed, err)
	}
	buf.Reset()
	if changed, err := Write(p, []byte("a\n"), true, &buf); err != nil || changed || !strings.Contains(buf.String(), "up to date") {
		t.Fatalf("check equal: changed=%v err=%v out=%q", changed, err, buf.String())
	}
	buf.Reset()
	if changed, _ := Write(p, []byte("b\n"), true, &buf); !changed || !strings.Contains(buf.String(), "-a\n+b\n") {
		t.Fatalf("check differ: changed=%v out=%q", changed, buf.String())
	}
	buf.Reset()
	if changed, _ := Write(p, []byte("b\x00"), true, &buf); !changed || !strings.Contains(buf.String(), "binary") {
		t.Fatalf("check binary: out=%q", buf.String())
	}
	if _, err := Write("-", []byte("x"), true, &buf); err == nil {
		t.Fatal("check on stdout accepted")
	}
	// No temp files left behind.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("directory has %d entries, want 1", len(ents))
	}
	if err := WriteAtomic(filepath.Join(dir, "no/such/dir/f"), nil); err == nil {
		t.Fatal("write into missing dir succeeded")
	}
}
