package dtbind

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dtheap/dtheap/internal/size"
	"github.com/dtheap/dtheap/kmodel"
	"github.com/dtheap/dtheap/plan"
	"github.com/u-root/u-root/pkg/dt"
)

// PatchResult is a patched tree and what the patch did that the user should know about.
type PatchResult struct {
	DTB []byte
	// Notes are facts worth printing (kept firmware children, replaced nodes); never errors.
	Notes []string
}

// Patch applies the plan to an existing flattened tree: /reserved-memory children for the
// plan's regions (created, or replacing a child with the same name or base name, whose phandle
// is kept so existing references stay valid), the heap node, and memory-region links on the
// consumers (&label resolved through /__symbols__, or /path). Other /reserved-memory children,
// e.g. ones firmware put there, are kept ahead of ours. New phandles never collide with
// existing ones; the labels of our regions are recorded in /__symbols__ so overlays can refer
// to them. Everything else is left as it was.
//
// A base whose root or /reserved-memory cells disagree with the plan, or whose memory nodes do
// not describe the board's banks, is refused: the plan's addresses would be wrong on it.
func Patch(p *plan.Plan, base []byte) (*PatchResult, error) {
	m, err := buildModel(p)
	if err != nil {
		return nil, err
	}
	f, err := readFDT(base)
	if err != nil {
		return nil, err
	}
	root := f.RootNode
	res := &PatchResult{}

	ac, err := u32Prop(root, "#address-cells", 2)
	if err != nil {
		return nil, fmt.Errorf("base tree: %w", err)
	}
	sc, err := u32Prop(root, "#size-cells", 1)
	if err != nil {
		return nil, fmt.Errorf("base tree: %w", err)
	}
	if ac != p.AddressCells || sc != p.SizeCells {
		return nil, fmt.Errorf("base tree root has #address-cells = <%d>, #size-cells = <%d> but board %s says %d and %d: fix address-cells/size-cells in the board or use the board's own tree",
			ac, sc, p.Board, p.AddressCells, p.SizeCells)
	}
	if err := checkMemory(root, p, ac, sc); err != nil {
		return nil, err
	}

	rm, ok := root.LookupChildByName("reserved-memory")
	if ok {
		rac, err1 := u32Prop(rm, "#address-cells", -1)
		rsc, err2 := u32Prop(rm, "#size-cells", -1)
		if err1 != nil || err2 != nil || rac != ac || rsc != sc {
			return nil, fmt.Errorf("base tree /reserved-memory has #address-cells = <%d>, #size-cells = <%d>, the root <%d>, <%d>: Linux ignores EVERY reserved region in such a tree (\"unsupported node format\"); fix the base (old TF-A writes #size-cells = <1>) before patching",
				rac, rsc, ac, sc)
		}
		if r, ok := rm.LookProperty("ranges"); !ok || len(r.Value) != 0 {
			return nil, fmt.Errorf("base tree /reserved-memory needs an empty ranges; property, or Linux ignores every region")
		}
	} else {
		rm = dt.NewNode("reserved-memory", dt.WithProperty(
			dt.Property{Name: "#address-cells", Value: cellsValue([]uint32{uint32(ac)})},
			dt.Property{Name: "#size-cells", Value: cellsValue([]uint32{uint32(sc)})},
			dt.Property{Name: "ranges", Value: []byte{}},
		))
		addChild(root, rm)
	}

	used := map[uint32]bool{}
	root.Walk(func(n *dt.Node) error {
		if ph := phandleOf(n); ph != 0 {
			used[ph] = true
		}
		return nil
	})
	next := uint32(1)
	newPhandle := func() uint32 {
		for used[next] || next == 0xffffffff {
			next++
		}
		used[next] = true
		return next
	}

	// Which of our regions need a phandle: the ones the heap node or a consumer points at.
	referenced := map[string]bool{}
	if m.heaps != nil {
		for _, l := range m.heaps.props[1].refs {
			referenced[l] = true
		}
	}
	for _, c := range m.consumers {
		for _, l := range c.props[0].refs {
			referenced[l] = true
		}
	}

	// Take out existing children that are ours (same name or same base name); keep their
	// phandles.
	oldPhandle := map[string]uint32{}
	ours := map[string]int{}
	for i, n := range m.regions {
		ours[n.name] = i
		ours[baseName(n.name)] = i
	}
	var kept []*dt.Node
	for _, c := range rm.Children {
		i, mine := ours[c.Name]
		if !mine {
			i, mine = ours[baseName(c.Name)]
		}
		if !mine {
			kept = append(kept, c)
			continue
		}
		if ph := phandleOf(c); ph != 0 {
			oldPhandle[m.regions[i].label] = ph
		}
		res.Notes = append(res.Notes, fmt.Sprintf("replaced /reserved-memory/%s with %s", c.Name, m.regions[i].name))
	}
	for _, c := range kept {
		note := fmt.Sprintf("kept /reserved-memory/%s from the base (it takes part in the kernel's placement order)", c.Name)
		if sortsEveryChild(p) && !describedAsInserted(p, c.Name) {
			note += fmt.Sprintf("; Linux %s sorts it with the board's dynamic pools, whose predicted addresses assume it is not there: list it under firmware: with inserted: true (in the base's order) so that the plan counts it",
				p.Kernel.Version)
		}
		res.Notes = append(res.Notes, note)
		if err := checkKeptOverlap(c, m, ac, sc); err != nil {
			return nil, err
		}
	}
	phandles := map[string]uint32{}
	children := kept
	for _, n := range m.regions {
		dn := dt.NewNode(n.name)
		for _, pr := range n.props {
			dn.Properties = append(dn.Properties, dt.Property{Name: pr.name, Value: encodeProp(pr, nil)})
		}
		if referenced[n.label] {
			ph := oldPhandle[n.label]
			if ph == 0 {
				ph = newPhandle()
			}
			phandles[n.label] = ph
			dn.Properties = append(dn.Properties, dt.Property{Name: "phandle", Value: cellsValue([]uint32{ph})})
		}
		children = append(children, dn)
	}
	rm.Children = children

	if m.heaps != nil {
		hn := dt.NewNode(m.heaps.name)
		for _, pr := range m.heaps.props {
			hn.Properties = append(hn.Properties, dt.Property{Name: pr.name, Value: encodeProp(pr, phandles)})
		}
		if i, ok := root.FindFirstMatchingChildIndex(func(c *dt.Node) bool { return c.Name == m.heaps.name }); ok {
			root.Children[i] = hn
		} else {
			addChild(root, hn)
		}
	}

	symbols, hasSymbols := root.LookupChildByName("__symbols__")
	ix := newTreeIndex(root, symbols)
	for _, c := range m.consumers {
		path, err := ix.resolveRef(c.ref)
		if err != nil {
			return nil, err
		}
		dn, _ := ix.find(path)
		for _, pr := range c.props {
			setProp(dn, pr.name, encodeProp(pr, phandles))
		}
	}

	// Record our labels so later overlays can say &video. A base without __symbols__ gets one
	// holding only our labels: harmless to the kernel, and import reads labels back from it.
	if !hasSymbols {
		symbols = dt.NewNode("__symbols__")
		root.Children = append(root.Children, symbols)
	}
	labels := make([]dt.Property, 0, len(m.regions))
	for _, n := range m.regions {
		labels = append(labels, dt.Property{Name: n.label, Value: stringsValue([]string{"/reserved-memory/" + n.name})})
	}
	setProps(symbols, labels)
	res.Notes = append(res.Notes, addMemreserve(f, p)...)

	out, err := writeFDT(f)
	if err != nil {
		return nil, err
	}
	res.DTB = out
	return res, nil
}

