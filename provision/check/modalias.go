package check

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/dtheap/dtheap/internal/input"
)

// Module lookup as modprobe does it (kmod's libkmod: kmod_module_new_from_lookup reads
// modules.alias of /lib/modules/$(uname -r), matches each alias pattern against the device's
// modalias with fnmatch, then finds the file and its dependencies in modules.dep). A device
// created from the devicetree has the modalias of:N<name>T<type>C<compatible>... (drivers/of
// of_modalias()/of_device_get_modalias(), in /sys/bus/platform/devices/*/modalias), and a
// module with MODULE_DEVICE_TABLE(of, ...) carries aliases of:N*T*C<compatible> and
// of:N*T*C<compatible>C* (scripts/mod/file2alias.c do_of_entry).

// PlatformDevices is where the checker reads the devices' modaliases.
const PlatformDevices = "/sys/bus/platform/devices"

// modIndex is one release's modules.dep and modules.alias.
type modIndex struct {
	dir     string              // /lib/modules/<release>, inside the root
	dep     map[string][]string // module name -> [its file, then its dependencies' files], relative to dir
	aliases []modAlias
}

type modAlias struct{ pattern, module string }

// release is the running kernel's release (uname -r), or Config.Release.
func (r *runner) release() (string, error) {
	if r.cfg.Release != "" {
		return r.cfg.Release, nil
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", err
	}
	return unix.ByteSliceToString(u.Release[:]), nil
}

// readModIndex reads modules.dep and modules.alias of dir; ok is false when dir has no
// modules.dep (not a depmod'ed tree).
func (r *runner) readModIndex(dir string) (*modIndex, bool, error) {
	dep, err := input.ReadFile(r.cfg.path(path.Join(dir, "modules.dep")), "modules.dep", input.ManifestLimit)
	if err != nil {
		if os.IsNotExist(err) || strings.Contains(err.Error(), "no such file") {
			return nil, false, nil
		}
		return nil, true, err
	}
	idx := &modIndex{dir: dir, dep: map[string][]string{}}
	sc := bufio.NewScanner(bytes.NewReader(dep))
	for sc.Scan() {
		file, deps, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		idx.dep[moduleName(stripCompression(file))] = append([]string{file}, strings.Fields(deps)...)
	}
	al, err := input.ReadFile(r.cfg.path(path.Join(dir, "modules.alias")), "modules.alias", input.ManifestLimit)
	if err != nil {
		return nil, true, err
	}
	sc = bufio.NewScanner(bytes.NewReader(al))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "alias" {
			idx.aliases = append(idx.aliases, modAlias{f[1], f[2]})
		}
	}
	return idx, true, nil
}

func stripCompression(file string) string {
	for _, s := range []string{".gz", ".xz", ".zst"} {
		file = strings.TrimSuffix(file, s)
	}
	return file
}

// deviceMatching returns a platform device whose modalias matches one of patterns, and the
// modalias and pattern that matched.
//
// The heap node's own device is tried first. For a node directly under the root without reg
// it is named after the node (drivers/of/platform.c of_device_make_bus_id() in 6.1,
// drivers/of/device.c in 6.12 and 7.3: kbasename(node->full_name)), so one sysfs read finds
// it. Otherwise every device is read, in name order, up to the first that matches: each
// modalias is a sysfs file, about 40 on QEMU's virt board, and reading them all took 50 ms
// and more of the boot under TCG.
func (r *runner) deviceMatching(patterns []string) (dev, alias, pattern string, ok bool) {
	match := func(name string) (string, string, bool) {
		b, err := readSmall(r.cfg.path(path.Join(PlatformDevices, name, "modalias")))
		if err != nil {
			return "", "", false
		}
		a := strings.TrimSpace(b)
		for _, pat := range patterns {
			// kmod matches with fnmatch(3) without flags; path.Match differs only for '/',
			// which a modalias never holds.
			if ok, _ := path.Match(pat, a); ok {
				return a, pat, true
			}
		}
		return "", "", false
	}
	if hn := strings.Trim(r.cfg.Manifest.HeapNode, "/"); hn != "" && !strings.Contains(hn, "/") && hn != "." && hn != ".." {
		if a, pat, ok := match(hn); ok {
			return hn, a, pat, true
		}
	}
	ents, err := os.ReadDir(r.cfg.path(PlatformDevices)) // sorted by name
	if err != nil {
		return "", "", "", false
	}
	for _, e := range ents {
		if a, pat, ok := match(e.Name()); ok {
			return e.Name(), a, pat, true
		}
	}
	return "", "", "", false
}

// lookup finds the module for name as modprobe would for the devices present: a device whose
// modalias matches one of the module's aliases (deviceMatching). It returns the files to load
// (dependencies first) and how it found them.
func (r *runner) lookup(idx *modIndex, name string) ([]string, string, error) {
	files, ok := idx.dep[name]
	if !ok {
		return nil, "", fmt.Errorf("%s is not in %s/modules.dep (run depmod for this release: dtheap build --install does)", name, idx.dir)
	}
	var mine []string
	for _, a := range idx.aliases {
		if a.module == name {
			mine = append(mine, a.pattern)
		}
	}
	if len(mine) == 0 {
		return nil, "", fmt.Errorf("%s has no alias in %s/modules.alias: nothing would load it", name, idx.dir)
	}
	if d, alias, pat, ok := r.deviceMatching(mine); ok {
		load := make([]string, 0, len(files))
		for i := len(files) - 1; i >= 0; i-- { // dependencies first, as modprobe
			load = append(load, path.Join(idx.dir, files[i]))
		}
		return load, fmt.Sprintf("device %s modalias %s matches alias %s", d, alias, pat), nil
	}
	return nil, "", fmt.Errorf("no platform device's modalias matches %s's aliases (%s): the devicetree has no enabled node with its compatible", name, strings.Join(mine, " "))
}

// loadByAlias loads mod through the modules index of the running release, the way modprobe
// does for a device's modalias. ok is false when the modules directory has no index for this
// release (the caller then loads the file directly).
func (r *runner) loadByAlias(mod string) (st Status, detail string, ok bool) {
	rel, err := r.release()
	if err != nil {
		return Fail, "uname: " + err.Error(), true
	}
	dir := path.Join(r.cfg.ModulesDir, rel)
	idx, found, err := r.readModIndex(dir)
	if !found {
		return "", "", false
	}
	if err != nil {
		return Fail, err.Error(), true
	}
	files, how, err := r.lookup(idx, moduleName(stripCompression(mod)))
	if err != nil {
		return Fail, err.Error(), true
	}
	if r.cfg.Loader == nil {
		return Fail, "no module loader configured", true
	}
	verb := "loaded"
	for _, f := range files {
		err := r.cfg.Loader.Load(r.cfg.path(f))
		if err != nil && isExist(err) && f == files[len(files)-1] {
			verb = "already loaded"
		}
		if err != nil && !isExist(err) {
			var logLines []string
			if lines, kerr := readKmsg(r.cfg.path("/dev/kmsg")); kerr == nil {
				logLines = grepLog(lines, 8, moduleName(stripCompression(filepath.Base(f)))+": ")
			}
			return Fail, explainLoadError(f, err, logLines), true
		}
	}
	return Pass, fmt.Sprintf("%s %s by alias (%s)", verb, files[len(files)-1], how), true
}

// isExist is finit_module's "already loaded": modprobe counts it as success.
func isExist(err error) bool { return errors.Is(err, unix.EEXIST) }
