package provision

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// TestFromPlanQEMUOn73: the same board planned for 7.3, whose kernel registers a heap over every
// CMA area itself (FACTS.md section 5: default_cma_region, linux,cma, video@60000000 and camera
// on a 7.3.4 boot): those are provider kernel, only dsp and secure are the module's.
func TestFromPlanQEMUOn73(t *testing.T) {
	src, err := os.ReadFile("../boards/qemu-virt-arm64.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "qemu73.yaml")
	os.WriteFile(f, bytes.Replace(src, []byte(`version: "6.1"`), []byte(`version: "7.3"`), 1), 0o644)
	res, err := pipeline.Load(f, pipeline.Options{})
	if err != nil || res.HasErrors() {
		t.Fatalf("load: %v %v", err, res.Findings)
	}
	m := FromPlan(res.Plan)
	if err := m.Validate(); err != nil {
		t.Fatalf("manifest does not validate: %v", err)
	}
	var got []string
	for _, h := range m.Heaps {
		got = append(got, fmt.Sprintf("%s:%s:%#x", h.Name, h.Provider, h.Base))
	}
	want := "default_cma_region:kernel:0x7c000000 linux,cma:kernel:0x7c000000 video@60000000:kernel:0x60000000 camera:kernel:0x5d000000 dsp:dtheap:0x70000000 secure:dtheap:0x74000000"
	if s := strings.Join(got, " "); s != want {
		t.Errorf("heaps\n%s\nwant\n%s", s, want)
	}
	if len(m.Modules) != 1 || m.KernelVersion != "7.3" {
		t.Errorf("modules %v, kernel_version %s", m.Modules, m.KernelVersion)
	}
}

// TestFromPlanAccess: the manifest carries the board's group, mode and aliases per heap, and
// refuses an alias that is another heap's name or a mode that is not octal.
func TestFromPlanAccess(t *testing.T) {
	res, err := pipeline.Load("../e2e/qemu-virt-arm64-access.yaml", pipeline.Options{})
	if err != nil || res.HasErrors() {
		t.Fatalf("load: %v %v", err, res.Findings)
	}
	m := FromPlan(res.Plan)
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, h := range m.Heaps {
		got[h.Name] = fmt.Sprintf("%s %s %v", h.Group, h.Mode, h.Aliases)
	}
	want := map[string]string{
		"linux,cma":      "video 0660 [reserved default_cma_region]",
		"video@60000000": "video 0660 [vidbuf_cached]",
		"camera":         "camera 0660 []",
		"dsp":            "audio 0640 [vendor,dsp]",
		"secure":         " 0600 [system-secure]",
	}
	for n, w := range want {
		if got[n] != w {
			t.Errorf("heap %s: %q, want %q", n, got[n], w)
		}
	}
	m.Heaps[0].Aliases = []string{m.Heaps[1].Name}
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), "already a heap or alias") {
		t.Errorf("alias naming a heap: %v", err)
	}
	m.Heaps[0].Aliases, m.Heaps[0].Mode = nil, "660"
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), "four octal digits") {
		t.Errorf("mode 660: %v", err)
	}
}
