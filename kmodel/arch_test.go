package kmodel

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestArchCMAAlignment: pageblock_order on riscv64 from its own geometry, both sides of each
// branch of include/linux/pageblock-flags.h. riscv64 has no ARCH_FORCE_MAX_ORDER, so the
// largest order is mmzone.h's default 10 in every version (6.1 MAX_ORDER 11 exclusive, 6.12
// and 7.3 MAX_PAGE_ORDER 10); PMD_SHIFT 21 (arch/riscv/include/asm/pgtable-64.h) makes
// HPAGE_PMD_ORDER and HUGETLB_PAGE_ORDER 9.
func TestArchCMAAlignment(t *testing.T) {
	const M = 1 << 20
	rv := func(c Config) Config { c.Arch = "riscv64"; return c }
	for _, tt := range []struct {
		v     string
		cfg   Config
		order int
		align uint64
	}{
		// The reference kernel: tinyconfig, no hugetlb, no THP -> MAX_PAGE_ORDER, 4 MiB.
		{"6.12", rv(Config{}), 10, 4 * M},
		{"6.12", rv(Config{THP: true}), 9, 2 * M},
		{"6.12", rv(Config{Hugetlb: true}), 9, 2 * M},
		{"6.1", rv(Config{}), 10, 4 * M},
		{"6.1", rv(Config{THP: true}), 10, 4 * M}, // 6.1 has no THP branch
		{"6.1", rv(Config{Hugetlb: true}), 9, 2 * M},
		{"7.3", rv(Config{THP: true}), 9, 2 * M},
		{"7.3", rv(Config{PageBlockMaxOrder: 8}), 8, 1 * M},
		// A riscv .config never has ARCH_FORCE_MAX_ORDER; a number there changes nothing,
		// where on arm64 the same number moves the order (the other side of the boundary).
		{"6.12", rv(Config{MaxOrder: 11}), 10, 4 * M},
		{"6.12", Config{Arch: "arm64", MaxOrder: 11}, 11, 8 * M},
		{"6.1", rv(Config{MaxOrder: 10}), 10, 4 * M},
		{"6.1", Config{Arch: "arm64", MaxOrder: 10}, 9, 2 * M},
		// arm64's 16 KiB geometry: PMD_SHIFT 25, huge order 11 (not riscv's fixed 21).
		{"6.12", Config{Arch: "arm64", PageSize: 16 << 10, Hugetlb: true}, 11, 32 * M},
	} {
		m := mustFor(t, tt.v)
		if o, a := m.PageblockOrder(tt.cfg), m.CMAAlignment(tt.cfg); o != tt.order || a != tt.align {
			t.Errorf("%s %+v: pageblock order %d alignment %d, want %d %d", tt.v, tt.cfg, o, a, tt.order, tt.align)
		}
	}
}

func TestArchFacts(t *testing.T) {
	arm, rv := ArchFor("arm64"), ArchFor("riscv64")
	if arm == nil || rv == nil {
		t.Fatal("arm64 and riscv64 must be known")
	}
	if ArchFor("arm") != nil || ArchFor("riscv") != nil {
		t.Error("only arm64 and riscv64 were read")
	}
	for _, tt := range []struct {
		a  *Arch
		ps uint64
		ok bool
	}{
		{rv, 4 << 10, true}, {rv, 16 << 10, false}, {rv, 64 << 10, false},
		{arm, 4 << 10, true}, {arm, 16 << 10, true}, {arm, 64 << 10, true}, {arm, 8 << 10, false},
	} {
		if got := tt.a.SupportsPageSize(tt.ps); got != tt.ok {
			t.Errorf("%s page size %d: %v, want %v", tt.a.Name, tt.ps, got, tt.ok)
		}
	}
	if rv.DTBTakenAtScan || !arm.DTBTakenAtScan {
		t.Error("riscv64 reserves the DTB after the reserved-memory scan, arm64 before")
	}
	if !rv.InitrdTakenAtScan || !arm.InitrdTakenAtScan {
		t.Error("both reserve the initrd before the scan")
	}
	if rv.ZoneDMA || !arm.ZoneDMA {
		t.Error("riscv64 has ZONE_DMA32 only, arm64 ZONE_DMA too")
	}
	if rv.ForceMaxOrder || !arm.ForceMaxOrder {
		t.Error("only arm64 has ARCH_FORCE_MAX_ORDER")
	}
	for ps, want := range map[int]int{12: 21, 14: 25, 16: 29} {
		if got := arm.PMDShift(ps); got != want {
			t.Errorf("arm64 PMD_SHIFT for page shift %d: %d, want %d", ps, got, want)
		}
	}
	if got := rv.PMDShift(12); got != 21 {
		t.Errorf("riscv64 PMD_SHIFT %d, want 21", got)
	}
}

// TestDMA32Limit: min(4 GiB, end of DRAM) on both sides of 4 GiB.
func TestDMA32Limit(t *testing.T) {
	const G = 1 << 30
	for _, tt := range []struct{ end, want uint64 }{
		{0xc0000000, 0xc0000000}, // QEMU virt riscv64 -m 1024: the zone is all of DRAM
		{4*G - 4096, 4*G - 4096},
		{4 * G, 4 * G}, // -m 2048 at 0x80000000: ends exactly at the limit
		{4*G + 4096, 4 * G},
		{16 * G, 4 * G},
	} {
		if got := DMA32Limit(tt.end); got != tt.want {
			t.Errorf("DMA32Limit(%#x) = %#x, want %#x", tt.end, got, tt.want)
		}
	}
}

