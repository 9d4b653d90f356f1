// Package doctor explains what a running Linux system did with its reserved memory and
// DMA-BUF heaps, from what the system shows: the devicetree it booted
// (/sys/firmware/fdt), the kernel log, /dev/dma_heap, the CMA areas in sysfs and debugfs and
// /proc/meminfo. It reads a root directory: "/" on the system itself, or a copy of those files
// (for tests and bug reports: sys/firmware/fdt, dmesg.txt holding the kernel log,
// dev/dma_heap/<name> entries, sys/kernel/mm/cma/<area>/, sys/kernel/debug/cma/<area>/
// {base_pfn,count,used}, proc/meminfo). Every verdict comes with the lines that prove it.
//
// The kernel's messages it reads (drivers/of/of_reserved_mem.c, kernel/dma/contiguous.c of
// 6.1, 6.12 and 7.3):
//
//	OF: reserved mem: 0x..0x.. (N KiB) nomap|map reusable|non-reusable NAME   6.12, 7.3: set up
//	OF: reserved mem: initialized node NAME, compatible id ID                 6.1: set up
//	  (6.12, 7.3: a shared-dma-pool set up without it was taken by no driver: 7.3 does that
//	  with no-map + reusable, and keeps the memory reserved: lost)
//	failed to allocate memory for node 'NAME'                                 dynamic region lost
//	Reserved memory: failed to reserve memory for node 'NAME'                 fixed region failed
//	Reserved memory: unsupported node format, ignoring                        every region ignored
//	node NAME compatible matching fail                                        refused, memory given back
//	Reserved memory: incorrect alignment of CMA region (just before the above) refused for its CMA alignment
//	Reserved memory: bypass NAME node, using cmdline CMA params instead       6.1, 6.12: cma= wins
//	Skipping dt linux,cma-default node in favor for "cma=" kernel param.      7.3: cma= wins
//	OVERLAP DETECTED! / NAME (..) overlaps with NAME2 (..)                    overlapping
//	invalid size|alignment|alloc-ranges|reg property in 'NAME'                skipped
//	cma: CMA area NAME could not be activated (mm/cma.c)                      pool lost, pages freed
//	fdt_scan_reserved_mem_reg_nodes() ignores N regions in node 'NAME'        6.12: noted
//	Reserved memory: node 'NAME' has N <base size> entries, only the first is used  7.3: noted
//	(nothing: 7.3 places a node whose alloc-ranges is not whole entries anywhere)  placed, noted
package doctor

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/dtheap/dtheap/internal/kmsg"
	"github.com/dtheap/dtheap/internal/logmatch"
	"github.com/dtheap/dtheap/kmodel"
)

// Verdict is what happened to a region or heap.
type Verdict string

// Verdicts.
const (
	Placed     Verdict = "placed"      // set up where the log or sysfs says
	Failed     Verdict = "failed"      // reservation or allocation failed: the region is missing
	Ignored    Verdict = "ignored"     // the kernel ignored it (the whole /reserved-memory, or a bad property)
	Refused    Verdict = "refused"     // no driver took it: memory given back
	Lost       Verdict = "lost"        // no driver took it and the kernel keeps its memory reserved: used by nothing
	Bypassed   Verdict = "bypassed"    // cma= took the default CMA area's place
	Overlap    Verdict = "overlapping" // OVERLAP DETECTED names it
	Disabled   Verdict = "disabled"    // status is not okay: skipped by design
	NoEvidence Verdict = "no-evidence" // nothing in the log or sysfs mentions it (log rotated? quiet boot?)
	Present    Verdict = "present"     // a heap's device is there
	Missing    Verdict = "missing"     // a heap the devicetree's dtheap node lists is not there
)

// Region is one /reserved-memory child and what the kernel did with it.
type Region struct {
	Node     string   `json:"node"` // path
	Verdict  Verdict  `json:"verdict"`
	Detail   string   `json:"detail"`
	Evidence []string `json:"evidence,omitempty"`
}

