package kernel

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/dtheap/dtheap/internal/output"
)

// DefaultModDir is where dtheap build --install puts the module under lib/modules/<release>:
// updates/, which depmod searches before the kernel's own tree (kmod's default search order,
// depmod.d(5): "updates" then built-in), so the board's module wins over any other of its
// name. The kernel's own modules_install puts an external module in extra/ unless told
// INSTALL_MOD_DIR (scripts/Makefile.modinst: INSTALL_MOD_DIR ?= extra); dtheap's layout is
// exactly `make modules_install M=... INSTALL_MOD_PATH=DIR INSTALL_MOD_DIR=updates`.
const DefaultModDir = "updates"

// InstallOptions say where and how Install lays out a module.
type InstallOptions struct {
	KDir   string // the kernel build tree the module was built against
	Dest   string // INSTALL_MOD_PATH: the root the tree goes under
	ModDir string // INSTALL_MOD_DIR; default DefaultModDir
	Depmod string // depmod program; default depmod from PATH, then /sbin/depmod
}

// Release reads the kernel release of a built tree (include/config/kernel.release, what
// KERNELRELEASE is for modules_install): the directory name under lib/modules.
func Release(kdir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(kdir, "include", "config", "kernel.release"))
	if err != nil {
		return "", fmt.Errorf("kernel tree %s: %w (build the kernel first: modules_install needs its release)", kdir, err)
	}
	rel := strings.TrimSpace(string(b))
	if rel == "" || strings.ContainsAny(rel, "/ \t\n") {
		return "", fmt.Errorf("kernel tree %s: include/config/kernel.release holds %q, not a release", kdir, rel)
	}
	return rel, nil
}

// compression is the suffix and command CONFIG_MODULE_COMPRESS_* makes modules_install use
// (scripts/Makefile.modinst of 6.1: gzip -n -f, xz --check=crc32 --lzma2=dict=1MiB -f,
// zstd -T0 --rm -f -q).
func compression(cfg map[string]string) (string, []string) {
	switch {
	case cfg["CONFIG_MODULE_COMPRESS_GZIP"] == "y":
		return ".gz", []string{"gzip", "-n", "-f"}
	case cfg["CONFIG_MODULE_COMPRESS_XZ"] == "y":
		return ".xz", []string{"xz", "--check=crc32", "--lzma2=dict=1MiB", "-f"}
	case cfg["CONFIG_MODULE_COMPRESS_ZSTD"] == "y":
		return ".zst", []string{"zstd", "-T0", "--rm", "-f", "-q"}
	}
	return "", nil
}

// Install lays ko out under o.Dest as the kernel's modules_install does for an external
// module, lib/modules/<release>/<ModDir>/<name>.ko (compressed as the kernel's .config says),
// then runs depmod for that release the way scripts/depmod.sh does (-ae -F System.map -b
// Dest), so modules.dep and modules.alias list it and modprobe finds it by its of: alias. It
// returns the installed file. Modules are not signed (CONFIG_MODULE_SIG_ALL): modules_install
// does not insist for external modules either, and says nothing; Install says so.
func Install(ko string, o InstallOptions, progress io.Writer) (string, error) {
	rel, err := Release(o.KDir)
	if err != nil {
		return "", err
	}
	modDir := o.ModDir
	if modDir == "" {
		modDir = DefaultModDir
	}
	// Makefile.modinst refuses these in the destination; so do we.
	if strings.ContainsAny(modDir, "%:") || strings.Contains(modDir, "..") || filepath.IsAbs(modDir) {
		return "", fmt.Errorf("install directory %q: want a relative directory without .., %% or :", modDir)
	}
	cfg, err := readConfig(filepath.Join(o.KDir, ".config"))
	if err != nil {
		return "", fmt.Errorf("kernel tree %s: %w", o.KDir, err)
	}
	data, err := os.ReadFile(ko)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(o.Dest, "lib", "modules", rel, filepath.FromSlash(modDir))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	dst := filepath.Join(dir, filepath.Base(ko))
	if err := output.WriteAtomic(dst, data); err != nil {
		return "", err
	}
	if err := os.Chmod(dst, 0o644); err != nil {
		return "", err
	}
	if suffix, cmd := compression(cfg); suffix != "" {
		c := exec.Command(cmd[0], append(cmd[1:], dst)...)
		if out, err := c.CombinedOutput(); err != nil {
			return "", fmt.Errorf("%s (CONFIG_MODULE_COMPRESS): %v: %s", strings.Join(cmd, " "), err, bytes.TrimSpace(out))
		}
		dst += suffix
	}
	if cfg["CONFIG_MODULE_SIG_ALL"] == "y" && progress != nil {
		fmt.Fprintf(progress, "note: %s is not signed (the kernel signs modules, CONFIG_MODULE_SIG_ALL): sign it with the kernel's scripts/sign-file if the kernel enforces signatures\n", dst)
	}
	if err := depmod(o, rel, progress); err != nil {
		return "", err
	}
	return dst, nil
}

// depmod runs depmod as scripts/depmod.sh does: -ae -F System.map -b INSTALL_MOD_PATH
// RELEASE (without System.map the kernel skips depmod with a warning; we run it without
// symbol checks, since the point of installing is modules.dep and modules.alias).
func depmod(o InstallOptions, rel string, progress io.Writer) error {
	prog := o.Depmod
	if prog == "" {
		prog = "depmod"
		if _, err := exec.LookPath(prog); err != nil {
			prog = "/sbin/depmod"
		}
	}
	dest, err := filepath.Abs(o.Dest)
	if err != nil {
		return err
	}
	args := []string{"-a"}
	if sm := filepath.Join(o.KDir, "System.map"); fileExists(sm) {
		args = []string{"-ae", "-F", sm}
	}
	args = append(args, "-b", dest, rel)
	c := exec.Command(prog, args...)
	out, err := c.CombinedOutput()
	if err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			return fmt.Errorf("depmod not found (%v): install kmod", err)
		}
		return fmt.Errorf("depmod %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	// Into a tree that holds only external modules depmod warns that modules.order,
	// modules.builtin and modules.builtin.modinfo are missing, as it does for the kernel's
	// modules_install M=...; those files belong to the kernel's own install.
	if progress != nil && len(bytes.TrimSpace(out)) > 0 {
		fmt.Fprintf(progress, "%s\n", bytes.TrimSpace(out))
	}
	return nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
