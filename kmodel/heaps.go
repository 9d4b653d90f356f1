package kmodel

import "sort"

// CMAArea is one CMA area the kernel sets up.
type CMAArea struct {
	// Node is the reserved-memory node's full name (fdt_get_name(), "video@60000000" or
	// "camera"), or CmdlineCMAName for the area cma= makes.
	Node string
	// Default marks dma_contiguous_default_area: a linux,cma-default node (the last one wins:
	// rmem_cma_setup() assigns it for each), or the cma= area.
	Default bool
}

// CMAMaxName is CMA_MAX_NAME (include/linux/cma.h, 64 in 6.1, 6.12 and 7.3): cma->name is a
// char[64], so cma_get_name() is at most 63 bytes of the node name.
const CMAMaxName = 64

// CMAName is what cma_get_name() returns for an area made from a node of that name:
// mm/cma.c cma_init_reserved_mem() copies it into char name[CMA_MAX_NAME] (6.1 snprintf, 6.12
// and 7.3 strscpy), cutting it at 63 bytes.
func CMAName(node string) string {
	if len(node) >= CMAMaxName {
		return node[:CMAMaxName-1]
	}
	return node
}

// KernelHeap is a DMA-BUF heap the kernel registers itself (CONFIG_DMABUF_HEAPS_CMA).
type KernelHeap struct {
	Name string
	Area int // index into the areas passed to KernelCMAHeaps
}

// KernelCMAHeaps lists the heaps the kernel's CMA heap driver registers over the given areas
// (those that got a CMA slot, in the order the kernel set them up), in registration order.
func (m *Model) KernelCMAHeaps(areas []CMAArea) []KernelHeap {
	def := -1
	for i, a := range areas {
		if a.Default {
			def = i
		}
	}
	var out []KernelHeap
	switch m.KernelHeaps {
	case HeapsDefaultOnly:
		if def >= 0 {
			out = append(out, KernelHeap{CMAName(areas[def].Node), def})
		}
	case HeapsEveryArea:
		if def >= 0 {
			out = append(out, KernelHeap{m.DefaultHeapName, def})
		}
		for i, a := range areas {
			out = append(out, KernelHeap{CMAName(a.Node), i})
		}
	}
	return out
}

// CMAHeapsFromKernel reports whether the kernel registers a heap over every CMA area itself, so
// a module must not register one (dma_heap_add() would fail on the duplicate name after a
// sysfs "cannot create duplicate filename" trace: drivers/dma-buf/dma-heap.c device_create()
// runs before the name check).
func (m *Model) CMAHeapsFromKernel() bool { return m.KernelHeaps == HeapsEveryArea }

// NeedsExportPatch reports whether an out-of-tree heap module needs the kernel patch that
// exports dma_heap_add, dma_heap_get_drvdata and dma_heap_get_name (or a built-in driver).
func (m *Model) NeedsExportPatch() bool { return !m.ExportsHeapAPI }

// HeapSymbols are the DMA-BUF heap core functions a heap module calls.
var HeapSymbols = []string{"dma_heap_add", "dma_heap_get_drvdata", "dma_heap_get_name"}

// DefaultHeapNames are the names a modelled kernel may give the default CMA area's heap other
// than the area's own node name: the cma= area's name (CmdlineCMAName) and each model's fixed
// DefaultHeapName. The doctor uses them to tell the kernel's CMA heaps from others on a system
// whose version it does not know.
func DefaultHeapNames() []string {
	seen := map[string]bool{CmdlineCMAName: true}
	out := []string{CmdlineCMAName}
	for _, m := range models {
		if n := m.DefaultHeapName; n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
