// Package dtbind is dtheap's devicetree boundary: it writes a plan as devicetree (a .dtsi
// fragment, an overlay, or a patch to an existing .dtb) and reads an existing tree back into a
// board description (import).
//
// Every output is built from one model (model.go), so the text and binary forms cannot drift
// apart. Workarounds for u-root's pkg/dt live in fdt.go and nowhere else.
package dtbind
