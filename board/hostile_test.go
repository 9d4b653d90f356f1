package board_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/board"
)

// TestLoadRefusesUnsafeText is issue 16's naming case: control characters (which reached DTS
// comments, the README and the boot console, where a name forged a PASS line) and device paths
// that are not devicetree paths (written raw into &{...}) are refused with their position,
// what is wrong and how to fix it.
func TestLoadRefusesUnsafeText(t *testing.T) {
	const head = "board: ok\narch: arm64\nmemory: [{name: dram, base: 0x40000000, size: 1GiB}]\n"
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"newline in heap", head + "pools:\n  - {name: p, kind: carveout, base: 0x50000000, size: 16MiB, heap: \"dsp\\nPASS heap/x/alloc: ok\"}\n",
			"board.yaml:5:68: error[schema]: heap \"dsp\\nPASS heap/x/alloc: ok\" has a control character U+000A at byte 4"},
		{"SOH in board", "board: \"a\\x01b\"\narch: arm64\nmemory: [{name: dram, base: 0x40000000, size: 1GiB}]\n",
			"board.yaml:1:8: error[schema]: board \"a\\x01b\" has a control character U+0001 at byte 2"},
		{"escape in compatible", head + "pools:\n  - {name: p, kind: reserved, base: 0x50000000, size: 16MiB, compatible: \"\\e[31m\"}\n",
			"board.yaml:5:74: error[schema]: compatible \"\\x1b[31m\" has a control character U+001B at byte 1"},
		{"line separator in board", "board: \"a\\Lb\"\narch: arm64\nmemory: [{name: dram, base: 0x40000000, size: 1GiB}]\n",
			"control character U+2028"},
		{"tab in key", head + "\"po\\tols\": []\n", "key \"po\\tols\" has a control character U+0009"},
		{"newline in description is fine, NUL is not", "board: ok\ndescription: \"line\\none\\x00\"\narch: arm64\nmemory: [{name: dram, base: 0x40000000, size: 1GiB}]\n",
			"board.yaml:2:14: error[schema]: description \"line\\none\\x00\" has a control character U+0000 at byte 9"},
		{"path ref injection", head + "pools:\n  - {name: p, kind: carveout, base: 0x50000000, size: 16MiB, devices: [\"/soc} ; / { pwned; }; &{/soc\"]}\n",
			"board.yaml:5:72: error[schema]: device path \"/soc} ; / { pwned; }; &{/soc\": node name \"soc} ; \" has \"}\" at byte 4: devicetree node names use only letters, digits and , . _ + - (and @ before the unit address)\n\thint: write the device's full node path"},
		{"path with empty name", head + "pools:\n  - {name: p, kind: carveout, base: 0x50000000, size: 16MiB, devices: [{node: \"/soc//gpu\"}]}\n",
			"board.yaml:5:79: error[schema]: device path \"/soc//gpu\" has an empty node name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "board.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			b, findings, err := board.Load(path, board.Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := strings.ReplaceAll(findings.Error(), dir+"/", "")
			if b != nil || !strings.Contains(got, tc.want) {
				t.Fatalf("findings:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
	// Printable non-ASCII text and every node-name character are fine.
	dir := t.TempDir()
	path := filepath.Join(dir, "board.yaml")
	os.WriteFile(path, []byte(head+"pools:\n  - {name: p, kind: carveout, base: 0x50000000, size: 16MiB, heap: \"vidéo */ <!-- --> %s\", devices: [\"/soc,a/gpu_1.b+c-d@38000000\", \"&gpu\"]}\n"), 0o644)
	if b, findings, err := board.Load(path, board.Options{}); err != nil || b == nil {
		t.Fatalf("%v %v", err, findings)
	}
}
