package dtbind

// What the kernel does with each way a devicetree can write /reserved-memory, for dtheap
// lint and dtheap import. Read from the three modelled kernels: 6.1 drivers/of/fdt.c
// (__reserved_mem_check_root, __reserved_mem_reserve_reg, fdt_scan_reserved_mem) and
// drivers/of/of_reserved_mem.c (__reserved_mem_alloc_size); 6.12 and 7.3
// drivers/of/of_reserved_mem.c (the same functions, moved there) and 7.3 drivers/of/fdt.c
// (of_flat_dt_get_addr_size_prop). Each finding carries the node path; its rule is in the
// validate catalog (validate/dt.go).

import (
	"fmt"
	"math/bits"

	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/internal/escape"
	"github.com/dtheap/dtheap/kmodel"
	"github.com/dtheap/dtheap/plan"
	"github.com/dtheap/dtheap/validate"
	"github.com/u-root/u-root/pkg/dt"
)

// kernelModel is the kernel model for a version (kmodel: the nearest proven version at or below
// it; 6.1's when the version cannot be read).
func kernelModel(version string) *kmodel.Model {
	m, err := kmodel.For(version)
	if err != nil {
		return kmodel.ForVersion(kmodel.Proven[0])
	}
	return m
}

// treeReader reads /reserved-memory the way the kernel does and records what it trips on.
type treeReader struct {
	version  string
	ac, sc   int
	pos      func(path, prop string) diag.Pos
	findings diag.List
	quiet    bool // the kernel does not read these nodes: no findings about them
	notes    []string
}

func (t *treeReader) report(rule, path, prop, hint, format string, args ...any) {
	t.reportAs(-1, rule, path, prop, hint, format, args...)
}

// reportAs reports with a severity other than the catalog's (sev >= 0), for a rule whose
// effect depends on the kernel version.
func (t *treeReader) reportAs(sev diag.Severity, rule, path, prop, hint, format string, args ...any) {
	r, ok := validate.Lookup(rule)
	if !ok {
		panic("dtbind: unknown rule " + rule) // a programming error, caught by the tests
	}
	if t.quiet {
		return
	}
	if sev < 0 {
		sev = r.Severity
	}
	t.findings = append(t.findings, diag.Finding{Pos: t.pos(path, prop), Severity: sev, Rule: rule,
		Message: fmt.Sprintf(format, args...), Hint: hint})
}

// rootRules are the rules about /reserved-memory itself, __reserved_mem_check_root:
// #size-cells and #address-cells must be present and equal to the root's, and ranges present,
// or "Reserved memory: unsupported node format, ignoring" and not one region is reserved. Each
// reports whether the kernel may still use the node; all of them run.
var rootRules = []struct {
	rule  string
	check func(t *treeReader, rm *dt.Node, path string) bool
}{
	{"rmem-cells", ruleRmemCells},
	{"rmem-ranges", ruleRmemRanges},
}

// checkRoot runs rootRules and reports whether the kernel uses the node.
func (t *treeReader) checkRoot(rm *dt.Node, path string) bool {
	ok := true
	for _, r := range rootRules {
		ok = r.check(t, rm, path) && ok
	}
	return ok
}

func ruleRmemCells(t *treeReader, rm *dt.Node, path string) bool {
	ok := true
	for _, c := range []struct {
		name string
		want int
	}{{"#address-cells", t.ac}, {"#size-cells", t.sc}} {
		got, err := u32Prop(rm, c.name, -1)
		switch {
		case err != nil || got == -1:
			t.report("rmem-cells", path, "", fmt.Sprintf("add %s = <%d>;", c.name, c.want),
				"/reserved-memory has no valid %s (the root has <%d>): the kernel ignores every region under it ('unsupported node format, ignoring')", c.name, c.want)
			ok = false
		case got != c.want:
			t.report("rmem-cells", path, c.name, fmt.Sprintf("set %s = <%d>; and write every reg, size and alignment below with that many cells", c.name, c.want),
				"/reserved-memory %s = <%d> differs from the root's <%d>: the kernel ignores every region under it ('unsupported node format, ignoring')", c.name, got, c.want)
			ok = false
		}
	}
	return ok
}

func ruleRmemRanges(t *treeReader, rm *dt.Node, path string) bool {
	if _, has := rm.LookProperty("ranges"); !has {
		t.report("rmem-ranges", path, "", "add an empty ranges; to /reserved-memory",
			"/reserved-memory has no ranges property: the kernel ignores every region under it ('unsupported node format, ignoring')")
		return false
	}
	return true
}

// available is of_fdt_device_is_available: no status, "ok" or "okay".
func available(n *dt.Node) (bool, string) {
	st, ok := n.LookProperty("status")
	if !ok {
		return true, ""
	}
	s := stringList(st)
	if len(s) > 0 && (s[0] == "ok" || s[0] == "okay") {
		return true, s[0]
	}
	if len(s) == 0 {
		return false, ""
	}
	return false, s[0]
}

