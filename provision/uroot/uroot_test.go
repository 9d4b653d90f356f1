package uroot

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/u-root/u-root/pkg/cpio"

	"github.com/dtheap/dtheap/provision/initramfs"
	"github.com/dtheap/dtheap/provision/manifest"
)

func TestWithDefaults(t *testing.T) {
	b, err := Base{GOARCH: "arm64"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if b.Shell != "gosh" || b.Uinit != DefaultUinit || len(b.Commands) != len(DefaultCommands) ||
		len(b.UinitArgs) != 0 || b.CacheDir == "" {
		t.Errorf("defaults: %+v", b)
	}
	for _, tt := range []struct {
		name string
		b    Base
		want string
	}{
		{"no arch", Base{}, "no GOARCH"},
		{"bad arch", Base{GOARCH: "mips"}, `GOARCH "mips" not supported`},
		{"no init", Base{GOARCH: "arm64", Commands: []string{"gosh", "ls"}}, "must include init"},
		{"shell missing", Base{GOARCH: "arm64", Commands: []string{"init", "ls"}, Shell: "elvish"}, "must include elvish"},
		{"twice", Base{GOARCH: "arm64", Commands: []string{"init", "gosh", "ls", "ls"}}, "ls listed twice"},
		{"a path", Base{GOARCH: "arm64", Commands: []string{"init", "gosh", "cmds/core/ls"}}, "want a name under"},
		{"relative uinit", Base{GOARCH: "arm64", Uinit: "bin/dtheap-check"}, "not an absolute path"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.b.withDefaults(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// The cache key must change with every input of the base archive and only with those: a stale
// busybox (another u-root version, another GOARCH, other uinit flags) would boot silently.
func TestBaseKey(t *testing.T) {
	base := func() (Base, Module) {
		b, err := Base{GOARCH: "arm64", CacheDir: "/c1"}.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		return b, Module{Dir: "/src", GoMod: []byte("module x\n"), GoSum: []byte("sum\n"), GoVersion: "go1.26.8"}
	}
	b0, m0 := base()
	k0 := BaseKey(b0, m0)
	if len(k0) != 16 {
		t.Fatalf("key %q", k0)
	}
	for _, tt := range []struct {
		name    string
		change  func(*Base, *Module)
		differs bool
	}{
		{"same inputs", func(*Base, *Module) {}, false},
		{"cache dir", func(b *Base, _ *Module) { b.CacheDir = "/c2" }, false},
		{"module dir", func(_ *Base, m *Module) { m.Dir = "/elsewhere" }, false},
		{"GOARCH", func(b *Base, _ *Module) { b.GOARCH = "riscv64" }, true},
		{"go version", func(_ *Base, m *Module) { m.GoVersion = "go1.26.9" }, true},
		{"go.mod", func(_ *Base, m *Module) { m.GoMod = []byte("module y\n") }, true},
		{"go.sum", func(_ *Base, m *Module) { m.GoSum = []byte("sum2\n") }, true},
		{"a command more", func(b *Base, _ *Module) { b.Commands = append(append([]string{}, b.Commands...), "ps") }, true},
		{"command order", func(b *Base, _ *Module) {
			c := append([]string{}, b.Commands...)
			c[2], c[3] = c[3], c[2]
			b.Commands = c
		}, true},
		{"shell", func(b *Base, _ *Module) { b.Shell = "ls" }, true},
		{"uinit path", func(b *Base, _ *Module) { b.Uinit = "/bbin/dtheap-check" }, true},
		{"uinit args", func(b *Base, _ *Module) { b.UinitArgs = []string{"--mount", "--finally=poweroff"} }, true},
		{"args split differently", func(b *Base, _ *Module) { b.UinitArgs = []string{"--mount --finally=poweroff"} }, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, m := base()
			tt.change(&b, &m)
			if k := BaseKey(b, m); (k != k0) != tt.differs {
				t.Errorf("key %s vs %s: differs %v, want %v", k, k0, k != k0, tt.differs)
			}
		})
	}
	// Two argument lists that concatenate to the same text must not collide.
	b1, _ := base()
	b2, _ := base()
	b1.UinitArgs = []string{"ab", "c"}
	b2.UinitArgs = []string{"a", "bc"}
	if BaseKey(b1, m0) == BaseKey(b2, m0) {
		t.Error("argument lists ab,c and a,bc share a key")
	}
}

func TestCheckTools(t *testing.T) {
	m := Module{Dir: "/src", GoMod: []byte("module x\n\ngo 1.26\n\ntool (\n\t" + CommandPrefix + "init\n\t" + CommandPrefix + "gosh\n)\n")}
	if err := CheckTools(m, []string{"init", "gosh"}); err != nil {
		t.Fatal(err)
	}
	err := CheckTools(m, []string{"init", "gosh", "ls"})
	if err == nil || !strings.Contains(err.Error(), "go get -tool "+CommandPrefix+"ls") || strings.Contains(err.Error(), "core/init") {
		t.Errorf("missing ls: %v", err)
	}
	if err := CheckTools(Module{Dir: "/src", GoMod: []byte("module x\ntool (\n")}, nil); err == nil {
		t.Error("a broken go.mod was accepted")
	}
}

// dtheap's own go.mod must carry every default command as a tool, or the default build fails.
func TestDefaultCommandsAreTools(t *testing.T) {
	m, err := FindModule(context.Background(), "go", ".")
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckTools(m, DefaultCommands); err != nil {
		t.Error(err)
	}
}

// Build with u-root's part already in the cache: the image is that archive verbatim, then
// dtheap's archive with the checker at the uinit path and the manifest. (Building u-root's
// part for real is scripts/e2e-uroot.sh's job: it takes minutes.)
func TestBuildFromCachedBase(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	b, err := Base{GOARCH: "arm64", CacheDir: filepath.Join(dir, "cache")}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	m, err := FindModule(ctx, "go", ".")
	if err != nil {
		t.Fatal(err)
	}
	var baseArchive bytes.Buffer
	zw := gzip.NewWriter(&baseArchive)
	cw := cpio.Newc.Writer(zw)
	if err := cpio.WriteRecords(cw, []cpio.Record{cpio.Symlink("init", "bbin/init"), cpio.Symlink("bin/uinit", "dtheap-check")}); err != nil {
		t.Fatal(err)
	}
	if err := cpio.WriteTrailer(cw); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	os.MkdirAll(b.CacheDir, 0o755)
	basePath := filepath.Join(b.CacheDir, "uroot-arm64-"+BaseKey(b, m)+".cpio.gz")
	if err := os.WriteFile(basePath, baseArchive.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	checker := filepath.Join(dir, "dtheap-check")
	os.WriteFile(checker, []byte("checker"), 0o755)
	out := filepath.Join(dir, "initramfs.cpio.gz")
	man := &manifest.Manifest{Generator: "dtheap", Board: "b", Arch: "arm64", KernelVersion: "6.1", HeapNode: "/dma-heaps"}
	res, err := Build(ctx, Image{Base: b, Checker: checker, Manifest: man, Output: out}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if !res.BaseCached || res.Base != basePath {
		t.Errorf("result %+v, want the cached %s", res, basePath)
	}
	img, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(img, baseArchive.Bytes()) {
		t.Fatal("the image does not start with u-root's archive verbatim")
	}
	rest := bytes.TrimLeft(img[baseArchive.Len():], "\x00")
	entries, err := initramfs.List(bytes.NewReader(rest))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.String())
	}
	list := strings.Join(got, "\n")
	for _, want := range []string{"f 0755 7 bin/dtheap-check", "etc/dtheap/manifest.json", "c 0600 5,1 dev/console"} {
		if !strings.Contains(list, want) {
			t.Errorf("dtheap's archive lacks %q:\n%s", want, list)
		}
	}
	if strings.Contains(list, " init\n") || strings.HasSuffix(list, " init") {
		t.Errorf("dtheap's archive replaces u-root's /init:\n%s", list)
	}
}
