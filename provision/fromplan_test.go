package provision

import (
	"bytes"
	"testing"

	"github.com/dtheap/dtheap/pipeline"
)

func TestFromPlanQEMU(t *testing.T) {
	res, err := pipeline.Load("../boards/qemu-virt-arm64.yaml", pipeline.Options{})
	if err != nil || res.HasErrors() {
		t.Fatalf("load: %v %v", err, res.Findings)
	}
	m := FromPlan(res.Plan)
	if err := m.Validate(); err != nil {
		t.Fatalf("manifest from the QEMU plan does not validate: %v", err)
	}
	want := map[string]struct {
		provider string
		base     uint64
		mappable bool
	}{
		"linux,cma":      {ProviderKernel, 0x7c000000, true},
		"video@60000000": {ProviderDtheap, 0x60000000, true},
		"camera":         {ProviderDtheap, 0x5d000000, true},
		"dsp":            {ProviderDtheap, 0x70000000, true},
		"secure":         {ProviderDtheap, 0x74000000, false},
	}
	if len(m.Heaps) != len(want) {
		t.Fatalf("%d heaps, want %d: %+v", len(m.Heaps), len(want), m.Heaps)
	}
	for _, h := range m.Heaps {
		w, ok := want[h.Name]
		if !ok || h.Provider != w.provider || h.Base != w.base || h.Mappable != w.mappable {
			t.Errorf("heap %+v, want %+v", h, w)
		}
	}
	if m.CMATotal != (64+48+48)<<20 {
		t.Errorf("cma_total %d", m.CMATotal)
	}
	var a, b bytes.Buffer
	_ = m.Encode(&a)
	_ = FromPlan(res.Plan).Encode(&b)
	if a.String() != b.String() {
		t.Error("manifest not deterministic")
	}
}