// rmemNode is one /reserved-memory child as the node rules judge it: what the kernel has read
// of it so far and the pool it makes.
type rmemNode struct {
	c    *dt.Node
	path string
	pool *Pool
	// noMap and reusable are the node's flags (read before any rule that needs them).
	noMap, reusable bool
	// reg: the node is placed by its reg (false for a dynamic node, and on 7.3 for a reg the
	// kernel cannot read, which it takes for no reg at all); entries are its <address size>
	// pairs.
	reg     bool
	entries [][2]uint64
	// skip: the kernel skips the node; no later rule runs on it and it makes no pool.
	skip bool
}

// nodeStep is one entry of nodeRules: a tree-level rule of the validate catalog (its severity
// and doc are there) judged on one /reserved-memory child, or a step that reads the node
// for the rules after it (rule ""). when is its prerequisite: the rule runs only on a node
// the kernel still reads, and only on the kind of node it is about.
type nodeStep struct {
	rule  string
	when  nodeKind
	check func(*treeReader, *rmemNode)
}

type nodeKind int

const (
	anyNode     nodeKind = iota // every node the kernel still reads
	regNode                     // a node placed by its reg
	dynamicNode                 // a node placed by the kernel (size, alignment, alloc-ranges)
)

// nodeRules are the node rules in the order the kernel meets what they judge (6.1
// fdt_scan_reserved_mem -> __reserved_mem_reserve_reg, then __reserved_mem_alloc_size; the
// same order in 6.12 and 7.3 of_reserved_mem.c), as dtc's checks.c runs its table: a step
// that makes the kernel skip the node ends the run for it.
var nodeRules = []nodeStep{
	{"node-disabled", anyNode, ruleNodeDisabled},
	{"", anyNode, readNode},
	{"nomap-reusable", anyNode, ruleNoMapReusable},
	{"reg-length", regNode, ruleRegLength},
	{"reg-entries", regNode, ruleRegEntries},
	{"reg-zero-size", regNode, ruleRegZeroSize},
	{"no-reg-or-size", dynamicNode, ruleNoRegOrSize},
	{"size-length", dynamicNode, ruleSizeLength},
	{"alignment-length", dynamicNode, ruleAlignmentLength},
	{"alignment-power-of-two", dynamicNode, ruleAlignmentPowerOfTwo},
	{"alloc-ranges-length", dynamicNode, ruleAllocRangesLength},
}

// region reads one /reserved-memory child into the pools it makes at boot (none when the
// kernel skips it, several for a reg of several entries that the kernel reserves), running
// nodeRules over it. Kinds as import always made them: reusable shared-dma-pool = cma,
// anything else reserved.
func (t *treeReader) region(c *dt.Node, path string) []*Pool {
	n := &rmemNode{c: c, path: path}
	if reg, ok := c.LookProperty("reg"); ok && len(reg.Value) > 0 {
		n.reg = true
	}
	for _, st := range nodeRules {
		if n.skip {
			return nil
		}
		if (st.when == regNode && !n.reg) || (st.when == dynamicNode && n.reg) {
			continue
		}
		st.check(t, n)
	}
	if n.skip {
		return nil
	}
	if !n.reg {
		return []*Pool{n.pool}
	}
	var out []*Pool
	for i, e := range n.entries {
		if e[1] == 0 {
			continue // reg-zero-size
		}
		q := *n.pool
		q.Fixed, q.Base, q.Size = true, e[0], e[1]
		if i > 0 {
			q.Name = fmt.Sprintf("%s-%d", n.pool.Name, i)
			q.Default, q.Kind, q.Comment = false, plan.KindReserved, fmt.Sprintf("entry %d of reg of %s", i, c.Name)
		}
		out = append(out, &q)
	}
	return out
}

// ruleNodeDisabled: of_fdt_device_is_available, the kernel skips the node.
func ruleNodeDisabled(t *treeReader, n *rmemNode) {
	if ok, st := available(n.c); !ok {
		t.report("node-disabled", n.path, "status", "", "status = %q: the kernel skips this region", st)
		n.skip = true
	}
}