// addMemreserve appends the plan's /memreserve/ entries to the blob's memory reservation block,
// in board order after the base's own entries, leaving out an entry the base already has (the
// same address and size): a patch applied twice writes the same blob. The kernel reads the
// block in order and stops at the first entry of size 0 (early_init_fdt_scan_reserved_mem()),
// so an entry of size 0 is written where the board puts it, as the board says (rule
// memreserve-zero-size reports it).
func addMemreserve(f *dt.FDT, p *plan.Plan) []string {
	var notes []string
	have := map[dt.ReserveEntry]bool{}
	for _, e := range f.ReserveEntries {
		have[e] = true
	}
	for _, mr := range p.Memreserve {
		e := dt.ReserveEntry{Address: mr.Base, Size: mr.Size}
		if have[e] {
			notes = append(notes, fmt.Sprintf("kept /memreserve/ 0x%x 0x%x (%s) from the base", e.Address, e.Size, mr.Name))
			continue
		}
		have[e] = true
		f.ReserveEntries = append(f.ReserveEntries, e)
	}
	return notes
}

// addChild appends a node to the root ahead of the __symbols__/__fixups__ bookkeeping nodes,
// where dtc puts them too (order among root children carries no meaning; this is for readers).
func addChild(root, n *dt.Node) {
	i := len(root.Children)
	for i > 0 && strings.HasPrefix(root.Children[i-1].Name, "__") {
		i--
	}
	root.Children = slices.Insert(root.Children, i, n)
}

