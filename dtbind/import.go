package dtbind

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/dtheap/dtheap/board"
	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/internal/escape"
	"github.com/dtheap/dtheap/internal/size"
	"github.com/dtheap/dtheap/plan"
	"github.com/u-root/u-root/pkg/dt"
)

// ImportOptions fill in what a devicetree does not say.
type ImportOptions struct {
	Board  string       // board name; default: from the root compatible
	Source string       // input file name, for the description
	Arch   string       // arm64 | arm | riscv64; default: guessed from the CPUs and cells
	Kernel *plan.Kernel // kernel facts; default 6.1, 4 KiB pages, no hugetlb, 16 CMA areas
	// Memory replaces the tree's DRAM (dtheap import --memory): for trees that leave the
	// size of /memory to the boot loader.
	Memory []plan.Range
	// Fragment: the tree is a .dtsi compiled alone; a root without #address-cells or
	// #size-cells takes /reserved-memory's (the including tree states them).
	Fragment bool
	// Pos gives the position of a node (prop "") or of one of its properties, for findings;
	// nil: the Source file and the node path.
	Pos func(path, prop string) diag.Pos
}

// Board is a board description recovered from a devicetree, in the board file's terms.
type Board struct {
	Name, Description, Arch string
	AddressCells, SizeCells int
	Kernel                  plan.Kernel
	Memory                  []plan.Bank
	Pools                   []Pool // /reserved-memory children in tree order
	// Inserted are the /reserved-memory children OpenSBI inserts at boot (riscv64 only, named
	// mmode_resv<N> or mmode_pmp<N>, board.OpenSBINode), in tree order: written as firmware
	// regions with inserted: true, not as pools dtheap would emit a second time.
	Inserted []plan.Bank
	// Memreserve are the entries of the blob's memory reservation block (/memreserve/), in
	// blob order, named memreserve0, memreserve1, ... (the block has no names).
	Memreserve []plan.Bank
	// MemoryUnknown: the tree states no DRAM size (the boot loader fills /memory in) and no
	// Memory option gave one; the board says memory: unknown.
	MemoryUnknown bool
	// MemoryPath is the node the DRAM came from, for positions ("" if none).
	MemoryPath string
	// Children counts the /reserved-memory children as written.
	Children int
	// Ignored: the kernel ignores the whole of /reserved-memory (rmem-cells, rmem-ranges);
	// Pools still lists the regions as written.
	Ignored bool
	// Findings are what the kernel would trip on in the tree (rules of validate/dt.go), each
	// with its node path.
	Findings diag.List
	// Notes are what the tree says that the board format cannot (written as YAML comments).
	Notes []string
}

// Pool is one imported /reserved-memory child.
type Pool struct {
	Name        string
	Label       string // "" when the tree has none (the board then derives one)
	Node        string // node name in the tree
	Path        string // node path in the tree
	Kind        plan.Kind
	Default     bool
	Fixed       bool
	Base, Size  uint64
	Alignment   uint64
	AllocRanges []plan.Range
	Heap        string
	Mapping     plan.Mapping
	Devices     []string
	Compatible  string // first compatible string; written for kind: reserved only
	NoMap       bool
	Comment     string
}

