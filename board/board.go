// Package board loads a board file: YAML with a position for every value, checked against the
// board JSON Schema, with `extends:` resolved into one typed Board. It knows the format, not
// the kernel's rules: those live in package validate, placement in package plan.
package board

import (
	"strings"

	"github.com/dtheap/dtheap/diag"
)

// Board is a loaded, merged board description.
type Board struct {
	Name         string
	Description  string
	Arch         string
	AddressCells int
	SizeCells    int
	Kernel       Kernel
	Memory       []Bank
	// MemoryUnknown is memory: unknown, a board whose DRAM the boot loader decides (an
	// imported devicetree that leaves /memory's size empty): Memory is empty.
	MemoryUnknown bool
	Zones         []Zone
	Firmware      []Firmware
	// Memreserve are the /memreserve/ entries (the blob's memory reservation block), in
	// board order, which is the order they are written in.
	Memreserve []Memreserve
	Pools      []Pool
	// Files lists the board file first, then each file it extends.
	Files []string
	// Pos holds the position of each top-level key's value ("board", "arch", ...).
	Pos map[string]diag.Pos
}

// Kernel holds the kernel facts that change the rules.
type Kernel struct {
	Version        string // "6.1"
	PageSize       uint64
	Hugetlb        bool
	THP            bool // CONFIG_TRANSPARENT_HUGEPAGE: lowers the pageblock order from 6.12 on
	NUMA           bool // CONFIG_NUMA: raises the CMA_AREAS default
	PageblockOrder int  // -1: derive from page size, hugetlb and THP
	// MaxOrder is CONFIG_ARCH_FORCE_MAX_ORDER as a .config writes it (package kmodel knows
	// what it means for each version); 0: the architecture's default.
	MaxOrder int
	// PageBlockMaxOrder is CONFIG_PAGE_BLOCK_MAX_ORDER (7.3); 0: its default.
	PageBlockMaxOrder int
	// CMAAreas is CONFIG_CMA_AREAS; 0: the kernel version's default (package kmodel).
	CMAAreas int
	CMA      bool // CONFIG_CMA (and DMA_CMA)
	Cmdline  string
	// From names where the facts came from: the board file or a kernel .config.
	From string
	Pos  map[string]diag.Pos
}

// Bank is a DRAM bank.
type Bank struct {
	Name       string
	Base, Size uint64
	Pos        diag.Pos
	Fields     map[string]diag.Pos
}

// Zone is a memory zone limit.
type Zone struct {
	Name    string
	Limit   uint64
	Default bool // not written in the board: the architecture's default
	Pos     diag.Pos
	Fields  map[string]diag.Pos
}

// Firmware is a region owned by firmware or the boot loader.
type Firmware struct {
	Name       string
	Label      string
	Base, Size uint64
	Emit       bool
	// Inserted: firmware (OpenSBI, U-Boot, TF-A) adds this region's node to /reserved-memory
	// before Linux starts, so the kernel's scan sees it although dtheap does not write it.
	// libfdt's fdt_add_subnode() makes each added node the first child: inserted regions come
	// before dtheap's nodes, in board order (the order of the tree Linux gets).
	Inserted bool
	Silence  []string
	Pos      diag.Pos
	Fields   map[string]diag.Pos
}

// OpenSBINode reports whether name is one OpenSBI gives the /reserved-memory nodes it inserts for
// the memory its PMP protects: mmode_resv<N> (mmode_pmp<N> before v1.0; lib/utils/fdt/fdt_fixup.c
// fdt_reserved_memory_fixup()), N counting from 0. Board names carry no unit address.
func OpenSBINode(name string) bool {
	for _, prefix := range []string{"mmode_resv", "mmode_pmp"} {
		if n, ok := strings.CutPrefix(name, prefix); ok && n != "" && strings.Trim(n, "0123456789") == "" {
			return true
		}
	}
	return false
}

// Memreserve is one /memreserve/ entry: memory the boot loader keeps, which the kernel reserves
// with plain memblock_reserve (in the linear map, not no-map) before or after placing the
// dynamic pools, depending on its version (kmodel.Model.MemreserveFirst).
type Memreserve struct {
	Name       string
	Base, Size uint64
	Silence    []string
	Pos        diag.Pos
	Fields     map[string]diag.Pos
}

// Field returns the position of a field if it was written, else the entry's position.
func (m *Memreserve) Field(name string) diag.Pos { return field(m.Fields, name, m.Pos) }

// Range is an alloc-ranges entry.
type Range struct {
	Base, Size uint64
	Pos        diag.Pos
}

// Device is a consumer of a pool.
type Device struct {
	Node    string // "&label" or "/path"
	DMABits int    // 0: unknown
	Pos     diag.Pos
}

// Pool is a reserved-memory pool.
type Pool struct {
	Name        string
	Label       string
	Kind        string // cma, carveout, unmapped, reserved
	Default     bool
	Fixed       bool
	Base, Size  uint64
	Alignment   uint64
	AllocRanges []Range
	Heap        string
	Mapping     string // cached, writecombine ("" = not given)
	Compatible  string // reserved pools only
	NoMap       bool   // reserved pools: default true; unmapped and write-combined carveouts always; cma and cached carveouts never
	Devices     []Device
	// Access is who may open the pool's heap (access:), nil when the board does not say.
	Access *Access
	// Aliases are more names for the pool's heap (aliases:), symbolic links in /dev/dma_heap.
	Aliases []Alias
	Silence []string
	Pos     diag.Pos
	Fields  map[string]diag.Pos
}

// Access is a pool's access: mapping: the group and mode of its heap's device node.
type Access struct {
	Group    string   // "" = not given (root)
	Mode     uint32   // permission bits, valid when ModeSet
	ModeSet  bool     // mode: was written
	Pos      diag.Pos // the access: mapping
	GroupPos diag.Pos
	ModePos  diag.Pos
}

// Alias is one entry of a pool's aliases: list.
type Alias struct {
	Name string
	Pos  diag.Pos
}

// Field returns the position of a field if it was written, else the entry's position.
func (p *Pool) Field(name string) diag.Pos { return field(p.Fields, name, p.Pos) }

// Field returns the position of a field if it was written, else the entry's position.
func (f *Firmware) Field(name string) diag.Pos { return field(f.Fields, name, f.Pos) }

// Field returns the position of a field if it was written, else the entry's position.
func (b *Bank) Field(name string) diag.Pos { return field(b.Fields, name, b.Pos) }

func field(m map[string]diag.Pos, name string, def diag.Pos) diag.Pos {
	if p, ok := m[name]; ok {
		return p
	}
	return def
}
