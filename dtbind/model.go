package dtbind

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/dtheap/dtheap/internal/escape"
	"github.com/dtheap/dtheap/internal/size"
	"github.com/dtheap/dtheap/plan"
)

// HeapCompatible is the compatible string of the heap node (schemas/bindings/dtheap,dma-heaps.yaml).
const HeapCompatible = "dtheap,dma-heaps"

// HeapNodeName is the name of the heap node, a child of the root.
const HeapNodeName = "dma-heaps"

// Property names of the heap node binding.
const (
	propHeapNames    = "dtheap,heap-names"
	propHeapKinds    = "dtheap,heap-kinds"
	propHeapMappings = "dtheap,heap-mappings"
)

type propKind int

const (
	propEmpty   propKind = iota // boolean property: present or not
	propCells                   // groups of u32 cells, one group per entry
	propStrings                 // string list
	propRefs                    // phandle list, given as labels of nodes we emit
)

// prop is one property, kept as structured values so it can be printed as DTS or encoded.
type prop struct {
	name    string
	kind    propKind
	cells   [][]uint32
	strs    []string
	refs    []string // labels
	comment string   // printed after the property in DTS, e.g. "64 MiB"
}

// node is one node we write: a /reserved-memory child or the heap node.
type node struct {
	label   string
	name    string
	comment string // printed above the node in DTS
	props   []prop
	region  *plan.Region // nil for the heap node
}

// consumer is a device node that gets memory-region links.
type consumer struct {
	ref   string // "&label" or "/path"
	props []prop
}

// model is everything the plan asks to add to a tree.
type model struct {
	addressCells, sizeCells int
	regions                 []node
	heaps                   *node // nil when no heap is ours to register
	consumers               []consumer
}

var labelRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// LabelFor returns the DT label of a region: the plan's label, else one derived from the name
// (DT labels allow only letters, digits and underscores).
func LabelFor(r *plan.Region) string {
	if r.Label != "" {
		return r.Label
	}
	return DeriveLabel(r.Name)
}

// DeriveLabel turns a region name into a DT label ("linux,cma" -> "linux_cma"), the same way
// the board loader derives a pool's default label (board.DefaultLabel; a test keeps them equal),
// so import can leave out labels that are the default.
func DeriveLabel(name string) string {
	var sb strings.Builder
	for _, c := range name {
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			sb.WriteRune(c)
		} else {
			sb.WriteByte('_')
		}
	}
	l := sb.String()
	if l == "" || l[0] >= '0' && l[0] <= '9' {
		l = "_" + l
	}
	return l
}

// nodeName is the region's node name: the plan's, else name@base for fixed regions.
func nodeName(r *plan.Region) string {
	if r.Node != "" {
		return r.Node
	}
	if r.Fixed {
		return fmt.Sprintf("%s@%x", r.Name, r.Base)
	}
	return r.Name
}

// toCells splits v into n big-endian 32-bit cells, refusing values that do not fit.
func toCells(v uint64, n int, what string) ([]uint32, error) {
	if n < 1 || n > 4 {
		return nil, fmt.Errorf("%s: unsupported cell count %d", what, n)
	}
	out := make([]uint32, n)
	for i := n - 1; i >= 0; i-- {
		out[i] = uint32(v)
		v >>= 16
		v >>= 16 // two shifts: a shift by 32 of a uint64 is fine, but keeps intent clear for n > 2
	}
	if v != 0 {
		return nil, fmt.Errorf("%s does not fit in %d cell(s)", what, n)
	}
	return out, nil
}

