package dtbind

import (
	"github.com/dtheap/dtheap/plan"
)

const MiB = 1 << 20

// region builds a plan region the way the planner would.
func region(name string, kind plan.Kind, base, sz uint64, fixed bool) *plan.Region {
	r := &plan.Region{Name: name, Kind: kind, Emit: true, Fixed: fixed, Placed: true,
		Range: plan.Range{Base: base, Size: sz}, Label: DeriveLabel(name), AllocIndex: -1}
	switch kind {
	case plan.KindCMA:
		r.Reuse = true
	case plan.KindCarveout, plan.KindUnmapped, plan.KindReserved, plan.KindFirmware:
		r.NoMap = true
	}
	if fixed {
		r.Node = nodeName(r)
	} else {
		r.Node = name
	}
	return r
}

// addHeap attaches a heap to a region.
func addHeap(p *plan.Plan, r *plan.Region, name string, m plan.Mapping, provider string) {
	h := &plan.Heap{Name: name, Pool: r.Name, Kind: r.Kind, Mapping: m, Provider: provider, Region: r}
	r.Heap = h
	p.Heaps = append(p.Heaps, h)
}

// handPlans are plans built by hand in the shape the planner produces, one per board-like case.
// They stand in for boards/*.yaml until the pipeline can load those (then both are tested).
func handPlans() map[string]*plan.Plan {
	ps := map[string]*plan.Plan{}

	// The example board from the board format (QEMU virt, 1 GiB at 0x40000000).
	{
		p := &plan.Plan{Board: "qemu-virt-arm64", Files: []string{"boards/qemu-virt-arm64.yaml"}, Arch: "arm64",
			AddressCells: 2, SizeCells: 2,
			Kernel: plan.Kernel{Version: "6.1", PageSize: 4096, CMAAreas: 16},
			Memory: []plan.Bank{{Name: "dram", Range: plan.Range{Base: 0x40000000, Size: 1 << 30}}}}
		boot := region("boot-window", plan.KindFirmware, 0x48000000, 32*MiB, true)
		boot.Emit = false
		tfa := region("tfa", plan.KindFirmware, 0x4e000000, 2*MiB, true)
		cma := region("linux,cma", plan.KindCMA, 0x7c000000, 64*MiB, false)
		cma.DefaultCMA = true
		video := region("video", plan.KindCMA, 0x70000000, 48*MiB, true)
		video.Devices = []string{"&gpu"}
		dsp := region("dsp", plan.KindCarveout, 0x78000000, 48*MiB, true)
		sec := region("secure", plan.KindUnmapped, 0x7c000000, 16*MiB, true)
		cam := region("cam", plan.KindCMA, 0x60000000, 32*MiB, false)
		cam.Alignment = 4 * MiB
		cam.AllocRanges = []plan.Range{{Base: 0x60000000, Size: 256 * MiB}}
		cam.Label = "cam_pool"
		fwlog := region("fw-log", plan.KindReserved, 0x4f000000, 1*MiB, true)
		p.Regions = []*plan.Region{boot, tfa, cma, video, dsp, sec, cam, fwlog}
		addHeap(p, cma, "linux,cma", plan.MapCached, "kernel")
		addHeap(p, video, "video@70000000", plan.MapCached, "dtheap")
		addHeap(p, dsp, "dsp", plan.MapWriteCombine, "dtheap")
		addHeap(p, sec, "secure", plan.MapNone, "dtheap")
		p.Devices = []*plan.Device{{Ref: "&gpu", Pools: []string{"video"}}, {Ref: "/soc/isp@1000000", Pools: []string{"cam", "video"}}}
		ps["example"] = p
	}

	// A 32-bit board with one address and one size cell, no heaps of ours.
	{
		p := &plan.Plan{Board: "arm32-small", Files: []string{"boards/arm32-small.yaml"}, Arch: "arm",
			AddressCells: 1, SizeCells: 1,
			Kernel: plan.Kernel{Version: "6.1", PageSize: 4096, CMAAreas: 7},
			Memory: []plan.Bank{{Name: "dram", Range: plan.Range{Base: 0x80000000, Size: 512 * MiB}}}}
		cma := region("linux,cma", plan.KindCMA, 0x9c000000, 32*MiB, false)
		cma.DefaultCMA = true
		cma.AllocRanges = []plan.Range{{Base: 0x80000000, Size: 256 * MiB}}
		opt := region("optee", plan.KindFirmware, 0x9e000000, 16*MiB, true)
		p.Regions = []*plan.Region{cma, opt}
		ps["arm32"] = p
	}

	// Memory above 4 GiB: values that need both cells.
	{
		p := &plan.Plan{Board: "big-riscv", Files: []string{"boards/big-riscv.yaml"}, Arch: "riscv64",
			AddressCells: 2, SizeCells: 2,
			Kernel: plan.Kernel{Version: "6.1", PageSize: 4096, CMAAreas: 16},
			Memory: []plan.Bank{{Name: "dram0", Range: plan.Range{Base: 0x80000000, Size: 2 << 30}},
				{Name: "dram1", Range: plan.Range{Base: 0x100000000, Size: 6 << 30}}}}
		hi := region("hi", plan.KindCarveout, 0x180000000, 5<<30, true)
		dyn := region("dyn", plan.KindCMA, 0x1f0000000, 256*MiB, false)
		dyn.AllocRanges = []plan.Range{{Base: 0x100000000, Size: 4 << 30}, {Base: 0x80000000, Size: 1 << 30}}
		dyn.Alignment = 0x100000000
		p.Regions = []*plan.Region{hi, dyn}
		addHeap(p, hi, "hi", plan.MapCached, "dtheap")
		addHeap(p, dyn, "dyn", plan.MapCached, "dtheap")
		p.Devices = []*plan.Device{{Ref: "&npu", Pools: []string{"hi"}}}
		ps["big"] = p
	}
	return ps
}
