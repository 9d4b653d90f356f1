package check

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/u-root/u-root/pkg/dt"
	"golang.org/x/sys/unix"

	"github.com/dtheap/dtheap/provision/manifest"
)

const pageSize = 4096

// testManifest: one pool of each kind, fixed and dynamic, and the kernel's own CMA heap.
func testManifest() *manifest.Manifest {
	return &manifest.Manifest{
		Generator: "dtheap", Board: "test-board", Arch: "arm64", KernelVersion: "6.1",
		Modules: []string{"dtheap_heaps.ko"}, HeapNode: "/dma-heaps",
		Pools: []manifest.Pool{
			{Name: "video", Node: "video@70000000", Kind: "cma", Base: 0x70000000, Size: 32 << 20, Fixed: true, Reusable: true},
			{Name: "dsp", Node: "dsp", Kind: "carveout", Base: 0x7e000000, Size: 16 << 20, NoMap: true},
			{Name: "secure", Node: "secure@60000000", Kind: "unmapped", Base: 0x60000000, Size: 4 << 20, Fixed: true, NoMap: true},
			{Name: "linux,cma", Node: "linux,cma", Kind: "cma", Base: 0x7c000000, Size: 32 << 20, Reusable: true, DefaultCMA: true},
		},
		Heaps: []manifest.Heap{
			{Name: "video@70000000", Provider: "dtheap", Kind: "cma", Pool: "video", Base: 0x70000000, Size: 32 << 20, Fixed: true, Mappable: true},
			{Name: "dsp", Provider: "dtheap", Kind: "carveout", Pool: "dsp", Base: 0x7e000000, Size: 16 << 20, Mappable: true},
			{Name: "secure", Provider: "dtheap", Kind: "unmapped", Pool: "secure", Base: 0x60000000, Size: 4 << 20, Fixed: true},
			{Name: "linux,cma", Provider: "kernel", Kind: "cma", Pool: "linux,cma", Base: 0x7c000000, Size: 32 << 20},
		},
		CMATotal: 64 << 20,
	}
}

func strList(name string, l ...string) dt.Property {
	return dt.Property{Name: name, Value: []byte(strings.Join(l, "\x00") + "\x00")}
}

func flag(name string) dt.Property { return dt.Property{Name: name} }

// testTree is the devicetree the board was built with (root and pools in 2+2 cells).
func testTree(m *manifest.Manifest) *dt.FDT {
	rsv := dt.NewNode("reserved-memory", dt.WithProperty(
		dt.PropertyU32("#address-cells", 2), dt.PropertyU32("#size-cells", 2), flag("ranges")))
	phandles := map[string]uint32{}
	for i, p := range m.Pools {
		n := dt.NewNode(p.Node)
		ph := uint32(0x10 + i)
		phandles[p.Name] = ph
		if p.Fixed {
			n.Properties = append(n.Properties, dt.PropertyRegion("reg", p.Base, p.Size))
		} else {
			n.Properties = append(n.Properties, dt.PropertyU64("size", p.Size))
		}
		if p.Kind == "cma" {
			n.Properties = append(n.Properties, strList("compatible", "shared-dma-pool"), flag("reusable"))
		}
		if p.NoMap {
			n.Properties = append(n.Properties, flag("no-map"))
		}
		if p.DefaultCMA {
			n.Properties = append(n.Properties, flag("linux,cma-default"))
		}
		n.Properties = append(n.Properties, dt.PropertyU32("phandle", ph))
		rsv.Children = append(rsv.Children, n)
	}
	var names, pools, kinds, maps []string
	var phs []uint32
	for _, h := range m.Heaps {
		if h.Provider != "dtheap" {
			continue
		}
		names, pools, kinds = append(names, h.Name), append(pools, h.Pool), append(kinds, h.Kind)
		mp := "cached"
		if !h.Mappable {
			mp = "none"
		}
		maps = append(maps, mp)
		phs = append(phs, phandles[h.Pool])
	}
	heaps := dt.NewNode("dma-heaps", dt.WithProperty(
		strList("compatible", "dtheap,dma-heaps"), dt.PropertyU32Array("memory-region", phs),
		strList("memory-region-names", pools...), strList("dtheap,heap-names", names...),
		strList("dtheap,heap-kinds", kinds...), strList("dtheap,heap-mappings", maps...)))
	root := dt.NewNode("", dt.WithProperty(dt.PropertyU32("#address-cells", 2), dt.PropertyU32("#size-cells", 2)),
		dt.WithChildren(dt.NewNode("memory@40000000", dt.WithProperty(dt.PropertyRegion("reg", 0x40000000, 1<<30))), rsv, heaps))
	// pkg/dt's Write leaves these to the caller for a tree built in memory (FACTS.md §4).
	return &dt.FDT{Header: dt.Header{Magic: dt.Magic, Version: 17, LastCompVersion: 16}, RootNode: root}
}

type fakeLoader struct {
	err   error
	calls []string
}

func (l *fakeLoader) Load(p string) error { l.calls = append(l.calls, p); return l.err }

// heapBehaviour says how one fake heap misbehaves.
type heapBehaviour struct {
	allocErr  error
	mapErr    error // nil on an unmapped heap means mapping is (wrongly) allowed
	dirtyAt   int   // >= 0: a fresh buffer has a non-zero byte there
	corruptAt int   // >= 0: the byte there reads back wrong
	hang      bool
}

