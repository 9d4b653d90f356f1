package check

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/u-root/u-root/pkg/dt"

	"github.com/dtheap/dtheap/internal/fdtsafe"
	"github.com/dtheap/dtheap/internal/input"
	"github.com/dtheap/dtheap/provision/manifest"
)

// FDTPath is the kernel's copy of the devicetree it booted with (the blob as the bootloader
// handed it over, so firmware edits are visible and kernel placements are not).
const FDTPath = "/sys/firmware/fdt"

// HeapNodeCompatible is the heap node's compatible string (DESIGN.md).
const HeapNodeCompatible = "dtheap,dma-heaps"

func (r *runner) checkDT(ctx context.Context) {
	m := r.cfg.Manifest
	var fdt *dt.FDT
	res := r.step(ctx, "dt/read", func(ctx context.Context) (Status, string) {
		// One bounded read, then fdtsafe, which checks every length and builds the tree
		// directly: pkg/dt's ReadFDT took about 15 ms under TCG and trusts the blob's sizes.
		b, err := input.ReadFile(r.cfg.path(FDTPath), "live devicetree", input.BlobLimit)
		if err != nil {
			return Fail, fmt.Sprintf("cannot read the live devicetree: %v", err)
		}
		t, err := fdtsafe.Read(b)
		if err != nil {
			return Fail, fmt.Sprintf("parse %s: %v", FDTPath, err)
		}
		if t.RootNode == nil {
			return Fail, FDTPath + " has no root node"
		}
		fdt = t
		return Pass, fmt.Sprintf("%s, %d bytes", FDTPath, t.Header.TotalSize)
	})
	if res.Status != Pass {
		return
	}
	root := fdt.RootNode

	var rsv *dt.Node
	res = r.step(ctx, "dt/reserved-memory", func(ctx context.Context) (Status, string) {
		n, ok := root.LookupChildByName("reserved-memory")
		if !ok {
			return Fail, "no /reserved-memory node: every pool is missing"
		}
		rsv = n
		ra, rs := cells(root, "#address-cells", 1), cells(root, "#size-cells", 1)
		var bad []string
		for _, c := range []struct {
			name string
			want uint32
		}{{"#address-cells", ra}, {"#size-cells", rs}} {
			got, ok := u32Prop(n, c.name)
			if !ok {
				bad = append(bad, c.name+" missing")
			} else if got != c.want {
				bad = append(bad, fmt.Sprintf("%s = <%d>, root has <%d>", c.name, got, c.want))
			}
		}
		if _, ok := n.LookProperty("ranges"); !ok {
			bad = append(bad, "ranges missing")
		}
		if len(bad) > 0 {
			return Fail, strings.Join(bad, "; ") + ": Linux ignores every region (\"unsupported node format\")"
		}
		return Pass, fmt.Sprintf("%d children, cells <%d %d>", len(n.Children), ra, rs)
	})
	if res.Status != Pass {
		for _, p := range m.Pools {
			r.add(Result{ID: "dt/pool/" + p.Name, Status: Skip, Detail: "no usable /reserved-memory"})
		}
	} else {
		ac, sc := cells(root, "#address-cells", 1), cells(root, "#size-cells", 1)
		for i := range m.Pools {
			p := &m.Pools[i]
			r.step(ctx, "dt/pool/"+p.Name, func(ctx context.Context) (Status, string) {
				return checkPoolNode(rsv, p, ac, sc)
			})
		}
		r.step(ctx, "dt/overlap", func(ctx context.Context) (Status, string) {
			return checkOverlap(fdt, rsv, m, ac, sc)
		})
	}

	if !hasDtheapHeaps(m) {
		return
	}
	r.step(ctx, "dt/heap-node", func(ctx context.Context) (Status, string) {
		return checkHeapNode(root, rsv, m)
	})
}

func hasDtheapHeaps(m *manifest.Manifest) bool {
	for _, h := range m.Heaps {
		if h.Provider == manifest.ProviderDtheap {
			return true
		}
	}
	return false
}

