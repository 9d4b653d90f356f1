package initramfs

import (
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dtheap/dtheap/provision/manifest"
)

func testManifest() *manifest.Manifest {
	return &manifest.Manifest{
		Generator: "dtheap", Board: "b", Arch: "arm64", KernelVersion: "6.1",
		Modules: []string{"dtheap_heaps.ko"}, HeapNode: "/dma-heaps",
		Pools: []manifest.Pool{{Name: "video", Node: "video@70000000", Kind: "cma", Base: 0x70000000, Size: 32 << 20, Fixed: true, Reusable: true}},
		Heaps: []manifest.Heap{{Name: "video@70000000", Provider: "dtheap", Kind: "cma", Pool: "video", Base: 0x70000000, Size: 32 << 20, Fixed: true, Mappable: true}},
	}
}

// hostFiles writes stand-ins for the checker, module, selftest and an extra script.
func hostFiles(t *testing.T) (dir string, opts Options) {
	dir = t.TempDir()
	w := func(name, content string, perm os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), perm); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return dir, Options{
		Checker:  w("dtheap-check", "checker binary", 0o700),
		Modules:  []string{w("dtheap_heaps.ko", string(testModule), 0o600)},
		Manifest: testManifest(),
		Selftest: w("dmabuf-heap", "selftest", 0o755),
		Extra:    []File{{Src: w("hello.sh", "#!/bin/sh\n", 0o775), Dst: "/usr/bin/hello"}, {Src: w("cfg", "x", 0o600), Dst: "/etc/x.conf"}},
	}
}