type fakeHeaps struct {
	byName map[string]*heapBehaviour
	mu     sync.Mutex // a step that timed out leaves its goroutine running
	allocs []string
}

func (f *fakeHeaps) Allocate(dev string, size uint64) (Buffer, error) {
	name := filepath.Base(dev)
	f.mu.Lock()
	f.allocs = append(f.allocs, name)
	f.mu.Unlock()
	b := f.byName[name]
	if b == nil {
		return nil, fmt.Errorf("fake: no heap %s", name)
	}
	if b.hang {
		select {}
	}
	if b.allocErr != nil {
		return nil, b.allocErr
	}
	mem := make([]byte, size)
	if b.dirtyAt >= 0 {
		mem[b.dirtyAt] = 0x5a
	}
	return &fakeBuf{b: b, mem: mem}, nil
}

type fakeBuf struct {
	b      *heapBehaviour
	mem    []byte
	closed bool
}

func (f *fakeBuf) Map() ([]byte, error) {
	if f.b.mapErr != nil {
		return nil, f.b.mapErr
	}
	return f.mem, nil
}

func (f *fakeBuf) Sync(flags uint64) error {
	if f.b.mapErr != nil {
		return unix.EPERM
	}
	if flags == SyncEnd|SyncRW && f.b.corruptAt >= 0 {
		f.mem[f.b.corruptAt] ^= 0x01
	}
	return nil
}
func (f *fakeBuf) Unmap() error { return nil }
func (f *fakeBuf) Close() error { f.closed = true; return nil }

// fixture is the fake system: files under the root, the live tree, loader and heaps. Test
// cases edit it before it is written out.
type fixture struct {
	m      *manifest.Manifest
	files  map[string]string
	tree   *dt.FDT
	loader *fakeLoader
	heaps  *fakeHeaps
}

func goodFixture() *fixture {
	m := testManifest()
	f := &fixture{
		m:      m,
		files:  map[string]string{},
		tree:   testTree(m),
		loader: &fakeLoader{},
		heaps:  &fakeHeaps{byName: map[string]*heapBehaviour{}},
	}
	f.files["lib/modules/6.1.192/updates/dtheap_heaps.ko"] = "\x7fELF fake module"
	f.files["lib/modules/6.1.192/modules.dep"] = "updates/dtheap_heaps.ko:\n"
	f.files["lib/modules/6.1.192/modules.alias"] = "# Aliases extracted from modules themselves.\nalias of:N*T*Cdtheap,dma-heapsC* dtheap_heaps\nalias of:N*T*Cdtheap,dma-heaps dtheap_heaps\n"
	f.files["sys/bus/platform/devices/9000000.pl011/modalias"] = "of:Npl011T(null)Carm,pl011Carm,primecell\n"
	f.files["sys/bus/platform/devices/dma-heaps/modalias"] = "of:Ndma-heapsT(null)Cdtheap,dma-heaps\n"
	f.files["proc/meminfo"] = "MemTotal:        1012345 kB\nCmaTotal:          65536 kB\nCmaFree:           60000 kB\n"
	f.files["dev/kmsg"] = "6,1,100,-;Booting Linux on physical CPU 0x0\n"
	for _, h := range m.Heaps {
		f.files["dev/dma_heap/"+h.Name] = ""
		f.heaps.byName[h.Name] = &heapBehaviour{dirtyAt: -1, corruptAt: -1}
		if !h.Mappable {
			f.heaps.byName[h.Name].mapErr = fmt.Errorf("mmap: %w", unix.EPERM)
		}
		if h.Provider == "dtheap" {
			d := "sys/kernel/debug/dtheap/" + h.Name + "/"
			f.files[d+"base"] = fmt.Sprintf("0x%x\n", h.Base)
			f.files[d+"size"] = fmt.Sprintf("%d\n", h.Size)
			f.files[d+"kind"] = h.Kind + "\n"
		}
	}
	f.files["sys/kernel/debug/cma/linux,cma/base_pfn"] = fmt.Sprintf("%d\n", 0x7c000000/pageSize)
	f.files["sys/kernel/debug/cma/linux,cma/count"] = fmt.Sprintf("%d\n", (32<<20)/pageSize)
	return f
}

func (f *fixture) poolNode(t *testing.T, name string) *dt.Node {
	rsv, _ := f.tree.RootNode.LookupChildByName("reserved-memory")
	n, ok := rsv.LookupChildByName(name)
	if !ok {
		t.Fatalf("fixture has no pool node %s", name)
	}
	return n
}

