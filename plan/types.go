package plan

import (
	"fmt"

	"github.com/dtheap/dtheap/board"
	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/kmodel"
)

// Kind says what a region is and so how the kernel treats it.
type Kind string

// Region kinds. Firmware regions belong to firmware or the boot loader; the others are pools.
const (
	KindFirmware Kind = "firmware" // owned by firmware (TF-A, OP-TEE, boot window): no-map or only checked
	KindCMA      Kind = "cma"      // reusable shared-dma-pool: a CMA area
	KindCarveout Kind = "carveout" // CPU-mappable heap memory: no-map if write-combined, in the linear map if cached
	KindUnmapped Kind = "unmapped" // no-map, never CPU-mapped (secure, firewalled)
	KindReserved Kind = "reserved" // plain reservation, no heap
)

// Memreserve is one /memreserve/ entry (the blob's memory reservation block) as the kernel
// reads it: early_init_fdt_scan_reserved_mem() (drivers/of/fdt.c) memblock_reserve()s each,
// in the linear map, never no-map, before the dynamic regions are placed on 6.1 and after on
// 6.12 and 7.3 (kmodel.Model.MemreserveFirst).
type Memreserve struct {
	Name string `json:"name"`
	Range
	// Ignored: the kernel never reads it, because it or an entry before it has size 0 (the
	// loop stops there: if (!size) break;).
	Ignored bool `json:"ignored,omitempty"`
	// First: reserved before the dynamic regions are placed (6.1), so none lands on it.
	First    bool     `json:"reserved_before_placement"`
	Pos      diag.Pos `json:"-"`
	Silenced []string `json:"-"`
	// Entry is the board entry it was made from.
	Entry *board.Memreserve `json:"-"`
}

// Field returns the position of one of the entry's fields in the board.
func (m *Memreserve) Field(name string) diag.Pos {
	if m.Entry != nil {
		return m.Entry.Field(name)
	}
	return m.Pos
}

// Silences reports whether the entry's board entry silences the rule (silence:).
func (m *Memreserve) Silences(rule string) bool {
	for _, id := range m.Silenced {
		if id == rule {
			return true
		}
	}
	return false
}

// Mapping says how user space maps a heap's buffers.
type Mapping string

// Heap mappings.
const (
	MapCached       Mapping = "cached"
	MapWriteCombine Mapping = "writecombine"
	MapNone         Mapping = "none" // unmapped heaps
)

// Range is a span of physical addresses [Base, Base+Size).
type Range struct {
	Base uint64 `json:"base"`
	Size uint64 `json:"size"`
}

// End is the first address after the range (saturating at 2^64-1 so overflow never wraps).
func (r Range) End() uint64 {
	if r.Base+r.Size < r.Base {
		return ^uint64(0)
	}
	return r.Base + r.Size
}

// Contains reports whether o lies entirely inside r.
func (r Range) Contains(o Range) bool { return o.Base >= r.Base && o.End() <= r.End() }

// Overlaps reports whether the two ranges share at least one byte.
func (r Range) Overlaps(o Range) bool {
	return r.Size > 0 && o.Size > 0 && r.Base < o.End() && o.Base < r.End()
}

// Plan is the single resolved model of a board: every region with its final (or predicted)
// address, the heaps, and the facts the emitters need. Emitters and the boot check read only
// this, never the YAML.
type Plan struct {
	Board        string   `json:"board"`
	Description  string   `json:"description,omitempty"`
	Files        []string `json:"files"` // the board file, then the files it extends
	Arch         string   `json:"arch"`
	AddressCells int      `json:"address_cells"`
	SizeCells    int      `json:"size_cells"`
	Kernel       Kernel   `json:"kernel"`
	Memory       []Bank   `json:"memory"`
	// MemoryUnknown: the board says memory: unknown; no dynamic pool is placed.
	MemoryUnknown bool      `json:"memory_unknown,omitempty"`
	Zones         []Zone    `json:"zones,omitempty"`
	Regions       []*Region `json:"regions"` // firmware then pools, in file order (DT order)
	// Memreserve are the /memreserve/ entries, in board (blob) order.
	Memreserve []*Memreserve `json:"memreserve,omitempty"`
	Heaps      []*Heap       `json:"heaps"`
	// Devices lists each consumer device with the pools it gets, in first-mention order.
	Devices []*Device `json:"devices,omitempty"`
	// AllocOrder is the order in which the kernel allocates the dynamic regions (names).
	AllocOrder []string `json:"alloc_order,omitempty"`
	// Free lists the holes left in DRAM after every region is placed.
	Free []Range `json:"free"`
	// Findings are the validation results (also attached to the regions they concern).
	Findings diag.List `json:"-"`
	// Model is the kernel model the plan was made with (KModel fills it in for a plan built
	// by hand).
	Model *kmodel.Model `json:"-"`
	// initOrder is the order in which the kernel runs the regions' init functions (and so
	// hands out CMA slots): the dynamic regions in allocation order, then the fixed ones.
	initOrder []*Region
}

