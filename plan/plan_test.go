package plan

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/board"
)

// TestKernelSortMatchesBoots checks the heapsort replay against allocation orders seen on real
// 6.1 boots (../shared/FACTS.md, section 2): only dynamic pools, in DT order.
func TestKernelSortMatchesBoots(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{1, "1"},
		{2, "2 1"},
		{3, "2 3 1"},
		{5, "2 3 4 5 1"},
	}
	for _, tt := range tests {
		a := make([]int, tt.n)
		for i := range a {
			a[i] = i + 1
		}
		kernelSort(a, func(x, y int) int { return 0 }) // every dynamic entry compares equal
		if got := strings.Trim(fmt.Sprint(a), "[]"); got != tt.want {
			t.Errorf("%d dynamic pools: order %s, boots showed %s", tt.n, got, tt.want)
		}
	}
}

func TestKernelSortSorts(t *testing.T) {
	for n := 0; n < 40; n++ {
		a := make([]int, n)
		for i := range a {
			a[i] = (i * 7919) % 31
		}
		kernelSort(a, func(x, y int) int { return x - y })
		for i := 1; i < n; i++ {
			if a[i-1] > a[i] {
				t.Fatalf("n=%d: not sorted: %v", n, a)
			}
		}
	}
}

const mib = 1 << 20

func pool(name, kind string, sz uint64) board.Pool {
	return board.Pool{Name: name, Label: name, Kind: kind, Size: sz, NoMap: kind != "cma"}
}

func fixed(p board.Pool, base uint64) board.Pool { p.Base, p.Fixed = base, true; return p }

func qemu(ram uint64, pools ...board.Pool) *board.Board {
	return &board.Board{Name: "t", Arch: "arm64", AddressCells: 2, SizeCells: 2,
		Kernel: board.Kernel{Version: "6.1", PageSize: 4096, PageblockOrder: -1, CMAAreas: 16, CMA: true},
		Memory: []board.Bank{{Name: "dram", Base: 0x40000000, Size: ram}},
		Pools:  pools}
}

func TestPlacement(t *testing.T) {
	withRanges := func(p board.Pool, rs ...board.Range) board.Pool { p.AllocRanges = rs; return p }
	withAlign := func(p board.Pool, a uint64) board.Pool { p.Alignment = a; return p }
	def := pool("linux,cma", "cma", 64*mib)
	def.Default = true
	tests := []struct {
		name  string
		b     *board.Board
		want  map[string]uint64 // pool -> base; 0 = unplaced
		order string
	}{
		{"1GiB default CMA, seen on a 6.1 boot", qemu(1<<30, def), map[string]uint64{"linux,cma": 0x7c000000}, "linux,cma"},
		{"2GiB default CMA, seen on a 6.1 boot", qemu(2<<30, def), map[string]uint64{"linux,cma": 0xbc000000}, "linux,cma"},
		{"two dynamic: B placed first, at the top",
			qemu(1<<30, pool("a", "carveout", 16*mib), pool("b", "carveout", 16*mib)),
			map[string]uint64{"b": 0x7f000000, "a": 0x7e000000}, "b, a"},
		{"fixed region at the top pushes the dynamic one below it",
			qemu(1<<30, fixed(pool("fw", "reserved", 16*mib), 0x7f000000), pool("a", "carveout", 16*mib)),
			map[string]uint64{"a": 0x7e000000}, "a"},
		{"alloc-ranges tried in order, first fit wins",
			qemu(1<<30, fixed(pool("blk", "reserved", 256*mib), 0x50000000),
				withRanges(pool("a", "carveout", 32*mib), board.Range{Base: 0x50000000, Size: 256 * mib}, board.Range{Base: 0x40000000, Size: 256 * mib})),
			map[string]uint64{"a": 0x4e000000}, "a"},
		{"CMA alignment raised to 4 MiB without hugetlb",
			qemu(1<<30, fixed(pool("top", "reserved", 1*mib), 0x7ff00000), pool("c", "cma", 8*mib)),
			map[string]uint64{"c": 0x7f400000}, "c"},
		{"carveout keeps its own small alignment",
			qemu(1<<30, fixed(pool("top", "reserved", 1*mib), 0x7ff00000), pool("v", "carveout", 8*mib)),
			map[string]uint64{"v": 0x7f700000}, "v"},
		{"explicit alignment honoured",
			qemu(1<<30, fixed(pool("top", "reserved", 1*mib), 0x7ff00000), withAlign(pool("v", "carveout", 8*mib), 32*mib)),
			map[string]uint64{"v": 0x7e000000}, "v"},
		{"nothing fits", qemu(64*mib, pool("big", "carveout", 128*mib)), map[string]uint64{"big": 0}, "big"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Build(tt.b)
			for name, want := range tt.want {
				r := p.Region(name)
				if want == 0 {
					if r.Placed {
						t.Errorf("%s placed at %#x, want unplaced", name, r.Base)
					}
					continue
				}
				if !r.Placed || r.Base != want {
					t.Errorf("%s at %#x (placed %v, %s), want %#x", name, r.Base, r.Placed, r.Failure, want)
				}
			}
			if got := strings.Join(p.AllocOrder, ", "); got != tt.order {
				t.Errorf("allocation order %q, want %q", got, tt.order)
			}
		})
	}
}

func TestHugetlbAlignment(t *testing.T) {
	b := qemu(1 << 30)
	for _, tt := range []struct {
		page    uint64
		hugetlb bool
		want    uint64
	}{{4096, false, 4 * mib}, {4096, true, 2 * mib}, {16384, false, 32 * mib}, {65536, false, 512 * mib}} {
		b.Kernel.PageSize, b.Kernel.Hugetlb = tt.page, tt.hugetlb
		if got := Build(b).Kernel.CMAAlignment; got != tt.want {
			t.Errorf("page %d hugetlb %v: CMA alignment %#x, want %#x", tt.page, tt.hugetlb, got, tt.want)
		}
	}
}

func TestAddressZeroQuirk(t *testing.T) {
	b := qemu(1 << 30)
	b.Memory[0].Base = 0
	p := pool("low", "carveout", 16*mib)
	p.AllocRanges = []board.Range{{Base: 0, Size: 16 * mib}}
	b.Pools = []board.Pool{p}
	r := Build(b).Region("low")
	if r.Placed || !r.AtZero {
		t.Fatalf("pool fitting only at 0: placed=%v at=%#x atZero=%v; the kernel never allocates address 0", r.Placed, r.Base, r.AtZero)
	}
	// One page more of room and memblock finds a non-zero base.
	b.Pools[0].AllocRanges[0].Size = 16*mib + 4096
	r = Build(b).Region("low")
	if !r.Placed || r.Base != 4096 {
		t.Fatalf("with one spare page: placed=%v base=%#x, want 0x1000", r.Placed, r.Base)
	}
}

func TestDeterministic(t *testing.T) {
	def := pool("linux,cma", "cma", 64*mib)
	def.Default = true
	a := fmt.Sprintf("%+v", Build(qemu(1<<30, def, pool("x", "carveout", 8*mib))).Regions[1])
	for i := 0; i < 5; i++ {
		if b := fmt.Sprintf("%+v", Build(qemu(1<<30, def, pool("x", "carveout", 8*mib))).Regions[1]); a != b {
			t.Fatalf("plan differs between runs:\n%s\n%s", a, b)
		}
	}
}