func (f *fixture) write(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for rel, content := range f.files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if f.tree != nil {
		var buf bytes.Buffer
		if _, err := f.tree.Write(&buf); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(root, FDTPath)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, buf.Bytes(), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// fixtureTimeout is the per-check timeout of the fixture's runs: long enough that no step of a
// good board runs into it on a loaded CI machine (300 ms did, once, with the load at 12), so
// only the cases that wait on purpose (a device that never appears, an allocation that hangs)
// see it.
const fixtureTimeout = 2 * time.Second

func (f *fixture) run(t *testing.T) *Report {
	t.Helper()
	root := f.write(t)
	return Run(context.Background(), Config{
		Root: root, Manifest: f.m, Loader: f.loader, Heaps: f.heaps, Release: "6.1.192",
		Timeout: fixtureTimeout, Poll: 5 * time.Millisecond, PageSize: pageSize, TestSize: 64 << 10,
	})
}

func find(rep *Report, id string) (Result, bool) {
	for _, r := range rep.Checks {
		if r.ID == id {
			return r, true
		}
	}
	return Result{}, false
}

// want is one expected result: status and a substring of the detail.
type want struct {
	id     string
	status Status
	detail string
}

func TestRun(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(t *testing.T, f *fixture)
		wants []want // checks not listed here must PASS (or be the alloc SKIP a failed device implies)
	}{
		{"all good", func(t *testing.T, f *fixture) {}, []want{
			{"module/dtheap_heaps.ko", Pass, "loaded /lib/modules/6.1.192/updates/dtheap_heaps.ko by alias (device dma-heaps modalias of:Ndma-heapsT(null)Cdtheap,dma-heaps matches alias of:N*T*Cdtheap,dma-heaps"},
			{"heap/video@70000000/placement", Pass, "base 0x70000000 size 32 MiB (debugfs)"},
			{"heap/linux,cma/placement", Pass, "base 0x7c000000 size 32 MiB (cma debugfs)"},
			{"heap/secure/alloc", Pass, "mmap refused with EPERM"},
			{"heap/dsp/alloc", Pass, "zeroed, pattern written and read back"},
			{"cma/total", Pass, "CmaTotal 64 MiB"},
			{"dt/heap-node", Pass, "3 heap(s)"},
		}},
		{"module missing", func(t *testing.T, f *fixture) {
			f.files["lib/modules/6.1.192/modules.dep"] = "updates/other.ko:\n"
		}, []want{{"module/dtheap_heaps.ko", Fail, "dtheap_heaps is not in /lib/modules/6.1.192/modules.dep"}}},
		{"no device for the module's alias", func(_ *testing.T, f *fixture) {
			delete(f.files, "sys/bus/platform/devices/dma-heaps/modalias")
		}, []want{{"module/dtheap_heaps.ko", Fail, "no platform device's modalias matches dtheap_heaps's aliases"}}},
		// The heap node's own device (named after the node) is taken when it matches, even
		// with other matching devices before it in name order.
		{"heap node's device first", func(_ *testing.T, f *fixture) {
			f.files["sys/bus/platform/devices/c-heaps/modalias"] = "of:Nc-heapsT(null)Cdtheap,dma-heapsCother\n"
		}, []want{{"module/dtheap_heaps.ko", Pass, "by alias (device dma-heaps modalias of:Ndma-heapsT(null)Cdtheap,dma-heaps matches alias of:N*T*Cdtheap,dma-heaps)"}}},
		// When it does not match (here it is named otherwise, having a reg), the first
		// matching device in name order is named; a device without a readable modalias is
		// passed over.
		{"first matching device by name", func(_ *testing.T, f *fixture) {
			f.files["sys/bus/platform/devices/dma-heaps/modalias"] = "of:Ndma-heapsT(null)Cother\n"
			f.files["sys/bus/platform/devices/zz-heaps/modalias"] = "of:Nzz-heapsT(null)Cdtheap,dma-heaps\n"
			f.files["sys/bus/platform/devices/c-heaps/modalias"] = "of:Nc-heapsT(null)Cdtheap,dma-heapsCother\n"
			f.files["sys/bus/platform/devices/b-heaps/uevent"] = "MODALIAS=of:Nb-heapsT(null)Cdtheap,dma-heaps\n"
		}, []want{{"module/dtheap_heaps.ko", Pass, "by alias (device c-heaps modalias of:Nc-heapsT(null)Cdtheap,dma-heapsCother matches alias of:N*T*Cdtheap,dma-heapsC*)"}}},
		{"no alias for the module", func(_ *testing.T, f *fixture) {
			f.files["lib/modules/6.1.192/modules.alias"] = "alias of:N*T*Cother other\n"
		}, []want{{"module/dtheap_heaps.ko", Fail, "dtheap_heaps has no alias in /lib/modules/6.1.192/modules.alias"}}},
		{"flat modules directory without depmod", func(_ *testing.T, f *fixture) {
			for _, n := range []string{"updates/dtheap_heaps.ko", "modules.dep", "modules.alias"} {
				delete(f.files, "lib/modules/6.1.192/"+n)
			}
			f.files["lib/modules/dtheap_heaps.ko"] = "\x7fELF fake module"
		}, []want{{"module/dtheap_heaps.ko", Pass, "loaded /lib/modules/dtheap_heaps.ko"}}},
		{"flat modules directory, module missing", func(_ *testing.T, f *fixture) {
			for _, n := range []string{"updates/dtheap_heaps.ko", "modules.dep", "modules.alias"} {
				delete(f.files, "lib/modules/6.1.192/"+n)
			}
		}, []want{{"module/dtheap_heaps.ko", Fail, "module missing: /lib/modules/dtheap_heaps.ko"}}},
		{"module already loaded", func(t *testing.T, f *fixture) {
			f.loader.err = fmt.Errorf("finit_module: %w", unix.EEXIST)
		}, []want{{"module/dtheap_heaps.ko", Pass, "already loaded"}}},
		{"module vermagic", func(t *testing.T, f *fixture) {
			f.loader.err = fmt.Errorf("finit_module: %w", unix.ENOEXEC)
			f.files["dev/kmsg"] += "3,2,200,-;dtheap_heaps: version magic '6.1.0 SMP mod_unload aarch64' should be '6.1.99 mod_unload aarch64'\n"
		}, []want{{"module/dtheap_heaps.ko", Fail, "vermagic mismatch"}}},
		{"module unknown symbol", func(t *testing.T, f *fixture) {
			f.loader.err = fmt.Errorf("finit_module: %w", unix.ENOENT)
			f.files["dev/kmsg"] += "3,2,200,-;dtheap_heaps: Unknown symbol dma_heap_add (err -2)\n3,3,201,-;dtheap_heaps: Unknown symbol dma_heap_get_drvdata (err -2)\n"
		}, []want{{"module/dtheap_heaps.ko", Fail, "unknown symbol(s) dma_heap_add, dma_heap_get_drvdata"}}},
		{"module load error without log", func(t *testing.T, f *fixture) {
			f.loader.err = fmt.Errorf("finit_module: %w", unix.ENOEXEC)
		}, []want{{"module/dtheap_heaps.ko", Fail, "invalid module format"}}},
		{"heap missing", func(t *testing.T, f *fixture) {
			delete(f.files, "dev/dma_heap/dsp")
			f.files["dev/kmsg"] += "3,9,900,-;dtheap: heap dsp: refused: region dsp not found\n"
		}, []want{
			{"heap/dsp/device", Fail, "/dev/dma_heap/dsp did not appear within 2s; kernel log: dtheap: heap dsp: refused: region dsp not found"},
			{"heap/dsp/alloc", Skip, "no device node"},
		}},
		{"dynamic heap in the wrong place", func(t *testing.T, f *fixture) {
			f.files["sys/kernel/debug/dtheap/dsp/base"] = "0x7d000000\n"
		}, []want{{"heap/dsp/placement", Fail, "kernel put it at 0x7d000000, planner predicted 0x7e000000"}}},
		{"fixed heap in the wrong place", func(t *testing.T, f *fixture) {
			f.files["sys/kernel/debug/dtheap/video@70000000/base"] = "0x71000000\n"
		}, []want{{"heap/video@70000000/placement", Fail, "base 0x71000000, fixed base 0x70000000"}}},
		{"heap wrong size", func(t *testing.T, f *fixture) {
			f.files["sys/kernel/debug/dtheap/secure/size"] = fmt.Sprintf("%d\n", 2<<20)
		}, []want{{"heap/secure/placement", Fail, "wrong size: 2 MiB, manifest 4 MiB"}}},
		{"heap wrong kind", func(t *testing.T, f *fixture) {
			f.files["sys/kernel/debug/dtheap/secure/kind"] = "carveout\n"
		}, []want{{"heap/secure/placement", Fail, "kind carveout, manifest unmapped"}}},
		{"heap debugfs missing", func(t *testing.T, f *fixture) {
			for _, n := range []string{"base", "size", "kind"} {
				delete(f.files, "sys/kernel/debug/dtheap/dsp/"+n)
			}
		}, []want{{"heap/dsp/placement", Fail, "debugfs not mounted"}}},
		{"heap placement from the driver log", func(t *testing.T, f *fixture) {
			for _, n := range []string{"base", "size", "kind"} {
				delete(f.files, "sys/kernel/debug/dtheap/dsp/"+n)
			}
			f.files["dev/kmsg"] += "6,20,300,-;dtheap: heap dsp: carveout on dsp base 0x7d000000 size 0x1000000\n"
		}, []want{{"heap/dsp/placement", Fail, "kernel put it at 0x7d000000, planner predicted 0x7e000000 (kernel log)"}}},
		{"kernel cma heap moved", func(t *testing.T, f *fixture) {
			f.files["sys/kernel/debug/cma/linux,cma/base_pfn"] = fmt.Sprintf("%d\n", 0x7a000000/pageSize)
		}, []want{{"heap/linux,cma/placement", Fail, "kernel put it at 0x7a000000, planner predicted 0x7c000000"}}},
		{"kernel cma heap from the boot log", func(t *testing.T, f *fixture) {
			delete(f.files, "sys/kernel/debug/cma/linux,cma/base_pfn")
			f.files["dev/kmsg"] += "6,5,10,-;Reserved memory: created CMA memory pool at 0x0000000077000000, size 16 MiB\n" +
				"6,6,11,-;OF: reserved mem: initialized node video@70000000, compatible id shared-dma-pool\n" +
				"6,7,12,-;Reserved memory: created CMA memory pool at 0x000000007c000000, size 32 MiB\n" +
				"6,8,13,-;OF: reserved mem: initialized node linux,cma, compatible id shared-dma-pool\n"
		}, []want{{"heap/linux,cma/placement", Pass, "base 0x7c000000 size 32 MiB (boot log)"}}},
		{"kernel cma heap nowhere", func(t *testing.T, f *fixture) {
			delete(f.files, "sys/kernel/debug/cma/linux,cma/count")
		}, []want{{"heap/linux,cma/placement", Fail, "CMA area linux,cma not found"}}},
		{"allocation failure", func(t *testing.T, f *fixture) {
			f.heaps.byName["video@70000000"].allocErr = fmt.Errorf("DMA_HEAP_IOCTL_ALLOC: %w", unix.ENOMEM)
		}, []want{{"heap/video@70000000/alloc", Fail, "allocation of 64 KiB failed: DMA_HEAP_IOCTL_ALLOC: cannot allocate memory"}}},
		{"not zeroed", func(t *testing.T, f *fixture) {
			f.heaps.byName["dsp"].dirtyAt = 0x1234
		}, []want{{"heap/dsp/alloc", Fail, "not zeroed: byte 0x5a at offset 0x1234"}}},
		{"pattern not read back", func(t *testing.T, f *fixture) {
			f.heaps.byName["dsp"].corruptAt = 0x2000
		}, []want{{"heap/dsp/alloc", Fail, "at offset 0x2000"}}},
		{"not zeroed at an odd offset", func(t *testing.T, f *fixture) {
			f.heaps.byName["dsp"].dirtyAt = 0x1235
		}, []want{{"heap/dsp/alloc", Fail, "not zeroed: byte 0x5a at offset 0x1235 (data leak"}}},
		{"last byte not zeroed", func(t *testing.T, f *fixture) {
			f.heaps.byName["video@70000000"].dirtyAt = 64<<10 - 1
		}, []want{{"heap/video@70000000/alloc", Fail, "not zeroed: byte 0x5a at offset 0xffff"}}},
		{"pattern not read back at an odd offset", func(t *testing.T, f *fixture) {
			f.heaps.byName["dsp"].corruptAt = 0x2003
		}, []want{{"heap/dsp/alloc", Fail, fmt.Sprintf("read back 0x%02x at offset 0x2003, wrote 0x%02x", pattern(0x2003)^1, pattern(0x2003))}}},
		{"mmap fails on a mappable heap", func(t *testing.T, f *fixture) {
			f.heaps.byName["dsp"].mapErr = fmt.Errorf("mmap: %w", unix.ENOMEM)
		}, []want{{"heap/dsp/alloc", Fail, "mmap failed"}}},
		{"mapping allowed on unmapped heap", func(t *testing.T, f *fixture) {
			f.heaps.byName["secure"].mapErr = nil
		}, []want{{"heap/secure/alloc", Fail, "mapping allowed on an unmapped heap"}}},
		{"unmapped heap refuses with the wrong errno", func(t *testing.T, f *fixture) {
			f.heaps.byName["secure"].mapErr = fmt.Errorf("mmap: %w", unix.EINVAL)
		}, []want{{"heap/secure/alloc", Fail, "want EPERM"}}},
		{"allocation hangs", func(t *testing.T, f *fixture) {
			f.heaps.byName["dsp"].hang = true
		}, []want{{"heap/dsp/alloc", Fail, "timed out after 2s"}}},
		{"no devicetree", func(t *testing.T, f *fixture) {
			f.tree = nil
		}, []want{{"dt/read", Fail, "cannot read the live devicetree"}}},
		// The live blob goes through fdtsafe: a damaged one is a FAIL naming the damage.
		{"devicetree truncated", func(t *testing.T, f *fixture) {
			var buf bytes.Buffer
			if _, err := f.tree.Write(&buf); err != nil {
				t.Fatal(err)
			}
			f.files[strings.TrimPrefix(FDTPath, "/")] = buf.String()[:buf.Len()/2]
			f.tree = nil
		}, []want{{"dt/read", Fail, "parse /sys/firmware/fdt: truncated devicetree blob: header says"}}},
		{"devicetree property runs past its block", func(t *testing.T, f *fixture) {
			var buf bytes.Buffer
			if _, err := f.tree.Write(&buf); err != nil {
				t.Fatal(err)
			}
			b := buf.Bytes()
			// The root's first token is FDT_BEGIN_NODE with an empty name (8 bytes), then
			// its first property: FDT_PROP, length, name offset.
			off := binary.BigEndian.Uint32(b[8:]) + 8
			if binary.BigEndian.Uint32(b[off:]) != 3 {
				t.Fatalf("no property at 0x%x", off)
			}
			binary.BigEndian.PutUint32(b[off+4:], 1<<30)
			f.files[strings.TrimPrefix(FDTPath, "/")] = string(b)
			f.tree = nil
		}, []want{{"dt/read", Fail, "property of 1073741824 bytes runs past the structure block"}}},
		{"DT pool node missing", func(t *testing.T, f *fixture) {
			rsv, _ := f.tree.RootNode.LookupChildByName("reserved-memory")
			rsv.Children = rsv.Children[1:]
		}, []want{
			{"dt/pool/video", Fail, "node /reserved-memory/video@70000000 missing"},
			{"dt/heap-node", Fail, "phandle 0x10 is not a /reserved-memory child"},
		}},
		{"DT reserved-memory missing", func(t *testing.T, f *fixture) {
			f.tree.RootNode.Children = []*dt.Node{f.tree.RootNode.Children[0], f.tree.RootNode.Children[2]}
		}, []want{
			{"dt/reserved-memory", Fail, "no /reserved-memory node"},
			{"dt/pool/video", Skip, "no usable /reserved-memory"},
			{"dt/pool/dsp", Skip, "no usable /reserved-memory"},
			{"dt/pool/secure", Skip, "no usable /reserved-memory"},
			{"dt/pool/linux,cma", Skip, "no usable /reserved-memory"},
			{"dt/heap-node", Fail, "is not a /reserved-memory child"},
		}},
		{"DT reserved-memory cells differ from root", func(t *testing.T, f *fixture) {
			rsv, _ := f.tree.RootNode.LookupChildByName("reserved-memory")
			rsv.UpdateProperty("#size-cells", []byte{0, 0, 0, 1})
		}, []want{
			{"dt/reserved-memory", Fail, "#size-cells = <1>, root has <2>: Linux ignores every region"},
			{"dt/pool/video", Skip, ""},
			{"dt/pool/dsp", Skip, ""},
			{"dt/pool/secure", Skip, ""},
			{"dt/pool/linux,cma", Skip, ""},
		}},
		{"DT fixed pool moved", func(t *testing.T, f *fixture) {
			f.poolNode(t, "video@70000000").Update(dt.PropertyRegion("reg", 0x70200000, 32<<20))
		}, []want{{"dt/pool/video", Fail, "moved: base 0x70200000, manifest 0x70000000"}}},
		{"DT dynamic pool resized", func(t *testing.T, f *fixture) {
			f.poolNode(t, "dsp").Update(dt.PropertyU64("size", 8<<20))
		}, []want{{"dt/pool/dsp", Fail, "resized: size 8 MiB, manifest 16 MiB"}}},
		{"DT pool disabled and flag lost", func(t *testing.T, f *fixture) {
			n := f.poolNode(t, "secure@60000000")
			n.RemoveProperty("no-map")
			n.Properties = append(n.Properties, strList("status", "disabled"))
		}, []want{{"dt/pool/secure", Fail, "status is disabled: the kernel skips it; no-map is false, manifest true"}}},
		{"DT firmware region overlaps", func(t *testing.T, f *fixture) {
			rsv, _ := f.tree.RootNode.LookupChildByName("reserved-memory")
			rsv.Children = append(rsv.Children, dt.NewNode("optee@70f00000", dt.WithProperty(dt.PropertyRegion("reg", 0x70f00000, 2<<20), flag("no-map"))))
		}, []want{{"dt/overlap", Fail, "/reserved-memory/optee@70f00000 [0x70f00000-0x710fffff] overlaps pool video"}}},
		{"DT memreserve overlaps a predicted pool", func(t *testing.T, f *fixture) {
			f.tree.ReserveEntries = []dt.ReserveEntry{{Address: 0x7e800000, Size: 0x1000}}
		}, []want{{"dt/overlap", Fail, "/memreserve/ [0x7e800000-0x7e800fff] overlaps predicted place of dynamic pool dsp"}}},
		{"DT harmless firmware region", func(t *testing.T, f *fixture) {
			rsv, _ := f.tree.RootNode.LookupChildByName("reserved-memory")
			rsv.Children = append(rsv.Children, dt.NewNode("tfa@4e000000", dt.WithProperty(dt.PropertyRegion("reg", 0x4e000000, 2<<20))))
		}, []want{{"dt/overlap", Pass, "1 foreign region(s), none overlapping"}}},
		{"DT heap node missing", func(t *testing.T, f *fixture) {
			f.tree.RootNode.Children = f.tree.RootNode.Children[:2]
		}, []want{{"dt/heap-node", Fail, "heap node /dma-heaps missing"}}},
		{"DT heap node disagrees", func(t *testing.T, f *fixture) {
			hn, _ := f.tree.RootNode.LookupChildByName("dma-heaps")
			hn.Update(strList("dtheap,heap-kinds", "cma", "carveout", "carveout"))
			hn.Update(strList("dtheap,heap-names", "video@70000000", "dsp", "secure", "extra"))
		}, []want{{"dt/heap-node", Fail, "heap secure: kind \"carveout\", manifest \"unmapped\""}}},
		{"CMA total short", func(t *testing.T, f *fixture) {
			f.files["proc/meminfo"] = "CmaTotal:          32768 kB\n"
		}, []want{{"cma/total", Fail, "CmaTotal 32 MiB, want 64 MiB: 32 MiB of CMA pools missing"}}},
		{"CMA total over", func(t *testing.T, f *fixture) {
			f.files["proc/meminfo"] = "CmaTotal:          98304 kB\n"
		}, []want{{"cma/total", Fail, "32 MiB of CMA the plan does not know"}}},
		{"no CMA in kernel", func(t *testing.T, f *fixture) {
			f.files["proc/meminfo"] = "MemTotal: 1 kB\n"
		}, []want{{"cma/total", Fail, "kernel without CONFIG_CMA"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := goodFixture()
			tt.edit(t, f)
			rep := f.run(t)
			listed := map[string]bool{}
			wantFail := false
			for _, w := range tt.wants {
				listed[w.id] = true
				got, ok := find(rep, w.id)
				if !ok {
					t.Errorf("no check %s in the report", w.id)
					continue
				}
				if got.Status != w.status || !strings.Contains(got.Detail, w.detail) {
					t.Errorf("%s = %s %q, want %s containing %q", w.id, got.Status, got.Detail, w.status, w.detail)
				}
				wantFail = wantFail || w.status == Fail
			}
			for _, r := range rep.Checks {
				if listed[r.ID] {
					continue
				}
				// A failed device legitimately skips its allocation; nothing else may drift.
				if r.Status != Pass && !(r.Status == Skip && strings.HasSuffix(r.ID, "/alloc")) {
					t.Errorf("unexpected %s", FormatResult(r))
				}
			}
			if (rep.Verdict == Fail) != wantFail {
				t.Errorf("verdict %s, want fail=%v\n%s", rep.Verdict, wantFail, textOf(rep))
			}
		})
	}
}

func textOf(rep *Report) string {
	var b bytes.Buffer
	rep.WriteText(&b)
	return b.String()
}

// TestRunCoversEveryHeap guards against a check silently dropping a heap or a step.
func TestRunCoversEveryHeap(t *testing.T) {
	f := goodFixture()
	rep := f.run(t)
	for _, h := range f.m.Heaps {
		for _, step := range []string{"device", "placement", "alloc"} {
			if r, ok := find(rep, "heap/"+h.Name+"/"+step); !ok || r.Status != Pass {
				t.Errorf("heap/%s/%s: %+v (present %v), want PASS", h.Name, step, r, ok)
			}
		}
	}
	if len(f.loader.calls) != 1 || !strings.HasSuffix(f.loader.calls[0], "/lib/modules/6.1.192/updates/dtheap_heaps.ko") {
		t.Errorf("loader calls %v, want the one module under the root", f.loader.calls)
	}
	if len(f.heaps.allocs) != len(f.m.Heaps) {
		t.Errorf("allocated from %v, want every heap once", f.heaps.allocs)
	}
	if rep.Verdict != Pass || rep.Failed != 0 || rep.Total != rep.Passed {
		t.Errorf("verdict %s with %d/%d passed:\n%s", rep.Verdict, rep.Passed, rep.Total, textOf(rep))
	}
}

func TestNoModulesNoHeapsLoaderOrDevices(t *testing.T) {
	f := goodFixture()
	f.m.Modules = nil
	root := f.write(t)
	rep := Run(context.Background(), Config{Root: root, Manifest: f.m, Timeout: 100 * time.Millisecond, PageSize: pageSize})
	if r, _ := find(rep, "module"); r.Status != Skip {
		t.Errorf("module check = %+v, want SKIP for a built-in driver", r)
	}
	if r, _ := find(rep, "heap/dsp/alloc"); r.Status != Skip || !strings.Contains(r.Detail, "no heap device access") {
		t.Errorf("alloc without HeapDevices = %+v, want SKIP", r)
	}
}

func TestReportFormats(t *testing.T) {
	rep := NewReport(testManifest(), []Result{
		{ID: "a", Status: Pass, Detail: "fine"},
		{ID: "b", Status: Fail, Detail: "broken"},
		{ID: "c", Status: Skip},
	})
	if rep.Verdict != Fail || rep.Total != 3 || rep.Failed != 1 || rep.Skipped != 1 || rep.Passed != 1 {
		t.Fatalf("counts wrong: %+v", rep)
	}
	wantText := "PASS a: fine\nFAIL b: broken\nSKIP c\ndtheap-check: verdict FAIL (3 checks, 1 failed, 1 skipped)\n"
	if got := textOf(rep); got != wantText {
		t.Errorf("text:\n%s\nwant:\n%s", got, wantText)
	}
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"tool", "board", "arch", "verdict", "total", "passed", "failed", "skipped", "checks"} {
		if _, ok := back[k]; !ok {
			t.Errorf("JSON lacks key %q: %s", k, b.String())
		}
	}
	rep.Add(Result{ID: "d", Status: Fail})
	if rep.Failed != 2 || rep.Total != 4 || rep.Board != "test-board" {
		t.Errorf("Add did not recount: %+v", rep)
	}
	if onlySkips := NewReport(nil, []Result{{ID: "x", Status: Skip}}); onlySkips.Verdict != Fail {
		t.Errorf("a run with only skips must not pass")
	}
}

// The per-check wall time: bracketed after the line with --timings, duration_ns in JSON, both
// absent for a result that ran no step.
func TestFormatTimed(t *testing.T) {
	timed := Result{ID: "heap/dsp/alloc", Status: Pass, Detail: "ok", Duration: 3210500 * time.Nanosecond}
	if got, want := FormatTimed(timed), "PASS heap/dsp/alloc: ok [3.211ms]"; got != want {
		t.Errorf("FormatTimed = %q, want %q", got, want)
	}
	untimed := Result{ID: "c", Status: Skip}
	if got := FormatTimed(untimed); got != FormatResult(untimed) {
		t.Errorf("FormatTimed without a duration = %q, want %q", got, FormatResult(untimed))
	}
	b, err := json.Marshal([]Result{timed, untimed})
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"id":"heap/dsp/alloc","status":"PASS","detail":"ok","duration_ns":3210500},{"id":"c","status":"SKIP","detail":""}]`
	if string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
}

// Every result that went through a step carries its wall time; results decided up front do not.
func TestRunRecordsDurations(t *testing.T) {
	m := testManifest()
	root := t.TempDir()
	rep := Run(context.Background(), Config{Root: root, Manifest: m, Timeout: 50 * time.Millisecond, Poll: time.Millisecond})
	stepped := 0
	for _, r := range rep.Checks {
		if strings.HasSuffix(r.ID, "/alloc") && r.Status == Skip {
			if r.Duration != 0 {
				t.Errorf("%s: a SKIP decided without running has duration %v", r.ID, r.Duration)
			}
			continue
		}
		if r.Duration < 0 {
			t.Errorf("%s: negative duration %v", r.ID, r.Duration)
		}
		if r.Duration > 0 {
			stepped++
		}
	}
	if stepped == 0 {
		t.Errorf("no result carries a duration: %+v", rep.Checks)
	}
}

func TestHumanSize(t *testing.T) {
	for in, want := range map[uint64]string{
		0: "0 bytes", 512: "512 bytes", 4096: "4 KiB", 32 << 20: "32 MiB", 3 << 30: "3 GiB",
		(1 << 20) + 1: "1.00 MiB (1048577 bytes)",
	} {
		if got := humanSize(in); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestModuleName(t *testing.T) {
	if got := moduleName("dtheap-heaps.ko"); got != "dtheap_heaps" {
		t.Errorf("moduleName = %q", got)
	}
}

func TestParseSelftest(t *testing.T) {
	out := `Testing heap: video
