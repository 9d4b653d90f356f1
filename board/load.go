package board

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/internal/escape"
	"github.com/dtheap/dtheap/internal/input"
	"github.com/dtheap/dtheap/internal/size"
	"github.com/dtheap/dtheap/kmodel"
)

// Options change how a board is loaded.
type Options struct {
	// Kconfig is the path of a kernel .config whose facts (version, page size, hugetlb, CMA
	// areas) replace the board's kernel section.
	Kconfig string
}

// IOError is a file that could not be read (exit status 2, unlike findings).
type IOError struct{ Err error }

func (e *IOError) Error() string { return e.Err.Error() }
func (e *IOError) Unwrap() error { return e.Err }

// maxExtends bounds the extends chain.
const maxExtends = 16

// Load reads a board file, resolves extends, checks the schema and decodes it. Findings (syntax,
// schema, format) come back as a diag.List; an unreadable file is an *IOError.
func Load(path string, opts Options) (*Board, diag.List, error) {
	root, files, findings, err := loadChain(path, nil)
	if err != nil {
		return nil, nil, err
	}
	if findings.Count(diag.Error) > 0 {
		findings.Sort()
		return nil, findings, nil
	}
	d := &decoder{}
	b := d.board(root)
	b.Files = files
	if opts.Kconfig != "" {
		if err := applyKconfig(b, opts.Kconfig, d); err != nil {
			return nil, nil, err
		}
	}
	findings = append(findings, d.errs...)
	findings.Sort()
	if findings.Count(diag.Error) > 0 {
		return nil, findings, nil
	}
	return b, findings, nil
}