// Import reads a flattened devicetree and describes its memory as a board: memory banks,
// every /reserved-memory child (fixed or dynamic; a reusable shared-dma-pool is a cma pool, a
// region the dtheap,dma-heaps node names is a carveout or unmapped heap, anything else is a
// reserved pool keeping its compatible and no-map) and the devices linked to them by memory-region.
func Import(blob []byte, opts ImportOptions) (*Board, error) {
	f, err := readFDT(blob)
	if err != nil {
		return nil, err
	}
	root := f.RootNode
	b := &Board{}
	if b.AddressCells, err = u32Prop(root, "#address-cells", 2); err != nil {
		return nil, fmt.Errorf("root: %w", err)
	}
	if b.SizeCells, err = u32Prop(root, "#size-cells", 1); err != nil {
		return nil, fmt.Errorf("root: %w", err)
	}
	if opts.Fragment {
		// A .dtsi fragment's root may leave the cells to the tree that includes it: take
		// /reserved-memory's own then, rather than judge them against defaults.
		if rm, ok := root.LookupChildByName("reserved-memory"); ok {
			for _, c := range []struct {
				name string
				v    *int
			}{{"#address-cells", &b.AddressCells}, {"#size-cells", &b.SizeCells}} {
				if _, stated := root.LookProperty(c.name); !stated {
					if n, err := u32Prop(rm, c.name, -1); err == nil && n >= 1 && n <= 2 {
						*c.v = n
					}
				}
			}
		}
	}
	if b.AddressCells < 1 || b.AddressCells > 2 || b.SizeCells < 1 || b.SizeCells > 2 {
		return nil, fmt.Errorf("root #address-cells = <%d>, #size-cells = <%d>: only 1 or 2 are supported", b.AddressCells, b.SizeCells)
	}
	ac, sc := b.AddressCells, b.SizeCells
	b.Name = opts.Board
	if b.Name == "" {
		b.Name = "imported"
		if c, ok := root.LookProperty("compatible"); ok {
			if l := stringList(c); len(l) > 0 && l[0] != "" {
				b.Name = strings.NewReplacer(",", "-", " ", "-").Replace(l[0])
			}
		}
	}
	model := ""
	if mp, ok := root.LookProperty("model"); ok {
		model = strings.TrimRight(string(mp.Value), "\x00")
	}
	src := opts.Source
	if src == "" {
		src = "a devicetree"
	}
	b.Description = "imported from " + src
	if model != "" {
		b.Description = model + ", " + b.Description
	}
	b.Arch = opts.Arch
	if b.Arch == "" {
		b.Arch = guessArch(root, ac)
	}
	b.Kernel = plan.Kernel{Version: "6.1", PageSize: 4096, CMAAreas: 16}
	if opts.Kernel != nil {
		b.Kernel = *opts.Kernel
	}
	// Every entry up to the all-zero terminator, as written: one of size 0 ends the kernel's
	// reading (early_init_fdt_scan_reserved_mem()), which the memreserve rules say of the board.
	for i, e := range f.ReserveEntries {
		b.Memreserve = append(b.Memreserve, plan.Bank{Name: fmt.Sprintf("memreserve%d", i), Range: plan.Range{Base: e.Address, Size: e.Size}})
	}

	pos := opts.Pos
	if pos == nil {
		pos = func(path, _ string) diag.Pos { return diag.Pos{File: opts.Source, Node: path} }
	}
	tr := &treeReader{version: b.Kernel.Version, ac: ac, sc: sc, pos: pos}

	// Memory banks: early_init_dt_scan_memory takes every available node with device_type
	// "memory" and adds each reg entry of non-zero size. A size of 0 is the boot loader's to
	// fill in: the DRAM is then unknown, not absent.
	var banks []plan.Range
	for _, c := range root.Children {
		if t, ok := c.LookProperty("device_type"); !ok || strings.TrimRight(string(t.Value), "\x00") != "memory" {
			continue
		}
		if ok, _ := available(c); !ok {
			continue
		}
		reg, ok := c.LookProperty("reg")
		if !ok {
			continue
		}
		ps, err := pairs(reg, ac, sc)
		if err != nil {
			return nil, fmt.Errorf("/%s: %w", c.Name, err)
		}
		for _, p := range ps {
			if p[1] > 0 {
				banks = append(banks, plan.Range{Base: p[0], Size: p[1]})
				if b.MemoryPath == "" {
					b.MemoryPath = "/" + c.Name
				}
			}
		}
	}
	if len(opts.Memory) > 0 {
		banks, b.MemoryPath = append([]plan.Range(nil), opts.Memory...), ""
	}
	b.MemoryUnknown = len(banks) == 0
	sort.Slice(banks, func(i, j int) bool { return banks[i].Base < banks[j].Base })
	for i, r := range banks {
		name := "dram"
		if len(banks) > 1 {
			name = fmt.Sprintf("dram%d", i)
		}
		b.Memory = append(b.Memory, plan.Bank{Name: name, Range: r})
	}

	// Labels, from /__symbols__ (path -> label).
	labelOf := map[string]string{}
	if sym, ok := root.LookupChildByName("__symbols__"); ok {
		for _, p := range sym.Properties {
			path := strings.TrimRight(string(p.Value), "\x00")
			if _, dup := labelOf[path]; !dup {
				labelOf[path] = p.Name
			}
		}
	}

	rm, ok := root.LookupChildByName("reserved-memory")
	if !ok {
		b.Notes = append(b.Notes, "the tree has no /reserved-memory")
		return b, nil
	}
	b.Children = len(rm.Children)
	b.Ignored = !tr.checkRoot(rm, "/reserved-memory")
	defer func() { b.Findings, b.Notes = tr.findings, append(b.Notes, tr.notes...) }()
	if b.Ignored {
		// The kernel reads no child. Import still describes them, read with the cells the
		// author gave /reserved-memory (what the regions mean), without findings about them.
		tr.quiet = true
		if c, err := u32Prop(rm, "#address-cells", ac); err == nil && c >= 1 && c <= 2 {
			tr.ac = c
		}
		if c, err := u32Prop(rm, "#size-cells", sc); err == nil && c >= 1 && c <= 2 {
			tr.sc = c
		}
	}

	// The heap node, if any, says which pools are heaps and of which kind.
	type heapInfo struct {
		name    string
		kind    plan.Kind
		mapping plan.Mapping
	}
	heapOf := map[uint32]heapInfo{}
	root.Walk(func(n *dt.Node) error {
		c, ok := n.LookProperty("compatible")
		if !ok || !contains(stringList(c), HeapCompatible) {
			return nil
		}
		mr, ok := n.LookProperty("memory-region")
		if !ok {
			return nil
		}
		phs, err := cells(mr)
		if err != nil {
			b.Notes = append(b.Notes, fmt.Sprintf("heap node %s: %v", n.Name, err))
			return nil
		}
		get := func(name string) []string {
			if p, ok := n.LookProperty(name); ok {
				return stringList(p)
			}
			return nil
		}
		names, kinds, maps := get(propHeapNames), get(propHeapKinds), get(propHeapMappings)
		for i, ph := range phs {
			h := heapInfo{}
			if i < len(names) {
				h.name = names[i]
			}
			if i < len(kinds) {
				h.kind = plan.Kind(kinds[i])
			}
			if i < len(maps) {
				h.mapping = plan.Mapping(maps[i])
			}
			heapOf[ph] = h
		}
		return nil
	})

	byPhandle := map[uint32]int{} // index into b.Pools
	used := map[string]bool{}
	for _, c := range rm.Children {
		for i, pool := range tr.region(c, nodePath("/reserved-memory", c.Name)) {
			if used[pool.Name] {
				base := strings.ReplaceAll(c.Name, "@", "-")
				if i > 0 {
					base = pool.Name
				}
				name := base
				for n := 2; used[name]; n++ {
					name = fmt.Sprintf("%s-%d", base, n)
				}
				pool.Name = name
			}
			used[pool.Name] = true
			if i > 0 {
				b.Pools = append(b.Pools, *pool) // a further reg entry: a plain reservation
				continue
			}
			if l, ok := labelOf["/reserved-memory/"+c.Name]; ok && l != DeriveLabel(pool.Name) {
				pool.Label = l
			}
			if h, ok := heapOf[phandleOf(c)]; ok && phandleOf(c) != 0 {
				pool.Heap = h.name
				switch {
				case pool.Kind == plan.KindCMA:
					// Reusable: a CMA heap whatever the list says.
				case h.kind == plan.KindUnmapped:
					pool.Kind = plan.KindUnmapped
				default:
					pool.Kind = plan.KindCarveout
					pool.Mapping = h.mapping
				}
			}
			if b.Arch == "riscv64" && pool.Fixed && pool.Kind == plan.KindReserved && pool.Compatible == "" &&
				board.OpenSBINode(baseName(c.Name)) && phandleOf(c) == 0 && pool.Heap == "" {
				b.Inserted = append(b.Inserted, plan.Bank{Name: baseName(c.Name), Range: plan.Range{Base: pool.Base, Size: pool.Size}})
				continue
			}
			b.Pools = append(b.Pools, *pool)
			if ph := phandleOf(c); ph != 0 {
				byPhandle[ph] = len(b.Pools) - 1
			}
		}
	}

	// Consumers: every other node with memory-region.
	walkPaths(root, "/", func(n *dt.Node, path string) {
		if strings.HasPrefix(path, "/reserved-memory") || strings.HasPrefix(path, "/__") {
			return
		}
		if c, ok := n.LookProperty("compatible"); ok && contains(stringList(c), HeapCompatible) {
			return
		}
		mr, ok := n.LookProperty("memory-region")
		if !ok {
			return
		}
		if err := escape.CheckPath(path); err != nil {
			b.Notes = append(b.Notes, fmt.Sprintf("consumer skipped: %v", err))
			return
		}
		phs, err := cells(mr)
		if err != nil {
			b.Notes = append(b.Notes, fmt.Sprintf("%s: %v", path, err))
			return
		}
		ref := path
		if l, ok := labelOf[path]; ok {
			ref = "&" + l
		}
		for _, ph := range phs {
			if i, ok := byPhandle[ph]; ok {
				p := &b.Pools[i]
				if !contains(p.Devices, ref) {
					p.Devices = append(p.Devices, ref)
				}
			} else {
				b.Notes = append(b.Notes, fmt.Sprintf("%s: memory-region phandle 0x%x is not a /reserved-memory child", path, ph))
			}
		}
	})
	return b, nil
}