// encodeProp encodes a model property; refs are resolved through phandles.
func encodeProp(pr prop, phandles map[string]uint32) []byte {
	switch pr.kind {
	case propCells:
		var cs []uint32
		for _, g := range pr.cells {
			cs = append(cs, g...)
		}
		return cellsValue(cs)
	case propStrings:
		return stringsValue(pr.strs)
	case propRefs:
		var cs []uint32
		for _, l := range pr.refs {
			cs = append(cs, phandles[l])
		}
		return cellsValue(cs)
	}
	return []byte{}
}

// treeIndex finds nodes by path and labels through /__symbols__ without scanning siblings
// or symbols per lookup, which made patching a tree with thousands of consumers quadratic.
type treeIndex struct {
	root    *dt.Node
	symbols map[string]string   // label -> path; nil when the tree has no /__symbols__
	paths   map[string]*dt.Node // absolute path -> node, the first of a name as lookups find it
}

func newTreeIndex(root, symbols *dt.Node) *treeIndex {
	ix := &treeIndex{root: root, paths: map[string]*dt.Node{}}
	walkPaths(root, "/", func(n *dt.Node, path string) {
		if _, dup := ix.paths[path]; !dup {
			ix.paths[path] = n
		}
	})
	if symbols != nil {
		ix.symbols = make(map[string]string, len(symbols.Properties))
		for _, p := range symbols.Properties {
			if _, dup := ix.symbols[p.Name]; !dup {
				ix.symbols[p.Name] = strings.TrimRight(string(p.Value), "\x00")
			}
		}
	}
	return ix
}

// find is findPath through the index; paths it does not hold verbatim (a component without
// its unit address, a trailing slash) go to findPath.
func (ix *treeIndex) find(path string) (*dt.Node, bool) {
	if n, ok := ix.paths[path]; ok {
		return n, true
	}
	return findPath(ix.root, path)
}

// resolveRef turns "&label" (through /__symbols__) or "/path" into a path that exists.
func (ix *treeIndex) resolveRef(ref string) (string, error) {
	path := ref
	if strings.HasPrefix(ref, "&") {
		label := ref[1:]
		if ix.symbols == nil {
			return "", fmt.Errorf("device %s: the base tree has no /__symbols__ to look the label up in: compile the base with dtc -@, or write the device as a /path", ref)
		}
		p, ok := ix.symbols[label]
		if !ok {
			return "", fmt.Errorf("device %s: no label %q in the base tree's /__symbols__", ref, label)
		}
		path = p
	}
	if _, ok := ix.find(path); !ok {
		return "", fmt.Errorf("device %s: no node %s in the base tree", ref, path)
	}
	return path, nil
}