// buildModel turns the plan into the nodes and properties we add to a tree.
func buildModel(p *plan.Plan) (*model, error) {
	if p.AddressCells < 1 || p.AddressCells > 2 || p.SizeCells < 1 || p.SizeCells > 2 {
		return nil, fmt.Errorf("board %s: #address-cells = <%d>, #size-cells = <%d>: reserved memory needs 1 or 2 of each", p.Board, p.AddressCells, p.SizeCells)
	}
	m := &model{addressCells: p.AddressCells, sizeCells: p.SizeCells}
	emitted := map[string]*plan.Region{}
	labels := map[string]string{}
	names := map[string]string{}
	for _, r := range p.Regions {
		if !r.Emit {
			continue
		}
		n, err := regionNode(p, r)
		if err != nil {
			return nil, err
		}
		if other, dup := labels[n.label]; dup {
			return nil, fmt.Errorf("regions %s and %s both have the DT label %q: give one a label", other, r.Name, n.label)
		}
		if other, dup := names[n.name]; dup {
			return nil, fmt.Errorf("regions %s and %s both make the node /reserved-memory/%s", other, r.Name, n.name)
		}
		labels[n.label], names[n.name] = r.Name, r.Name
		emitted[r.Name] = r
		m.regions = append(m.regions, n)
	}
	var hn, hk, hm []string
	var refs []string
	for _, h := range p.Heaps {
		if h.Provider != "dtheap" {
			continue
		}
		r := emitted[h.Pool]
		if r == nil {
			return nil, fmt.Errorf("heap %s: pool %q is not written to /reserved-memory", h.Name, h.Pool)
		}
		kind := h.Kind
		if kind == "" {
			kind = r.Kind
		}
		mapping := h.Mapping
		if mapping == "" {
			mapping = defaultMapping(kind)
		}
		refs = append(refs, LabelFor(r))
		hn = append(hn, h.Name)
		hk = append(hk, string(kind))
		hm = append(hm, string(mapping))
	}
	if len(refs) > 0 {
		var poolNames []string
		for _, h := range p.Heaps {
			if h.Provider == "dtheap" {
				poolNames = append(poolNames, h.Pool)
			}
		}
		m.heaps = &node{
			name:    HeapNodeName,
			comment: "DMA-BUF heaps registered by the dtheap_heaps module (binding: dtheap,dma-heaps)",
			props: []prop{
				{name: "compatible", kind: propStrings, strs: []string{HeapCompatible}},
				{name: "memory-region", kind: propRefs, refs: refs},
				{name: "memory-region-names", kind: propStrings, strs: poolNames},
				{name: propHeapNames, kind: propStrings, strs: hn},
				{name: propHeapKinds, kind: propStrings, strs: hk},
				{name: propHeapMappings, kind: propStrings, strs: hm},
			},
		}
	}
	for _, d := range p.Devices {
		if err := checkRef(d.Ref); err != nil {
			return nil, err
		}
		if r, clash := labels[strings.TrimPrefix(d.Ref, "&")]; clash && strings.HasPrefix(d.Ref, "&") {
			return nil, fmt.Errorf("device %s: %s is also the DT label of region %s, so the label would be defined twice (dtc: duplicate_label) and %s would mean the pool; give the pool another label (label: %s_pool)",
				d.Ref, d.Ref[1:], r, d.Ref, d.Ref[1:])
		}
		var rl, rn []string
		for _, pool := range d.Pools {
			r := emitted[pool]
			if r == nil {
				return nil, fmt.Errorf("device %s: pool %q is not written to /reserved-memory", d.Ref, pool)
			}
			rl = append(rl, LabelFor(r))
			rn = append(rn, r.Name)
		}
		m.consumers = append(m.consumers, consumer{ref: d.Ref, props: []prop{
			{name: "memory-region", kind: propRefs, refs: rl},
			{name: "memory-region-names", kind: propStrings, strs: rn},
		}})
	}
	return m, nil
}

func defaultMapping(k plan.Kind) plan.Mapping {
	switch k {
	case plan.KindUnmapped:
		return plan.MapNone
	case plan.KindCarveout:
		return plan.MapWriteCombine
	}
	return plan.MapCached
}

// checkRef accepts "&label" and "/path" device references; a path must be a devicetree path
// (node-name characters only), since DTS cannot escape anything inside &{...}.
func checkRef(ref string) error {
	switch {
	case strings.HasPrefix(ref, "&") && labelRE.MatchString(ref[1:]):
		return nil
	case strings.HasPrefix(ref, "/") && ref != "/":
		if err := escape.CheckPath(ref); err != nil {
			return fmt.Errorf("device reference: %w", err)
		}
		return nil
	}
	return fmt.Errorf("device reference %s: write &label or /path/to/node", escape.Quote(ref))
}

