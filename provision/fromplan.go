package provision

import "github.com/dtheap/dtheap/plan"

// ModuleName is the file name of the heap module dtheap builds.
const ModuleName = "dtheap_heaps.ko"

// HeapNodePath is where dtheap puts the heap node (DESIGN.md, "The heap node").
const HeapNodePath = "/dma-heaps"

// FromPlan derives the boot manifest from a plan: every heap-capable pool with its fixed or
// predicted place, and every heap, ours and the kernel's own.
func FromPlan(p *plan.Plan) *Manifest {
	m := &Manifest{
		Generator:     Generator,
		Board:         p.Board,
		Arch:          p.Arch,
		KernelVersion: p.Kernel.Version,
		HeapNode:      HeapNodePath,
		Pools:         []Pool{},
		Heaps:         []Heap{},
	}
	ours := false
	for _, r := range p.Pools() {
		switch r.Kind {
		case plan.KindCMA, plan.KindCarveout, plan.KindUnmapped:
		default:
			continue
		}
		if !r.Placed || r.Refused != "" || r.Bypassed {
			continue // the kernel sets nothing up over it: nothing to find at boot
		}
		m.Pools = append(m.Pools, Pool{Name: r.Name, Node: r.Node, Kind: string(r.Kind), Base: r.Base,
			Size: r.Size, Fixed: r.Fixed, NoMap: r.NoMap, Reusable: r.Reuse, DefaultCMA: r.DefaultCMA})
		if r.Kind == plan.KindCMA {
			m.CMATotal += r.Size
		}
	}
	for _, h := range p.Heaps {
		r := h.Region
		if !r.Placed || r.Refused != "" || r.Bypassed {
			continue
		}
		m.Heaps = append(m.Heaps, Heap{Name: h.Name, Provider: h.Provider, Kind: string(h.Kind), Pool: r.Name,
			Base: r.Base, Size: r.Size, Fixed: r.Fixed, Mappable: h.Mapping != plan.MapNone,
			Group: h.Group, Mode: h.Mode, Aliases: h.Aliases})
		if h.Provider == ProviderDtheap {
			ours = true
		}
	}
	m.Modules = []string{}
	if ours {
		m.Modules = []string{ModuleName}
	}
	return m
}
