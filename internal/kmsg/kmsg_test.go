package kmsg

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	in := "6,339,5140900,-;dtheap: heap a: refused: x\n SUBSYSTEM=platform\nplain dmesg line\n"
	got := Parse(in)
	if len(got) != 2 || got[0] != "dtheap: heap a: refused: x" || got[1] != "plain dmesg line" {
		t.Errorf("Parse = %q", got)
	}
}

// TestReadBounded: a record split across reads still comes back whole, and maxBytes stops
// the read (a regular file stands in for the device, which ends with EAGAIN).
func TestReadBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kmsg")
	long := strings.Repeat("x", 10000)
	if err := os.WriteFile(path, []byte("6,1,1,-;"+long+"\n6,2,2,-;second\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path, 1<<20, 100)
	if err != nil || len(got) != 2 || got[0] != long || got[1] != "second" {
		t.Fatalf("Read = %d lines, %v", len(got), err)
	}
	if got, _ := Read(path, 8192, 100); len(got) != 1 || len(got[0]) != 8192-len("6,1,1,-;") {
		t.Errorf("Read with maxBytes 8192 = %d lines", len(got))
	}
}