func guessArch(root *dt.Node, ac int) string {
	arch := ""
	root.Walk(func(n *dt.Node) error {
		if arch != "" {
			return nil
		}
		if t, ok := n.LookProperty("device_type"); ok && strings.TrimRight(string(t.Value), "\x00") == "cpu" {
			if c, ok := n.LookProperty("compatible"); ok {
				for _, s := range stringList(c) {
					if strings.HasPrefix(s, "riscv") {
						arch = "riscv64"
					}
				}
			}
			if arch == "" {
				arch = "arm64"
				if ac == 1 {
					arch = "arm"
				}
			}
		}
		return nil
	})
	if arch == "" {
		arch = "arm64"
	}
	return arch
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// YAML writes the board in the board file format, one flow mapping per bank and pool.
func (b *Board) YAML() []byte {
	var w bytes.Buffer
	w.WriteString("# yaml-language-server: $schema=../schemas/board.schema.json\n")
	w.WriteString("# Generated by dtheap import: check the kernel block, it is not in the devicetree.\n")
	for _, n := range b.Notes {
		fmt.Fprintf(&w, "# note: %s\n", escape.YAMLComment(n))
	}
	fmt.Fprintf(&w, "board: %s\n", yq(b.Name))
	fmt.Fprintf(&w, "description: %s\n", yq(b.Description))
	fmt.Fprintf(&w, "arch: %s\n", yq(b.Arch))
	fmt.Fprintf(&w, "address-cells: %d\nsize-cells: %d\n", b.AddressCells, b.SizeCells)
	k := b.Kernel
	fmt.Fprintf(&w, "kernel: {version: %s, page-size: %s, hugetlb: %t, cma-areas: %d}\n",
		strconv.Quote(k.Version), size.Compact(k.PageSize), k.Hugetlb, k.CMAAreas)
	if b.MemoryUnknown {
		w.WriteString("memory: unknown # the tree leaves the DRAM to the boot loader: give it with dtheap import --memory BASE:SIZE\n")
	} else {
		w.WriteString("memory:\n")
	}
	for _, m := range b.Memory {
		fmt.Fprintf(&w, "  - {name: %s, base: 0x%x, size: %s}\n", yq(m.Name), m.Base, size.Compact(m.Size))
	}
	if len(b.Inserted) > 0 {
		w.WriteString("firmware: # nodes OpenSBI inserts into /reserved-memory at boot: not written by dtheap\n")
		for _, m := range b.Inserted {
			fmt.Fprintf(&w, "  - {name: %s, base: 0x%x, size: %s, inserted: true}\n", yq(m.Name), m.Base, size.Compact(m.Size))
		}
	}
	if len(b.Memreserve) > 0 {
		w.WriteString("memreserve: # the blob's /memreserve/ entries, in its order\n")
		for _, m := range b.Memreserve {
			fmt.Fprintf(&w, "  - {name: %s, base: 0x%x, size: %s}\n", yq(m.Name), m.Base, size.Compact(m.Size))
		}
	}
	if len(b.Pools) == 0 {
		w.WriteString("pools: []\n")
		return w.Bytes()
	}
	w.WriteString("pools:\n")
	for _, p := range b.Pools {
		var kv []string
		kv = append(kv, "name: "+yq(p.Name))
		if p.Label != "" {
			kv = append(kv, "label: "+yq(p.Label))
		}
		kv = append(kv, "kind: "+string(p.Kind))
		if p.Default {
			kv = append(kv, "default: true")
		}
		if p.Fixed {
			kv = append(kv, fmt.Sprintf("base: 0x%x", p.Base))
		}
		kv = append(kv, "size: "+size.Compact(p.Size))
		if p.Alignment != 0 {
			kv = append(kv, "alignment: "+size.Compact(p.Alignment))
		}
		if len(p.AllocRanges) > 0 {
			var rs []string
			for _, r := range p.AllocRanges {
				rs = append(rs, fmt.Sprintf("{base: 0x%x, size: %s}", r.Base, size.Compact(r.Size)))
			}
			kv = append(kv, "alloc-ranges: ["+strings.Join(rs, ", ")+"]")
		}
		if p.Heap != "" {
			kv = append(kv, "heap: "+yq(p.Heap))
		}
		if p.Kind == plan.KindCarveout && p.Mapping != "" {
			kv = append(kv, "mapping: "+string(p.Mapping))
		}
		if p.Kind == plan.KindReserved {
			if p.Compatible != "" {
				kv = append(kv, "compatible: "+yq(p.Compatible))
			}
			if !p.NoMap {
				kv = append(kv, "no-map: false")
			}
		}
		if len(p.Devices) > 0 {
			var ds []string
			for _, d := range p.Devices {
				ds = append(ds, yq(d))
			}
			kv = append(kv, "devices: ["+strings.Join(ds, ", ")+"]")
		}
		line := "  - {" + strings.Join(kv, ", ") + "}"
		var cm []string
		if p.Fixed && p.Node != fmt.Sprintf("%s@%x", p.Name, p.Base) {
			cm = append(cm, "node "+p.Node+" in the tree")
		}
		if p.Comment != "" {
			cm = append(cm, p.Comment)
		}
		if len(cm) > 0 {
			line += "  # " + escape.YAMLComment(strings.Join(cm, "; "))
		}
		w.WriteString(line + "\n")
	}
	return w.Bytes()
}

// yq writes a YAML scalar that reads back as s in a flow mapping: names such as "linux,cma"
// would otherwise split inside {...}, "&gpu" would be an anchor, a newline a new line.
func yq(s string) string { return escape.YAMLScalar(s) }
