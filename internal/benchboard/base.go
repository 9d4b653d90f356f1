package benchboard

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/u-root/u-root/pkg/dt"

	"github.com/dtheap/dtheap/plan"
)

// BaseDTB returns a flattened devicetree that a plan can be patched into (dtbind.Patch):
// root cells and memory nodes as the plan says, and one node per consumer device, with a
// phandle and a label in /__symbols__ as dtc -@ gives it. It stands in for the board's real
// tree, which a synthetic board does not have; only &label device references are supported.
func BaseDTB(p *plan.Plan) ([]byte, error) {
	root := dt.NewNode("", dt.WithProperty(
		dt.PropertyU32("#address-cells", uint32(p.AddressCells)),
		dt.PropertyU32("#size-cells", uint32(p.SizeCells)),
		dt.PropertyString("compatible", "dtheap,synthetic"),
		dt.PropertyString("model", p.Board),
	))
	root.Children = append(root.Children, dt.NewNode("chosen"))
	for _, m := range p.Memory {
		reg, err := regValue(m.Base, m.Size, p.AddressCells, p.SizeCells)
		if err != nil {
			return nil, fmt.Errorf("memory %s: %w", m.Name, err)
		}
		root.Children = append(root.Children, dt.NewNode(fmt.Sprintf("memory@%x", m.Base), dt.WithProperty(
			dt.PropertyString("device_type", "memory"),
			dt.Property{Name: "reg", Value: reg},
		)))
	}
	symbols := dt.NewNode("__symbols__")
	for i, d := range p.Devices {
		label, ok := strings.CutPrefix(d.Ref, "&")
		if !ok {
			return nil, fmt.Errorf("device %s: only &label devices are supported", d.Ref)
		}
		name := strings.ReplaceAll(label, "_", "-")
		// dtc -@ gives every labelled node a phandle, in source order.
		root.Children = append(root.Children, dt.NewNode(name, dt.WithProperty(
			dt.PropertyString("compatible", "dtheap,synthetic-device"),
			dt.PropertyU32("phandle", uint32(i+1)),
		)))
		symbols.Properties = append(symbols.Properties, dt.PropertyString(label, "/"+name))
	}
	root.Children = append(root.Children, symbols)
	f := &dt.FDT{RootNode: root}
	// pkg/dt leaves the header's identity to the caller (see dtbind/fdt.go).
	f.Header.Magic, f.Header.Version, f.Header.LastCompVersion = dt.Magic, 17, 16
	var b bytes.Buffer
	if _, err := f.Write(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// regValue encodes one (address, size) pair in the given cell counts (1 or 2 each).
func regValue(base, size uint64, ac, sc int) ([]byte, error) {
	var out []byte
	for _, f := range []struct {
		v     uint64
		cells int
	}{{base, ac}, {size, sc}} {
		switch {
		case f.cells == 2:
			out = binary.BigEndian.AppendUint64(out, f.v)
		case f.cells == 1 && f.v <= 0xffffffff:
			out = binary.BigEndian.AppendUint32(out, uint32(f.v))
		default:
			return nil, fmt.Errorf("0x%x does not fit in %d cell(s)", f.v, f.cells)
		}
	}
	return out, nil
}

// BaseDTS is BaseDTB as devicetree source, labels included, for tools that compile the
// same tree themselves (bench/dtc.sh compiles it with dtc -@ so that both dtheap dtb and dtc
// start from one base).
func BaseDTS(p *plan.Plan) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "/dts-v1/;\n\n/ {\n\t#address-cells = <%d>;\n\t#size-cells = <%d>;\n", p.AddressCells, p.SizeCells)
	fmt.Fprintf(&b, "\tcompatible = \"dtheap,synthetic\";\n\tmodel = %q;\n\n\tchosen {\n\t};\n", p.Board)
	for _, m := range p.Memory {
		reg, err := regValue(m.Base, m.Size, p.AddressCells, p.SizeCells)
		if err != nil {
			return "", fmt.Errorf("memory %s: %w", m.Name, err)
		}
		fmt.Fprintf(&b, "\n\tmemory@%x {\n\t\tdevice_type = \"memory\";\n\t\treg = <%s>;\n\t};\n", m.Base, cellsText(reg))
	}
	for _, d := range p.Devices {
		label, ok := strings.CutPrefix(d.Ref, "&")
		if !ok {
			return "", fmt.Errorf("device %s: only &label devices are supported", d.Ref)
		}
		fmt.Fprintf(&b, "\n\t%s: %s {\n\t\tcompatible = \"dtheap,synthetic-device\";\n\t};\n", label, strings.ReplaceAll(label, "_", "-"))
	}
	b.WriteString("};\n")
	return b.String(), nil
}

// cellsText prints big-endian 32-bit cells as DTS does: 0x.. separated by spaces.
func cellsText(v []byte) string {
	var cs []string
	for i := 0; i+4 <= len(v); i += 4 {
		cs = append(cs, fmt.Sprintf("0x%x", binary.BigEndian.Uint32(v[i:])))
	}
	return strings.Join(cs, " ")
}