func checkPoolNode(rsv *dt.Node, p *manifest.Pool, ac, sc uint32) (Status, string) {
	n, ok := rsv.LookupChildByName(p.Node)
	if !ok {
		return Fail, fmt.Sprintf("node /reserved-memory/%s missing", p.Node)
	}
	var bad []string
	if !available(n) {
		bad = append(bad, "status is disabled: the kernel skips it")
	}
	regs, hasReg, err := regProp(n, ac, sc)
	if err != nil {
		return Fail, err.Error()
	}
	if p.Fixed {
		switch {
		case !hasReg:
			bad = append(bad, "no reg: the pool became dynamic")
		case len(regs) != 1:
			bad = append(bad, fmt.Sprintf("reg has %d ranges, want 1", len(regs)))
		default:
			if regs[0].base != p.Base {
				bad = append(bad, fmt.Sprintf("moved: base 0x%x, manifest 0x%x", regs[0].base, p.Base))
			}
			if regs[0].size != p.Size {
				bad = append(bad, fmt.Sprintf("resized: size %s, manifest %s", humanSize(regs[0].size), humanSize(p.Size)))
			}
		}
	} else {
		if hasReg {
			bad = append(bad, "has reg: the pool became fixed (firmware edited it?)")
		}
		sz, ok, err := cellsValue(n, "size", sc)
		switch {
		case err != nil:
			bad = append(bad, err.Error())
		case !ok && !hasReg:
			bad = append(bad, "neither reg nor size")
		case ok && sz != p.Size:
			bad = append(bad, fmt.Sprintf("resized: size %s, manifest %s", humanSize(sz), humanSize(p.Size)))
		}
	}
	if _, nm := n.LookProperty("no-map"); nm != p.NoMap {
		bad = append(bad, fmt.Sprintf("no-map is %v, manifest %v", nm, p.NoMap))
	}
	if _, ru := n.LookProperty("reusable"); ru != p.Reusable {
		bad = append(bad, fmt.Sprintf("reusable is %v, manifest %v", ru, p.Reusable))
	}
	if p.Kind == manifest.KindCMA && !slices.Contains(stringList(n, "compatible"), "shared-dma-pool") {
		bad = append(bad, "compatible lacks shared-dma-pool")
	}
	if _, dc := n.LookProperty("linux,cma-default"); dc != p.DefaultCMA {
		bad = append(bad, fmt.Sprintf("linux,cma-default is %v, manifest %v", dc, p.DefaultCMA))
	}
	if len(bad) > 0 {
		return Fail, p.Node + ": " + strings.Join(bad, "; ")
	}
	if p.Fixed {
		return Pass, fmt.Sprintf("%s at 0x%x size %s", p.Node, p.Base, humanSize(p.Size))
	}
	return Pass, fmt.Sprintf("%s dynamic size %s", p.Node, humanSize(p.Size))
}

// checkOverlap looks for regions the manifest does not know about (firmware inserts its own
// /reserved-memory children and /memreserve/ entries) overlapping a pool, fixed or predicted:
// 6.1 only warns and hands the memory to both.
func checkOverlap(fdt *dt.FDT, rsv *dt.Node, m *manifest.Manifest, ac, sc uint32) (Status, string) {
	ours := map[string]bool{}
	for _, p := range m.Pools {
		ours[p.Node] = true
	}
	type foreign struct {
		name string
		r    span
	}
	var others []foreign
	for _, c := range rsv.Children {
		if ours[c.Name] || !available(c) {
			continue
		}
		regs, _, err := regProp(c, ac, sc)
		if err != nil {
			return Fail, err.Error()
		}
		for _, g := range regs {
			others = append(others, foreign{"/reserved-memory/" + c.Name, g})
		}
	}
	for _, e := range fdt.ReserveEntries {
		if e.Size > 0 {
			others = append(others, foreign{"/memreserve/", span{e.Address, e.Size}})
		}
	}
	var bad []string
	for _, p := range m.Pools {
		mine := span{p.Base, p.Size}
		for _, o := range others {
			if mine.overlaps(o.r) {
				what := "pool"
				if !p.Fixed {
					what = "predicted place of dynamic pool"
				}
				bad = append(bad, fmt.Sprintf("%s [0x%x-0x%x] overlaps %s %s [0x%x-0x%x]",
					o.name, o.r.base, o.r.end()-1, what, p.Name, p.Base, p.Base+p.Size-1))
			}
		}
	}
	if len(bad) > 0 {
		return Fail, strings.Join(bad, "; ")
	}
	return Pass, fmt.Sprintf("%d foreign region(s), none overlapping a pool", len(others))
}

