package board

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/internal/input"
)

var kconfigHeader = regexp.MustCompile(`^# Linux/(\S+) (\d+\.\d+)(\.\d+)?\S* Kernel Configuration`)

// applyKconfig replaces the board's kernel facts with those of a kernel .config, so the rules
// match the kernel that will really boot.
func applyKconfig(b *Board, path string, d *decoder) error {
	data, err := input.ReadFile(path, "--kconfig", input.KconfigLimit)
	if err != nil {
		return &IOError{err}
	}
	vals := map[string]string{}
	lines := map[string]int{}
	version, arch := "", ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if m := kconfigHeader.FindStringSubmatch(line); m != nil {
			arch, version = m[1], m[2]
			lines["version"] = n
			continue
		}
		if strings.HasPrefix(line, "# CONFIG_") && strings.HasSuffix(line, " is not set") {
			name := strings.TrimSuffix(strings.TrimPrefix(line, "# "), " is not set")
			vals[name], lines[name] = "n", n
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && strings.HasPrefix(k, "CONFIG_") {
			vals[k], lines[k] = strings.Trim(v, `"`), n
		}
	}
	if err := sc.Err(); err != nil {
		return &IOError{fmt.Errorf("--kconfig %s: %w", path, err)}
	}
	if len(vals) == 0 {
		return &IOError{fmt.Errorf("--kconfig %s: no CONFIG_ lines: is this a kernel .config?", path)}
	}
	pos := func(key string) diag.Pos { return diag.Pos{File: path, Line: lines[key], Col: 1} }
	k := &b.Kernel
	k.From = path
	k.Pos = map[string]diag.Pos{}
	if version != "" {
		k.Version = version
		k.Pos["version"] = pos("version")
	}
	kArch := ""
	switch {
	case vals["CONFIG_ARM64"] == "y":
		kArch = "arm64"
	case vals["CONFIG_ARM"] == "y":
		kArch = "arm"
	case vals["CONFIG_RISCV"] == "y" && vals["CONFIG_64BIT"] == "y":
		kArch = "riscv64"
	}
	if kArch == "" && arch != "" {
		kArch = map[string]string{"arm64": "arm64", "arm": "arm", "riscv": "riscv64"}[arch]
	}
	if kArch != "" && kArch != b.Arch {
		d.errs = append(d.errs, diag.Finding{Pos: b.Pos["arch"], Severity: diag.Error, Rule: "schema",
			Message: fmt.Sprintf("the board says arch %s but %s is a %s kernel configuration", b.Arch, path, kArch),
			Hint:    "pass the .config of the kernel this board boots"})
	}
	k.PageSize = 4096
	for _, ps := range []struct {
		sym  string
		size uint64
	}{{"CONFIG_ARM64_16K_PAGES", 16 << 10}, {"CONFIG_ARM64_64K_PAGES", 64 << 10}} {
		if vals[ps.sym] == "y" {
			k.PageSize = ps.size
			k.Pos["page-size"] = pos(ps.sym)
		}
	}
	k.Hugetlb = vals["CONFIG_HUGETLB_PAGE"] == "y"
	k.Pos["hugetlb"] = pos("CONFIG_HUGETLB_PAGE")
	k.THP = vals["CONFIG_TRANSPARENT_HUGEPAGE"] == "y"
	k.Pos["thp"] = pos("CONFIG_TRANSPARENT_HUGEPAGE")
	k.NUMA = vals["CONFIG_NUMA"] == "y"
	k.Pos["numa"] = pos("CONFIG_NUMA")
	if v, ok := vals["CONFIG_PAGE_BLOCK_MAX_ORDER"]; ok {
		if n, err := strconv.Atoi(v); err == nil {
			k.PageBlockMaxOrder = n
		}
	}
	k.PageblockOrder = -1
	for _, sym := range []string{"CONFIG_ARCH_FORCE_MAX_ORDER", "CONFIG_FORCE_MAX_ZONEORDER"} {
		if v, ok := vals[sym]; ok && v != "n" {
			if mo, err := strconv.Atoi(v); err == nil {
				k.MaxOrder = mo
				k.Pos["pageblock-order"] = pos(sym)
			}
		}
	}
	k.CMA = vals["CONFIG_CMA"] == "y" && vals["CONFIG_DMA_CMA"] == "y"
	k.Pos["cma"] = pos("CONFIG_CMA")
	k.CMAAreas = 0 // not in the .config (no CMA): the version's default
	if v, ok := vals["CONFIG_CMA_AREAS"]; ok {
		if n, err := strconv.Atoi(v); err == nil {
			k.CMAAreas = n
			k.Pos["cma-areas"] = pos("CONFIG_CMA_AREAS")
		}
	}
	if v := vals["CONFIG_CMDLINE"]; v != "" && v != "n" {
		k.Cmdline = strings.TrimSpace(k.Cmdline + " " + v)
		k.Pos["cmdline"] = pos("CONFIG_CMDLINE")
	}
	return nil
}
