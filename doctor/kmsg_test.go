package doctor

import (
	"os"
	"path/filepath"
	"testing"
)

// TestReadKmsg: records as /dev/kmsg gives them (a regular file reads them back to back and
// then ends, as EAGAIN ends the real device): prefix dropped, metadata lines dropped, the
// escaped newline of OVERLAP DETECTED! restored.
func TestReadKmsg(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kmsg")
	rec := "3,120,5000,-;OF: reserved mem: OVERLAP DETECTED!\\x0adsp@50000000 (0x50000000--0x52000000) overlaps with gpu@51000000 (0x51000000--0x53000000)\n SUBSYSTEM=of\n"
	if err := os.WriteFile(path, []byte(rec), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readKmsg(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "OF: reserved mem: OVERLAP DETECTED!\ndsp@50000000 (0x50000000--0x52000000) overlaps with gpu@51000000 (0x51000000--0x53000000)\n"
	if string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
