package kernel

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/internal/escape"
	"github.com/dtheap/dtheap/internal/hostile"
	"github.com/dtheap/dtheap/pipeline"
)

// dumpMain prints every string of the table in hex, one per line, so the test sees the bytes
// gcc put in the object.
const dumpMain = `#include <stdio.h>
#include "dtheap.h"
static void hex(const char *s) { for (; *s; s++) printf("%02x", (unsigned char)*s); printf("\n"); }
int main(void) {
	hex(dtheap_board.name);
	for (unsigned int i = 0; i < dtheap_board.nr_heaps; i++) {
		hex(dtheap_board.heaps[i].name);
		hex(dtheap_board.heaps[i].region);
	}
	return 0;
}
`

// hostileBoard writes a board named boardName into dir under file name fileName with one heap
// per entry of heaps, and returns its path.
func hostileBoard(t *testing.T, dir, fileName, boardName string, heaps []string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "board: %s\narch: arm64\nmemory: [{name: dram, base: 0x40000000, size: 1GiB}]\npools:\n", escape.YAMLScalar(boardName))
	for i, h := range heaps {
		kind := "carveout"
		if i%2 == 1 {
			kind = "unmapped"
		}
		fmt.Fprintf(&b, "  - {name: p%d, kind: %s, base: 0x%x, size: 16MiB, heap: %s}\n", i, kind, 0x50000000+i*0x1000000, escape.YAMLScalar(h))
	}
	path := filepath.Join(dir, fileName)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// compileBoardC compiles dtheap_board.c against the stub header, checks that the object
// defines exactly the table's two symbols, links it with dumpMain and returns what that prints.
func compileBoardC(t *testing.T, src []byte) []string {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Fatal("gcc is not installed (apt-get install gcc): the injection check needs it")
	}
	dir := t.TempDir()
	for name, data := range map[string]string{"dtheap.h": hostile.KernelStubHeader, "dtheap_board.c": string(src), "main.c": dumpMain} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(name string, args ...string) string {
		c := exec.Command(name, args...)
		c.Dir = dir
		var out, errb bytes.Buffer
		c.Stdout, c.Stderr = &out, &errb
		if err := c.Run(); err != nil {
			t.Fatalf("%s %v: %v\n%s\nsource:\n%s", name, args, err, errb.String(), src)
		}
		if errb.Len() > 0 {
			t.Fatalf("%s %v warned:\n%s\nsource:\n%s", name, args, errb.String(), src)
		}
		return out.String()
	}
	run(gcc, "-std=gnu11", "-Wall", "-Wextra", "-Wcomment", "-Wtrigraphs", "-trigraphs", "-fsyntax-only", "dtheap_board.c")
	run(gcc, "-std=gnu11", "-c", "-o", "board.o", "dtheap_board.c")
	var syms []string
	for _, l := range strings.Split(strings.TrimSpace(run("nm", "board.o")), "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && f[1] != "U" {
			syms = append(syms, f[2])
		} else if len(f) == 2 {
			t.Fatalf("the object needs an undefined symbol %s:\n%s", f[1], src)
		}
	}
	sort.Strings(syms)
	if want := []string{"dtheap_board", "dtheap_board_heap_descs"}; strings.Join(syms, " ") != strings.Join(want, " ") {
		t.Fatalf("nm board.o: symbols %v, want exactly %v\nsource:\n%s", syms, want, src)
	}
	run(gcc, "-std=gnu11", "-o", "dump", "main.c", "board.o")
	return strings.Split(strings.TrimSpace(run(filepath.Join(dir, "dump"))), "\n")
}

func hexOf(s string) string { return fmt.Sprintf("%x", s) }

