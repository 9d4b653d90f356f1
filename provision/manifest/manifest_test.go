package manifest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// designExample is DESIGN.md's manifest, the contract other packages write.
const designExample = `{
  "generator": "dtheap",
  "board": "qemu-virt-arm64",
  "arch": "arm64",
  "kernel_version": "6.1",
  "modules": ["dtheap_heaps.ko"],
  "heap_node": "/dma-heaps",
  "pools": [
    {"name": "video", "node": "video@70000000", "kind": "cma", "base": 1879048192,
     "size": 33554432, "fixed": true, "no_map": false, "reusable": true, "default_cma": false}
  ],
  "heaps": [
    {"name": "video@70000000", "provider": "dtheap", "kind": "cma", "pool": "video",
     "base": 1879048192, "size": 33554432, "fixed": true, "mappable": true}
  ],
  "cma_total": 100663296
}`

func TestDecodeDesignExample(t *testing.T) {
	m, err := Decode(strings.NewReader(designExample))
	if err != nil {
		t.Fatal(err)
	}
	if m.Pools[0].Base != 0x70000000 || m.Heaps[0].Name != "video@70000000" || m.CMATotal != 96<<20 {
		t.Fatalf("decoded wrong values: %+v", m)
	}
}

func TestWriteReadRoundTripDeterministic(t *testing.T) {
	m, err := Decode(strings.NewReader(designExample))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	if err := m.Write(a); err != nil {
		t.Fatal(err)
	}
	m2, err := Read(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.Write(b); err != nil {
		t.Fatal(err)
	}
	ba, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ba, bb) {
		t.Fatalf("round trip changed the file:\n%s\n---\n%s", ba, bb)
	}
	if !bytes.HasSuffix(ba, []byte("}\n")) || !bytes.Contains(ba, []byte("\n  \"board\": \"qemu-virt-arm64\",\n")) {
		t.Fatalf("want indented JSON with a trailing newline, got:\n%s", ba)
	}
}

func TestEmptyListsEncodeAsArrays(t *testing.T) {
	m := &Manifest{Generator: Generator, Board: "b", Arch: "arm64"}
	b, err := m.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("null")) {
		t.Fatalf("nil lists must encode as []:\n%s", b)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(m *Manifest)
		wantIn string // "" = valid
	}{
		{"valid", func(m *Manifest) {}, ""},
		{"generator", func(m *Manifest) { m.Generator = "other" }, `generator is "other"`},
		{"no board", func(m *Manifest) { m.Board = "" }, "board is empty"},
		{"module path", func(m *Manifest) { m.Modules = []string{"lib/x.ko"} }, "bare file name"},
		{"pool size 0", func(m *Manifest) { m.Pools[0].Size = 0 }, "size is 0"},
		{"nomap reusable", func(m *Manifest) { m.Pools[0].NoMap = true }, "mutually exclusive"},
		{"cma not reusable", func(m *Manifest) { m.Pools[0].Reusable = false }, "kind cma needs reusable"},
		{"bad kind", func(m *Manifest) { m.Heaps[0].Kind = "weird" }, `kind "weird"`},
		{"unknown pool", func(m *Manifest) { m.Heaps[0].Pool = "nope" }, `pool "nope" is not in pools`},
		{"dup heap", func(m *Manifest) { m.Heaps = append(m.Heaps, m.Heaps[0]) }, "duplicate heap name"},
		{"slash in heap", func(m *Manifest) { m.Heaps[0].Name = "a/b" }, "not a valid device name"},
		{"mappable unmapped", func(m *Manifest) { m.Heaps[0].Mappable = false }, "contradicts kind"},
		{"heap outside pool", func(m *Manifest) { m.Heaps[0].Base = 0x60000000 }, "lies outside pool"},
		// 7.3 registers a heap over every CMA area, default or not.
		{"kernel heap on a cma pool", func(m *Manifest) { m.Heaps[0].Provider = ProviderKernel }, ""},
		{"kernel heap on a carveout pool", func(m *Manifest) {
			m.Heaps[0].Provider, m.Heaps[0].Kind = ProviderKernel, KindCarveout
			m.Pools[0].Kind, m.Pools[0].NoMap, m.Pools[0].Reusable = KindCarveout, true, false
		}, "a kernel-provided heap is kind cma"},
		{"no heap node", func(m *Manifest) { m.HeapNode = "" }, "heap_node"},
		// The mode is "0" and three octal digits (validMode), both sides of each bound.
		{"mode 0660", func(m *Manifest) { m.Heaps[0].Mode = "0660" }, ""},
		{"mode 0000", func(m *Manifest) { m.Heaps[0].Mode = "0000" }, ""},
		{"mode 0777", func(m *Manifest) { m.Heaps[0].Mode = "0777" }, ""},
		{"mode 0778", func(m *Manifest) { m.Heaps[0].Mode = "0778" }, `mode "0778"`},
		{"mode 0668 last digit", func(m *Manifest) { m.Heaps[0].Mode = "0668" }, `mode "0668"`},
		{"mode 0860 first digit", func(m *Manifest) { m.Heaps[0].Mode = "0860" }, `mode "0860"`},
		{"mode without leading 0", func(m *Manifest) { m.Heaps[0].Mode = "1660" }, `mode "1660"`},
		{"mode three digits", func(m *Manifest) { m.Heaps[0].Mode = "660" }, `mode "660"`},
		{"mode five digits", func(m *Manifest) { m.Heaps[0].Mode = "00660" }, `mode "00660"`},
		{"mode with newline", func(m *Manifest) { m.Heaps[0].Mode = "0660\n" }, `mode "0660\n"`},
		{"mode 0/60", func(m *Manifest) { m.Heaps[0].Mode = "0/60" }, `mode "0/60"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode(strings.NewReader(designExample))
			if err != nil {
				t.Fatal(err)
			}
			tt.edit(m)
			err = m.Validate()
			if tt.wantIn == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantIn) {
				t.Fatalf("want an error containing %q, got %v", tt.wantIn, err)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct{ name, in, wantIn string }{
		{"unknown key", strings.Replace(designExample, `"arch"`, `"archh": "x", "arch"`, 1), "unknown field"},
		{"trailing", designExample + "{}", "trailing data"},
		{"negative", strings.Replace(designExample, `"cma_total": 100663296`, `"cma_total": -1`, 1), "cma_total"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.wantIn) {
				t.Fatalf("want an error containing %q, got %v", tt.wantIn, err)
			}
		})
	}
}