// Heap is one DMA-BUF heap, present or expected.
type Heap struct {
	Name     string   `json:"name"`
	Verdict  Verdict  `json:"verdict"`
	Provider string   `json:"provider"` // system, cma (the kernel's), dtheap, unknown
	Mode     string   `json:"mode,omitempty"`
	Size     uint64   `json:"size,omitempty"` // bytes, for heaps over a CMA area
	Free     uint64   `json:"free,omitempty"`
	Evidence []string `json:"evidence,omitempty"`
}

// Report is the doctor's answer.
type Report struct {
	Root    string   `json:"root"`
	Regions []Region `json:"regions"`
	Heaps   []Heap   `json:"heaps"`
	// Notes say what could not be read (no kernel log, no debugfs).
	Notes []string `json:"notes,omitempty"`
}

// Examine reads a system (root "/") or a copy of one.
func Examine(root string) (*Report, error) {
	r := &Report{Root: root}
	blob, err := os.ReadFile(filepath.Join(root, "sys", "firmware", "fdt"))
	if err != nil {
		return nil, fmt.Errorf("reading the booted devicetree: %w (run as root, or copy /sys/firmware/fdt)", err)
	}
	b, err := readTree(blob)
	if err != nil {
		return nil, fmt.Errorf("/sys/firmware/fdt: %w", err)
	}
	log, err := kernelLog(root)
	if err != nil {
		r.Notes = append(r.Notes, "no kernel log: "+err.Error())
	}
	r.regions(b, log)
	r.heaps(root, b)
	return r, nil
}

// kernelLog is dmesg.txt in a copy, or dmesg's output on the running system.
func kernelLog(root string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(root, "dmesg.txt"))
	if errors.Is(err, fs.ErrNotExist) && root == "/" {
		data, err = exec.Command("dmesg").Output()
		if err != nil {
			data, err = readKmsg("/dev/kmsg") // an initramfs without dmesg
		}
	}
	if err != nil {
		return nil, err
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines, sc.Err()
}

// readKmsg reads the kernel's record buffer as dmesg does, one message per line, with the
// newlines a message holds itself restored: /dev/kmsg escapes them (OVERLAP DETECTED! is two
// lines).
func readKmsg(path string) ([]byte, error) {
	lines, err := kmsg.Read(path, 16<<20, 1000000)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	for _, l := range lines {
		out.WriteString(strings.ReplaceAll(l, `\x0a`, "\n"))
		out.WriteByte('\n')
	}
	return out.Bytes(), nil
}

// The log lines the doctor reads, as logmatch patterns (the regexp each stands for is in
// logmatch_test.go, which holds them to it): the boot checker links the doctor, and package
// regexp would cost every boot its table initialisers (internal/logmatch).
var (
	setup612   = logmatch.New("OF: reserved mem: {x}..{x} ({d} KiB) {nomap|map} {reusable|non-reusable} {S}$")
	initNode   = logmatch.New("OF: reserved mem: initialized node {S}, compatible id {S}")
	allocFail  = logmatch.New("failed to allocate memory for node '{q}'")
	resvFail   = logmatch.New("failed to reserve memory for node '{q}'")
	matchFail  = logmatch.New("OF: reserved mem: node {S} compatible matching fail")
	bypass     = logmatch.New("Reserved memory: bypass {S} node, using cmdline CMA params instead")
	skipDef    = logmatch.New(`Skipping dt linux,cma-default node in favor for "cma=" kernel param`)
	overlapped = logmatch.New("^{S} ({x}--{x}) overlaps with {S} (")
	badProp    = logmatch.New("invalid {size|alignment|alloc-ranges|reg} property in '{q}'")
	unsupp     = logmatch.New("Reserved memory: unsupported node format, ignoring")
	regIgnored = logmatch.New("fdt_scan_reserved_mem_reg_nodes() ignores {d} regions in node '{q}'")
	regFirst   = logmatch.New("Reserved memory: node '{q}' has {d} <base size> entries, only the first is used")
	cmaActFail = logmatch.New("cma: CMA area {S} could not be activated")
)