=======================================
  Testing allocation and importing:  (Could not open vgem - skipping):   OK
  Testing alloced 4k buffers are zeroed:  OK
  Testing alloced 1024k buffers are zeroed:  FAIL (Allocated buffer not zeroed @ 12)
  Testing (theoretical)older alloc compat:  OK
  Testing expected error cases:  FAIL (Did not see expected error (invalid fd)!)
`
	ok, failed := ParseSelftest(out)
	if ok != 3 || failed != 2 {
		t.Errorf("ParseSelftest = %d ok, %d failed; want 3, 2", ok, failed)
	}
	// A 6.1 output never counts as TAP.
	if c := ParseSelftestCounts(out); c.TAP || c.Skip != 0 {
		t.Errorf("6.1 output read as %+v", c)
	}
	if got := prefixLines("selftest: ", "a\nb\n"); got != "selftest: a\nselftest: b\n" {
		t.Errorf("prefixLines = %q", got)
	}
	hs := mappableHeaps([]string{"a", "b", "c"}, func(s string) bool { return s != "b" })
	if strings.Join(hs, ",") != "a,c" {
		t.Errorf("mappableHeaps = %v", hs)
	}
}

// TestParseSelftestTAP: 6.12's and 7.3's dmabuf-heap.c print TAP through kselftest.h
// (ksft_print_header, ksft_set_plan(11 or 12 * heaps), ksft_test_result*, ksft_print_msg "# ",
// ksft_finished -> "# Totals: ..."). The lines below are what those printf formats produce for
// the messages in tools/testing/selftests/dmabuf-heaps/dmabuf-heap.c of 6.12. FACTS.md section
// 5: the 6.1 parser read a 6.12 run that passed 44 of 44 as "0 passed, 0 failed".
func TestParseSelftestTAP(t *testing.T) {
	pass := `TAP version 13
