package plan

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/board"
)

func onKernel(b *board.Board, v string) *board.Board { b.Kernel.Version = v; return b }

func bases(p *Plan, names ...string) string {
	var out []string
	for _, n := range names {
		r := p.Region(n)
		if !r.Placed {
			out = append(out, n+"=unplaced")
			continue
		}
		out = append(out, fmt.Sprintf("%s=%#x", n, r.Base))
	}
	return strings.Join(out, " ")
}

// TestPlacementByVersion: three dynamic pools, 32, 16 and 8 MiB in that DT order, on 1 GiB at
// 0x40000000. Real boots (FACTS.md section 5, 6.12.117 and 7.3.4 on QEMU virt) put them at
// 0x7e000000, 0x7d000000, 0x7c800000: DT order. The same tree on 6.1 allocates the 16 MiB one
// first, at 0x7f000000 (heapsort order "2 3 1", FACTS.md section 2).
func TestPlacementByVersion(t *testing.T) {
	layout := func(v string) *board.Board {
		return onKernel(qemu(1<<30, pool("a", "cma", 32*mib), pool("b", "cma", 16*mib), pool("c", "cma", 8*mib)), v)
	}
	for _, tt := range []struct {
		v, want, order string
	}{
		{"6.1", "a=0x7c800000 b=0x7f000000 c=0x7e800000", "b, c, a"},
		{"6.6", "a=0x7c800000 b=0x7f000000 c=0x7e800000", "b, c, a"}, // 6.1's model
		{"6.12", "a=0x7e000000 b=0x7d000000 c=0x7c800000", "a, b, c"},
		{"7.0", "a=0x7e000000 b=0x7d000000 c=0x7c800000", "a, b, c"}, // 6.12's model
		{"7.3", "a=0x7e000000 b=0x7d000000 c=0x7c800000", "a, b, c"},
	} {
		p := Build(layout(tt.v))
		if got := bases(p, "a", "b", "c"); got != tt.want {
			t.Errorf("kernel %s: %s, want %s", tt.v, got, tt.want)
		}
		if got := strings.Join(p.AllocOrder, ", "); got != tt.order {
			t.Errorf("kernel %s: allocation order %s, want %s", tt.v, got, tt.order)
		}
	}
}

// TestRegionLimitByVersion: 6.1 keeps 64 /reserved-memory children in all
// (fdt_reserved_mem_save_node: "not enough space for all defined regions."); 6.12 and 7.3 keep
// any number of fixed ones and 64 dynamic ones (fdt_scan_reserved_mem: "too many defined
// dynamic regions, skip"). FACTS.md section 5: 66 children booted on 6.12 and 7.3 without a word.
func TestRegionLimitByVersion(t *testing.T) {
	mk := func(v string, fixedN, dynN int) *Plan {
		b := qemu(1 << 30)
		for i := range fixedN {
			b.Pools = append(b.Pools, fixed(pool(fmt.Sprintf("f%d", i), "reserved", 1*mib), 0x50000000+uint64(i)*mib))
		}
		for i := range dynN {
			b.Pools = append(b.Pools, pool(fmt.Sprintf("d%d", i), "carveout", 1*mib))
		}
		return Build(onKernel(b, v))
	}
	dropped := func(p *Plan) []string {
		var out []string
		for _, r := range p.Regions {
			if r.Dropped {
				out = append(out, r.Name)
			}
		}
		return out
	}
	for _, tt := range []struct {
		v             string
		fixedN, dynN  int
		wantDropped   string
		lastDynPlaced bool
	}{
		{"6.1", 60, 4, "", true},
		{"6.1", 60, 6, "d4 d5", false},
		{"6.1", 66, 0, "f64 f65", false},
		{"6.12", 66, 0, "", false},
		{"6.12", 60, 6, "", true},
		{"6.12", 0, 64, "", true},
		{"6.12", 0, 65, "d64", false},
		{"7.3", 2, 65, "d64", false},
	} {
		p := mk(tt.v, tt.fixedN, tt.dynN)
		if got := strings.Join(dropped(p), " "); got != tt.wantDropped {
			t.Errorf("%s with %d fixed + %d dynamic: dropped %q, want %q", tt.v, tt.fixedN, tt.dynN, got, tt.wantDropped)
		}
		if tt.dynN > 0 {
			last := p.Region(fmt.Sprintf("d%d", tt.dynN-1))
			if last.Placed != tt.lastDynPlaced {
				t.Errorf("%s with %d fixed + %d dynamic: last dynamic placed %v", tt.v, tt.fixedN, tt.dynN, last.Placed)
			}
		}
	}
}