// findOverlapped matches the line after "OVERLAP DETECTED!" (__rmem_check_for_overlap), with
// or without its printk time stamp, as ^(?:\[[^\]]*\]\s*)?overlapped would: the stamp
// taken off first, then the line as it is.
func findOverlapped(line string) []string {
	if strings.HasPrefix(line, "[") {
		if i := strings.IndexByte(line, ']'); i >= 0 {
			rest := strings.TrimLeft(line[i+1:], " \t\n\f\r")
			if m := overlapped.Find(rest); m != nil {
				return m
			}
		}
	}
	return overlapped.Find(line)
}

func (r *Report) regions(b *tree, log []string) {
	type state struct {
		verdict  Verdict
		detail   string
		evidence []string
		notes    []string // said after the detail, whatever the verdict
	}
	byNode := map[string]*state{}
	var order []string
	paths := map[string]string{}
	for _, n := range b.nodes {
		if _, dup := byNode[n.name]; dup {
			continue
		}
		st := &state{verdict: NoEvidence, detail: "nothing in the kernel log names it"}
		if n.disabled != "" {
			st.verdict, st.detail = Disabled, "status = \""+n.disabled+"\": the kernel skips it"
		}
		byNode[n.name] = st
		order = append(order, n.name)
		paths[n.name] = n.path
	}
	set := func(node string, v Verdict, detail, line string) {
		s, ok := byNode[node]
		if !ok {
			return
		}
		// A failure outranks a set-up line (6.1 logs "initialized" only for what it kept), and
		// an overlap outranks both: it is the one that corrupts.
		rank := map[Verdict]int{NoEvidence: 0, Disabled: 1, Placed: 2, Bypassed: 3, Lost: 4, Refused: 4, Ignored: 5, Failed: 6, Overlap: 7}
		if rank[v] >= rank[s.verdict] {
			s.verdict, s.detail = v, detail
		}
		s.evidence = append(s.evidence, strings.TrimSpace(line))
	}
	// note records a line that qualifies a node's verdict without deciding it.
	note := func(node, text, line string) {
		if s, ok := byNode[node]; ok {
			s.notes = append(s.notes, text)
			s.evidence = append(s.evidence, strings.TrimSpace(line))
		}
	}
	var lastCMA string // 6.1: "created CMA memory pool at" comes just before "initialized node"
	// 6.12 and 7.3 print "initialized node NAME" (__reserved_mem_init_node) just before NAME's
	// set-up line (fdt_init_reserved_mem_node); a driver that took the node printed it.
	initialized := map[string]bool{}
	sharedDMA := map[string]bool{}
	for _, n := range b.nodes {
		if n.sharedDMA {
			sharedDMA[n.name] = true
		}
	}
	for i, line := range log {
		switch {
		case unsupp.Match(line):
			for _, n := range order {
				set(n, Ignored, "the kernel ignored every /reserved-memory region (cell counts or ranges)", line)
			}
		case setup612.Match(line):
			m := setup612.Find(line)
			where := fmt.Sprintf("at %s..%s, %s KiB, %s %s", m[1], m[2], m[3], m[4], m[5])
			if sharedDMA[m[6]] && !initialized[m[6]] {
				// fdt_init_reserved_mem_node prints the set-up line when every driver's init
				// said -ENODEV/-ENOENT ("not mine"), and keeps the region reserved as it is.
				// For a shared-dma-pool that means neither the CMA nor the DMA pool took it:
				// 7.3's rmem_cma_setup and rmem_dma_setup say -ENODEV for no-map with
				// reusable (kernel/dma/contiguous.c __rmem_cma_verify_node,
				// kernel/dma/coherent.c).
				set(m[6], Lost, where+": no CMA or DMA pool took it (no \"initialized node\" line), and the kernel keeps it reserved: the memory is lost", line)
				break
			}
			set(m[6], Placed, where, line)
		case initNode.Match(line):
			m := initNode.Find(line)
			initialized[m[1]] = true
			detail := "initialized, compatible " + m[2]
			if lastCMA != "" {
				detail += "; " + lastCMA
			}
			set(m[1], Placed, detail, line)
			lastCMA = ""
		case strings.Contains(line, "Reserved memory: created CMA memory pool at"):
			lastCMA = line[strings.Index(line, "created"):]
		case allocFail.Match(line):
			set(allocFail.Find(line)[1], Failed, "the kernel found no room for it: the region is missing", line)
		case resvFail.Match(line):
			set(resvFail.Find(line)[1], Failed, "the kernel could not reserve it (over the kernel, the initrd or another reservation)", line)
		case matchFail.Match(line):
			node := matchFail.Find(line)[1]
			// rmem_cma_setup's alignment refusal names no node: it is the line just before
			// the refusal of the node it judged (kernel/dma/contiguous.c, then
			// of_reserved_mem.c's "compatible matching fail"; rmem_dma_setup, the other
			// shared-dma-pool setup, refuses a reusable node without a word).
			if i > 0 && strings.Contains(log[i-1], "Reserved memory: incorrect alignment of CMA region") {
				set(node, Refused, "the CMA setup refused it: its base or size is not a multiple of the CMA alignment (PAGE_SIZE << pageblock_order); no pool, memory given back", log[i-1])
				set(node, Refused, "the CMA setup refused it: its base or size is not a multiple of the CMA alignment (PAGE_SIZE << pageblock_order); no pool, memory given back", line)
				break
			}
			// 6.1 and 6.12 rmem_cma_setup say -EBUSY after "bypass NAME node" (cma= on the
			// command line), rmem_dma_setup -EINVAL for reusable, so a bypassed default
			// node is also refused on the next line: cma= is the cause.
			if i > 0 {
				if m := bypass.Find(log[i-1]); m != nil && m[1] == node {
					set(node, Bypassed, "cma= on the command line replaced this default CMA node; its memory was given back", line)
					break
				}
			}
			set(node, Refused, "no driver took it (e.g. no-map with reusable): no pool, its memory given back to the kernel", line)
		case regIgnored.Match(line):
			// 6.12 fdt_scan_reserved_mem_reg_nodes: __reserved_mem_reserve_reg reserved every
			// entry, the region table keeps the first.
			m := regIgnored.Find(line)
			note(m[2], "its reg has "+m[1]+" more <address size> entries: all are reserved, but the kernel's region table (what devices get) has only the first", line)
		case regFirst.Match(line):
			// 7.3 __reserved_mem_reserve_reg reserves only the first entry.
			m := regFirst.Find(line)
			note(m[1], "its reg has "+m[2]+" <address size> entries and only the first is reserved: the others stay free memory the page allocator hands out", line)
		case cmaActFail.Match(line):
			// mm/cma.c cma_activate_area, at core_initcall: the area spans two zones (6.1 and
			// 6.12 compare page_zone of every page, 7.3 cma_validate_zones) or its bitmap
			// could not be allocated. Its pages go to the page allocator, its count is 0.
			// The area's name is the node's (rmem_cma_setup passes rmem->name).
			set(cmaActFail.Find(line)[1], Failed, "the CMA setup could not activate its area (it spans two memory zones, or no memory for its bitmap): the pages went to the page allocator, the pool is empty", line)
		case bypass.Match(line):
			set(bypass.Find(line)[1], Bypassed, "cma= on the command line replaced this default CMA node", line)
		case skipDef.Match(line):
			for _, n := range b.nodes {
				if n.isDefault {
					set(n.name, Bypassed, "cma= on the command line replaced this default CMA node", line)
				}
			}
		case badProp.Match(line):
			m := badProp.Find(line)
			set(m[2], Ignored, "its "+m[1]+" property is malformed: the node was skipped", line)
		case strings.Contains(line, "OVERLAP DETECTED!") && i+1 < len(log):
			next := log[i+1]
			if j := strings.Index(next, "] "); j >= 0 && strings.HasPrefix(strings.TrimSpace(next), "[") {
				next = next[j+2:]
			}
			if m := findOverlapped(strings.TrimSpace(next)); m != nil {
				for _, n := range []string{m[1], m[4]} {
					set(n, Overlap, "OVERLAP DETECTED: it shares memory with another region, both in use", line+" / "+strings.TrimSpace(log[i+1]))
				}
			}
		}
	}
	// 7.3 reads alloc-ranges through of_flat_dt_get_addr_size_prop (drivers/of/fdt.c), which
	// returns nothing for a length that is not whole <address size> entries, so
	// __reserved_mem_alloc_size allocates anywhere without a word; 6.1 and 6.12 say "invalid
	// alloc-ranges property" and skip the node (ignored above). A node placed with such a
	// property was placed outside the window it asked for, as far as anyone can tell.
	for _, n := range b.nodes {
		if s := byNode[n.name]; s != nil && s.verdict == Placed && n.allocRangesLen > 0 && b.entry > 0 && n.allocRangesLen%b.entry != 0 {
			s.detail += fmt.Sprintf("; but its alloc-ranges (%d bytes) is not whole <address size> entries of %d bytes: the kernel ignored it and placed the region anywhere", n.allocRangesLen, b.entry)
		}
	}
	for _, n := range order {
		s := byNode[n]
		for _, t := range s.notes {
			s.detail += "; " + t
		}
		r.Regions = append(r.Regions, Region{Node: paths[n], Verdict: s.verdict, Detail: s.detail, Evidence: s.evidence})
	}
}

