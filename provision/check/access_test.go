package check

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dtheap/dtheap/provision/manifest"
)

// TestAccess checks group, mode, owner and alias verdicts on both sides: each case breaks one
// thing the manifest asks for.
func TestAccess(t *testing.T) {
	h := &manifest.Heap{Name: "dsp", Group: "video", Mode: "0660", Aliases: []string{"vendor,dsp"}}
	tests := []struct {
		name   string
		mode   os.FileMode
		gid    int
		group  string // /etc/group contents
		link   string // alias target; "" = no link
		plain  bool   // the alias is a regular file, not a link
		access string // "" = pass, else a substring of the FAIL detail
		alias  string
	}{
		{name: "as asked", mode: 0o660, gid: 44, group: "video:x:44:\n", link: "dsp"},
		{name: "wrong mode", mode: 0o600, gid: 44, group: "video:x:44:\n", link: "dsp", access: "mode 0600, want 0660"},
		{name: "others too", mode: 0o666, gid: 44, group: "video:x:44:\n", link: "dsp", access: "mode 0666, want 0660"},
		{name: "wrong group", mode: 0o660, gid: 0, group: "video:x:44:\n", link: "dsp", access: "gid 0, want 44 (video)"},
		{name: "group unknown", mode: 0o660, gid: 44, group: "audio:x:29:\n", link: "dsp", access: "group video is not in /etc/group"},
		{name: "no alias", mode: 0o660, gid: 44, group: "video:x:44:\n", alias: "no such file"},
		{name: "alias elsewhere", mode: 0o660, gid: 44, group: "video:x:44:\n", link: "other", alias: "not /dev/dma_heap/dsp"},
		{name: "alias not a link", mode: 0o660, gid: 44, group: "video:x:44:\n", plain: true, alias: "not a symbolic link"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "dev", "dma_heap")
			must(t, os.MkdirAll(dir, 0o755))
			must(t, os.MkdirAll(filepath.Join(root, "etc"), 0o755))
			must(t, os.WriteFile(filepath.Join(root, "etc", "group"), []byte("root:x:0:\n"+tc.group), 0o644))
			for _, n := range []string{"dsp", "other"} {
				must(t, os.WriteFile(filepath.Join(dir, n), nil, 0o600))
			}
			dev := filepath.Join(dir, "dsp")
			must(t, os.Chmod(dev, tc.mode))
			wantAccess := tc.access
			if err := os.Chown(dev, 0, tc.gid); err != nil {
				// Not root: the node keeps our uid and gid, and the owner check must say so.
				wantAccess = "owner uid"
			}
			switch {
			case tc.plain:
				must(t, os.WriteFile(filepath.Join(dir, "vendor,dsp"), nil, 0o600))
			case tc.link != "":
				must(t, os.Symlink(tc.link, filepath.Join(dir, "vendor,dsp")))
			}
			r := &runner{cfg: &Config{Root: root}}
			r.cfg.defaults()
			r.cfg.Timeout, r.cfg.Poll = 500*time.Millisecond, 5*time.Millisecond // 30 ms failed once under load
			r.deadline = time.Now().Add(5 * time.Second)
			r.checkAccess(t.Context(), h, "/dev/dma_heap/dsp")
			if len(r.results) != 2 {
				t.Fatalf("results %v, want access and one alias", r.results)
			}
			verdict(t, r.results[0], "heap/dsp/access", wantAccess)
			verdict(t, r.results[1], "heap/dsp/alias/vendor,dsp", tc.alias)
		})
	}
}

func verdict(t *testing.T, res Result, id, fail string) {
	t.Helper()
	if res.ID != id {
		t.Errorf("result %s, want %s", res.ID, id)
	}
	if fail == "" && res.Status != Pass {
		t.Errorf("%s: %s %s, want PASS", id, res.Status, res.Detail)
	}
	if fail != "" && (res.Status != Fail || !strings.Contains(res.Detail, fail)) {
		t.Errorf("%s: %s %q, want FAIL with %q", id, res.Status, res.Detail, fail)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestDeviceManagerStep: the device manager runs after the modules and before the heaps, and
// its failure is a FAIL of its own.
func TestDeviceManagerStep(t *testing.T) {
	for _, st := range []Status{Pass, Fail} {
		f := goodFixture()
		root := f.write(t)
		rep := Run(t.Context(), Config{
			Root: root, Manifest: f.m, Loader: f.loader, Heaps: f.heaps, Release: "6.1.192",
			Timeout: fixtureTimeout, Poll: 5 * time.Millisecond, PageSize: pageSize, TestSize: 64 << 10,
			DeviceManager: func(context.Context) (Status, string) { return st, "udevd" },
		})
		var ids []string
		for _, r := range rep.Checks {
			ids = append(ids, r.ID)
		}
		joined := strings.Join(ids, " ")
		if !strings.HasPrefix(joined, "module/dtheap_heaps.ko device-manager dt/") {
			t.Errorf("order %s", joined)
		}
		if r, _ := find(rep, "device-manager"); r.Status != st {
			t.Errorf("device-manager %s, want %s", r.Status, st)
		}
		if (rep.Verdict == Pass) != (st == Pass) {
			t.Errorf("verdict %s with device manager %s", rep.Verdict, st)
		}
	}
}
