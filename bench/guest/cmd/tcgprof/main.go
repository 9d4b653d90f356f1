// Command tcgprof says where the boot checker's time under QEMU TCG goes to translation: it
// reads a QEMU `-d in_asm` log of one boot (every guest instruction QEMU translated, in the
// order it translated them), and attributes each translated instruction after /init started
// to a function of the checker (from its unstripped ELF symbols) or of the kernel (System.map).
//
// Under TCG a guest instruction costs its translation the first time it runs: the checker's
// cold start, not its loops, is most of its cost at boot (BENCHMARKS.md, "Boot check"). The
// counts are exact and do not depend on the host's load, so they compare two builds where
// timings on a busy machine cannot. scripts/bench-tcg.sh boots and runs it.
//
//	tcgprof --log in_asm.log --binary dtheap-check --system-map System.map [--top 40]
//	        [--phase main.main --phase 'github.com/dtheap/dtheap/provision/check.Run' ...]
//
// A phase starts at the first instruction translated in its function and runs to the next
// phase: the split follows the order code first ran in, which for a sequential program is the
// order of its steps.
package main

import (
	"bufio"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

type phases []string

func (p *phases) String() string     { return strings.Join(*p, ",") }
func (p *phases) Set(v string) error { *p = append(*p, v); return nil }

func main() {
	logPath := flag.String("log", "", "QEMU -d in_asm log (-D file) of one boot")
	binary := flag.String("binary", "", "the /init binary the boot ran, unstripped (its ELF symbols name the functions)")
	sysmap := flag.String("system-map", "", "the kernel's System.map (kernel functions; module code shows as \"kernel ?\")")
	top := flag.Int("top", 40, "functions to list")
	var ph phases
	flag.Var(&ph, "phase", "a function that starts a phase (repeatable, in order)")
	flag.Parse()
	if *logPath == "" || *binary == "" || *sysmap == "" {
		fmt.Fprintln(os.Stderr, "tcgprof: --log, --binary and --system-map are required")
		os.Exit(2)
	}
	if err := run(*logPath, *binary, *sysmap, ph, *top, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tcgprof:", err)
		os.Exit(1)
	}
}

// symtab maps addresses to the function that holds them.
type symtab struct {
	addr []uint64
	name []string
}

func (s *symtab) add(a uint64, n string) { s.addr, s.name = append(s.addr, a), append(s.name, n) }

func (s *symtab) sort() {
	idx := make([]int, len(s.addr))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return s.addr[idx[i]] < s.addr[idx[j]] })
	a, n := make([]uint64, len(idx)), make([]string, len(idx))
	for k, i := range idx {
		a[k], n[k] = s.addr[i], s.name[i]
	}
	s.addr, s.name = a, n
}

func (s *symtab) lookup(a uint64) string {
	i := sort.Search(len(s.addr), func(i int) bool { return s.addr[i] > a }) - 1
	if i < 0 {
		return "?"
	}
	return s.name[i]
}

func readELF(path string) (*symtab, uint64, uint64, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w (give the unstripped build: no -ldflags=-s)", path, err)
	}
	text := f.Section(".text")
	if text == nil {
		return nil, 0, 0, fmt.Errorf("%s: no .text section", path)
	}
	t := &symtab{}
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC {
			t.add(s.Value, s.Name)
		}
	}
	t.sort()
	return t, text.Addr, text.Addr + text.Size, nil
}

func readSystemMap(path string) (*symtab, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t := &symtab{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 3 || (fs[1] != "T" && fs[1] != "t") {
			continue
		}
		a, err := strconv.ParseUint(fs[0], 16, 64)
		if err == nil {
			t.add(a, fs[2])
		}
	}
	t.sort()
	return t, sc.Err()
}

// pkgOf is the Go package of a function symbol: the import path up to the first dot after
// the last slash.
func pkgOf(fn string) string {
	slash := strings.LastIndexByte(fn, '/')
	if dot := strings.IndexByte(fn[slash+1:], '.'); dot >= 0 {
		return fn[:slash+1+dot]
	}
	return fn
}

type counter map[string]int

func (c counter) sorted() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if c[keys[i]] != c[keys[j]] {
			return c[keys[i]] > c[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}

func run(logPath, binary, sysmap string, ph phases, top int, w io.Writer) error {
	user, lo, hi, err := readELF(binary)
	if err != nil {
		return err
	}
	kernel, err := readSystemMap(sysmap)
	if err != nil {
		return err
	}
	f, err := os.Open(logPath)
	if err != nil {
		return err
	}
	defer f.Close()

	started := false
	byFunc, byPkg := counter{}, counter{}
	var total, userN, kernelN, otherN int
	phase := "before the first phase"
	phaseOrder := []string{phase}
	byPhase := map[string][2]int{}
	pending := map[string]bool{}
	for _, p := range ph {
		pending[p] = true
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "0x") {
			continue
		}
		colon := strings.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		a, err := strconv.ParseUint(line[2:colon], 16, 64)
		if err != nil {
			continue
		}
		inUser := a >= lo && a < hi
		if !started {
			// /init's first instruction: the kernel's own boot before it is not the checker's.
			if !inUser {
				continue
			}
			started = true
		}
		total++
		var fn string
		switch {
		case inUser:
			fn = user.lookup(a)
			userN++
			byPkg[pkgOf(fn)]++
			if pending[fn] {
				delete(pending, fn)
				phase = fn
				phaseOrder = append(phaseOrder, fn)
			}
		case a >= 0xffff000000000000:
			fn = "kernel " + kernel.lookup(a)
			kernelN++
			byPkg["(kernel)"]++
		default:
			fn = "other"
			otherN++
			byPkg["(other user code: vDSO, another program)"]++
		}
		byFunc[fn]++
		c := byPhase[phase]
		if inUser {
			c[0]++
		} else {
			c[1]++
		}
		byPhase[phase] = c
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if !started {
		return errors.New("no instruction of the binary in the log: was it /init of this boot, and is it the same build?")
	}
	fmt.Fprintf(w, "translated guest instructions from /init's first: %d (checker %d, kernel %d, other %d)\n\n", total, userN, kernelN, otherN)
	fmt.Fprintln(w, "| package | instructions |\n|---|---:|")
	for i, k := range byPkg.sorted() {
		if i == top {
			break
		}
		fmt.Fprintf(w, "| %s | %d |\n", k, byPkg[k])
	}
	if len(ph) > 0 {
		fmt.Fprintln(w, "\n| phase (from the first instruction of) | checker | kernel |\n|---|---:|---:|")
		for _, p := range phaseOrder {
			fmt.Fprintf(w, "| %s | %d | %d |\n", p, byPhase[p][0], byPhase[p][1])
		}
		for _, p := range ph {
			if pending[p] {
				fmt.Fprintf(w, "| %s | (never ran) | |\n", p)
			}
		}
	}
	fmt.Fprintln(w, "\n| function | instructions |\n|---|---:|")
	for i, k := range byFunc.sorted() {
		if i == top {
			break
		}
		fmt.Fprintf(w, "| %s | %d |\n", k, byFunc[k])
	}
	return nil
}
