package mapview

import (
	"bytes"
	"strings"
	"testing"
)

// TestTableMemreserve: the plan table names the /memreserve/ entries and when the board's
// kernel reserves them, as plan.Memreserve.First says (before placement on 6.1, after on 6.12
// and 7.3: package plan's tests hold First to the kernel); a board without entries gets no
// such line.
func TestTableMemreserve(t *testing.T) {
	for _, tt := range []struct{ version, want string }{
		{"6.1", "reserved before the dynamic pools are placed"},
		{"6.12", "reserved after the dynamic pools are placed, which do not avoid them"},
		{"7.3", "reserved after the dynamic pools are placed, which do not avoid them"},
	} {
		p := load(t, "plan/testdata/bootcorpus/15-memreserve.yaml")
		for _, m := range p.Memreserve {
			m.First = tt.version == "6.1"
		}
		var b bytes.Buffer
		Table(&b, p)
		line := "/memreserve/: loader 0x07f000000-0x080000000 (16 MiB), fb 0x07c800000-0x07cc00000 (4 MiB); " + tt.want + "\n"
		if !strings.Contains(b.String(), line) {
			t.Errorf("%s: table lacks %q:\n%s", tt.version, line, b.String())
		}
	}
	var b bytes.Buffer
	Table(&b, load(t, "boards/qemu-virt-arm64.yaml"))
	if strings.Contains(b.String(), "/memreserve/") {
		t.Error("a board without entries shows a /memreserve/ line")
	}
}
