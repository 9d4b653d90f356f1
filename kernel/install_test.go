package kernel

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/dtheap/dtheap/pipeline"
)

// TestInstallLayout checks the layout and the depmod call against a fake kernel tree and a
// depmod that records its arguments.
func TestInstallLayout(t *testing.T) {
	kdir, dest, tmp := t.TempDir(), t.TempDir(), t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(kdir, "include", "config"), 0o755))
	must(os.WriteFile(filepath.Join(kdir, "include", "config", "kernel.release"), []byte("6.1.192\n"), 0o644))
	must(os.WriteFile(filepath.Join(kdir, ".config"), []byte("CONFIG_MODULES=y\n"), 0o644))
	must(os.WriteFile(filepath.Join(kdir, "System.map"), []byte("0 T _text\n"), 0o644))
	ko := filepath.Join(tmp, "dtheap_heaps.ko")
	must(os.WriteFile(ko, []byte("\x7fELF module"), 0o600))
	args := filepath.Join(tmp, "args")
	fake := filepath.Join(tmp, "depmod")
	must(os.WriteFile(fake, []byte("#!/bin/sh\necho \"$@\" > "+args+"\n"), 0o755))

	got, err := Install(ko, InstallOptions{KDir: kdir, Dest: dest, Depmod: fake}, nil)
	must(err)
	want := filepath.Join(dest, "lib", "modules", "6.1.192", "updates", "dtheap_heaps.ko")
	if got != want {
		t.Errorf("installed %s, want %s", got, want)
	}
	if st, err := os.Stat(want); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("installed module: %v %v, want mode 0644", st, err)
	}
	b, _ := os.ReadFile(args)
	absDest, _ := filepath.Abs(dest)
	if w := "-ae -F " + filepath.Join(kdir, "System.map") + " -b " + absDest + " 6.1.192\n"; string(b) != w {
		t.Errorf("depmod %q, want %q", b, w)
	}

	// extra/ is the kernel's own default for external modules.
	got, err = Install(ko, InstallOptions{KDir: kdir, Dest: dest, Depmod: fake, ModDir: "extra"}, nil)
	must(err)
	if !strings.HasSuffix(got, "/lib/modules/6.1.192/extra/dtheap_heaps.ko") {
		t.Errorf("ModDir extra: %s", got)
	}
	for _, bad := range []string{"../x", "/abs", "a:b", "a%b"} {
		if _, err := Install(ko, InstallOptions{KDir: kdir, Dest: dest, Depmod: fake, ModDir: bad}, nil); err == nil {
			t.Errorf("ModDir %q accepted", bad)
		}
	}
	must(os.Remove(filepath.Join(kdir, "include", "config", "kernel.release")))
	if _, err := Install(ko, InstallOptions{KDir: kdir, Dest: dest, Depmod: fake}, nil); err == nil || !strings.Contains(err.Error(), "kernel.release") {
		t.Errorf("tree without kernel.release: %v", err)
	}
}

// TestInstallMatchesModulesInstall builds the QEMU board's module against a real kernel tree
// (DTHEAP_KDIR, which scripts/e2e-install.sh sets from kernel/refkernel/build.sh) and compares
// what Install lays out, file by file and byte by byte, with what the kernel's own
// `make modules_install M=... INSTALL_MOD_PATH=... INSTALL_MOD_DIR=updates` lays out.
func TestInstallMatchesModulesInstall(t *testing.T) {
	kdir := os.Getenv("DTHEAP_KDIR")
	if kdir == "" {
		t.Skip("NOT RUN: set DTHEAP_KDIR to a built kernel tree (scripts/e2e-install.sh does, from make test)")
	}
	res, err := pipeline.Load("../boards/qemu-virt-arm64.yaml", pipeline.Options{})
	if err != nil || res.HasErrors() {
		t.Fatalf("load: %v %v", err, res.Findings)
	}
	mod := t.TempDir()
	ko, err := Build(res.Plan, BuildOptions{KDir: kdir, OutDir: mod, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	theirs, ours := t.TempDir(), t.TempDir()
	karch, cross := KernelArch(res.Plan.Arch)
	cmd := exec.Command("make", "-C", kdir, "M="+mod, "ARCH="+karch, "CROSS_COMPILE="+cross,
		"INSTALL_MOD_PATH="+theirs, "INSTALL_MOD_DIR=updates", "modules_install")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make modules_install: %v\n%s", err, out)
	}
	if _, err := Install(ko, InstallOptions{KDir: kdir, Dest: ours}, nil); err != nil {
		t.Fatal(err)
	}
	a, b := tree(t, theirs), tree(t, ours)
	if len(a) == 0 {
		t.Fatal("make modules_install installed nothing")
	}
	var names []string
	for n := range a {
		names = append(names, n)
	}
	for n := range b {
		if _, ok := a[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		switch {
		case b[n] == nil:
			t.Errorf("%s: modules_install has it, dtheap does not", n)
		case a[n] == nil:
			t.Errorf("%s: dtheap has it, modules_install does not", n)
		case !bytes.Equal(a[n], b[n]):
			t.Errorf("%s differs", n)
		}
	}
	t.Logf("compared %d files: %s", len(names), strings.Join(names, " "))
	alias := a[filepath.Join("lib", "modules", mustRelease(t, kdir), "modules.alias")]
	if !bytes.Contains(alias, []byte("dtheap,dma-heaps")) {
		t.Errorf("modules.alias has no alias for the dtheap,dma-heaps compatible:\n%s", alias)
	}
}

func mustRelease(t *testing.T, kdir string) string {
	rel, err := Release(kdir)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// tree maps every file and symbolic link under root (relative path) to its contents (a link
// to "-> target").
func tree(t *testing.T, root string) map[string][]byte {
	m := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.Type()&fs.ModeSymlink != 0 {
			l, _ := os.Readlink(p)
			m[rel] = []byte("-> " + l)
			return nil
		}
		b, err := os.ReadFile(p)
		m[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
