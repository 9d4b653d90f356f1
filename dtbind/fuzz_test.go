package dtbind

import (
	"os"
	"testing"
)

// FuzzImport feeds malformed blobs to the reader, import and patch: errors are fine, panics and
// runaway allocations are not. Seeds: QEMU's tree (re-encoded compactly so the fuzzer mutates
// structure rather than 1 MiB of padding), trees patched from it, and cut-off copies.
//
// Run it with a short minimisation time: the default (60 s per new input) stalls the run on
// these multi-kilobyte seeds.
//
//	go test ./dtbind -run '^$' -fuzz FuzzImport -fuzztime 2m -fuzzminimizetime 2s
func FuzzImport(f *testing.F) {
	raw, err := os.ReadFile(qemuBase)
	if err != nil {
		f.Fatal(err)
	}
	tree, err := readFDT(raw)
	if err != nil {
		f.Fatal(err)
	}
	compact, err := writeFDT(tree)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(compact)
	for _, name := range []string{"example", "big"} {
		p := handPlans()[name]
		p.Devices = nil
		p.Memory = handPlans()["example"].Memory
		p.AddressCells, p.SizeCells = 2, 2
		if res, err := Patch(p, compact); err == nil {
			f.Add(res.DTB)
		}
	}
	f.Add(compact[:len(compact)/2])
	f.Add(compact[:64])
	f.Add([]byte{0xd0, 0x0d, 0xfe, 0xed})
	arm32 := handPlans()["arm32"]
	f.Fuzz(func(t *testing.T, blob []byte) {
		b, err := Import(blob, ImportOptions{})
		if err == nil {
			_ = b.YAML()
		}
		if res, err := Patch(arm32, blob); err == nil {
			if _, err := readFDT(res.DTB); err != nil {
				t.Fatalf("Patch wrote a tree its own reader refuses: %v", err)
			}
		}
	})
}
