package validate

// The rules about heaps: names, counts, kinds and mappings.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dtheap/dtheap/kmodel"
	"github.com/dtheap/dtheap/plan"
)

// ownHeaps returns the heaps the board's pools give the module to register (provider dtheap).
func (c *Context) ownHeaps() []*plan.Heap {
	var hs []*plan.Heap
	for _, h := range c.Plan.Heaps {
		if h.Provider == "dtheap" {
			hs = append(hs, h)
		}
	}
	return hs
}

// checkHeapName: names /dev/dma_heap cannot hold as asked. dma_heap_add (drivers/dma-buf/
// dma-heap.c, 6.1, 6.12 and 7.3) refuses only an empty name ("Cannot add heap without a
// name") and hands the rest to device_create; kobject_set_name_vargs (lib/kobject.c, all three)
// replaces every '/' with '!' ("some of these buggers have '/' in the name"), and the class's
// dma_heap_devnode makes the node "dma_heap/" + that name, so device_get_devnode
// (drivers/base/core.c) never turns the '!' back: heap "a/b" is /dev/dma_heap/a!b.
func checkHeapName(c *Context) {
	for _, h := range c.ownHeaps() {
		r := h.Region
		switch {
		case h.Name == "" || h.Name == "." || h.Name == "..":
			c.report(r, h.Pos, "name the heap after its memory, e.g. video@70000000", "heap name %q of pool %q cannot be a file in /dev/dma_heap", h.Name, r.Name)
		case strings.Contains(h.Name, "/"):
			dev := heapDevName(h.Name)
			c.report(r, h.Pos, "name the heap without '/', e.g. "+strings.ReplaceAll(h.Name, "/", "-"),
				"heap name %q of pool %q: the kernel names the device %q (kobject_set_name_vargs replaces '/' with '!'), so the heap is /dev/dma_heap/%s, not /dev/dma_heap/%s", h.Name, r.Name, dev, dev, h.Name)
		case len(h.Name) > nameMax:
			c.report(r, h.Pos, fmt.Sprintf("shorten it to at most %d bytes", nameMax), "heap name of pool %q is %d bytes, longer than a file name may be (NAME_MAX %d): /dev/dma_heap/%.16s... cannot be created", r.Name, len(h.Name), nameMax, h.Name)
		}
	}
}

// heapDevName is the device name the kernel gives a heap (see checkHeapName).
func heapDevName(name string) string { return strings.ReplaceAll(name, "/", "!") }

// checkHeapNameFormat: a '%' in a heap name is a printf conversion on kernels that pass the
// name to device_create as its format string (kmodel.Model.HeapNameFormat).
func checkHeapNameFormat(c *Context) {
	if !c.kmodel().HeapNameFormat {
		return
	}
	for _, h := range c.ownHeaps() {
		if strings.Contains(h.Name, "%") {
			c.report(h.Region, h.Pos, "name the heap without '%', e.g. "+strings.ReplaceAll(h.Name, "%", "-"),
				"heap name %q of pool %q holds '%%': Linux %s's dma_heap_add passes the name to device_create as its format string (drivers/dma-buf/dma-heap.c), so '%%%%' becomes '%%' and any other conversion reads an argument that was never passed: a misnamed /dev/dma_heap node, or stray memory read",
				h.Name, h.Region.Name, c.Plan.Kernel.Version)
		}
	}
}

func checkHeapNameKernel(c *Context) {
	k := c.Plan.Kernel
	kernelNames := map[string]string{"system": "the kernel's system heap"}
	for _, h := range c.Plan.Heaps {
		if h.Provider == "kernel" {
			kernelNames[h.Name] = fmt.Sprintf("the kernel's own CMA heap over pool %q", h.Pool)
		}
	}
	for _, n := range k.OwnHeaps {
		if _, ok := kernelNames[n]; !ok {
			kernelNames[n] = "the kernel's own CMA heap over the area cma= makes"
		}
	}
	for _, h := range c.ownHeaps() {
		if why, bad := kernelNames[h.Name]; bad {
			c.report(h.Region, h.Pos, "pick another name", "heap name %q is taken by %s (Linux %s): the module's dma_heap_add would fail after a sysfs duplicate-name trace", h.Name, why, k.Version)
		}
	}
}

func checkHeapNameDuplicate(c *Context) {
	seen := map[string]*plan.Heap{}
	for _, h := range c.ownHeaps() {
		if prev := seen[h.Name]; prev != nil {
			c.report(h.Region, h.Pos, "give each heap its own name", "heap name %q is also used by pool %q", h.Name, prev.Pool)
		} else {
			seen[h.Name] = h
		}
	}
}

// checkHeapKind: a heap on a reserved pool, or mapping: on a pool that is no carveout heap.
func checkHeapKind(c *Context) {
	for _, h := range c.ownHeaps() {
		if r := h.Region; r.Kind == plan.KindReserved {
			c.report(r, h.Pos, "make the pool kind: carveout, unmapped or cma", "pool %q is kind: reserved, which has no heap", r.Name)
		}
	}
	for _, r := range c.pools() {
		p := r.Pool
		if p.Mapping == "" {
			continue
		}
		switch p.Kind {
		case "unmapped":
			// mapping-unmapped
		case "carveout":
			if p.Heap == "" {
				c.report(r, p.Field("mapping"), "add heap: NAME, or remove mapping:", "mapping: on pool %q, which is not a heap", p.Name)
			}
		default:
			c.report(r, p.Field("mapping"), "remove mapping:", "mapping: is only for carveout heaps, not kind: %s", p.Kind)
		}
	}
}

