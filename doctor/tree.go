package doctor

import (
	"bytes"
	"encoding/binary"
	"strings"

	"github.com/u-root/u-root/pkg/dt"

	"github.com/dtheap/dtheap/internal/fdtsafe"
)

// node is a /reserved-memory child as the booted tree has it.
type node struct {
	name, path string
	disabled   string // the status when not okay (of_fdt_device_is_available)
	isDefault  bool   // linux,cma-default
	// sharedDMA: compatible "shared-dma-pool", the one compatible the kernel's own CMA and
	// DMA pool drivers take (kernel/dma/contiguous.c, kernel/dma/coherent.c). Such a node
	// set up without "initialized node" before it was taken by neither.
	sharedDMA bool
	// allocRangesLen is the alloc-ranges property's length in bytes, -1 without one or on a
	// node with reg.
	allocRangesLen int
}

// tree is what the doctor needs from the booted devicetree: the reserved-memory children and
// the heap names the dtheap,dma-heaps node promises. Read without dtbind, so that the boot
// checker can carry the doctor without the board loader and the rule catalog.
type tree struct {
	nodes []node
	heaps []string
	// entry is the bytes of one <address size> entry after the root's #address-cells and
	// #size-cells (drivers/of/fdt.c dt_root_addr_cells, dt_root_size_cells; 1 and 1 when
	// absent, OF_ROOT_NODE_*_CELLS_DEFAULT).
	entry int
}

func readTree(blob []byte) (*tree, error) {
	f, err := fdtsafe.Read(blob)
	if err != nil {
		return nil, err
	}
	t := &tree{entry: 4 * (rootCells(f.RootNode, "#address-cells") + rootCells(f.RootNode, "#size-cells"))}
	if rm, ok := f.RootNode.LookupChildByName("reserved-memory"); ok {
		for _, c := range rm.Children {
			n := node{name: c.Name, path: "/reserved-memory/" + c.Name, allocRangesLen: -1}
			// alloc-ranges counts only for a dynamic node: one without reg
			// (__reserved_mem_alloc_size runs for those alone).
			_, hasReg := c.LookProperty("reg")
			if p, ok := c.LookProperty("alloc-ranges"); ok && !hasReg {
				n.allocRangesLen = len(p.Value)
			}
			if st, ok := c.LookProperty("status"); ok {
				s := strings.TrimRight(string(st.Value), "\x00")
				if i := strings.IndexByte(s, 0); i >= 0 {
					s = s[:i]
				}
				if s != "ok" && s != "okay" {
					n.disabled = s
				}
			}
			_, n.isDefault = c.LookProperty("linux,cma-default")
			if p, ok := c.LookProperty("compatible"); ok {
				n.sharedDMA = hasString(p.Value, "shared-dma-pool")
			}
			t.nodes = append(t.nodes, n)
		}
	}
	f.RootNode.Walk(func(n *dt.Node) error {
		c, ok := n.LookProperty("compatible")
		if !ok || !hasString(c.Value, "dtheap,dma-heaps") {
			return nil
		}
		if hn, ok := n.LookProperty("dtheap,heap-names"); ok {
			for _, s := range bytes.Split(bytes.TrimRight(hn.Value, "\x00"), []byte{0}) {
				if len(s) > 0 {
					t.heaps = append(t.heaps, string(s))
				}
			}
		}
		return nil
	})
	return t, nil
}

func hasString(v []byte, s string) bool {
	for _, x := range bytes.Split(bytes.TrimRight(v, "\x00"), []byte{0}) {
		if string(x) == s {
			return true
		}
	}
	return false
}

// rootCells reads a cell count of the root node as early_init_dt_scan_root does.
func rootCells(root *dt.Node, name string) int {
	if p, ok := root.LookProperty(name); ok && len(p.Value) >= 4 {
		return int(binary.BigEndian.Uint32(p.Value))
	}
	return 1
}