// readNode reads the node's name, flags and compatible into its pool (no rule: what the rules
// after it need).
func readNode(t *treeReader, n *rmemNode) {
	c := n.c
	p := &Pool{Name: baseName(c.Name), Node: c.Name, Path: n.path}
	if p.Name == "" {
		p.Name = "unnamed"
	}
	// The name becomes the pool's name, written back into YAML, DTS and C: only what the
	// devicetree specification allows in a node name (dtc refuses the rest; a blob may not).
	if err := escape.CheckNodeName(c.Name); err != nil {
		t.notes = append(t.notes, fmt.Sprintf("/reserved-memory child skipped: %v", err))
		n.skip = true
		return
	}
	_, n.noMap = c.LookProperty("no-map")
	_, n.reusable = c.LookProperty("reusable")
	_, def := c.LookProperty("linux,cma-default")
	shared := false
	if cp, ok := c.LookProperty("compatible"); ok {
		l := stringList(cp)
		shared = contains(l, "shared-dma-pool")
		if len(l) > 0 {
			p.Compatible = l[0]
			if len(l) > 1 {
				p.Comment = fmt.Sprintf("compatible has %d strings in the tree; only the first is kept", len(l))
			}
		}
	}
	p.NoMap = n.noMap
	switch {
	case n.noMap && n.reusable:
		// No pool is made (ruleNoMapReusable): a reserved no-map region is what remains.
		p.Kind, p.Comment = plan.KindReserved, "no-map and reusable in the tree: the kernel makes no pool"
		if shared {
			p.Compatible = "shared-dma-pool"
		}
	case n.reusable && shared:
		p.Kind, p.Default = plan.KindCMA, def
	default:
		// reusable without shared-dma-pool: a driver's own reusable region (no CMA area);
		// the board format keeps it as a plain reservation.
		p.Kind = plan.KindReserved
	}
	n.pool = p
}

// ruleNoMapReusable: rmem_cma_setup refuses no-map (kernel/dma/contiguous.c "!reusable ||
// nomap"), rmem_dma_setup refuses reusable (kernel/dma/coherent.c): no pool, but the memory
// was already marked no-map at reservation.
func ruleNoMapReusable(t *treeReader, n *rmemNode) {
	if !n.noMap || !n.reusable {
		return
	}
	what := "no pool is made ('compatible matching fail') and the memory goes back to the kernel"
	if kernelModel(t.version).NoMapReusable == kmodel.Lost {
		what = "no pool is made ('nomap reusable') and the memory stays out of the linear map, used by nothing"
	}
	t.report("nomap-reusable", n.path, "reusable", "drop no-map (a CMA pool) or reusable (a no-map carveout)",
		"no-map and reusable together: kernel %s: %s", t.version, what)
}

// ruleRegLength: __reserved_mem_reserve_reg's "invalid reg property" (6.1, 6.12); 7.3's
// of_flat_dt_get_addr_size_prop returns NULL for it, as if there were no reg.
func ruleRegLength(t *treeReader, n *rmemNode) {
	reg, _ := n.c.LookProperty("reg")
	entry := t.ac + t.sc
	if len(reg.Value)%(4*entry) != 0 {
		if kernelModel(t.version).AddrSizeProp {
			t.reportAs(diag.Error, "reg-length", n.path, "reg", fmt.Sprintf("write reg as <address size> pairs of %d+%d cells", t.ac, t.sc),
				"reg is %d bytes, not a whole number of %d-cell <address size> entries: kernel %s reads it as no reg at all", len(reg.Value), entry, t.version)
			n.reg = false // the dynamic rules judge it
			return
		}
		t.report("reg-length", n.path, "reg", fmt.Sprintf("write reg as <address size> pairs of %d+%d cells", t.ac, t.sc),
			"reg is %d bytes, not a whole number of %d-cell <address size> entries: 'invalid reg property', the kernel skips the node", len(reg.Value), entry)
		n.skip = true
		return
	}
	ps, err := pairs(reg, t.ac, t.sc)
	if err != nil {
		t.report("reg-length", n.path, "reg", "", "reg: %v: the kernel cannot read it", err)
		n.skip = true
		return
	}
	n.entries = ps
}

// ruleRegEntries: 6.1 and 6.12 reserve every entry and record the first; 7.3
// (of_flat_dt_get_addr_size_prop, "only the first is used") reserves only the first.
func ruleRegEntries(t *treeReader, n *rmemNode) {
	if len(n.entries) < 2 {
		return
	}
	if kernelModel(t.version).AddrSizeProp {
		t.reportAs(diag.Warning, "reg-entries", n.path, "reg", "one region per node: split it",
			"reg has %d <address size> entries: kernel %s reserves only the first ('only the first is used'), the others stay free memory", len(n.entries), t.version)
		n.entries = n.entries[:1]
		return
	}
	t.report("reg-entries", n.path, "reg", "",
		"reg has %d <address size> entries: kernel %s reserves each one and records the first", len(n.entries), t.version)
}

// ruleRegZeroSize: an entry of size 0 is reserved by nobody ("failed to reserve memory for
// node"); region leaves it out.
func ruleRegZeroSize(t *treeReader, n *rmemNode) {
	for i, e := range n.entries {
		if e[1] == 0 {
			t.report("reg-zero-size", n.path, "reg", "give it a size, or let the boot loader fill it in (then this is expected)",
				"reg entry %d has size 0 at 0x%x: the kernel reserves nothing ('failed to reserve memory for node')", i, e[0])
		}
	}
}