func checkMappingUnmapped(c *Context) {
	for _, r := range c.pools() {
		if p := r.Pool; p.Mapping != "" && p.Kind == "unmapped" {
			c.report(r, p.Field("mapping"), "remove mapping:", "pool %q is unmapped: it is never CPU-mapped", p.Name)
		}
	}
}

func checkHeapOnDefaultCMA(c *Context) {
	k := c.Plan.Kernel
	if k.DefaultCMAHeap == "" {
		return
	}
	for _, h := range c.ownHeaps() {
		if r := h.Region; r.DefaultCMA {
			c.report(r, h.Pos, "remove heap: and use the kernel's heap "+k.DefaultCMAHeap, "the kernel already makes heap %q over the default CMA pool %q", k.DefaultCMAHeap, r.Name)
		}
	}
}

// checkHeapCount: the kernel's system heap takes a minor too. With it, the heap at index
// maxHeaps-1 of the plan's list is the first one refused. About the board as a whole.
func checkHeapCount(c *Context) {
	n := len(c.Plan.Heaps)
	if n+1 > maxHeaps {
		c.report(nil, c.Plan.Heaps[maxHeaps-1].Pos, "expose fewer pools as heaps", "%d heaps, the DMA-BUF heap core allows %d (with the kernel's own)", n+1, maxHeaps)
	}
}

// carveoutHeaps returns the regions of carveout and unmapped pools that have a heap.
// dtheap_check_region() (kernel/src/dtheap_core.c) refuses at probe a heap whose region's
// no-map does not suit its mapping. A cached heap needs its memory in the linear map: arm64's
// arch_sync_dma_for_device/_for_cpu (arch/arm64/mm/dma-mapping.c) clean and invalidate through
// phys_to_virt(), and map_mem() (arch/arm64/mm/mmu.c) leaves no-map memory out of that map, so
// on hardware with a non-coherent device it faults (QEMU's TCG makes cache maintenance a no-op
// and cannot show it). A write-combined or never-mapped heap must be no-map, or the linear map
// keeps a cacheable alias of it. A board cannot say either (the loader derives no-map from
// mapping:); a tree read by dtheap lint can.
func (c *Context) carveoutHeaps() []*plan.Region {
	var rs []*plan.Region
	for _, r := range c.pools() {
		if p := r.Pool; (p.Kind == "carveout" || p.Kind == "unmapped") && p.Heap != "" {
			rs = append(rs, r)
		}
	}
	return rs
}

func cachedCarveout(p *plan.Region) bool {
	return p.Pool.Kind == "carveout" && p.Pool.Mapping != "writecombine"
}

func checkCarveoutCached(c *Context) {
	for _, r := range c.carveoutHeaps() {
		p := r.Pool
		if !cachedCarveout(r) || !p.NoMap {
			continue
		}
		pos, how := p.Field("heap"), "mapped cached (the default)"
		if p.Mapping != "" {
			pos, how = p.Field("mapping"), "mapped cached"
		}
		c.report(r, pos,
			"remove no-map from the region (a cached carveout stays in the linear map), or set mapping: writecombine",
			"carveout heap %q is %s, but pool %q is no-map: cache maintenance for a non-coherent device would go through the kernel's linear map, which no-map memory is not in; the driver refuses the heap", p.Heap, how, p.Name)
	}
}

func checkCarveoutWCMapped(c *Context) {
	for _, r := range c.carveoutHeaps() {
		p := r.Pool
		if cachedCarveout(r) || p.NoMap {
			continue
		}
		how := "a write-combined carveout"
		if p.Kind == "unmapped" {
			how = "unmapped"
		}
		c.report(r, p.Field("no-map"),
			"add no-map to the region",
			"heap %q is %s, but pool %q is not no-map: the linear map would keep a cacheable alias of it; the driver refuses the heap", p.Heap, how, p.Name)
	}
}

// checkCMAHeapName: on a kernel that registers a heap over every CMA area itself (7.3), a cma
// pool's heap: can only name one of those heaps; the module registers none over it.
func checkCMAHeapName(c *Context) {
	km := c.kmodel()
	if !km.CMAHeapsFromKernel() || !c.Plan.Kernel.CMAEnabled {
		return
	}
	for _, r := range c.regions() {
		bp := r.Pool
		if bp == nil || bp.Kind != "cma" || bp.Heap == "" || r.Refused != "" || r.Bypassed {
			continue
		}
		var names []string
		for _, h := range c.Plan.Heaps {
			if h.Provider == "kernel" && h.Region == r {
				names = append(names, h.Name)
			}
		}
		if len(names) == 0 || slices.Contains(names, bp.Heap) {
			continue
		}
		want := kmodel.CMAName(r.Node)
		hint := fmt.Sprintf("write heap: %s (the node's full name), or remove heap:", want)
		also := ""
		if r.DefaultCMA {
			hint = fmt.Sprintf("write heap: %s or heap: %s, or remove heap:", want, km.DefaultHeapName)
			also = fmt.Sprintf(" (and, as the default area, %s)", km.DefaultHeapName)
		}
		c.report(r, bp.Field("heap"), hint,
			"Linux %s registers a heap over every CMA area itself, named after its node: pool %q becomes /dev/dma_heap/%s%s, and no heap %q will exist",
			c.Plan.Kernel.Version, bp.Name, want, also, bp.Heap)
	}
}
