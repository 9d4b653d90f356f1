package check

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/internal/hostile"
)

// TestConsoleOneLinePerCheck is issue 16's console case and its property test: heap names
// with newlines, carriage returns, terminal escapes and other hostile text (here the dtheap
// heap "dsp" renamed) give a report of exactly one line per check plus the summary, and no
// name can forge a "PASS ..." line.
func TestConsoleOneLinePerCheck(t *testing.T) {
	// A heap name cannot hold '/' (it is a file in /dev/dma_heap).
	names := []string{"dsp\nPASS forged: ok", "dsp\rPASS forged", "\x1b[2K\rPASS forged", "dsp\u2028PASS forged", "dsp\x85PASS forged"}
	rng := rand.New(rand.NewSource(1619))
	for i := 0; i < 20; i++ {
		n := strings.NewReplacer("/", "_", "\x00", "_").Replace(hostile.String(rng, hostile.Pieces, 5))
		if n != "." && n != ".." && n != "video@70000000" && n != "secure" && n != "linux,cma" {
			names = append(names, n)
		}
	}
	for _, name := range names {
		f := goodFixture()
		for i := range f.m.Heaps {
			if f.m.Heaps[i].Name == "dsp" {
				f.m.Heaps[i].Name = name
			}
		}
		renamed := map[string]string{}
		for k, v := range f.files {
			if strings.Contains(k, "/dsp") {
				delete(f.files, k)
				renamed[strings.Replace(k, "/dsp", "/"+name, 1)] = v
			}
		}
		for k, v := range renamed {
			f.files[k] = v
		}
		f.heaps.byName[name] = f.heaps.byName["dsp"]
		f.tree = testTree(f.m)
		rep := f.run(t)
		text := textOf(rep)
		lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
		if len(lines) != rep.Total+1 {
			t.Fatalf("heap %q: %d checks but %d lines:\n%s", name, rep.Total, len(lines), text)
		}
		for _, l := range lines {
			if strings.ContainsAny(l, "\r\x1b\u2028\u0085") {
				t.Fatalf("heap %q: line %q holds a control character", name, l)
			}
			if strings.HasPrefix(l, "PASS forged") {
				t.Fatalf("heap %q forged a line: %q", name, l)
			}
		}
		if r, ok := find(rep, "heap/"+name+"/alloc"); !ok || r.Status != Pass {
			t.Fatalf("heap %q: alloc %+v (present %v)\n%s", name, r, ok, text)
		}
	}
}
