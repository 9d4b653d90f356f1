package main

import "testing"

// TestMemreserveCommands: the /memreserve/ entries through the CLI: dts --memreserve writes
// the DTS lines, the .dtsi names them in a comment, --overlay with --memreserve is a usage
// error, plan --format json carries them with when the kernel reserves them, and validate
// says of the 6.12 corpus layout (whose pools silence memreserve-overlap) nothing at error.
func TestMemreserveCommands(t *testing.T) {
	layout := "../../plan/testdata/bootcorpus/15-memreserve.yaml"
	runCases(t, []cliCase{
		{"dts --memreserve", []string{"dts", "--memreserve", layout}, 0, "/memreserve/ 0x7f000000 0x1000000;\t/* loader */\n/memreserve/ 0x7c800000 0x400000;\t/* fb */\n"},
		{"dtsi names them", []string{"dts", layout}, 0, " *   /memreserve/ 0x7c800000 0x400000; (fb)\n"},
		{"overlay and memreserve", []string{"dts", "--overlay", "--memreserve", layout}, 2, "--overlay and --memreserve write different files"},
		{"plan json", []string{"plan", "--format", "json", layout}, 0, `"reserved_before_placement": true`},
		{"validate", []string{"validate", layout}, 0, "0 error(s)"},
	})
}