// TestAllocRangesNeighbour: 6.12 and 7.3 __reserved_mem_alloc_in_range() allocate an
// alloc-ranges entry bottom-up when it starts at (or inside) a dynamic region allocated before
// it; 6.1 always top-down.
func TestAllocRangesNeighbour(t *testing.T) {
	withRanges := func(p board.Pool, rs ...board.Range) board.Pool { p.AllocRanges = rs; return p }
	mk := func(v string, bEnd bool) *board.Board {
		a := withRanges(pool("a", "carveout", 16*mib), board.Range{Base: 0x50000000, Size: 256 * mib})
		// b's range starts where a ends (0x60000000); with bEnd it also ends inside a region
		// allocated before (a itself), which cancels the choice.
		br := board.Range{Base: 0x60000000, Size: 256 * mib}
		if bEnd {
			br = board.Range{Base: 0x5f000000, Size: 16 * mib}
		}
		return onKernel(qemu(1<<30, a, withRanges(pool("b", "carveout", 16*mib), br)), v)
	}
	for _, tt := range []struct {
		v    string
		bEnd bool
		want string
	}{
		{"6.1", false, "a=0x5f000000 b=0x6f000000"},
		{"6.12", false, "a=0x5f000000 b=0x60000000"},
		{"7.3", false, "a=0x5f000000 b=0x60000000"},
		{"6.12", true, "a=0x5f000000 b=unplaced"},
	} {
		// 6.1 allocates b first (heapsort "2 1"); it still lands at the top of its own range.
		if got := bases(Build(mk(tt.v, tt.bEnd)), "a", "b"); got != tt.want {
			t.Errorf("%s (range ends in a: %v): %s, want %s", tt.v, tt.bEnd, got, tt.want)
		}
	}
}

// TestNoMapReusableByVersion: 6.1 and 6.12 refuse a no-map + reusable shared-dma-pool
// ("compatible matching fail") and free its memory at once, so the next dynamic pool takes its
// place; 7.3 keeps the memory reserved and unused ("nomap reusable", FACTS.md section 5).
func TestNoMapReusableByVersion(t *testing.T) {
	bad := pool("bad", "cma", 16*mib)
	bad.NoMap = true
	for _, tt := range []struct {
		v, want string
		lost    bool
	}{
		{"6.12", "bad=0x7f000000 next=0x7f000000", false},
		{"7.3", "bad=0x7f000000 next=0x7e000000", true},
	} {
		p := Build(onKernel(qemu(1<<30, bad, pool("next", "carveout", 16*mib)), tt.v))
		if got := bases(p, "bad", "next"); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.v, got, tt.want)
		}
		r := p.Region("bad")
		if r.Refused == "" || r.MemoryLost != tt.lost {
			t.Errorf("%s: refused %q, memory lost %v", tt.v, r.Refused, r.MemoryLost)
		}
		for _, h := range p.Heaps {
			if h.Pool == "bad" {
				t.Errorf("%s: heap %s over a pool the kernel refuses", tt.v, h.Name)
			}
		}
	}
}

// TestCmdlineBypass: cma= on the command line bypasses the linux,cma-default node. A dynamic
// one leaves its memory free on every version; a fixed one holds its memory during the dynamic
// allocations on 6.1 and 6.12 (reserved, freed at init) but not on 7.3 (never reserved).
func TestCmdlineBypass(t *testing.T) {
	def := fixed(pool("linux,cma", "cma", 16*mib), 0x7f000000)
	def.Default = true
	for _, tt := range []struct{ v, want string }{
		{"6.1", "next=0x7e000000"},
		{"6.12", "next=0x7e000000"},
		{"7.3", "next=0x7f000000"},
	} {
		b := onKernel(qemu(1<<30, def, pool("next", "carveout", 16*mib)), tt.v)
		b.Kernel.Cmdline = "console=ttyAMA0 cma=32M"
		p := Build(b)
		if got := bases(p, "next"); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.v, got, tt.want)
		}
		if !p.Region("linux,cma").Bypassed {
			t.Errorf("%s: default node not marked bypassed", tt.v)
		}
	}
	dyn := pool("linux,cma", "cma", 16*mib)
	dyn.Default = true
	for _, v := range []string{"6.1", "6.12", "7.3"} {
		b := onKernel(qemu(1<<30, dyn, pool("next", "carveout", 16*mib)), v)
		b.Kernel.Cmdline = "cma=32M"
		p := Build(b)
		if got := bases(p, "linux,cma", "next"); got != "linux,cma=unplaced next=0x7f000000" {
			t.Errorf("%s dynamic default: %s", v, got)
		}
	}
}

