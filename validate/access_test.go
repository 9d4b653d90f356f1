package validate_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/pipeline"
)

// TestAccessBoundaries checks each access rule on both sides of its boundary, and the alias
// collisions that depend on the kernel version (the kernel's own heap names come from kmodel).
func TestAccessBoundaries(t *testing.T) {
	long := strings.Repeat("a", 255)
	tests := []struct {
		name, version, cmdline, pools string
		rule                          string // "" = no access rule fires
	}{
		{"mode 0664 others read only", "6.1", "", `{name: dsp, kind: carveout, base: 0x50000000, size: 16MiB, heap: dsp, mapping: writecombine, access: {group: video, mode: "0664"}}`, ""},
		{"mode 0662 others write", "6.1", "", `{name: dsp, kind: carveout, base: 0x50000000, size: 16MiB, heap: dsp, mapping: writecombine, access: {group: video, mode: "0662"}}`, "access-others-write"},
		{"mode unquoted 0660", "6.1", "", `{name: dsp, kind: carveout, base: 0x50000000, size: 16MiB, heap: dsp, mapping: writecombine, access: {group: video, mode: 0660}}`, ""},
		{"mode without group", "6.1", "", `{name: dsp, kind: carveout, base: 0x50000000, size: 16MiB, heap: dsp, mapping: writecombine, access: {mode: "0640"}}`, ""},
		{"group without mode", "6.1", "", `{name: dsp, kind: carveout, base: 0x50000000, size: 16MiB, heap: dsp, mapping: writecombine, access: {group: video}}`, "access-mode-implied"},
		{"group name", "6.1", "", `{name: dsp, kind: carveout, base: 0x50000000, size: 16MiB, heap: dsp, mapping: writecombine, access: {group: _dma-heap1, mode: "0660"}}`, ""},
		{"group starts with digit", "6.1", "", `{name: dsp, kind: carveout, base: 0x50000000, size: 16MiB, heap: dsp, mapping: writecombine, access: {group: 1video, mode: "0660"}}`, "access-chars"},
		{"gid largest", "6.1", "", `{name: dsp, kind: carveout, base: 0x50000000, size: 16MiB, heap: dsp, mapping: writecombine, access: {group: 4294967294, mode: "0660"}}`, ""},
		{"gid -1", "6.1", "", `{name: dsp, kind: carveout, base: 0x50000000, size: 16MiB, heap: dsp, mapping: writecombine, access: {group: 4294967295, mode: "0660"}}`, "access-chars"},
		{"alias 255 bytes", "6.1", "", `{name: dsp, kind: carveout, base: 0x50000000, size: 16MiB, heap: dsp, mapping: writecombine, aliases: [` + long + `]}`, ""},
		{"alias 256 bytes", "6.1", "", `{name: dsp, kind: carveout, base: 0x50000000, size: 16MiB, heap: dsp, mapping: writecombine, aliases: [` + long + `b]}`, "access-chars"},
		{"alias with comma", "6.1", "", `{name: dsp, kind: carveout, base: 0x50000000, size: 16MiB, heap: dsp, mapping: writecombine, aliases: ["vendor,dsp"]}`, ""},
		{"alias glob", "6.1", "", `{name: dsp, kind: carveout, base: 0x50000000, size: 16MiB, heap: dsp, mapping: writecombine, aliases: ["dsp*"]}`, "access-chars"},
		{"alias dotdot", "6.1", "", `{name: dsp, kind: carveout, base: 0x50000000, size: 16MiB, heap: dsp, mapping: writecombine, aliases: [".."]}`, "access-chars"},
		{"heap name with space", "6.1", "", `{name: dsp, kind: carveout, base: 0x50000000, size: 16MiB, heap: "my dsp", mapping: writecombine, access: {group: video, mode: "0660"}}`, "access-chars"},
		{"heap name with space, no access", "6.1", "", `{name: dsp, kind: carveout, base: 0x50000000, size: 16MiB, heap: "my dsp", mapping: writecombine}`, ""},
		// 6.1 names the default CMA area's heap after its node; 7.3 calls it
		// default_cma_region (kmodel).
		{"alias default_cma_region on 6.1", "6.1", "", `{name: "linux,cma", kind: cma, default: true, size: 64MiB, aliases: [default_cma_region]}`, ""},
		{"alias default_cma_region on 7.3", "7.3", "", `{name: "linux,cma", kind: cma, default: true, size: 64MiB, aliases: [default_cma_region]}`, "heap-alias"},
		{"alias reserved without cma=", "6.1", "", `{name: dsp, kind: carveout, base: 0x50000000, size: 16MiB, heap: dsp, mapping: writecombine, aliases: [reserved]}`, ""},
		{"alias reserved with cma=", "6.1", "cma=32M", `{name: dsp, kind: carveout, base: 0x50000000, size: 16MiB, heap: dsp, mapping: writecombine, aliases: [reserved]}`, "heap-alias"},
		{"alias of the kernel heap", "6.1", "", `{name: cam, kind: cma, default: true, size: 64MiB, aliases: ["linux,cma"]}`, ""},
		{"alias that is a heap", "6.1", "", `{name: cam, kind: cma, default: true, size: 64MiB, aliases: [cam]}`, "heap-alias"},
		{"access on a pool without heap", "6.1", "", `{name: dsp, kind: carveout, base: 0x50000000, size: 16MiB, aliases: [dsp2]}`, "access-no-heap"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kernel := `{version: "` + tc.version + `"`
			if tc.cmdline != "" {
				kernel += `, cmdline: "` + tc.cmdline + `"`
			}
			kernel += "}"
			src := "board: t\narch: arm64\nkernel: " + kernel + "\nmemory:\n  - {name: dram, base: 0x40000000, size: 1GiB}\npools:\n  - " + tc.pools + "\n"
			path := filepath.Join(t.TempDir(), "b.yaml")
			if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := pipeline.Load(path, pipeline.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range res.Findings {
				if strings.HasPrefix(f.Rule, "access-") || f.Rule == "heap-alias" {
					got = append(got, f.Rule)
				}
			}
			if tc.rule == "" && len(got) > 0 {
				t.Errorf("want no access finding, got %v:\n%v", got, res.Findings)
			}
			if tc.rule != "" && (len(got) != 1 || got[0] != tc.rule) {
				t.Errorf("want exactly %s, got %v:\n%v", tc.rule, got, res.Findings)
			}
		})
	}
}