func (r *Report) heaps(root string, b *tree) {
	ents, err := heapListing(root)
	if err != nil {
		r.Notes = append(r.Notes, "no /dev/dma_heap: "+err.Error())
	}
	cmaAreas := map[string]bool{}
	// The kernel's names for the default area's heap, from kmodel; "linux,cma" is the
	// default area's usual node name, for systems without CMA sysfs or debugfs to list areas.
	kernelDefault := map[string]bool{}
	for _, n := range kmodel.DefaultHeapNames() {
		kernelDefault[n] = true
	}
	for _, d := range []string{filepath.Join(root, "sys", "kernel", "mm", "cma"), filepath.Join(root, "sys", "kernel", "debug", "cma")} {
		if es, err := os.ReadDir(d); err == nil {
			for _, e := range es {
				cmaAreas[e.Name()] = true
			}
		}
	}
	// 7.3 add_cma_heaps (drivers/dma-buf/heaps/cma_heap.c) makes a heap over every CMA area,
	// named after it, and a devicetree area is named after its node (rmem_cma_setup passes
	// rmem->name); it does so even for an area cma_activate_area could not activate.
	byPath := map[string]Region{}
	for _, g := range r.Regions {
		byPath[g.Node] = g
	}
	cmaNodes := map[string]Region{}
	for _, n := range b.nodes {
		if g, ok := byPath[n.path]; ok && n.sharedDMA {
			cmaNodes[n.name] = g
		}
	}
	dtheap := map[string]bool{}
	for _, h := range b.heaps {
		dtheap[h] = true
	}
	seen := map[string]bool{}
	for _, e := range ents {
		name := e.name
		seen[name] = true
		h := Heap{Name: name, Verdict: Present, Provider: "unknown", Mode: e.mode}
		h.Evidence = append(h.Evidence, e.evidence)
		switch {
		case name == "system":
			h.Provider = "system"
		case dtheap[name]:
			h.Provider = "dtheap"
		case cmaAreas[name] || kernelDefault[name] || name == "linux,cma":
			h.Provider = "cma"
		case cmaNodes[name].Node != "":
			h.Provider = "cma"
		}
		if g, ok := cmaNodes[name]; ok && g.Verdict != Placed && g.Verdict != NoEvidence {
			h.Evidence = append(h.Evidence, fmt.Sprintf("its CMA area is %s's, which is %s: the heap has no memory to give", g.Node, g.Verdict))
		}
		if cmaAreas[name] {
			h.Size, h.Free, h.Evidence = cmaUsage(root, name, h.Evidence)
		}
		r.Heaps = append(r.Heaps, h)
	}
	var want []string
	for n := range dtheap {
		if !seen[n] {
			want = append(want, n)
		}
	}
	sort.Strings(want)
	for _, n := range want {
		r.Heaps = append(r.Heaps, Heap{Name: n, Verdict: Missing, Provider: "dtheap",
			Evidence: []string{"the devicetree's dtheap,dma-heaps node lists it; /dev/dma_heap/" + n + " does not exist"}})
	}
}