// TestArchFactsInSource re-reads the lines the riscv64 facts come from in each version's
// source, where the extracts are on this machine (DTHEAP_KSRC, default /work/ksrc: the
// partial trees the model was read from). Skipped, saying so, where they are not.
func TestArchFactsInSource(t *testing.T) {
	root := os.Getenv("DTHEAP_KSRC")
	if root == "" {
		root = "/work/ksrc"
	}
	read := func(t *testing.T, v, f string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, v, f))
		if err != nil {
			t.Skipf("kernel source not here (%v): the facts are checked where it is", err)
		}
		return string(b)
	}
	// fn is the C function that starts with one of the signatures (7.3 renamed riscv's
	// zone_sizes_init() to arch_zone_limits_init()).
	fn := func(t *testing.T, src, file string, sigs ...string) string {
		t.Helper()
		for _, sig := range sigs {
			if i := strings.Index(src, sig); i >= 0 {
				// A function ends at a column-0 brace before a blank line (6.1's
				// setup_bootmem() has a stray column-0 brace inside).
				if j := strings.Index(src[i:], "\n}\n\n"); j >= 0 {
					return src[i : i+j]
				}
			}
		}
		t.Fatalf("%s: none of %q found", file, sigs)
		return ""
	}
	for _, v := range []string{"6.1", "6.12", "7.3"} {
		t.Run(v, func(t *testing.T) {
			initc := read(t, v, "arch/riscv/mm/init.c")
			body := fn(t, initc, "arch/riscv/mm/init.c", "static void __init setup_bootmem(void)")
			order := []string{
				"memblock_reserve(vmlinux_start, vmlinux_end - vmlinux_start);",
				"dma32_phys_limit = min(4UL * SZ_1G, (unsigned long)PFN_PHYS(max_low_pfn));",
				"reserve_initrd_mem();",
				"early_init_fdt_scan_reserved_mem();",
				"memblock_reserve(dtb_early_pa, fdt_totalsize(dtb_early_va));",
			}
			at := -1
			for _, s := range order {
				i := strings.Index(body, s)
				if i < 0 {
					t.Fatalf("%s setup_bootmem(): %q not found", v, s)
				}
				if i < at {
					t.Errorf("%s setup_bootmem(): %q comes earlier than the model says", v, s)
				}
				at = i
			}
			if !strings.Contains(body, "vmlinux_end = (vmlinux_end + PMD_SIZE - 1) & PMD_MASK;") {
				t.Errorf("%s setup_bootmem(): the kernel image end is no longer PMD-rounded", v)
			}
			if !regexp.MustCompile(`#define PMD_SHIFT\s+21\b`).MatchString(read(t, v, "arch/riscv/include/asm/pgtable-64.h")) {
				t.Errorf("%s: riscv64 PMD_SHIFT is not 21", v)
			}
			kc := read(t, v, "arch/riscv/Kconfig")
			if strings.Contains(kc, "ARCH_FORCE_MAX_ORDER") {
				t.Errorf("%s: arch/riscv/Kconfig has ARCH_FORCE_MAX_ORDER now", v)
			}
			if !strings.Contains(kc, "select ZONE_DMA32 if 64BIT") || regexp.MustCompile(`select ZONE_DMA\b[^3]`).MatchString(kc) {
				t.Errorf("%s: riscv's zones are not ZONE_DMA32 only", v)
			}
			if strings.Contains(kc, "HAVE_PAGE_SIZE_16KB") || strings.Contains(kc, "HAVE_PAGE_SIZE_64KB") {
				t.Errorf("%s: riscv builds larger pages now", v)
			}
			zs := fn(t, initc, "arch/riscv/mm/init.c", "static void __init zone_sizes_init(void)",
				"void __init arch_zone_limits_init(unsigned long *max_zone_pfns)")
			if strings.Contains(zs, "ZONE_DMA]") || !strings.Contains(zs, "max_zone_pfns[ZONE_DMA32] = PFN_DOWN(dma32_phys_limit);") {
				t.Errorf("%s zone_sizes_init(): not DMA32 at dma32_phys_limit and no ZONE_DMA", v)
			}
			mz := read(t, v, "include/linux/mmzone.h")
			if !regexp.MustCompile(`#define (MAX_ORDER 11|MAX_PAGE_ORDER 10)\b`).MatchString(mz) {
				t.Errorf("%s mmzone.h: the default largest order is not 10", v)
			}
		})
	}
	t.Run("arm64-dtb-first", func(t *testing.T) {
		setup := read(t, "6.12", "arch/arm64/kernel/setup.c")
		fdt := fn(t, setup, "arch/arm64/kernel/setup.c", "static void __init setup_machine_fdt(")
		if !strings.Contains(fdt, "memblock_reserve(dt_phys, size);") {
			t.Error("arm64 setup_machine_fdt() no longer reserves the DTB")
		}
		arch := fn(t, setup, "arch/arm64/kernel/setup.c", "void __init __no_sanitize_address setup_arch(")
		if i, j := strings.Index(arch, "setup_machine_fdt("), strings.Index(arch, "arm64_memblock_init();"); i < 0 || j < 0 || i > j {
			t.Error("arm64 setup_arch(): the DTB is not reserved before arm64_memblock_init()")
		}
	})
}
