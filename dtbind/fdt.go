package dtbind

// Every workaround for github.com/u-root/u-root/pkg/dt lives in this file (see FACTS.md §4):
//
//   - ReadFDT trusts the header's block sizes and every property length: a malformed blob
//     can make it allocate gigabytes. readFDT checks the header against the blob's length and
//     pre-scans the structure block before handing the blob over.
//   - Write does not fill the header's magic and version for a tree built in memory.
//   - Property.AsStringList panics on valid input: stringList splits on NUL itself.
//   - There is no cell-aware reg decoding, no phandle resolution and no path lookup: cells,
//     phandles and findPath do those.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/u-root/u-root/pkg/dt"

	"github.com/dtheap/dtheap/internal/fdtsafe"
)

// readFDT parses a flattened devicetree blob, refusing malformed input with an error (never a
// panic, never an allocation larger than the blob): internal/fdtsafe, shared with the doctor.
func readFDT(blob []byte) (*dt.FDT, error) { return fdtsafe.Read(blob) }

// writeFDT serialises f, filling the header fields pkg/dt leaves to the caller.
func writeFDT(f *dt.FDT) ([]byte, error) {
	f.Header.Magic = dt.Magic
	f.Header.Version = 17
	f.Header.LastCompVersion = 16
	var b bytes.Buffer
	if _, err := f.Write(&b); err != nil {
		return nil, fmt.Errorf("writing devicetree blob: %w", err)
	}
	return b.Bytes(), nil
}

// stringList splits a string-list property (NUL-terminated strings back to back).
func stringList(p *dt.Property) []string {
	v := p.Value
	if len(v) == 0 {
		return nil
	}
	v = bytes.TrimSuffix(v, []byte{0})
	return strings.Split(string(v), "\x00")
}

// stringsValue encodes a string list.
func stringsValue(ss []string) []byte {
	var b []byte
	for _, s := range ss {
		b = append(b, s...)
		b = append(b, 0)
	}
	return b
}

// cells decodes a property as 32-bit cells.
func cells(p *dt.Property) ([]uint32, error) {
	if len(p.Value)%4 != 0 {
		return nil, fmt.Errorf("property %s: %d bytes is not a whole number of cells", p.Name, len(p.Value))
	}
	out := make([]uint32, len(p.Value)/4)
	for i := range out {
		out[i] = binary.BigEndian.Uint32(p.Value[4*i:])
	}
	return out, nil
}

// cellsValue encodes cells.
func cellsValue(cs []uint32) []byte {
	b := make([]byte, 4*len(cs))
	for i, c := range cs {
		binary.BigEndian.PutUint32(b[4*i:], c)
	}
	return b
}

// joinCells reads n cells as one number; more than 64 bits of value is an error.
func joinCells(cs []uint32) (uint64, error) {
	var v uint64
	for i, c := range cs {
		if i < len(cs)-2 && c != 0 {
			return 0, errors.New("value wider than 64 bits")
		}
		v = v<<32 | uint64(c)
	}
	return v, nil
}

// pairs decodes a property as (address, size) pairs with the given cell counts.
func pairs(p *dt.Property, ac, sc int) ([][2]uint64, error) {
	cs, err := cells(p)
	if err != nil {
		return nil, err
	}
	if ac < 1 || sc < 0 || len(cs)%(ac+sc) != 0 {
		return nil, fmt.Errorf("property %s: %d cells is not a whole number of <%d address + %d size> entries", p.Name, len(cs), ac, sc)
	}
	var out [][2]uint64
	for i := 0; i < len(cs); i += ac + sc {
		a, err := joinCells(cs[i : i+ac])
		if err != nil {
			return nil, fmt.Errorf("property %s: %w", p.Name, err)
		}
		s, err := joinCells(cs[i+ac : i+ac+sc])
		if err != nil {
			return nil, fmt.Errorf("property %s: %w", p.Name, err)
		}
		out = append(out, [2]uint64{a, s})
	}
	return out, nil
}

// u32Prop reads a one-cell property, def when absent.
func u32Prop(n *dt.Node, name string, def int) (int, error) {
	p, ok := n.LookProperty(name)
	if !ok {
		return def, nil
	}
	cs, err := cells(p)
	if err != nil || len(cs) != 1 {
		return 0, fmt.Errorf("%s: %s must be one cell", n.Name, name)
	}
	return int(cs[0]), nil
}

// findPath returns the node at an absolute path. A path component without a unit address
// matches a node with one when exactly one sibling has that base name, as dtc allows.
func findPath(root *dt.Node, path string) (*dt.Node, bool) {
	if path == "/" {
		return root, true
	}
	if !strings.HasPrefix(path, "/") {
		return nil, false
	}
	n := root
	for _, comp := range strings.Split(strings.Trim(path, "/"), "/") {
		if c, ok := n.LookupChildByName(comp); ok {
			n = c
			continue
		}
		var match *dt.Node
		for _, c := range n.Children {
			if !strings.Contains(comp, "@") && baseName(c.Name) == comp {
				if match != nil {
					return nil, false
				}
				match = c
			}
		}
		if match == nil {
			return nil, false
		}
		n = match
	}
	return n, true
}

// baseName is a node name without its unit address.
func baseName(name string) string {
	if i := strings.IndexByte(name, '@'); i >= 0 {
		return name[:i]
	}
	return name
}

// phandleOf returns a node's phandle, 0 when it has none.
func phandleOf(n *dt.Node) uint32 {
	for _, name := range []string{"phandle", "linux,phandle"} {
		if p, ok := n.LookProperty(name); ok {
			if cs, err := cells(p); err == nil && len(cs) == 1 {
				return cs[0]
			}
		}
	}
	return 0
}

// setProp replaces a property's value in place or appends the property (UpdateProperty
// does both).
func setProp(n *dt.Node, name string, value []byte) { n.UpdateProperty(name, value) }

// setProps is setProp for each property in turn, with one index of the node's properties
// instead of a scan per property (a /__symbols__ node can hold thousands).
func setProps(n *dt.Node, props []dt.Property) {
	at := make(map[string]int, len(n.Properties)+len(props))
	for i, p := range n.Properties {
		if _, dup := at[p.Name]; !dup {
			at[p.Name] = i // LookProperty finds the first
		}
	}
	for _, p := range props {
		if i, ok := at[p.Name]; ok {
			n.Properties[i].Value = p.Value
			continue
		}
		at[p.Name] = len(n.Properties)
		n.Properties = append(n.Properties, p)
	}
}

// walkPaths calls f for every node with its absolute path.
func walkPaths(n *dt.Node, path string, f func(n *dt.Node, path string)) {
	f(n, path)
	for _, c := range n.Children {
		cp := path + "/" + c.Name
		if path == "/" {
			cp = "/" + c.Name
		}
		walkPaths(c, cp, f)
	}
}