1..44
# Testing heap: video@60000000
# =======================================
# Testing allocation and importing:
ok 1 # SKIP Could not open vgem -1
ok 2 test_alloc_and_import dmabuf sync succeeded
# Testing alloced 4k buffers are zeroed:
ok 3 Allocate and fill a bunch of buffers
ok 4 Allocate and validate all buffers are zeroed
# Testing (theoretical) older alloc compat:
ok 5 dmabuf_heap_alloc_older
ok 6 dmabuf_heap_alloc_newer
# Testing expected error cases:
ok 7 Error expected on invalid fd -22
# Totals: pass:43 fail:0 xfail:0 xpass:0 skip:1 error:0
`
	if c := ParseSelftestCounts(pass); !c.TAP || c.Pass != 43 || c.Fail != 0 || c.Skip != 1 {
		t.Errorf("passing TAP run read as %+v", c)
	}
	// Without the totals line (the run was cut short), the result lines are counted; the
	// "# FAIL (...)" diagnostics of ksft_print_msg are not results.
	cut := `TAP version 13
1..22
# Testing allocation and importing:
not ok 1 FAIL (Allocation Failed!) -12
# FAIL (DMA_BUF_SYNC_START failed!) -1
not ok 2 test_alloc_and_import dmabuf sync failed
ok 3 Allocate and fill a bunch of buffers
ok 4 # SKIP Could not open vgem -1
`
	if c := ParseSelftestCounts(cut); !c.TAP || c.Pass != 1 || c.Fail != 2 || c.Skip != 1 {
		t.Errorf("cut TAP run read as %+v", c)
	}
	failed := "TAP version 13\n1..11\nnot ok 1 FAIL (mmap() failed): Permission denied\n# Totals: pass:10 fail:1 xfail:0 xpass:0 skip:0 error:0\n"
	if ok, bad := ParseSelftest(failed); ok != 10 || bad != 1 {
		t.Errorf("failing TAP run: %d passed, %d failed; want 10, 1", ok, bad)
	}
	bail := "TAP version 13\nBail out! open /dev/dma_heap/x failed: No such file or directory\n"
	if c := ParseSelftestCounts(bail); c.Fail != 1 || c.Pass != 0 {
		t.Errorf("bail out read as %+v", c)
	}
}