// ruleNoRegOrSize: __reserved_mem_alloc_size returns -EINVAL without a word when there is no
// size.
func ruleNoRegOrSize(t *treeReader, n *rmemNode) {
	if _, ok := n.c.LookProperty("size"); !ok {
		t.report("no-reg-or-size", n.path, "", "give it reg (fixed) or size (placed by the kernel)", "neither reg nor size: the kernel skips this node without a word")
		n.skip = true
	}
}

// ruleSizeLength: __reserved_mem_alloc_size's "invalid size property".
func ruleSizeLength(t *treeReader, n *rmemNode) {
	if v, ok := t.cellsProperty(n, "size-length", "size", "#size-cells", t.sc); ok {
		n.pool.Size = v
	}
}

// ruleAlignmentLength: __reserved_mem_alloc_size's "invalid alignment property".
func ruleAlignmentLength(t *treeReader, n *rmemNode) {
	if _, present := n.c.LookProperty("alignment"); !present {
		return
	}
	if v, ok := t.cellsProperty(n, "alignment-length", "alignment", "#address-cells", t.ac); ok {
		n.pool.Alignment = v
	}
}

// cellsProperty reads prop of n as one number of nc cells (the root's cellsName), the way
// __reserved_mem_alloc_size reads size and alignment: any other length is the kernel's
// "invalid <prop> property", and the node is skipped. ok is false when rule reported.
func (t *treeReader) cellsProperty(n *rmemNode, rule, prop, cellsName string, nc int) (v uint64, ok bool) {
	p, _ := n.c.LookProperty(prop)
	if len(p.Value) != 4*nc {
		t.report(rule, n.path, prop, fmt.Sprintf("write %s with %s = %d cell(s)", prop, cellsName, nc),
			"%s is %d bytes, not %d cell(s) (the root's %s): 'invalid %s property', the kernel skips the node", prop, len(p.Value), nc, cellsName, prop)
		n.skip = true
		return 0, false
	}
	cs, _ := cells(p)
	v, err := joinCells(cs)
	if err != nil {
		t.report(rule, n.path, prop, "", "%s: %v", prop, err)
		n.skip = true
		return 0, false
	}
	return v, true
}

// ruleAlignmentPowerOfTwo: memblock's round_down masks with alignment-1.
func ruleAlignmentPowerOfTwo(t *treeReader, n *rmemNode) {
	if a := n.pool.Alignment; a != 0 && bits.OnesCount64(a) != 1 {
		t.report("alignment-power-of-two", n.path, "alignment", "use a power of two",
			"alignment 0x%x is not a power of two: memblock's round_down masks with 0x%x, so the region is placed at an address that is not a multiple of it", a, a-1)
	}
}

// ruleAllocRangesLength: 6.1 and 6.12 __reserved_mem_alloc_size skip the node ("invalid
// alloc-ranges property"); 7.3's of_flat_dt_get_addr_size_prop returns NULL and the region
// is placed anywhere.
func ruleAllocRangesLength(t *treeReader, n *rmemNode) {
	ar, ok := n.c.LookProperty("alloc-ranges")
	if !ok {
		return
	}
	entry := 4 * (t.ac + t.sc)
	if len(ar.Value)%entry != 0 {
		if kernelModel(t.version).OddAllocRanges == kmodel.Ignored {
			t.reportAs(diag.Warning, "alloc-ranges-length", n.path, "alloc-ranges", fmt.Sprintf("write <address size> pairs of %d+%d cells", t.ac, t.sc),
				"alloc-ranges is %d bytes, not a whole number of %d-cell pairs: kernel %s ignores it and places the region anywhere", len(ar.Value), t.ac+t.sc, t.version)
			return
		}
		t.report("alloc-ranges-length", n.path, "alloc-ranges", fmt.Sprintf("write <address size> pairs of %d+%d cells", t.ac, t.sc),
			"alloc-ranges is %d bytes, not a whole number of %d-cell pairs: 'invalid alloc-ranges property', the kernel skips the node", len(ar.Value), t.ac+t.sc)
		n.skip = true
		return
	}
	ps, err := pairs(ar, t.ac, t.sc)
	if err != nil {
		t.report("alloc-ranges-length", n.path, "alloc-ranges", "", "alloc-ranges: %v", err)
		n.skip = true
		return
	}
	for _, r := range ps {
		n.pool.AllocRanges = append(n.pool.AllocRanges, plan.Range{Base: r[0], Size: r[1]})
	}
}

// nodePath joins a parent path and a child name.
func nodePath(parent, name string) string {
	if parent == "/" {
		return "/" + name
	}
	return parent + "/" + name
}
