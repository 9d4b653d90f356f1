// Package manifest holds the boot manifest: the contract between the planner, which knows what
// the board was built for, and the boot-time checker, which verifies it on the running kernel.
// It is a leaf package (standard library and internal/input only) so that the static checker binary does not pull
// in the planner, YAML or JSON Schema code; package provision re-exports it for the CLI side.
package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/dtheap/dtheap/internal/input"
)

// MaxHeaps is the most heaps a manifest may list: the DMA-BUF heap core's limit
// (NUM_HEAP_MINORS = 128 in drivers/dma-buf/dma-heap.c, 6.1 to 7.3), the kernel's own heaps
// included. A larger manifest cannot describe a real system and would only stall the checker.
const MaxHeaps = 128

// Generator is the value of Manifest.Generator for manifests this project writes.
const Generator = "dtheap"

// DefaultPath is where the initramfs puts the manifest and where the checker looks for it.
const DefaultPath = "/etc/dtheap/manifest.json"

// Pool kinds (the same words as the heap node's dtheap,heap-kinds).
const (
	KindCMA      = "cma"
	KindCarveout = "carveout"
	KindUnmapped = "unmapped"
)

// Heap providers: who registers the heap.
const (
	ProviderDtheap = "dtheap" // our module
	ProviderKernel = "kernel" // the kernel's own CMA heaps: the default area's (6.1, 6.12), every area's (7.3)
)

// Manifest is what the boot check expects of a board. Field names and JSON keys follow
// DESIGN.md ("The boot manifest"); numbers are bytes.
type Manifest struct {
	Generator     string   `json:"generator"`
	Board         string   `json:"board"`
	Arch          string   `json:"arch"`
	KernelVersion string   `json:"kernel_version"`
	Modules       []string `json:"modules"`
	HeapNode      string   `json:"heap_node"`
	Pools         []Pool   `json:"pools"`
	Heaps         []Heap   `json:"heaps"`
	CMATotal      uint64   `json:"cma_total"`
}

// Pool is one /reserved-memory child the board defines.
type Pool struct {
	Name       string `json:"name"`
	Node       string `json:"node"` // full node name under /reserved-memory, e.g. video@70000000
	Kind       string `json:"kind"`
	Base       uint64 `json:"base"` // fixed base, or the planner's prediction when !Fixed
	Size       uint64 `json:"size"`
	Fixed      bool   `json:"fixed"`
	NoMap      bool   `json:"no_map"`
	Reusable   bool   `json:"reusable"`
	DefaultCMA bool   `json:"default_cma"`
}

// Heap is one /dev/dma_heap/<name> the board expects.
type Heap struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
	Kind     string `json:"kind"`
	Pool     string `json:"pool"`
	Base     uint64 `json:"base"`
	Size     uint64 `json:"size"`
	Fixed    bool   `json:"fixed"`
	Mappable bool   `json:"mappable"`
	// Group, Mode and Aliases are what the board's access: and aliases: give the heap's
	// device node (dtheap access writes the udev rules and ueventd lines that do it): a group
	// name (resolved through /etc/group at boot) or a numeric gid, four octal digits, and
	// names of /dev/dma_heap links to it. Empty: not asked for, not checked.
	Group   string   `json:"group,omitempty"`
	Mode    string   `json:"mode,omitempty"`
	Aliases []string `json:"aliases,omitempty"`
}

// PoolByName returns the pool called name, or nil.
func (m *Manifest) PoolByName(name string) *Pool {
	for i := range m.Pools {
		if m.Pools[i].Name == name {
			return &m.Pools[i]
		}
	}
	return nil
}

// Encode writes m as indented JSON with a trailing newline. The output depends only on m, so
// the manifest inside an initramfs does not break its reproducibility.
func (m *Manifest) Encode(w io.Writer) error {
	b, err := m.MarshalIndent()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// MarshalIndent returns the bytes Encode writes.
func (m *Manifest) MarshalIndent() ([]byte, error) {
	c := *m
	// nil and empty lists would print differently (null vs []); a reader should see one shape.
	if c.Modules == nil {
		c.Modules = []string{}
	}
	if c.Pools == nil {
		c.Pools = []Pool{}
	}
	if c.Heaps == nil {
		c.Heaps = []Heap{}
	}
	b, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return append(b, '\n'), nil
}

// Write validates m and writes it to the file name.
func (m *Manifest) Write(name string) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("write manifest %s: %w", name, err)
	}
	b, err := m.MarshalIndent()
	if err != nil {
		return err
	}
	if err := os.WriteFile(name, b, 0o644); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
}

