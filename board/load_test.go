package board

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/internal/golden"
)

// TestLoadErrors loads each broken board in testdata/errors/, checks where the first finding
// points (file:line:col, exactly) and its rule, and compares all findings with
// testdata/errors/<case>.golden (go test ./board -update rewrites them).
func TestLoadErrors(t *testing.T) {
	dir := filepath.Join("testdata", "errors")
	tests := []struct {
		file string
		pos  string // first finding's position
		rule string
		msg  string // a piece of its message
	}{
		// yaml.v3 gives syntax errors a line, never a column: the unclosed { is on line 4.
		{"syntax.yaml", "syntax.yaml:4", "syntax", "did not find expected ',' or '}'"},
		{"tabs.yaml", "tabs.yaml:4", "syntax", "cannot start any token"},
		// unquoted 1660 is an integer to YAML, so the schema's pattern cannot see it: the decoder must.
		{"access-mode.yaml", "access-mode.yaml:6:104", "schema", `access mode "1660" is not a file mode`},
		{"duplicate-key.yaml", "duplicate-key.yaml:10:5", "syntax", `duplicate key "size" (first at line 9)`},
		{"unknown-key.yaml", "unknown-key.yaml:6:64", "schema", `unknown key "nomap" in pools[0]`},
		{"unquoted-comma.yaml", "unquoted-comma.yaml:7:18", "schema", `unknown key "cma" in pools[0]`},
		{"wrong-type.yaml", "wrong-type.yaml:4:12", "schema", "kernel.hugetlb: got string, want boolean"},
		{"ambiguous-size.yaml", "ambiguous-size.yaml:6:57", "schema", `"64MB" is ambiguous (1000 or 1024?): write 64MiB`},
		{"overflow.yaml", "overflow.yaml:6:37", "schema", "does not fit in 64 bits"},
		{"riscv64-page-size.yaml", "riscv64-page-size.yaml:4:38", "schema", "page-size 16 KiB: riscv64 kernels build with 4KiB pages only"},
		{"inserted-emitted.yaml", "inserted-emitted.yaml:8:79", "schema", `firmware region "mmode_resv0" is inserted by firmware at boot and also emitted by dtheap`},
		// The cycle is reported where it closes: cycle-b.yaml's extends: back to cycle-a.yaml.
		{"cycle-a.yaml", "cycle-b.yaml:1:10", "extends", "makes a cycle"},
		{"extends-missing-file.yaml", "extends-missing-file.yaml:1:10", "extends", "no-such-base.yaml"},
		{"override-missing.yaml", "override-missing.yaml:5:19", "extends", `pool "audio" is marked override: but the base file has no entry of that name`},
		{"duplicate-across-extends.yaml", "duplicate-across-extends.yaml:5:12", "extends", `pool "dsp" is already defined in testdata/errors/base.yaml:7:12`},
	}
	covered := map[string]bool{"base.yaml": true, "cycle-b.yaml": true}
	for _, tt := range tests {
		covered[tt.file] = true
		t.Run(strings.TrimSuffix(tt.file, ".yaml"), func(t *testing.T) {
			b, findings, err := Load(filepath.Join(dir, tt.file), Options{})
			if err != nil {
				t.Fatalf("Load: unexpected I/O error %v", err)
			}
			if b != nil {
				t.Fatalf("Load returned a board for a broken file")
			}
			if len(findings) == 0 {
				t.Fatal("no findings")
			}
			f := findings[0]
			if got, want := f.Pos.String(), filepath.Join(dir, tt.pos); got != want {
				t.Errorf("position %s, want %s", got, want)
			}
			if f.Rule != tt.rule {
				t.Errorf("rule %s, want %s", f.Rule, tt.rule)
			}
			if !strings.Contains(f.Message, tt.msg) {
				t.Errorf("message %q does not say %q", f.Message, tt.msg)
			}
			var buf bytes.Buffer
			if err := findings.WriteText(&buf); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join(dir, strings.TrimSuffix(tt.file, ".yaml")+".golden"), buf.Bytes())
		})
	}
	// Every broken board in testdata/errors has a case above.
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, f := range files {
		if !covered[filepath.Base(f)] {
			t.Errorf("%s has no case in TestLoadErrors", f)
		}
	}
}

// TestLoadOverflowEveryForm checks each way of writing a too-large number is refused, never
// wrapped: hex, decimal and a suffix that overflows.
func TestLoadOverflowEveryForm(t *testing.T) {
	_, findings, err := Load(filepath.Join("testdata", "errors", "overflow.yaml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, f := range findings {
		lines = append(lines, f.Pos.String())
	}
	want := []string{"testdata/errors/overflow.yaml:6:37", "testdata/errors/overflow.yaml:7:55", "testdata/errors/overflow.yaml:8:55"}
	if strings.Join(lines, " ") != strings.Join(want, " ") {
		t.Errorf("overflow findings at %v, want %v", lines, want)
	}
}

// TestLoadMissingFile is an I/O error (exit status 2), not a finding.
func TestLoadMissingFile(t *testing.T) {
	_, _, err := Load(filepath.Join("testdata", "no-such-board.yaml"), Options{})
	if _, ok := err.(*IOError); !ok {
		t.Fatalf("error %v (%T), want *IOError", err, err)
	}
}

// TestLoadExtends checks a board that extends a base: the base supplies arch and memory, an
// override replaces only the keys it gives, delete drops an entry, the kernel section merges
// key by key, and positions say which file each value came from.
func TestLoadExtends(t *testing.T) {
	path := filepath.Join("testdata", "ok", "extends.yaml")
	b, findings, err := Load(path, Options{})
	if err != nil || b == nil {
		t.Fatalf("Load: %v\n%v", err, findings)
	}
	if len(findings) != 0 {
		t.Errorf("unexpected findings:\n%v", findings)
	}
	if b.Name != "extends" || b.Arch != "arm64" || len(b.Memory) != 1 || b.Memory[0].Size != 1<<30 {
		t.Errorf("board %q arch %q memory %+v: want the base's arch and memory", b.Name, b.Arch, b.Memory)
	}
	if want := []string{path, filepath.Join("testdata", "ok", "base.yaml")}; strings.Join(b.Files, " ") != strings.Join(want, " ") {
		t.Errorf("Files %v, want %v", b.Files, want)
	}
	if !b.Kernel.Hugetlb || b.Kernel.CMAAreas != 3 {
		t.Errorf("kernel %+v: want hugetlb from the base, cma-areas from the board", b.Kernel)
	}
	var names []string
	for _, p := range b.Pools {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, " "); got != "dsp video" {
		t.Fatalf("pools %q, want \"dsp video\" (scratch deleted)", got)
	}
	dsp := b.Pools[0]
	if dsp.Base != 0x50000000 || dsp.Size != 32<<20 || dsp.Heap != "dsp@50000000" || dsp.Kind != "carveout" {
		t.Errorf("dsp %+v: want the base's base and kind, the board's size and heap", dsp)
	}
	if got := dsp.Field("base").String(); got != "testdata/ok/base.yaml:8:39" {
		t.Errorf("dsp base at %s, want the base file's position", got)
	}
	if got := dsp.Field("size").String(); got != "testdata/ok/extends.yaml:5:39" {
		t.Errorf("dsp size at %s, want the board file's position", got)
	}
}
