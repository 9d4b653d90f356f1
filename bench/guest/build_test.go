package guest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The guest programs are C; CI compiles them here so they cannot rot, and runs the host build
// of heapbench (no /dev/dma_heap needed) to check that it fails cleanly without a heap
// directory and that what it prints is what ParseRun reads.

var cPrograms = []string{"heapbench/heapbench.c", "mininit/mininit.c", "zerotest/zerotest.c", "cmatest/cmatest.c"}

func compile(t *testing.T, cc string, static bool, src string) string {
	t.Helper()
	if _, err := exec.LookPath(cc); err != nil {
		t.Skipf("%s not installed", cc)
	}
	out := filepath.Join(t.TempDir(), strings.TrimSuffix(filepath.Base(src), ".c"))
	args := []string{"-O2", "-Wall", "-Wextra", "-Werror", "-o", out, src}
	if static {
		args = append([]string{"-static"}, args...)
	}
	if hdr := os.Getenv("HDR"); hdr != "" {
		args = append([]string{"-I" + filepath.Join(hdr, "include")}, args...)
	}
	if b, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", cc, strings.Join(args, " "), err, b)
	}
	return out
}

func TestGuestProgramsCrossCompile(t *testing.T) {
	for _, src := range cPrograms {
		t.Run(filepath.Base(src), func(t *testing.T) { compile(t, "aarch64-linux-gnu-gcc", true, src) })
	}
}

func TestHeapbenchOnHost(t *testing.T) {
	bin := compile(t, "cc", false, cPrograms[0])

	cmd := exec.Command(bin, "--dir", filepath.Join(t.TempDir(), "no-such-dir"))
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "no-such-dir: No such file or directory") {
		t.Errorf("missing heap directory: %v, output %q; want exit 2 naming it", err, out)
	}
	for _, args := range [][]string{{"--rounds", "0"}, {"--pace-us", "-1"}, {"--pace-us", "2000000"}} {
		if out, err := exec.Command(bin, args...).CombinedOutput(); err == nil || !strings.Contains(string(out), "usage:") {
			t.Errorf("%v: %v %q, want usage error", args, err, out)
		}
	}

	// An empty heap directory: only the memset floor runs, tight and paced, and the output parses.
	cmd = exec.Command(bin, "--dir", t.TempDir(), "--quick", "--seed", "3", "--pace-us", "1000")
	cmd.Env = append(os.Environ(), "HEAPBENCH_ROUNDS=2")
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("empty heap directory: %v\n%s", err, b)
	}
	r, err := ParseRun(string(b))
	if err != nil {
		t.Fatalf("ParseRun of heapbench's own output: %v\n%s", err, b)
	}
	if !r.Complete || r.Status != "ok" || r.Seed != 3 || r.Rounds != 1 || len(r.Heaps) != 0 || r.PaceUS != 1000 {
		t.Errorf("run: %+v (--quick means one round)", r)
	}
	if len(r.Samples) != 8 {
		t.Fatalf("want the memset floor, tight and paced, at 4 sizes, got %+v", r.Samples)
	}
	for i, size := range []uint64{4 << 10, 64 << 10, 1 << 20, 8 << 20} {
		for j, op := range []string{OpMemset, OpMemsetPaced} {
			s := r.Samples[2*i+j]
			if s.Heap != MemsetHeap || s.Op != op || s.Size != size || s.N < 1 || s.P90NS < s.MedianNS {
				t.Errorf("sample %d: %+v, want %s", 2*i+j, s, op)
			}
		}
	}
	// --pace-us 0: no paced samples.
	b, err = exec.Command(bin, "--dir", t.TempDir(), "--quick", "--pace-us", "0").Output()
	if err != nil {
		t.Fatalf("--pace-us 0: %v\n%s", err, b)
	}
	if r, err := ParseRun(string(b)); err != nil || len(r.Samples) != 4 || r.PaceUS != 0 {
		t.Errorf("--pace-us 0: %v, %+v; want 4 memset samples only", err, r)
	}
	if !strings.Contains(string(b), "heapbench: done (0 heaps, 1 rounds, 0 errors)") {
		t.Errorf("no closing line:\n%s", b)
	}
}

func TestMininitOnHost(t *testing.T) {
	bin := compile(t, "cc", false, cPrograms[1])
	out, err := exec.Command(bin).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "not PID 1, nothing to do") {
		t.Errorf("mininit as a plain command: %v %q", err, out)
	}
}

// TestZerotestOnHost: without the heap, zerotest must say FAIL naming it and end with
// status=fail and exit 1 (it powers off only as PID 1), so a missing heap never passes.
func TestZerotestOnHost(t *testing.T) {
	bin := compile(t, "cc", false, cPrograms[2])
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "ZEROTEST_HEAPS=no-such-heap")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("missing heap: %v, want exit 1\n%s", err, out)
	}
	for _, want := range []string{"zerotest: FAIL no-such-heap: open /dev/dma_heap/no-such-heap", "zerotest: END status=fail"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