// Kernel holds the kernel facts that change the rules.
type Kernel struct {
	Version string `json:"version"`
	// Model is the proven kernel model used for this version (package kmodel), ModelNote why
	// when it is not the version itself.
	Model          string `json:"model"`
	ModelNote      string `json:"model_note,omitempty"`
	PageSize       uint64 `json:"page_size"`
	Hugetlb        bool   `json:"hugetlb"`
	THP            bool   `json:"thp,omitempty"`
	NUMA           bool   `json:"numa,omitempty"`
	PageblockOrder int    `json:"pageblock_order"`
	CMAAlignment   uint64 `json:"cma_alignment"` // PAGE_SIZE << pageblock_order
	CMAAreas       int    `json:"cma_areas"`     // CONFIG_CMA_AREAS
	CMASlots       int    `json:"cma_slots"`     // MAX_CMA_AREAS for this version
	CMAEnabled     bool   `json:"cma_enabled"`   // CONFIG_CMA and DMA_CMA
	Cmdline        string `json:"cmdline,omitempty"`
	// DefaultCMAHeap is the name the kernel gives the heap over the default CMA area, "" if
	// this kernel (or board) has none.
	DefaultCMAHeap string `json:"default_cma_heap,omitempty"`
	// OwnHeaps are the names of every CMA heap the kernel registers itself, those over the
	// area cma= makes included (which no pool describes).
	OwnHeaps []string `json:"own_heaps,omitempty"`
}

// Bank is one DRAM bank.
type Bank struct {
	Name string `json:"name"`
	Range
}

// Zone is a memory zone limit (a CMA area must not span one).
type Zone struct {
	Name  string `json:"name"`
	Limit uint64 `json:"limit"`
}