// regionNode is the /reserved-memory child for one region.
func regionNode(p *plan.Plan, r *plan.Region) (node, error) {
	label := LabelFor(r)
	if !labelRE.MatchString(label) {
		return node{}, fmt.Errorf("region %s: %q is not a valid DT label (letters, digits, _)", r.Name, label)
	}
	n := node{label: label, name: nodeName(r), region: r}
	if err := escape.CheckNodeName(n.name); err != nil {
		return node{}, fmt.Errorf("region %s: %w", escape.Quote(r.Name), err)
	}
	what := func(f string) string { return fmt.Sprintf("region %s: %s", r.Name, f) }
	switch r.Kind {
	case plan.KindFirmware:
		n.comment = "firmware"
	case plan.KindReserved:
		n.comment = "reserved, no heap"
	case plan.KindCMA:
		n.comment = "CMA pool"
		if r.DefaultCMA {
			n.comment = "default CMA area"
		}
	case plan.KindCarveout:
		n.comment = "carveout, no-map"
		if !r.NoMap {
			n.comment = "carveout, in the linear map"
		}
	case plan.KindUnmapped:
		n.comment = "unmapped, never CPU-mapped"
	}
	if r.Heap != nil && r.Heap.Provider == "dtheap" {
		n.comment += ": heap " + r.Heap.Name
	} else if r.Heap != nil {
		n.comment += ": the kernel's heap " + r.Heap.Name
	}
	compat := r.Compat
	if compat == "" && (r.Kind == plan.KindCMA || r.Kind == plan.KindCarveout || r.Kind == plan.KindUnmapped) {
		compat = "shared-dma-pool"
	}
	if compat != "" {
		n.props = append(n.props, prop{name: "compatible", kind: propStrings, strs: []string{compat}})
	}
	if r.Fixed {
		a, err := toCells(r.Base, p.AddressCells, what(fmt.Sprintf("base 0x%x", r.Base)))
		if err != nil {
			return n, err
		}
		s, err := toCells(r.Size, p.SizeCells, what(fmt.Sprintf("size 0x%x", r.Size)))
		if err != nil {
			return n, err
		}
		n.props = append(n.props, prop{name: "reg", kind: propCells, cells: [][]uint32{append(a, s...)},
			comment: size.Human(r.Size)})
	} else {
		s, err := toCells(r.Size, p.SizeCells, what(fmt.Sprintf("size 0x%x", r.Size)))
		if err != nil {
			return n, err
		}
		n.props = append(n.props, prop{name: "size", kind: propCells, cells: [][]uint32{s}, comment: size.Human(r.Size)})
		if r.Alignment != 0 {
			// The kernel reads alignment with the root's #address-cells (of_reserved_mem.c).
			a, err := toCells(r.Alignment, p.AddressCells, what(fmt.Sprintf("alignment 0x%x", r.Alignment)))
			if err != nil {
				return n, err
			}
			n.props = append(n.props, prop{name: "alignment", kind: propCells, cells: [][]uint32{a}, comment: size.Human(r.Alignment)})
		}
		if len(r.AllocRanges) > 0 {
			pr := prop{name: "alloc-ranges", kind: propCells}
			var cs []string
			for _, ar := range r.AllocRanges {
				a, err := toCells(ar.Base, p.AddressCells, what(fmt.Sprintf("alloc-range base 0x%x", ar.Base)))
				if err != nil {
					return n, err
				}
				s, err := toCells(ar.Size, p.SizeCells, what(fmt.Sprintf("alloc-range size 0x%x", ar.Size)))
				if err != nil {
					return n, err
				}
				pr.cells = append(pr.cells, append(a, s...))
				cs = append(cs, fmt.Sprintf("%s at 0x%x", size.Human(ar.Size), ar.Base))
			}
			pr.comment = strings.Join(cs, ", ")
			n.props = append(n.props, pr)
		}
	}
	if r.NoMap && r.Reuse {
		return n, fmt.Errorf("region %s: no-map and reusable together: the kernel refuses the region", r.Name)
	}
	if r.NoMap {
		n.props = append(n.props, prop{name: "no-map", kind: propEmpty})
	}
	if r.Reuse {
		n.props = append(n.props, prop{name: "reusable", kind: propEmpty})
	}
	if r.DefaultCMA {
		n.props = append(n.props, prop{name: "linux,cma-default", kind: propEmpty})
	}
	return n, nil
}