func TestArchiveListing(t *testing.T) {
	dir, opts := hostFiles(t)
	opts.Output = filepath.Join(dir, "out.cpio.gz")
	if err := Build(opts); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(opts.Output)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, err := List(f)
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := testManifest().MarshalIndent()
	want := []string{
		"d 0755 dev",
		"c 0600 5,1 dev/console",
		"c 0666 1,3 dev/null",
		"d 0755 etc",
		"d 0755 etc/dtheap",
		"f 0644 " + strconv.Itoa(len(mb)) + " etc/dtheap/manifest.json",
		"f 0644 1 etc/x.conf",
		"f 0755 14 init",
		"d 0755 lib",
		"d 0755 lib/modules",
		"d 0755 lib/modules/6.1.192",
		"f 0644 135 lib/modules/6.1.192/modules.alias",
		"f 0644 25 lib/modules/6.1.192/modules.dep",
		"d 0755 lib/modules/6.1.192/updates",
		fmt.Sprintf("f 0644 %d lib/modules/6.1.192/updates/dtheap_heaps.ko", len(testModule)),
		"d 0755 proc",
		"d 0755 sys",
		"d 1777 tmp",
		"d 0755 usr",
		"d 0755 usr/bin",
		"f 0755 8 usr/bin/dmabuf-heap",
		"f 0755 10 usr/bin/hello",
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("archive lists:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestArchiveReproducible(t *testing.T) {
	dir, opts := hostFiles(t)
	a, b := filepath.Join(dir, "a.cpio.gz"), filepath.Join(dir, "b.cpio.gz")
	opts.Output = a
	if err := Build(opts); err != nil {
		t.Fatal(err)
	}
	// Different host metadata must not change the archive.
	if err := os.Chmod(opts.Modules[0], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(opts.Checker, time.Unix(12345, 0), time.Unix(12345, 0)); err != nil {
		t.Fatal(err)
	}
	opts.Output = b
	if err := Build(opts); err != nil {
		t.Fatal(err)
	}
	ba, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if len(ba) == 0 || !bytes.Equal(ba, bb) {
		t.Fatalf("two builds differ (%d vs %d bytes)", len(ba), len(bb))
	}
	zr, err := gzip.NewReader(bytes.NewReader(ba))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("gzip header carries name %q / mtime %v", zr.Name, zr.ModTime)
	}
	// Reading every header: all mtimes, uids and gids zero.
	raw, _ := io.ReadAll(zr)
	for i := 0; ; {
		j := bytes.Index(raw[i:], []byte("070701"))
		if j < 0 {
			break
		}
		h := raw[i+j:]
		uid, gid, mtime := string(h[22:30]), string(h[30:38]), string(h[46:54])
		if uid != "00000000" || gid != "00000000" || mtime != "00000000" {
			t.Fatalf("header at %d has uid %s gid %s mtime %s", i+j, uid, gid, mtime)
		}
		i += j + 110
	}
}

func TestAppend(t *testing.T) {
	dir, opts := hostFiles(t)
	base := filepath.Join(dir, "base.img")
	baseBytes := []byte("an existing initramfs, 27 bytes")
	if err := os.WriteFile(base, baseBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	var alone bytes.Buffer
	if err := Write(&alone, opts); err != nil {
		t.Fatal(err)
	}
	// Append in place: output and base are the same file.
	opts.Append, opts.Output = base, base
	if err := Build(opts); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(base)
	pad := (4 - len(baseBytes)%4) % 4
	if !bytes.HasPrefix(got, baseBytes) || !bytes.Equal(got[len(baseBytes):len(baseBytes)+pad], make([]byte, pad)) {
		t.Fatalf("appended file does not start with the base plus zero padding")
	}
	if !bytes.Equal(got[len(baseBytes)+pad:], alone.Bytes()) {
		t.Fatalf("appended archive differs from the archive built alone")
	}
}

func TestRecordsErrors(t *testing.T) {
	tests := []struct {
		name, wantIn string
		edit         func(o *Options)
	}{
		{"no checker", "no checker binary", func(o *Options) { o.Checker = "" }},
		{"no manifest", "no manifest", func(o *Options) { o.Manifest = nil }},
		{"missing module file", "no such file", func(o *Options) { o.Modules = []string{"/nonexistent/dtheap_heaps.ko"} }},
		{"module not given", "loads dtheap_heaps.ko but no such --module", func(o *Options) { o.Modules = nil }},
		{"duplicate path", "twice", func(o *Options) { o.Extra = append(o.Extra, File{Src: o.Checker, Dst: "/init"}) }},
		{"file over a directory", "both a file and a directory", func(o *Options) { o.Extra = append(o.Extra, File{Src: o.Checker, Dst: "/usr"}) }},
		{"relative destination", "not absolute", func(o *Options) { o.Extra = []File{{Src: o.Checker, Dst: "init2"}} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, opts := hostFiles(t)
			tt.edit(&opts)
			_, err := Records(opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantIn) {
				t.Fatalf("want an error containing %q, got %v", tt.wantIn, err)
			}
		})
	}
}

func TestParseFile(t *testing.T) {
	if f, err := ParseFile("a/b:/usr/bin/b"); err != nil || f.Src != "a/b" || f.Dst != "/usr/bin/b" {
		t.Errorf("ParseFile = %+v, %v", f, err)
	}
	for _, bad := range []string{"a", ":/x", "a:x"} {
		if _, err := ParseFile(bad); err == nil {
			t.Errorf("ParseFile(%q) accepted", bad)
		}
	}
}

func TestBuildCheckerRejectsArch(t *testing.T) {
	if _, err := BuildChecker(context.Background(), CheckerBuild{GOARCH: "mips", CacheDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Fatalf("want unsupported-arch error, got %v", err)
	}
}

// TestBuildChecker cross-compiles for real (slow on a busy machine: skipped with -short).
func TestBuildChecker(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles the checker; run without -short")
	}
	p, err := BuildChecker(context.Background(), CheckerBuild{GOARCH: "arm64", CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 {
		t.Errorf("machine %v, want AArch64", f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("binary is dynamically linked")
		}
	}
	if st, _ := os.Stat(p); st.Size() > 3<<20 {
		t.Errorf("checker is %d bytes, over 3 MiB", st.Size())
	}
}

// TestGNUCpioLists checks the archive against an independent reader, GNU cpio.
func TestGNUCpioLists(t *testing.T) {
	cpioBin, err := exec.LookPath("cpio")
	if err != nil {
		t.Skip("GNU cpio not installed")
	}
	_, opts := hostFiles(t)
	var buf bytes.Buffer
	if err := Write(&buf, opts); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(cpioBin, "-t", "--quiet")
	cmd.Stdin = zr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cpio -t: %v", err)
	}
	want := "dev\ndev/console\ndev/null\netc\netc/dtheap\netc/dtheap/manifest.json\netc/x.conf\ninit\nlib\nlib/modules\nlib/modules/6.1.192\nlib/modules/6.1.192/modules.alias\nlib/modules/6.1.192/modules.dep\nlib/modules/6.1.192/updates\nlib/modules/6.1.192/updates/dtheap_heaps.ko\nproc\nsys\ntmp\nusr\nusr/bin\nusr/bin/dmabuf-heap\nusr/bin/hello\n"
	if string(out) != want {
		t.Errorf("cpio -t:\n%s\nwant:\n%s", out, want)
	}
}