func checkHeapNode(root, rsv *dt.Node, m *manifest.Manifest) (Status, string) {
	n, ok := nodeByPath(root, m.HeapNode)
	if !ok {
		return Fail, fmt.Sprintf("heap node %s missing: the driver has nothing to bind to", m.HeapNode)
	}
	var bad []string
	if !slices.Contains(stringList(n, "compatible"), HeapNodeCompatible) {
		bad = append(bad, fmt.Sprintf("compatible %q lacks %q", stringList(n, "compatible"), HeapNodeCompatible))
	}
	if !available(n) {
		bad = append(bad, "status is disabled")
	}
	names := stringList(n, "dtheap,heap-names")
	regions := stringList(n, "memory-region-names")
	kinds := stringList(n, "dtheap,heap-kinds")
	maps := stringList(n, "dtheap,heap-mappings")
	var phandles []uint32
	if p, ok := n.LookProperty("memory-region"); ok {
		for i := 0; i+4 <= len(p.Value); i += 4 {
			phandles = append(phandles, binary.BigEndian.Uint32(p.Value[i:]))
		}
	}
	for _, l := range []struct {
		name string
		n    int
	}{{"memory-region-names", len(regions)}, {"dtheap,heap-kinds", len(kinds)}, {"dtheap,heap-mappings", len(maps)}, {"memory-region", len(phandles)}} {
		if l.n != len(names) {
			bad = append(bad, fmt.Sprintf("%s has %d entries, dtheap,heap-names %d", l.name, l.n, len(names)))
		}
	}
	at := func(l []string, i int) string {
		if i < len(l) {
			return l[i]
		}
		return ""
	}
	want := map[string]bool{}
	for _, h := range m.Heaps {
		if h.Provider != manifest.ProviderDtheap {
			continue
		}
		want[h.Name] = true
		i := slices.Index(names, h.Name)
		if i < 0 {
			bad = append(bad, fmt.Sprintf("heap %s missing from dtheap,heap-names", h.Name))
			continue
		}
		if got := at(regions, i); got != h.Pool {
			bad = append(bad, fmt.Sprintf("heap %s: memory-region-names says %q, manifest pool %q", h.Name, got, h.Pool))
		}
		if got := at(kinds, i); got != h.Kind {
			bad = append(bad, fmt.Sprintf("heap %s: kind %q, manifest %q", h.Name, got, h.Kind))
		}
		if got := at(maps, i); (got == "none") != !h.Mappable || got == "" {
			bad = append(bad, fmt.Sprintf("heap %s: mapping %q, manifest mappable=%v", h.Name, got, h.Mappable))
		}
		if i < len(phandles) {
			pool := m.PoolByName(h.Pool)
			target := findPhandle(rsv, phandles[i])
			switch {
			case target == nil:
				bad = append(bad, fmt.Sprintf("heap %s: memory-region phandle 0x%x is not a /reserved-memory child", h.Name, phandles[i]))
			case pool != nil && target.Name != pool.Node:
				bad = append(bad, fmt.Sprintf("heap %s: memory-region points at %s, manifest pool node %s", h.Name, target.Name, pool.Node))
			}
		}
	}
	for _, nm := range names {
		if !want[nm] {
			bad = append(bad, fmt.Sprintf("heap %s in the node is not in the manifest", nm))
		}
	}
	if len(bad) > 0 {
		return Fail, m.HeapNode + ": " + strings.Join(bad, "; ")
	}
	return Pass, fmt.Sprintf("%s lists %d heap(s) matching the manifest", m.HeapNode, len(names))
}