// loadChain parses a file and every file it extends, merging them into one tree.
func loadChain(path string, stack []string) (*value, []string, diag.List, error) {
	what := "board file"
	if len(stack) > 0 {
		what = "extends: base file"
	}
	data, err := input.ReadFile(path, what, input.BoardLimit)
	if err != nil {
		if len(stack) > 0 && errors.Is(err, fs.ErrNotExist) {
			return nil, nil, nil, &IOError{fmt.Errorf("%s: extends %s: file not found", stack[len(stack)-1], path)}
		}
		return nil, nil, nil, &IOError{err}
	}
	tree, findings := parseYAML(path, data)
	if tree == nil || findings.Count(diag.Error) > 0 {
		return nil, []string{path}, findings, nil
	}
	if tree.kind != mapValue {
		return nil, []string{path}, diag.List{{Pos: tree.pos, Severity: diag.Error, Rule: "schema",
			Message: "a board file is a mapping (board:, arch:, memory:, pools: ...)"}}, nil
	}
	if fs := checkText(tree, ""); len(fs) > 0 {
		return nil, []string{path}, fs, nil
	}
	if fs := checkSchema(tree, tree.get("extends") != nil); len(fs) > 0 {
		return nil, []string{path}, fs, nil
	}
	ext := tree.get("extends")
	if ext == nil {
		return tree, []string{path}, nil, nil
	}
	basePath := filepath.Join(filepath.Dir(path), ext.text)
	abs, _ := filepath.Abs(basePath)
	for _, s := range append(stack, path) {
		if a, _ := filepath.Abs(s); a == abs {
			return nil, []string{path}, diag.List{{Pos: ext.pos, Severity: diag.Error, Rule: "extends",
				Message: fmt.Sprintf("extends %s makes a cycle (%s)", ext.text, strings.Join(append(stack, path, basePath), " -> ")),
				Hint:    "a base file must not extend the board that extends it"}}, nil
		}
	}
	if len(stack) >= maxExtends {
		return nil, []string{path}, diag.List{{Pos: ext.pos, Severity: diag.Error, Rule: "extends",
			Message: fmt.Sprintf("extends chain longer than %d files", maxExtends)}}, nil
	}
	if st, err := os.Stat(basePath); err != nil {
		return nil, []string{path}, diag.List{{Pos: ext.pos, Severity: diag.Error, Rule: "extends",
			Message: fmt.Sprintf("base file %s: %v", basePath, unwrapPathError(err)),
			Hint:    "extends: is relative to the file that says it"}}, nil
	} else if !st.Mode().IsRegular() {
		return nil, []string{path}, diag.List{{Pos: ext.pos, Severity: diag.Error, Rule: "extends",
			Message: fmt.Sprintf("base file %s is %s", basePath, input.Kind(st.Mode())),
			Hint:    "extends: names a board file (a regular file), relative to the file that says it"}}, nil
	}
	base, files, findings, err := loadChain(basePath, append(stack, path))
	if err != nil || findings.Count(diag.Error) > 0 {
		return nil, append([]string{path}, files...), findings, err
	}
	merged, mfind := mergeTrees(base, tree)
	if len(mfind) == 0 {
		// The file alone may lack top-level required keys its base supplies: check the merge.
		mfind = checkSchema(merged, false)
	}
	return merged, append([]string{path}, files...), mfind, nil
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// namedLists are merged entry by entry (matched by name) across extends.
var namedLists = map[string]string{"memory": "memory bank", "zones": "zone", "firmware": "firmware region", "memreserve": "memreserve entry", "pools": "pool"}

// mergeTrees lays child over base: scalars and unnamed lists replace, the kernel mapping merges
// key by key, named lists merge by entry name with explicit override:/delete:.
func mergeTrees(base, child *value) (*value, diag.List) {
	out := &value{kind: mapValue, pos: child.pos, fields: map[string]*value{}}
	var findings diag.List
	set := func(k string, v *value) {
		if _, ok := out.fields[k]; !ok {
			out.keys = append(out.keys, k)
		}
		out.fields[k] = v
	}
	for _, k := range base.keys {
		if k != "extends" {
			set(k, base.fields[k])
		}
	}
	for _, k := range child.keys {
		cv := child.fields[k]
		bv := out.fields[k]
		switch {
		case k == "extends":
			continue
		case bv == nil:
			set(k, stripMarkers(cv, &findings, namedLists[k]))
		case k == "kernel" && bv.kind == mapValue && cv.kind == mapValue:
			m := &value{kind: mapValue, pos: cv.pos, keyPos: cv.keyPos, fields: map[string]*value{}}
			for _, kk := range bv.keys {
				m.keys = append(m.keys, kk)
				m.fields[kk] = bv.fields[kk]
			}
			for _, kk := range cv.keys {
				if _, ok := m.fields[kk]; !ok {
					m.keys = append(m.keys, kk)
				}
				m.fields[kk] = cv.fields[kk]
			}
			set(k, m)
		case namedLists[k] != "" && bv.kind == listValue && cv.kind == listValue:
			set(k, mergeNamed(bv, cv, namedLists[k], &findings))
		default:
			set(k, cv)
		}
	}
	return out, findings
}

// stripMarkers refuses override:/delete: in entries that have nothing to override.
func stripMarkers(v *value, findings *diag.List, what string) *value {
	if what == "" || v.kind != listValue {
		return v
	}
	for _, it := range v.items {
		for _, m := range []string{"override", "delete"} {
			if mv := it.get(m); mv != nil {
				*findings = append(*findings, diag.Finding{Pos: mv.keyPos, Severity: diag.Error, Rule: "extends",
					Message: fmt.Sprintf("%s %q says %s: but no base file defines it", what, it.get("name").text, m),
					Hint:    "remove " + m + ": or check the name against the base file"})
			}
		}
	}
	return v
}

func mergeNamed(base, child *value, what string, findings *diag.List) *value {
	out := &value{kind: listValue, pos: child.pos, keyPos: child.keyPos}
	out.items = append(out.items, base.items...)
	index := func(name string) int {
		for i, it := range out.items {
			if n := it.get("name"); n != nil && n.text == name {
				return i
			}
		}
		return -1
	}
	for _, it := range child.items {
		name := it.get("name")
		if name == nil {
			out.items = append(out.items, it)
			continue
		}
		i := index(name.text)
		ov, del := it.get("override"), it.get("delete")
		switch {
		case i < 0 && (ov != nil || del != nil):
			m := ov
			if m == nil {
				m = del
			}
			*findings = append(*findings, diag.Finding{Pos: m.keyPos, Severity: diag.Error, Rule: "extends",
				Message: fmt.Sprintf("%s %q is marked %s but the base file has no entry of that name", what, name.text, map[bool]string{true: "override:", false: "delete:"}[ov != nil]),
				Hint:    "check the name against the base file"})
		case i < 0:
			out.items = append(out.items, it)
		case del != nil && del.text == "true":
			out.items = append(out.items[:i:i], out.items[i+1:]...)
		case ov != nil && ov.text == "true":
			merged := &value{kind: mapValue, pos: it.pos, fields: map[string]*value{}}
			bv := out.items[i]
			for _, k := range bv.keys {
				merged.keys = append(merged.keys, k)
				merged.fields[k] = bv.fields[k]
			}
			for _, k := range it.keys {
				if k == "override" {
					continue
				}
				if _, ok := merged.fields[k]; !ok {
					merged.keys = append(merged.keys, k)
				}
				merged.fields[k] = it.fields[k]
			}
			out.items[i] = merged
		default:
			prev := out.items[i].get("name")
			*findings = append(*findings, diag.Finding{Pos: name.pos, Severity: diag.Error, Rule: "extends",
				Message: fmt.Sprintf("%s %q is already defined in %s", what, name.text, prev.pos),
				Hint:    "add override: true to change the base's entry (only the keys given here are replaced), or delete: true to drop it",
				Related: []diag.Pos{prev.pos}})
		}
	}
	return out
}

// decoder turns a merged tree into a Board, collecting format errors.
type decoder struct {
	errs         diag.List
	addressCells int
}

// span refuses a region [base, base+size) that does not fit the address space: past 2^64 the
// end wraps (a pool at 0xffffffffff000000 of 32 MiB "ended" at 0x1000000 and validated clean),
// and with one address cell nothing above 4 GiB can be written in the devicetree.
func (d *decoder) span(pos diag.Pos, what string, base, size uint64) {
	switch {
	case size > math.MaxUint64-base:
		d.errs = append(d.errs, diag.Finding{Pos: pos, Severity: diag.Error, Rule: "cells",
			Message: fmt.Sprintf("%s at 0x%x of size 0x%x ends past the 64-bit address space (the end wraps around)", what, base, size),
			Hint:    "check base and size: the region must end at or below 0xffffffffffffffff"})
	case d.addressCells == 1 && base+size > 1<<32:
		d.errs = append(d.errs, diag.Finding{Pos: pos, Severity: diag.Error, Rule: "cells",
			Message: fmt.Sprintf("%s at 0x%x of size 0x%x ends at 0x%x, past the 4 GiB that one address cell can reach", what, base, size, base+size),
			Hint:    "set address-cells: 2 (and size-cells: 2) at the top of the board, or fix base and size"})
	}
}

func (d *decoder) errorf(pos diag.Pos, hint, format string, args ...any) {
	d.errs = append(d.errs, diag.Finding{Pos: pos, Severity: diag.Error, Rule: "schema",
		Message: fmt.Sprintf(format, args...), Hint: hint})
}

func (d *decoder) str(v *value) string {
	if v == nil {
		return ""
	}
	return v.text
}

func (d *decoder) boolean(v *value, def bool) bool {
	if v == nil {
		return def
	}
	return v.text == "true"
}

func (d *decoder) integer(v *value, def int) int {
	if v == nil {
		return def
	}
	n, ok := parseYAMLInt(v.text)
	if !ok || n > 1<<30 {
		d.errorf(v.pos, "", "not a small integer: %q", v.text)
		return def
	}
	return int(n)
}

// size reads a size or address; what names the field for the message.
func (d *decoder) size(v *value, what string) (uint64, bool) {
	if v == nil {
		return 0, false
	}
	if v.tag == "!!int" {
		if n, ok := parseYAMLInt(v.text); ok {
			return n, true
		}
	}
	n, err := size.Parse(v.text)
	if err != nil {
		d.errorf(v.pos, "", "%s: %v", what, err)
		return 0, false
	}
	return n, true
}

func (d *decoder) need(entry *value, key, what string) *value {
	v := entry.get(key)
	if v == nil {
		name := d.str(entry.get("name"))
		d.errorf(entry.pos, "", "%s %q has no %s", what, name, key)
	}
	return v
}

func fieldPositions(v *value) map[string]diag.Pos {
	m := make(map[string]diag.Pos, len(v.keys))
	for _, k := range v.keys {
		m[k] = v.fields[k].pos
	}
	return m
}

var labelUnsafe = regexp.MustCompile(`[^A-Za-z0-9_]`)

// DefaultLabel derives a devicetree label from a region name.
func DefaultLabel(name string) string {
	l := labelUnsafe.ReplaceAllString(name, "_")
	if l == "" || (l[0] >= '0' && l[0] <= '9') {
		l = "_" + l
	}
	return l
}

func (d *decoder) board(root *value) *Board {
	b := &Board{Pos: map[string]diag.Pos{}}
	for _, k := range root.keys {
		b.Pos[k] = root.fields[k].pos
	}
	b.Name = d.str(root.get("board"))
	b.Description = d.str(root.get("description"))
	b.Arch = d.str(root.get("arch"))
	defCells := 2
	if b.Arch == "arm" {
		defCells = 1
	}
	b.AddressCells = d.integer(root.get("address-cells"), defCells)
	d.addressCells = b.AddressCells
	b.SizeCells = d.integer(root.get("size-cells"), defCells)
	b.Kernel = d.kernel(root.get("kernel"))
	if a := kmodel.ArchFor(b.Arch); a != nil && !a.SupportsPageSize(b.Kernel.PageSize) {
		// riscv64 builds with 4 KiB pages only (kmodel.Arch.PageSizes): a 16 KiB or 64 KiB
		// riscv64 board predicts a CMA alignment no such kernel has.
		if ps := root.get("kernel").get("page-size"); ps != nil {
			var sizes []string
			for _, s := range a.PageSizes {
				sizes = append(sizes, fmt.Sprintf("%dKiB", s>>10))
			}
			d.errorf(ps.pos, "write page-size: "+strings.Join(sizes, " or "), "page-size %s: %s kernels build with %s pages only", size.Human(b.Kernel.PageSize), a.Name, strings.Join(sizes, " or "))
		}
	}

	if mem := root.get("memory"); mem != nil {
		b.MemoryUnknown = mem.kind != listValue // the schema allows only the string unknown
		for _, it := range mem.items {
			bk := Bank{Name: d.str(it.get("name")), Pos: it.pos, Fields: fieldPositions(it)}
			bk.Base, _ = d.size(d.need(it, "base", "memory bank"), "base")
			bk.Size, _ = d.size(d.need(it, "size", "memory bank"), "size")
			d.span(bk.Field("size"), "memory bank "+escape.Quote(bk.Name), bk.Base, bk.Size)
			b.Memory = append(b.Memory, bk)
		}
	}
	if zs := root.get("zones"); zs != nil {
		for _, it := range zs.items {
			z := Zone{Name: d.str(it.get("name")), Pos: it.pos, Fields: fieldPositions(it)}
			z.Limit, _ = d.size(d.need(it, "limit", "zone"), "limit")
			b.Zones = append(b.Zones, z)
		}
	} else if b.Arch == "arm64" || b.Arch == "riscv64" {
		// ZONE_DMA32 ends at 4 GiB on these architectures whenever RAM reaches past it.
		b.Zones = []Zone{{Name: "dma32", Limit: 4 << 30, Default: true, Pos: root.pos}}
	}
	if fw := root.get("firmware"); fw != nil {
		for _, it := range fw.items {
			f := Firmware{Name: d.str(it.get("name")), Pos: it.pos, Fields: fieldPositions(it)}
			f.Label = d.str(it.get("label"))
			if f.Label == "" {
				f.Label = DefaultLabel(f.Name)
			}
			f.Base, _ = d.size(d.need(it, "base", "firmware region"), "base")
			f.Size, _ = d.size(d.need(it, "size", "firmware region"), "size")
			d.span(f.Field("size"), "firmware region "+escape.Quote(f.Name), f.Base, f.Size)
			// An inserted region is not emitted unless the board says so, which is an error. On
			// riscv64 a region named as OpenSBI names the nodes it inserts is one by default.
			ev := it.get("emit")
			emitTrue := ev != nil && d.boolean(ev, true)
			f.Inserted = d.boolean(it.get("inserted"), b.Arch == "riscv64" && !emitTrue && OpenSBINode(f.Name))
			f.Emit = emitTrue || (ev == nil && !f.Inserted)
			if f.Inserted && f.Emit {
				d.errorf(f.Field("emit"), "set emit: false: firmware writes the node, dtheap must not write it again",
					"firmware region %s is inserted by firmware at boot and also emitted by dtheap", escape.Quote(f.Name))
			}
			f.Silence = d.strings(it.get("silence"))
			b.Firmware = append(b.Firmware, f)
		}
	}
	if mr := root.get("memreserve"); mr != nil {
		for _, it := range mr.items {
			m := Memreserve{Name: d.str(it.get("name")), Pos: it.pos, Fields: fieldPositions(it)}
			m.Base, _ = d.size(d.need(it, "base", "memreserve entry"), "base")
			m.Size, _ = d.size(d.need(it, "size", "memreserve entry"), "size")
			d.span(m.Field("size"), "memreserve entry "+escape.Quote(m.Name), m.Base, m.Size)
			m.Silence = d.strings(it.get("silence"))
			b.Memreserve = append(b.Memreserve, m)
		}
	}
	if ps := root.get("pools"); ps != nil {
		for _, it := range ps.items {
			b.Pools = append(b.Pools, d.pool(it))
		}
	}
	return b
}

func (d *decoder) strings(v *value) []string {
	if v == nil {
		return nil
	}
	var out []string
	for _, it := range v.items {
		out = append(out, it.text)
	}
	return out
}

func (d *decoder) pool(it *value) Pool {
	p := Pool{Name: d.str(it.get("name")), Pos: it.pos, Fields: fieldPositions(it)}
	p.Label = d.str(it.get("label"))
	if p.Label == "" {
		p.Label = DefaultLabel(p.Name)
	}
	if k := d.need(it, "kind", "pool"); k != nil {
		p.Kind = k.text
	}
	p.Default = d.boolean(it.get("default"), false)
	if bv := it.get("base"); bv != nil {
		p.Base, p.Fixed = d.size(bv, "base")
		p.Fixed = true
	}
	p.Size, _ = d.size(d.need(it, "size", "pool"), "size")
	if p.Fixed {
		d.span(p.Field("size"), "pool "+escape.Quote(p.Name), p.Base, p.Size)
	}
	p.Alignment, _ = d.size(it.get("alignment"), "alignment")
	if ar := it.get("alloc-ranges"); ar != nil {
		for _, r := range ar.items {
			rb, _ := d.size(r.get("base"), "alloc-ranges base")
			rs, _ := d.size(r.get("size"), "alloc-ranges size")
			p.AllocRanges = append(p.AllocRanges, Range{Base: rb, Size: rs, Pos: r.pos})
			d.span(r.pos, "alloc-ranges entry of pool "+escape.Quote(p.Name), rb, rs)
		}
	}
	p.Heap = d.str(it.get("heap"))
	p.Mapping = d.str(it.get("mapping"))
	p.Compatible = d.str(it.get("compatible"))
	// A cached carveout must stay in the linear map: arm64's DMA cache maintenance works
	// through phys_to_virt() (arch_sync_dma_for_device, arch/arm64/mm/dma-mapping.c) and
	// map_mem() (arch/arm64/mm/mmu.c) leaves no-map memory out of that map. Write-combined and
	// unmapped pools stay no-map, so that no cacheable alias of them exists.
	p.NoMap = p.Kind != "cma" && !(p.Kind == "carveout" && p.Mapping != "writecombine")
	if nm := it.get("no-map"); nm != nil {
		switch p.Kind {
		case "reserved":
			p.NoMap = d.boolean(nm, true)
		case "cma":
			// no-map together with reusable is a devicetree a kernel may meet (imported, or
			// inserted by firmware); what each kernel does with it is rule nomap-reusable's.
			p.NoMap = d.boolean(nm, false)
		default:
			d.errorf(nm.keyPos, "only kind: reserved pools choose; cma and cached carveout pools are mapped, write-combined carveout and unmapped pools are no-map", "no-map: is not allowed on a %s pool", p.Kind)
		}
	}
	if p.Compatible != "" && p.Kind != "reserved" {
		d.errorf(p.Fields["compatible"], "remove it: dtheap writes the compatible that kind: implies", "compatible: is only for kind: reserved pools")
	}
	if devs := it.get("devices"); devs != nil {
		for _, dv := range devs.items {
			dev := Device{Node: dv.text, Pos: dv.pos}
			if dv.kind == mapValue {
				dev = Device{Node: d.str(dv.get("node")), DMABits: d.integer(dv.get("dma-bits"), 0), Pos: dv.pos}
			}
			if strings.HasPrefix(dev.Node, "/") {
				// The path is written as &{/path} in DTS, where nothing can be escaped.
				pos := dev.Pos
				if nv := dv.get("node"); nv != nil {
					pos = nv.pos
				}
				if err := escape.CheckPath(dev.Node); err != nil {
					d.errorf(pos, "write the device's full node path, e.g. /soc/gpu@38000000, or &label", "device %v", err)
				}
			}
			p.Devices = append(p.Devices, dev)
		}
	}
	p.Access = d.access(it.get("access"))
	if al := it.get("aliases"); al != nil {
		for _, a := range al.items {
			p.Aliases = append(p.Aliases, Alias{Name: a.text, Pos: a.pos})
		}
	}
	p.Silence = d.strings(it.get("silence"))
	return p
}

// modeRE is a mode as chmod reads it: three octal digits, optionally after a 0. The
// set-id and sticky bits mean nothing on a device node, so a fourth digit is refused.
var modeRE = regexp.MustCompile(`^0?[0-7]{3}$`)

// access decodes a pool's access: mapping. The mode is read from the text as written, as octal
// digits, so unquoted 0660 (which YAML reads as the integer 432) and "0660" mean the same.
func (d *decoder) access(v *value) *Access {
	if v == nil {
		return nil
	}
	a := &Access{Pos: v.pos}
	if g := v.get("group"); g != nil {
		a.Group, a.GroupPos = g.text, g.pos
	}
	if m := v.get("mode"); m != nil {
		a.ModePos = m.pos
		if !modeRE.MatchString(m.text) {
			d.errorf(m.pos, `write it in octal as chmod reads it, e.g. mode: "0660"`, "access mode %q is not a file mode (three octal digits, optionally after a 0)", m.text)
		} else {
			n, _ := strconv.ParseUint(m.text, 8, 32)
			a.Mode, a.ModeSet = uint32(n), true
		}
	}
	return a
}

// DefaultVersion is the kernel version of a board that names none. The other kernel facts
// default to a 4 KiB-page kernel without huge pages and with the version's CMA_AREAS default.
const DefaultVersion = "6.1"

func (d *decoder) kernel(v *value) Kernel {
	k := Kernel{Version: DefaultVersion, PageSize: 4096, PageblockOrder: -1, CMA: true, Pos: map[string]diag.Pos{}}
	if v == nil {
		return k
	}
	k.From = v.pos.File
	for _, key := range v.keys {
		k.Pos[key] = v.fields[key].pos
	}
	if s := v.get("version"); s != nil {
		k.Version = s.text
	}
	if ps := v.get("page-size"); ps != nil {
		if n, ok := d.size(ps, "page-size"); ok {
			if n != 4<<10 && n != 16<<10 && n != 64<<10 {
				d.errorf(ps.pos, "write 4KiB, 16KiB or 64KiB", "page-size %s is not one Linux supports", size.Human(n))
			} else {
				k.PageSize = n
			}
		}
	}
	k.Hugetlb = d.boolean(v.get("hugetlb"), false)
	k.THP = d.boolean(v.get("thp"), false)
	k.NUMA = d.boolean(v.get("numa"), false)
	k.PageblockOrder = d.integer(v.get("pageblock-order"), -1)
	k.CMAAreas = d.integer(v.get("cma-areas"), 0)
	k.CMA = d.boolean(v.get("cma"), true)
	k.Cmdline = d.str(v.get("cmdline"))
	return k
}