// checkMemory refuses a base whose memory nodes describe other RAM than the board's banks:
// the plan (dynamic placement especially) is only right for the board's memory.
func checkMemory(root *dt.Node, p *plan.Plan, ac, sc int) error {
	var have []plan.Range
	for _, c := range root.Children {
		dtp, ok := c.LookProperty("device_type")
		if !ok || strings.TrimRight(string(dtp.Value), "\x00") != "memory" {
			continue
		}
		if st, ok := c.LookProperty("status"); ok && !strings.HasPrefix(string(st.Value), "ok") {
			continue
		}
		reg, ok := c.LookProperty("reg")
		if !ok {
			continue
		}
		ps, err := pairs(reg, ac, sc)
		if err != nil {
			return fmt.Errorf("base tree /%s: %w", c.Name, err)
		}
		for _, pr := range ps {
			if pr[1] > 0 {
				have = append(have, plan.Range{Base: pr[0], Size: pr[1]})
			}
		}
	}
	var want []plan.Range
	for _, b := range p.Memory {
		want = append(want, b.Range)
	}
	h, w := plan.MergeRanges(have), plan.MergeRanges(want)
	if !slices.Equal(h, w) {
		return fmt.Errorf("base tree memory %s does not match board %s memory %s: the plan is only right for the board's RAM (QEMU rewrites /memory from -m: dump the base with the board's memory size)",
			rangesString(h), p.Board, rangesString(w))
	}
	return nil
}

func rangesString(rs []plan.Range) string {
	if len(rs) == 0 {
		return "(none)"
	}
	var s []string
	for _, r := range rs {
		s = append(s, fmt.Sprintf("%s at 0x%x", size.Human(r.Size), r.Base))
	}
	return strings.Join(s, ", ")
}

// sortsEveryChild: the plan's kernel sorts all /reserved-memory children before placing the
// dynamic ones (6.1's heapsort, kmodel.PlaceHeapsort), and the plan has dynamic regions for a
// base child to move.
func sortsEveryChild(p *plan.Plan) bool {
	if p.KModel().Placement != kmodel.PlaceHeapsort {
		return false
	}
	for _, r := range p.Regions {
		if r.Emit && !r.Fixed {
			return true
		}
	}
	return false
}

// describedAsInserted: the board lists the base's child as a firmware region inserted: true,
// so the planner's array has it (plan.inTreeOrder).
func describedAsInserted(p *plan.Plan, child string) bool {
	for _, r := range p.Regions {
		if r.Inserted && (r.Node == child || r.Name == baseName(child)) {
			return true
		}
	}
	return false
}

// checkKeptOverlap refuses a kept fixed child that overlaps one of our fixed regions: the
// kernel would only print "OVERLAP DETECTED!" and hand the memory out twice.
func checkKeptOverlap(c *dt.Node, m *model, ac, sc int) error {
	reg, ok := c.LookProperty("reg")
	if !ok {
		return nil
	}
	ps, err := pairs(reg, ac, sc)
	if err != nil {
		return fmt.Errorf("base tree /reserved-memory/%s: %w", c.Name, err)
	}
	for _, pr := range ps {
		theirs := plan.Range{Base: pr[0], Size: pr[1]}
		for _, n := range m.regions {
			if n.region == nil || !n.region.Fixed {
				continue
			}
			if theirs.Overlaps(n.region.Range) {
				return fmt.Errorf("base tree /reserved-memory/%s [0x%x, 0x%x) overlaps region %s [0x%x, 0x%x): remove it from the base or describe it in the board's firmware list",
					c.Name, theirs.Base, theirs.End(), n.region.Name, n.region.Base, n.region.End())
			}
		}
	}
	return nil
}
