package mapview

import (
	"math"
	"math/rand"
	"testing"

	"github.com/dtheap/dtheap/plan"
)

const mib = 1 << 20

func testPlan(banks []plan.Range, regions ...plan.Range) *plan.Plan {
	p := &plan.Plan{Board: "t"}
	for _, b := range banks {
		p.Memory = append(p.Memory, plan.Bank{Name: "dram", Range: b})
	}
	for _, r := range regions {
		p.Regions = append(p.Regions, &plan.Region{Name: "r", Kind: plan.KindCarveout, Fixed: true, Placed: true, Range: r})
	}
	return p
}

func TestAxis(t *testing.T) {
	gib := uint64(1 << 30)
	tests := []struct {
		name       string
		plans      []*plan.Plan
		compressed []plan.Range // the runs drawn as breaks, in address order
	}{
		{
			name: "free runs under a third of the bank stay to scale",
			plans: []*plan.Plan{testPlan([]plan.Range{{Base: 0x40000000, Size: gib}},
				plan.Range{Base: 0x50000000, Size: 64 * mib}, plan.Range{Base: 0x68000000, Size: 64 * mib})},
		},
		{
			name: "a long empty top of the bank is compressed",
			plans: []*plan.Plan{testPlan([]plan.Range{{Base: 0, Size: 8 * gib}},
				plan.Range{Base: 0x1000000, Size: 64 * mib})},
			compressed: []plan.Range{{Base: 0x5000000, Size: 8*gib - 0x5000000}},
		},
		{
			name: "the hole between two banks is always a break",
			plans: []*plan.Plan{testPlan([]plan.Range{{Base: 0, Size: 256 * mib}, {Base: 0x20000000, Size: 256 * mib}},
				plan.Range{Base: 0x1000000, Size: 64 * mib}, plan.Range{Base: 0x24000000, Size: 64 * mib})},
			// 176 of 512 MiB drawn is over a third; then 128 of the 336 MiB left is too.
			compressed: []plan.Range{{Base: 0x5000000, Size: 0xb000000}, {Base: 0x10000000, Size: 0x10000000}, {Base: 0x28000000, Size: 0x8000000}},
		},
		{
			name: "what one board uses is drawn to scale for both",
			plans: []*plan.Plan{
				testPlan([]plan.Range{{Base: 0, Size: 8 * gib}}, plan.Range{Base: 0x1000000, Size: 64 * mib}),
				testPlan([]plan.Range{{Base: 0, Size: 8 * gib}}, plan.Range{Base: 0x100000000, Size: 64 * mib}),
			},
			// The runs between the two pools and above the second are each over a third.
			compressed: []plan.Range{{Base: 0x5000000, Size: 0x100000000 - 0x5000000}, {Base: 0x104000000, Size: 8*gib - 0x104000000}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ax := newAxis(tt.plans, 100)
			var got []plan.Range
			for _, b := range ax.breaks {
				got = append(got, b.Range)
				if h := b.bottom - b.top; h != breakHeight {
					t.Errorf("break %#x+%#x is %v px tall, want %v", b.Base, b.Size, h, breakHeight)
				}
			}
			if len(got) != len(tt.compressed) {
				t.Fatalf("compressed %v, want %v", got, tt.compressed)
			}
			for i := range got {
				if got[i] != tt.compressed[i] {
					t.Errorf("break %d is %#x+%#x, want %#x+%#x", i, got[i].Base, got[i].Size, tt.compressed[i].Base, tt.compressed[i].Size)
				}
			}
			// High addresses on top, strictly: every segment has a positive height.
			for _, s := range ax.segs {
				if !(ax.y(s.hi) < ax.y(s.lo)) {
					t.Errorf("segment %#x-%#x: y(hi)=%v not above y(lo)=%v", s.lo, s.hi, ax.y(s.hi), ax.y(s.lo))
				}
			}
			// What compression promises: no free run left to scale is over a third of it.
			total := ax.scaled()
			for i := 0; i < len(ax.segs); {
				j, run := i, uint64(0)
				for j < len(ax.segs) && !ax.segs[j].used && !ax.segs[j].compressed {
					run += ax.segs[j].hi - ax.segs[j].lo
					j++
				}
				if float64(run) > compressShare*float64(total) {
					t.Errorf("free run at %#x of %#x bytes left to scale (over a third of %#x)", ax.segs[i].lo, run, total)
				}
				i = max(j, i+1)
			}
			// The to-scale part gets the whole scale height, in proportion to size.
			var scaled float64
			for _, s := range ax.segs {
				if !s.compressed {
					scaled += s.bottom - s.top
				}
			}
			if math.Abs(scaled-scaleHeight) > 1e-6 {
				t.Errorf("to-scale height %v, want %v", scaled, scaleHeight)
			}
			first := tt.plans[0].Memory[0]
			if y := ax.y(first.Base); math.Abs(y-(100+ax.height)) > 1e-6 {
				t.Errorf("lowest address at y=%v, want the bottom %v", y, 100+ax.height)
			}
		})
	}
}

func TestSpread(t *testing.T) {
	tests := []struct {
		name  string
		wants []float64
		h     float64
		minY  float64
		tops  []float64 // expected tops, in want order
	}{
		{"apart labels stay where they want", []float64{100, 200}, 20, 0, []float64{90, 190}},
		{"two colliding labels share the move", []float64{100, 110}, 20, 0, []float64{83.5, 106.5}},
		{"a cluster is pushed below minY", []float64{10, 12, 14}, 20, 50, []float64{50, 73, 96}},
		{"a chain merges transitively", []float64{100, 101, 125}, 20, 0, []float64{75.6667, 98.6667, 121.6667}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var items []*stackItem
			for _, w := range tt.wants {
				items = append(items, &stackItem{want: w, h: tt.h})
			}
			spread(items, tt.minY)
			for i, it := range items {
				if math.Abs(it.y-tt.tops[i]) > 1e-3 {
					t.Errorf("label %d (want %v) at top %v, expected %v", i, it.want, it.y, tt.tops[i])
				}
			}
		})
	}
}

// TestSpreadNeverOverlaps throws random label sets at spread: no two may overlap, none may go
// above minY, and the order of wishes is kept (so leader lines never cross).
func TestSpreadNeverOverlaps(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for round := 0; round < 500; round++ {
		n := 1 + rng.Intn(40)
		items := make([]*stackItem, n)
		for i := range items {
			items[i] = &stackItem{want: rng.Float64() * 400, h: 10 + float64(rng.Intn(3))*14}
		}
		spread(items, 20)
		for i, it := range items {
			if it.y < 20-1e-9 {
				t.Fatalf("round %d: label above minY: %v", round, it.y)
			}
			if i > 0 {
				prev := items[i-1]
				if prev.want > it.want {
					t.Fatalf("round %d: order of wishes lost", round)
				}
				if prev.y+prev.h+labelGap > it.y+1e-9 {
					t.Fatalf("round %d: labels %d and %d overlap: [%v,%v] and [%v,%v]", round, i-1, i, prev.y, prev.y+prev.h, it.y, it.y+it.h)
				}
			}
		}
	}
}

func TestSubtract(t *testing.T) {
	r := plan.Range{Base: 100, Size: 100}
	got := subtract(r, []plan.Range{{Base: 120, Size: 10}, {Base: 190, Size: 50}, {Base: 0, Size: 105}})
	want := []plan.Range{{Base: 105, Size: 15}, {Base: 130, Size: 60}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("part %d: %v, want %v", i, got[i], want[i])
		}
	}
}