// span is a physical address range [base, base+size).
type span struct{ base, size uint64 }

func (s span) end() uint64          { return s.base + s.size }
func (s span) overlaps(o span) bool { return s.base < o.end() && o.base < s.end() }
func (s span) contains(o span) bool { return o.base >= s.base && o.end() <= s.end() }
func (s span) String() string       { return fmt.Sprintf("[0x%x-0x%x]", s.base, s.end()-1) }
func available(n *dt.Node) bool {
	s := stringList(n, "status")
	return len(s) == 0 || s[0] == "okay" || s[0] == "ok"
}
func u32Prop(n *dt.Node, name string) (uint32, bool) {
	p, ok := n.LookProperty(name)
	if !ok || len(p.Value) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(p.Value), true
}

// cells returns a #*-cells value with the kernel's default when absent.
func cells(n *dt.Node, name string, def uint32) uint32 {
	if v, ok := u32Prop(n, name); ok {
		return v
	}
	return def
}

// readCells reads one number of nc big-endian 32-bit cells.
func readCells(b []byte, nc uint32) uint64 {
	var v uint64
	for i := uint32(0); i < nc; i++ {
		v = v<<32 | uint64(binary.BigEndian.Uint32(b[4*i:]))
	}
	return v
}

// cellsValue reads a property holding one number of nc cells (size, alignment).
func cellsValue(n *dt.Node, name string, nc uint32) (uint64, bool, error) {
	p, ok := n.LookProperty(name)
	if !ok {
		return 0, false, nil
	}
	if nc == 0 || nc > 2 || len(p.Value) != int(4*nc) {
		return 0, true, fmt.Errorf("%s: %s is %d bytes, want %d cells", n.Name, name, len(p.Value), nc)
	}
	return readCells(p.Value, nc), true, nil
}

// regProp decodes reg with the parent's cells. pkg/dt has no cells-aware decoder.
func regProp(n *dt.Node, ac, sc uint32) ([]span, bool, error) {
	p, ok := n.LookProperty("reg")
	if !ok {
		return nil, false, nil
	}
	w := int(4 * (ac + sc))
	if ac == 0 || ac > 2 || sc > 2 || len(p.Value)%w != 0 || len(p.Value) == 0 {
		return nil, true, fmt.Errorf("%s: reg is %d bytes, not a multiple of <%d %d> cells", n.Name, len(p.Value), ac, sc)
	}
	var out []span
	for i := 0; i < len(p.Value); i += w {
		out = append(out, span{readCells(p.Value[i:], ac), readCells(p.Value[i+int(4*ac):], sc)})
	}
	return out, true, nil
}

// stringList splits a string-list property on NUL; pkg/dt's AsStringList panics on valid input.
func stringList(n *dt.Node, name string) []string {
	p, ok := n.LookProperty(name)
	if !ok || len(p.Value) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(p.Value), "\x00"), "\x00")
}

func nodeByPath(root *dt.Node, p string) (*dt.Node, bool) {
	n := root
	for _, c := range strings.Split(strings.Trim(p, "/"), "/") {
		if c == "" {
			continue
		}
		var ok bool
		if n, ok = n.LookupChildByName(c); !ok {
			return nil, false
		}
	}
	return n, true
}

func findPhandle(under *dt.Node, ph uint32) *dt.Node {
	if under == nil {
		return nil
	}
	for _, c := range under.Children {
		for _, name := range []string{"phandle", "linux,phandle"} {
			if v, ok := u32Prop(c, name); ok && v == ph {
				return c
			}
		}
	}
	return nil
}