// Region is one /reserved-memory child (or a firmware region only checked against).
type Region struct {
	Name  string `json:"name"`
	Node  string `json:"node"`  // DT node name: name@base for fixed regions, name for dynamic
	Label string `json:"label"` // DT label
	Kind  Kind   `json:"kind"`
	Emit  bool   `json:"emit"` // written into /reserved-memory
	// Inserted: a firmware region whose node firmware adds to /reserved-memory at boot, ahead
	// of dtheap's (board.Firmware.Inserted): in the kernel's scan, not written by dtheap.
	Inserted bool   `json:"inserted,omitempty"`
	NoMap    bool   `json:"no_map"`
	Reuse    bool   `json:"reusable"`
	Compat   string `json:"compatible,omitempty"`
	// DefaultCMA marks the kernel's default CMA area (linux,cma-default).
	DefaultCMA bool `json:"default_cma,omitempty"`

	Fixed bool `json:"fixed"`
	Range
	Alignment   uint64  `json:"alignment,omitempty"` // as written in the board
	AllocRanges []Range `json:"alloc_ranges,omitempty"`
	// EffectiveAlign is the alignment the kernel really uses (raised for CMA).
	EffectiveAlign uint64 `json:"effective_alignment,omitempty"`
	// Placed is false for a dynamic region the kernel cannot place; Base is then 0.
	Placed bool `json:"placed"`
	// AllocIndex is the position of a dynamic region in the kernel's allocation order (0-based),
	// -1 for fixed regions.
	AllocIndex int `json:"alloc_index"`
	// Padding is the memory between the region's end and the free space it was cut from that
	// alignment left unused (dynamic regions only).
	Padding uint64 `json:"padding,omitempty"`
	// Failure says why a dynamic region could not be placed: "" when placed.
	Failure string `json:"failure,omitempty"`
	// LargestHole is, for an unplaced region, the largest free hole it could have used.
	LargestHole uint64 `json:"largest_hole,omitempty"`
	// AtZero marks an unplaced region that would fit only at address 0, which the kernel
	// never hands out (memblock skips the first page; base 0 means failure).
	AtZero bool `json:"at_zero,omitempty"`
	// Dropped marks a region beyond the kernel's region limit: never saved or allocated.
	Dropped bool `json:"dropped,omitempty"`
	// Bypassed marks the default CMA node when cma= on the command line replaces it.
	Bypassed bool `json:"bypassed,omitempty"`
	// Refused says why the kernel, having placed or reserved the region, sets nothing up
	// over it; its memory goes back to the kernel unless MemoryLost.
	Refused    string `json:"refused,omitempty"`
	MemoryLost bool   `json:"memory_lost,omitempty"`
	// NoCMASlot marks a CMA pool refused because every CMA slot was taken before it.
	NoCMASlot bool `json:"-"`

	Heap    *Heap    `json:"-"`
	Devices []string `json:"devices,omitempty"` // consumer device refs (&label or /path)
	Pos     diag.Pos `json:"-"`
	// Silenced rule IDs for this region.
	Silenced []string `json:"-"`
	// Pool is the board entry the region was made from (nil for firmware), Firmware the
	// firmware entry (nil for pools): rules read the board's own words (positions,
	// alloc-ranges as written, devices, access) through the region, never by matching
	// indices or names across the board's and the plan's lists.
	Pool     *board.Pool     `json:"-"`
	Firmware *board.Firmware `json:"-"`
}

// Field returns the position of one of the region's fields in the board, or the region's
// position when the board entry did not write it.
func (r *Region) Field(name string) diag.Pos {
	switch {
	case r.Pool != nil:
		return r.Pool.Field(name)
	case r.Firmware != nil:
		return r.Firmware.Field(name)
	}
	return r.Pos
}

// Silences reports whether the region's board entry silences the rule (silence:).
func (r *Region) Silences(rule string) bool {
	for _, id := range r.Silenced {
		if id == rule {
			return true
		}
	}
	return false
}

// IsPool reports whether the region is a pool (not firmware).
func (r *Region) IsPool() bool { return r.Kind != KindFirmware }

// Heap is a DMA-BUF heap over a pool.
type Heap struct {
	Name    string  `json:"name"`
	Pool    string  `json:"pool"` // region name
	Kind    Kind    `json:"kind"` // cma, carveout, unmapped
	Mapping Mapping `json:"mapping"`
	// Provider is "dtheap" for heaps our module registers, "kernel" for the heaps the kernel
	// creates itself over CMA areas (kmodel.Model.KernelCMAHeaps).
	Provider string `json:"provider"`
	// Group and Mode are what the board's access: gives the heap's device node ("" = as the
	// kernel makes it: root, 0600). Mode is four octal digits ("0660"); a group without a mode
	// gets ImpliedMode.
	Group string `json:"group,omitempty"`
	Mode  string `json:"mode,omitempty"`
	// Aliases are more names for the heap: /dev/dma_heap/<alias> links to it.
	Aliases []string `json:"aliases,omitempty"`
	Region  *Region  `json:"-"`
	Pos     diag.Pos `json:"-"`
}

// ImpliedMode is the mode a heap whose board gives a group and no mode gets: what udev gives a
// node whose rule sets GROUP and not MODE (systemd's udev-node.c: mode 0660 when a uid or gid
// is set, else 0600), written out so that ueventd, which needs a mode, gets the same.
const ImpliedMode = "0660"

// FormatMode writes permission bits as the four octal digits the generated files use.
func FormatMode(m uint32) string { return fmt.Sprintf("%04o", m&0o777) }

// Device is a consumer of one or more pools through memory-region.
type Device struct {
	Ref     string   `json:"ref"` // "&label" or "/path/to/node"
	DMABits int      `json:"dma_bits,omitempty"`
	Pools   []string `json:"pools"` // region names, in memory-region order
}