// TestKernelHeapsByVersion: which heaps the kernel registers itself (drivers/dma-buf/heaps/
// cma_heap.c of each version) and which ones the module is left to register.
func TestKernelHeapsByVersion(t *testing.T) {
	def := pool("linux,cma", "cma", 64*mib)
	def.Default = true
	video := fixed(pool("video", "cma", 48*mib), 0x60000000)
	video.Heap = "video@60000000"
	camera := pool("camera", "cma", 48*mib)
	camera.Heap = "camera"
	dsp := fixed(pool("dsp", "carveout", 48*mib), 0x70000000)
	dsp.Heap = "dsp"
	heaps := func(p *Plan) string {
		var s []string
		for _, h := range p.Heaps {
			s = append(s, h.Name+":"+h.Provider)
		}
		return strings.Join(s, " ")
	}
	for _, tt := range []struct{ v, want string }{
		{"6.1", "linux,cma:kernel video@60000000:dtheap camera:dtheap dsp:dtheap"},
		{"6.12", "linux,cma:kernel video@60000000:dtheap camera:dtheap dsp:dtheap"},
		// FACTS.md section 5, a 7.3.4 boot: default_cma_region, linux,cma, video@60000000, camera.
		{"7.3", "default_cma_region:kernel linux,cma:kernel video@60000000:kernel camera:kernel dsp:dtheap"},
	} {
		p := Build(onKernel(qemu(1<<30, def, video, camera, dsp), tt.v))
		if got := heaps(p); got != tt.want {
			t.Errorf("%s: heaps %s, want %s", tt.v, got, tt.want)
		}
	}
	// 7.3: a cma pool's heap: that is not its node name gets no heap of ours.
	wrong := fixed(pool("video", "cma", 48*mib), 0x60000000)
	wrong.Heap = "video"
	if got := heaps(Build(onKernel(qemu(1<<30, wrong), "7.3"))); got != "video@60000000:kernel" {
		t.Errorf("7.3 heap: video on video@60000000: %s", got)
	}
}

// TestCMASlotsRefuse: the area beyond MAX_CMA_AREAS is refused at init and its memory freed;
// 6.1 has one slot more than CONFIG_CMA_AREAS (include/linux/cma.h) and sets the areas up in
// heapsort order (b, c, a), so a is the one left out.
func TestCMASlotsRefuse(t *testing.T) {
	for _, tt := range []struct {
		v       string
		refused string
	}{{"6.1", "a"}, {"6.12", "b c"}} {
		b := onKernel(qemu(1<<30, pool("a", "cma", 8*mib), pool("b", "cma", 8*mib), pool("c", "cma", 8*mib)), tt.v)
		b.Kernel.CMAAreas = 1
		p := Build(b)
		var got []string
		for _, n := range []string{"a", "b", "c"} {
			if p.Region(n).NoCMASlot {
				got = append(got, n)
			}
		}
		if strings.Join(got, " ") != tt.refused {
			t.Errorf("%s, CMA_AREAS=1: refused %v, want %s", tt.v, got, tt.refused)
		}
	}
}

// TestFailedSetupAndNeighbours: a dynamic CMA pool whose size is off the CMA alignment is
// allocated, refused by rmem_cma_setup() and freed. 6.12 keeps it in reserved_mem[]
// (fdt_reserved_mem_save_node() counts it whatever its init did), so an alloc-ranges entry that
// starts at its end goes bottom-up; 7.3 drops it (fdt_init_reserved_mem_node() returns before
// counting), so that entry goes top-down.
func TestFailedSetupAndNeighbours(t *testing.T) {
	withRanges := func(p board.Pool, rs ...board.Range) board.Pool { p.AllocRanges = rs; return p }
	bad := withRanges(pool("bad", "cma", 6*mib), board.Range{Base: 0x50000000, Size: 256 * mib})
	next := withRanges(pool("next", "carveout", 16*mib), board.Range{Base: 0x5fe00000, Size: 256 * mib})
	for _, tt := range []struct{ v, want string }{
		{"6.12", "bad=0x5f800000 next=0x5fe00000"},
		{"7.3", "bad=0x5f800000 next=0x6ee00000"},
	} {
		p := Build(onKernel(qemu(1<<30, bad, next), tt.v))
		if got := bases(p, "bad", "next"); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.v, got, tt.want)
		}
		if p.Region("bad").Refused == "" {
			t.Errorf("%s: a CMA pool of 6 MiB (alignment 4 MiB) not refused", tt.v)
		}
	}
}
