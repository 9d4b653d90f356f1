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

// checkRoot is __reserved_mem_check_root: #size-cells and #address-cells must be present and
// equal to the root's, and ranges present, or "Reserved memory: unsupported node format,
// ignoring" and not one region is reserved. It reports whether the kernel uses the node.
func (t *treeReader) checkRoot(rm *dt.Node, path string) bool {
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
	if _, has := rm.LookProperty("ranges"); !has {
		t.report("rmem-ranges", path, "", "add an empty ranges; to /reserved-memory",
			"/reserved-memory has no ranges property: the kernel ignores every region under it ('unsupported node format, ignoring')")
		ok = false
	}
	return ok
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

// region reads one /reserved-memory child into the pools it makes at boot (none when the
// kernel skips it, several for a reg of several entries that the kernel reserves). Kinds as
// import always made them: reusable shared-dma-pool = cma, anything else reserved.
func (t *treeReader) region(c *dt.Node, path string) []*Pool {
	if ok, st := available(c); !ok {
		t.report("node-disabled", path, "status", "", "status = %q: the kernel skips this region", st)
		return nil
	}
	p := &Pool{Name: baseName(c.Name), Node: c.Name, Path: path}
	if p.Name == "" {
		p.Name = "unnamed"
	}
	// The name becomes the pool's name, written back into YAML, DTS and C: only what the
	// devicetree specification allows in a node name (dtc refuses the rest; a blob may not).
	if err := escape.CheckNodeName(c.Name); err != nil {
		t.notes = append(t.notes, fmt.Sprintf("/reserved-memory child skipped: %v", err))
		return nil
	}
	_, noMap := c.LookProperty("no-map")
	_, reusable := c.LookProperty("reusable")
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
	p.NoMap = noMap
	switch {
	case noMap && reusable:
		// rmem_cma_setup refuses no-map (kernel/dma/contiguous.c "!reusable || nomap"),
		// rmem_dma_setup refuses reusable (kernel/dma/coherent.c): no pool, but the memory was
		// already marked no-map at reservation. A reserved no-map region is what remains.
		what := "no pool is made ('compatible matching fail') and the memory goes back to the kernel"
		if kernelModel(t.version).NoMapReusable == kmodel.Lost {
			what = "no pool is made ('nomap reusable') and the memory stays out of the linear map, used by nothing"
		}
		t.report("nomap-reusable", path, "reusable", "drop no-map (a CMA pool) or reusable (a no-map carveout)",
			"no-map and reusable together: kernel %s: %s", t.version, what)
		p.Kind, p.Comment = plan.KindReserved, "no-map and reusable in the tree: the kernel makes no pool"
		if shared {
			p.Compatible = "shared-dma-pool"
		}
	case reusable && shared:
		p.Kind, p.Default = plan.KindCMA, def
	default:
		// reusable without shared-dma-pool: a driver's own reusable region (no CMA area);
		// the board format keeps it as a plain reservation.
		p.Kind = plan.KindReserved
	}
	newKernel := kernelModel(t.version).AddrSizeProp
	entry := t.ac + t.sc
	if reg, ok := c.LookProperty("reg"); ok && len(reg.Value) > 0 {
		if len(reg.Value)%(4*entry) != 0 {
			if newKernel {
				// of_flat_dt_get_addr_size_prop returns NULL: as if there were no reg.
				t.reportAs(diag.Error, "reg-length", path, "reg", fmt.Sprintf("write reg as <address size> pairs of %d+%d cells", t.ac, t.sc),
					"reg is %d bytes, not a whole number of %d-cell <address size> entries: kernel %s reads it as no reg at all", len(reg.Value), entry, t.version)
				return t.dynamic(c, p, path)
			}
			t.report("reg-length", path, "reg", fmt.Sprintf("write reg as <address size> pairs of %d+%d cells", t.ac, t.sc),
				"reg is %d bytes, not a whole number of %d-cell <address size> entries: 'invalid reg property', the kernel skips the node", len(reg.Value), entry)
			return nil
		}
		ps, err := pairs(reg, t.ac, t.sc)
		if err != nil {
			t.report("reg-length", path, "reg", "", "reg: %v: the kernel cannot read it", err)
			return nil
		}
		if len(ps) > 1 {
			if newKernel {
				t.reportAs(diag.Warning, "reg-entries", path, "reg", "one region per node: split it",
					"reg has %d <address size> entries: kernel %s reserves only the first ('only the first is used'), the others stay free memory", len(ps), t.version)
				ps = ps[:1]
			} else {
				t.report("reg-entries", path, "reg", "",
					"reg has %d <address size> entries: kernel %s reserves each one and records the first", len(ps), t.version)
			}
		}
		var out []*Pool
		for i, e := range ps {
			if e[1] == 0 {
				t.report("reg-zero-size", path, "reg", "give it a size, or let the boot loader fill it in (then this is expected)",
					"reg entry %d has size 0 at 0x%x: the kernel reserves nothing ('failed to reserve memory for node')", i, e[0])
				continue
			}
			q := *p
			q.Fixed, q.Base, q.Size = true, e[0], e[1]
			if i > 0 {
				q.Name = fmt.Sprintf("%s-%d", p.Name, i)
				q.Default, q.Kind, q.Comment = false, plan.KindReserved, fmt.Sprintf("entry %d of reg of %s", i, c.Name)
			}
			out = append(out, &q)
		}
		return out
	}
	return t.dynamic(c, p, path)
}

// dynamic reads a size-placed region (__reserved_mem_alloc_size).
func (t *treeReader) dynamic(c *dt.Node, p *Pool, path string) []*Pool {
	sz, ok := c.LookProperty("size")
	if !ok {
		t.report("no-reg-or-size", path, "", "give it reg (fixed) or size (placed by the kernel)", "neither reg nor size: the kernel skips this node without a word")
		return nil
	}
	if len(sz.Value) != 4*t.sc {
		t.report("size-length", path, "size", fmt.Sprintf("write size with #size-cells = %d cell(s)", t.sc),
			"size is %d bytes, not %d cell(s) (the root's #size-cells): 'invalid size property', the kernel skips the node", len(sz.Value), t.sc)
		return nil
	}
	cs, _ := cells(sz)
	v, err := joinCells(cs)
	if err != nil {
		t.report("size-length", path, "size", "", "size: %v", err)
		return nil
	}
	p.Size = v
	if al, ok := c.LookProperty("alignment"); ok {
		if len(al.Value) != 4*t.ac {
			t.report("alignment-length", path, "alignment", fmt.Sprintf("write alignment with #address-cells = %d cell(s)", t.ac),
				"alignment is %d bytes, not %d cell(s) (the root's #address-cells): 'invalid alignment property', the kernel skips the node", len(al.Value), t.ac)
			return nil
		}
		cs, _ := cells(al)
		if p.Alignment, err = joinCells(cs); err != nil {
			t.report("alignment-length", path, "alignment", "", "alignment: %v", err)
			return nil
		}
		if p.Alignment != 0 && bits.OnesCount64(p.Alignment) != 1 {
			t.report("alignment-power-of-two", path, "alignment", "use a power of two",
				"alignment 0x%x is not a power of two: memblock's round_down masks with 0x%x, so the region is placed at an address that is not a multiple of it", p.Alignment, p.Alignment-1)
		}
	}
	if ar, ok := c.LookProperty("alloc-ranges"); ok {
		entry := 4 * (t.ac + t.sc)
		if len(ar.Value)%entry != 0 {
			if kernelModel(t.version).OddAllocRanges == kmodel.Ignored {
				// of_flat_dt_get_addr_size_prop returns NULL: the region is placed anywhere.
				t.reportAs(diag.Warning, "alloc-ranges-length", path, "alloc-ranges", fmt.Sprintf("write <address size> pairs of %d+%d cells", t.ac, t.sc),
					"alloc-ranges is %d bytes, not a whole number of %d-cell pairs: kernel %s ignores it and places the region anywhere", len(ar.Value), t.ac+t.sc, t.version)
				return []*Pool{p}
			}
			t.report("alloc-ranges-length", path, "alloc-ranges", fmt.Sprintf("write <address size> pairs of %d+%d cells", t.ac, t.sc),
				"alloc-ranges is %d bytes, not a whole number of %d-cell pairs: 'invalid alloc-ranges property', the kernel skips the node", len(ar.Value), t.ac+t.sc)
			return nil
		}
		ps, err := pairs(ar, t.ac, t.sc)
		if err != nil {
			t.report("alloc-ranges-length", path, "alloc-ranges", "", "alloc-ranges: %v", err)
			return nil
		}
		for _, r := range ps {
			p.AllocRanges = append(p.AllocRanges, plan.Range{Base: r[0], Size: r[1]})
		}
	}
	return []*Pool{p}
}

// nodePath joins a parent path and a child name.
func nodePath(parent, name string) string {
	if parent == "/" {
		return "/" + name
	}
	return parent + "/" + name
}