func checkBoardC(t *testing.T, fileName, boardName string, heaps []string) {
	t.Helper()
	path := hostileBoard(t, t.TempDir(), fileName, boardName, heaps)
	res, err := pipeline.Load(path, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.HasErrors() {
		t.Fatalf("board %q, heaps %q: %v", boardName, heaps, res.Findings)
	}
	src, err := BoardC(res.Plan)
	if err != nil {
		t.Fatal(err)
	}
	// The README lists one line per heap and the Kconfig fragment is comments and CONFIG_
	// lines only: no name adds a line (a CONFIG_ line in the fragment would change the kernel).
	files, err := Generate(res.Plan, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		switch f.Name {
		case "README":
			if n := strings.Count(string(f.Data), "\n  /dev/dma_heap/"); n != len(heaps) {
				t.Fatalf("README has %d heap lines for %d heaps:\n%s", n, len(heaps), f.Data)
			}
		case "dtheap.config":
			for _, l := range strings.Split(strings.TrimSuffix(string(f.Data), "\n"), "\n") {
				if !strings.HasPrefix(l, "# ") && !strings.HasPrefix(l, "CONFIG_") {
					t.Fatalf("dtheap.config line %q", l)
				}
			}
		}
		if i := bytes.IndexFunc(f.Data, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f }); i >= 0 && f.Name != "manifest.json" {
			t.Fatalf("%s has a control character at %d", f.Name, i)
		}
	}
	got := compileBoardC(t, src)
	want := []string{hexOf(boardName)}
	for i, h := range heaps {
		want = append(want, hexOf(h), hexOf(fmt.Sprintf("p%d@%x", i, 0x50000000+i*0x1000000)))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("board %q, heaps %q: the object holds\n%s\nwant\n%s\nsource:\n%s", boardName, heaps, strings.Join(got, "\n"), strings.Join(want, "\n"), src)
	}
}

// TestBoardCInjection is issue 16's C cases: a board name or a board file name that ends the
// header comment and defines a symbol of its own, and a non-ASCII heap name followed by hex
// digits (a per-rune \x escape swallowed them: gcc "hex escape sequence out of range", and
// the name differed from the devicetree's).
func TestBoardCInjection(t *testing.T) {
	for _, tc := range []struct{ name, file, board string }{
		{"board name ends comment", "board.yaml", "evil*/ int pwned = 1; /*"},
		{"file name ends comment", "x*/ int pwned = 1; /*.yaml", "qemu"},
		{"board name starts comment", "board.yaml", "a /* b"},
		{"board name with trigraph", "board.yaml", "a ??/ b"},
	} {
		t.Run(tc.name, func(t *testing.T) { checkBoardC(t, tc.file, tc.board, []string{"video"}) })
	}
	t.Run("non-ASCII heap name", func(t *testing.T) {
		checkBoardC(t, "board.yaml", "qemu", []string{"caf\u00e9beef", "日本ab", `q"uo\te`})
	})
}

// TestBoardCHostile is the property test: board names, file names and heap names drawn from
// the hostile alphabet (printable: the loader refuses control characters) always give C that
// compiles without a warning, defines exactly the table's symbols, and holds each name's
// exact bytes.
func TestBoardCHostile(t *testing.T) {
	rng := rand.New(rand.NewSource(1616))
	for i := 0; i < 15; i++ {
		board := hostile.String(rng, hostile.Printable, 5)
		file := strings.NewReplacer("/", "_").Replace(hostile.String(rng, hostile.Printable, 3)) + ".yaml"
		var heaps []string
		seen := map[string]bool{"system": true}
		for len(heaps) < 3 {
			// Not '/' (heap-name: the kernel makes it '!') nor '%' (heap-name-format: the
			// kernel takes the name as a format string): validate refuses both.
			h := strings.NewReplacer("/", "_", "%", "_").Replace(hostile.String(rng, hostile.Printable, 3))
			if len(h) <= 64 && h != "." && h != ".." && !seen[h] {
				seen[h] = true
				heaps = append(heaps, h)
			}
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkBoardC(t, file, board, heaps) })
	}
}
