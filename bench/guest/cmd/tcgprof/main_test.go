package main

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRun attributes a made-up log against the symbols of testdata/prog, built unstripped:
// the kernel's boot before /init is not counted, instructions count per function, package
// and phase.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "prog")
	build := exec.Command("go", "build", "-o", exe, "./testdata/prog")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build testdata/prog: %v\n%s", err, out)
	}
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	syms, err := f.Symbols()
	f.Close()
	if err != nil {
		t.Fatalf("the test binary has no symbols: %v", err)
	}
	addr := map[string]uint64{}
	for _, s := range syms {
		addr[s.Name] = s.Value
	}
	firstA, secondA := addr["main.first"], addr["main.second"]
	if firstA == 0 || secondA == 0 {
		t.Fatal("main.first or main.second not in the program's symbols")
	}
	sysmap := filepath.Join(dir, "System.map")
	os.WriteFile(sysmap, []byte("ffff800008000000 T _text\nffff800008010000 T do_boot\nffff800008020000 t load_module\nffff800008030000 D some_data\n"), 0o644)
	var log strings.Builder
	ins := func(a uint64, n int) {
		log.WriteString("----------------\nIN: \n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&log, "0x%016x:  d503201f  nop\n", a+uint64(4*i))
		}
		log.WriteString("\n")
	}
	ins(0xffff800008010000, 50) // the kernel's boot: before /init, not counted
	ins(firstA, 3)
	ins(0xffff800008020000, 4) // load_module, in run's phase
	ins(secondA, 2)            // second starts the second phase
	ins(0xffff800008010010, 1)
	ins(0x7fff00000000, 5) // not the binary, not the kernel: the vDSO
	p := filepath.Join(dir, "in_asm.log")
	os.WriteFile(p, []byte(log.String()), 0o644)

	var out strings.Builder
	err = run(p, exe, sysmap, phases{"main.second"}, 10, &out)
	if err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"from /init's first: 15 (checker 5, kernel 5, other 5)",
		"| main | 5 |",
		"| (kernel) | 5 |",
		"| before the first phase | 3 | 4 |",
		"| main.second | 2 | 6 |",
		"| kernel load_module | 4 |",
		"| kernel do_boot | 1 |",
		"| main.first | 3 |",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	// A log without the binary's code is refused, not reported as zero.
	os.WriteFile(p, []byte("0xffff800008010000:  d503201f  nop\n"), 0o644)
	if err := run(p, exe, sysmap, nil, 10, &out); err == nil || !strings.Contains(err.Error(), "no instruction of the binary") {
		t.Errorf("a log without the binary: %v", err)
	}
}

func TestPkgOf(t *testing.T) {
	for fn, want := range map[string]string{
		"runtime.mallocgc": "runtime",
		"github.com/dtheap/dtheap/provision/check.(*runner).step":      "github.com/dtheap/dtheap/provision/check",
		"internal/runtime/maps.(*Map).getWithKey":                      "internal/runtime/maps",
		"github.com/dtheap/dtheap/provision/manifest.list[go.shape.a]": "github.com/dtheap/dtheap/provision/manifest",
	} {
		if got := pkgOf(fn); got != want {
			t.Errorf("pkgOf(%q) = %q, want %q", fn, got, want)
		}
	}
}