type heapEntry struct{ name, mode, evidence string }

// heapListing lists /dev/dma_heap: from dev/dma_heap.ls (the output of ls -l /dev/dma_heap,
// which a copy keeps when device files and their modes do not survive copying), else from
// the directory itself.
func heapListing(root string) ([]heapEntry, error) {
	var out []heapEntry
	if data, err := os.ReadFile(filepath.Join(root, "dev", "dma_heap.ls")); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			if len(f) < 9 || len(f[0]) != 10 {
				continue // "total 0", blank lines
			}
			name := strings.Join(f[len(f)-1:], " ")
			out = append(out, heapEntry{name: name, mode: f[0], evidence: "dev/dma_heap.ls: " + strings.TrimSpace(line)})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
		return out, nil
	}
	dir := filepath.Join(root, "dev", "dma_heap")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		mode := ""
		if info, err := os.Lstat(filepath.Join(dir, e.Name())); err == nil {
			mode = info.Mode().String()
		}
		out = append(out, heapEntry{name: e.Name(), mode: mode, evidence: fmt.Sprintf("/dev/dma_heap/%s %s", e.Name(), mode)})
	}
	return out, nil
}

// cmaUsage reads debugfs cma/<area>/{count,used} (pages; 4 KiB assumed for the bytes).
func cmaUsage(root, area string, ev []string) (uint64, uint64, []string) {
	dir := filepath.Join(root, "sys", "kernel", "debug", "cma", area)
	read := func(f string) (uint64, bool) {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return 0, false
		}
		v, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
		return v, err == nil
	}
	count, ok1 := read("count")
	used, ok2 := read("used")
	if !ok1 || !ok2 || used > count {
		return 0, 0, ev
	}
	ev = append(ev, fmt.Sprintf("debugfs cma/%s: count %d pages, used %d", area, count, used))
	return count * 4096, (count - used) * 4096, ev
}

// WriteText prints one block per region and heap.
func (r *Report) WriteText(w *strings.Builder) {
	for _, g := range r.Regions {
		fmt.Fprintf(w, "%-12s %s: %s\n", g.Verdict, g.Node, g.Detail)
		for _, e := range g.Evidence {
			fmt.Fprintf(w, "\tevidence: %s\n", e)
		}
	}
	for _, h := range r.Heaps {
		fmt.Fprintf(w, "%-12s heap %s (%s)", h.Verdict, h.Name, h.Provider)
		if h.Size > 0 {
			fmt.Fprintf(w, ", %d KiB, %d KiB free", h.Size>>10, h.Free>>10)
		}
		w.WriteString("\n")
		for _, e := range h.Evidence {
			fmt.Fprintf(w, "\tevidence: %s\n", e)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

// Bad reports whether any region or heap has a verdict that loses memory or a heap.
func (r *Report) Bad() bool {
	for _, g := range r.Regions {
		switch g.Verdict {
		case Failed, Ignored, Refused, Lost, Overlap:
			return true
		}
	}
	for _, h := range r.Heaps {
		if h.Verdict == Missing {
			return true
		}
	}
	return false
}