// Decode reads one manifest from r and validates it. Unknown keys are errors: a checker older
// than its manifest would otherwise silently skip what it does not know about. The JSON is
// decoded by hand (decode.go), at most ManifestLimit bytes of it.
func Decode(r io.Reader) (*Manifest, error) {
	b, err := io.ReadAll(io.LimitReader(r, input.ManifestLimit+1))
	if err != nil {
		return nil, fmt.Errorf("decode manifest: %w", err)
	}
	if len(b) > input.ManifestLimit {
		return nil, fmt.Errorf("decode manifest: more than %d bytes", input.ManifestLimit)
	}
	var m Manifest
	if err := decodeJSON(b, &m); err != nil {
		return nil, fmt.Errorf("decode manifest: %w", err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Read reads and validates the manifest file name.
func Read(name string) (*Manifest, error) {
	// Bounded and regular files only: as PID 1 a FIFO or /dev/zero here would stall the boot.
	b, err := input.ReadFile(name, "manifest", input.ManifestLimit)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	m, err := Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return m, nil
}

// ValidationError lists every problem found in a manifest, one per line.
type ValidationError struct{ Problems []string }

func (e *ValidationError) Error() string {
	return "invalid manifest:\n  " + strings.Join(e.Problems, "\n  ")
}

// Validate checks the manifest is internally consistent, so that the checker can trust it.
func (m *Manifest) Validate() error {
	var p []string
	add := func(format string, a ...any) { p = append(p, fmt.Sprintf(format, a...)) }

	if m.Generator != Generator {
		add("generator is %q, want %q", m.Generator, Generator)
	}
	if m.Board == "" {
		add("board is empty")
	}
	if m.Arch == "" {
		add("arch is empty")
	}
	for i, mod := range m.Modules {
		if mod == "" || path.Base(mod) != mod || !strings.HasSuffix(mod, ".ko") {
			add("modules[%d] %q: want a bare file name ending in .ko", i, mod)
		}
	}

	pools := map[string]*Pool{}
	nodes := map[string]bool{}
	for i := range m.Pools {
		pl := &m.Pools[i]
		where := fmt.Sprintf("pools[%d] %q", i, pl.Name)
		switch {
		case pl.Name == "":
			add("pools[%d]: name is empty", i)
		case pools[pl.Name] != nil:
			add("%s: duplicate pool name", where)
		default:
			pools[pl.Name] = pl
		}
		if pl.Node == "" || strings.Contains(pl.Node, "/") {
			add("%s: node %q: want a node name without '/'", where, pl.Node)
		} else if nodes[pl.Node] {
			add("%s: duplicate node %q", where, pl.Node)
		}
		nodes[pl.Node] = true
		if !validKind(pl.Kind) {
			add("%s: kind %q: want cma, carveout or unmapped", where, pl.Kind)
		}
		if pl.Size == 0 {
			add("%s: size is 0", where)
		}
		if pl.Base+pl.Size < pl.Base {
			add("%s: base 0x%x + size 0x%x overflows", where, pl.Base, pl.Size)
		}
		if pl.NoMap && pl.Reusable {
			add("%s: no_map and reusable are mutually exclusive", where)
		}
		switch pl.Kind {
		case KindCMA:
			if !pl.Reusable {
				add("%s: kind cma needs reusable", where)
			}
		case KindUnmapped:
			if !pl.NoMap {
				add("%s: kind %s needs no_map", where, pl.Kind)
			}
		case KindCarveout:
			// no_map either way: write-combined carveouts are no-map, cached ones are in
			// the linear map (the board decides, the checker compares the live node).
			if pl.Reusable {
				add("%s: kind %s cannot be reusable", where, pl.Kind)
			}
		}
		if pl.DefaultCMA && pl.Kind != KindCMA {
			add("%s: default_cma on a %s pool", where, pl.Kind)
		}
	}

	if len(m.Heaps) > MaxHeaps {
		// Say it once and stop: a million heaps would make a million problems.
		add("%d heaps: the kernel registers at most %d (NUM_HEAP_MINORS)", len(m.Heaps), MaxHeaps)
		return &ValidationError{Problems: p}
	}
	heaps := map[string]bool{}
	heapNames := map[string]bool{}
	for _, h := range m.Heaps {
		heapNames[h.Name] = true
	}
	aliases := map[string]bool{}
	ours := 0
	for i, h := range m.Heaps {
		where := fmt.Sprintf("heaps[%d] %q", i, h.Name)
		switch {
		case h.Name == "" || strings.Contains(h.Name, "/") || h.Name == "." || h.Name == "..":
			add("heaps[%d]: name %q is not a valid device name", i, h.Name)
		case heaps[h.Name]:
			add("%s: duplicate heap name", where)
		}
		heaps[h.Name] = true
		switch h.Provider {
		case ProviderDtheap:
			ours++
		case ProviderKernel:
			if h.Kind != KindCMA {
				add("%s: a kernel-provided heap is kind cma, not %q", where, h.Kind)
			}
		default:
			add("%s: provider %q: want dtheap or kernel", where, h.Provider)
		}
		if !validKind(h.Kind) {
			add("%s: kind %q: want cma, carveout or unmapped", where, h.Kind)
		}
		if h.Mappable == (h.Kind == KindUnmapped) {
			add("%s: mappable=%v contradicts kind %s", where, h.Mappable, h.Kind)
		}
		if h.Size == 0 {
			add("%s: size is 0", where)
		}
		pl := pools[h.Pool]
		if pl == nil {
			add("%s: pool %q is not in pools", where, h.Pool)
			continue
		}
		if pl.Kind != h.Kind {
			add("%s: kind %s differs from pool %s's kind %s", where, h.Kind, pl.Name, pl.Kind)
		}
		if pl.Fixed != h.Fixed {
			add("%s: fixed=%v differs from pool %s", where, h.Fixed, pl.Name)
		}
		if h.Base < pl.Base || h.Base+h.Size > pl.Base+pl.Size {
			add("%s: [0x%x, +0x%x) lies outside pool %s [0x%x, +0x%x)", where, h.Base, h.Size, pl.Name, pl.Base, pl.Size)
		}
		if h.Mode != "" && !validMode(h.Mode) {
			add("%s: mode %q: want four octal digits such as 0660", where, h.Mode)
		}
		if strings.ContainsAny(h.Group, "/:\n") {
			add("%s: group %q is not a group name or gid", where, h.Group)
		}
		for _, a := range h.Aliases {
			if a == "" || strings.Contains(a, "/") || a == "." || a == ".." {
				add("%s: alias %q is not a valid device name", where, a)
			}
			if aliases[a] || heapNames[a] {
				add("%s: alias %q is already a heap or alias", where, a)
			}
			aliases[a] = true
		}
		if h.Provider == ProviderKernel && pl.Kind != KindCMA {
			add("%s: a kernel-provided heap needs a cma pool, %s is %s", where, pl.Name, pl.Kind)
		}
	}
	if ours > 0 && !strings.HasPrefix(m.HeapNode, "/") {
		add("heap_node %q: want an absolute node path (dtheap heaps need the heap node)", m.HeapNode)
	}

	if len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

// validMode reports whether s is a mode as udev and ueventd take it: "0" and three octal
// digits. Written out rather than a regexp, which every boot of the checker would compile.
func validMode(s string) bool {
	if len(s) != 4 || s[0] != '0' {
		return false
	}
	for i := 1; i < 4; i++ {
		if s[i] < '0' || s[i] > '7' {
			return false
		}
	}
	return true
}

func validKind(k string) bool {
	return k == KindCMA || k == KindCarveout || k == KindUnmapped
}
