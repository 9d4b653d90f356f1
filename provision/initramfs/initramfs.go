// Package initramfs assembles the boot-check initramfs: a reproducible newc cpio.gz holding the
// checker as /init, the heap module(s), the manifest and the device nodes /init needs before
// devtmpfs is up; optionally appended to an existing initramfs instead of replacing it.
package initramfs

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/u-root/u-root/pkg/cpio"

	"github.com/dtheap/dtheap/internal/input"
	"github.com/dtheap/dtheap/internal/output"
	"github.com/dtheap/dtheap/provision/manifest"
)

// Paths inside the archive.
const (
	InitPath     = "/init"
	ModulesDir   = "/lib/modules" // modules go under <release>/updates, as dtheap build --install lays them out
	ManifestPath = manifest.DefaultPath
	SelftestPath = "/usr/bin/dmabuf-heap"
)

// File is one extra host file to put in the archive.
type File struct {
	Src string // host path
	Dst string // absolute path in the archive
}

// ParseFile parses the command-line form SRC:DST.
func ParseFile(s string) (File, error) {
	src, dst, ok := strings.Cut(s, ":")
	if !ok || src == "" || !strings.HasPrefix(dst, "/") {
		return File{}, fmt.Errorf("extra file %q: want SRC:/DST", s)
	}
	return File{Src: src, Dst: dst}, nil
}

// Options describe one archive. Host paths are read when the archive is written.
type Options struct {
	Checker  string             // host path of the dtheap-check binary for the target (see BuildChecker)
	InitPath string             // where the checker goes; default /init (/bin/uinit for a u-root image)
	Modules  []string           // host paths of .ko files, put under /lib/modules/<release>/updates/ with modules.dep and modules.alias
	Manifest *manifest.Manifest // written to /etc/dtheap/manifest.json
	Selftest string             // optional host path of the kernel dmabuf-heap selftest (static)
	Extra    []File             // optional extra files
	// Append, if set, is an existing initramfs (any compression the kernel accepts) copied
	// verbatim in front of the new archive: the kernel unpacks concatenated archives in order,
	// later files replacing earlier ones.
	Append string
	Output string // the file Build writes
}

// Build writes the archive (after the Append base, if any) to opts.Output, atomically: Output
// may be the same file as Append.
func Build(opts Options) error {
	if opts.Output == "" {
		return errors.New("initramfs: no output file")
	}
	var base []byte
	if opts.Append != "" {
		b, err := input.ReadFile(opts.Append, "--append", input.BinaryLimit)
		if err != nil {
			return fmt.Errorf("initramfs: %w", err)
		}
		if len(b) == 0 {
			return fmt.Errorf("initramfs: append to %s: empty file", opts.Append)
		}
		base = b
	}
	var buf bytes.Buffer
	buf.Write(base)
	// Zeros between archives are skipped by the kernel's unpacker; keep ours 4-byte aligned
	// like a cpio stream expects.
	for buf.Len()%4 != 0 {
		buf.WriteByte(0)
	}
	if err := Write(&buf, opts); err != nil {
		return err
	}
	// output.Write replaces a regular file atomically and writes through a device or FIFO.
	if _, err := output.Write(opts.Output, buf.Bytes(), false, nil); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	return nil
}

// Write writes the new archive alone (gzip-compressed newc, no Append base) to w. The bytes
// depend only on the options and the files' contents: entries sorted, times, owners and
// inode numbers fixed, gzip header without name or time.
func Write(w io.Writer, opts Options) error {
	recs, err := Records(opts)
	if err != nil {
		return err
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	cw := cpio.Newc.Writer(zw)
	if err := cpio.WriteRecords(cw, recs); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	if err := cpio.WriteTrailer(cw); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	return nil
}

// Records returns the archive's records in the order they are written: sorted by path, which
// puts every directory before its contents.
func Records(opts Options) ([]cpio.Record, error) {
	if opts.Checker == "" {
		return nil, errors.New("initramfs: no checker binary (build one with BuildChecker)")
	}
	if opts.Manifest == nil {
		return nil, errors.New("initramfs: no manifest")
	}
	initPath := opts.InitPath
	if initPath == "" {
		initPath = InitPath
	}
	files := map[string]cpio.Record{}
	add := func(dst string, rec cpio.Record) error {
		name := strings.TrimPrefix(path.Clean("/"+dst), "/")
		if name == "" {
			return fmt.Errorf("initramfs: %q is not a file path", dst)
		}
		if _, dup := files[name]; dup {
			return fmt.Errorf("initramfs: /%s is in the archive twice", name)
		}
		rec.Name = name
		files[name] = rec
		return nil
	}
	addHost := func(src, dst, what string, limit int64, perm uint64) error {
		b, err := input.ReadFile(src, what, limit)
		if err != nil {
			return fmt.Errorf("initramfs: %w", err)
		}
		return add(dst, cpio.StaticRecord(b, cpio.Info{Mode: cpio.S_IFREG | perm}))
	}

	if err := addHost(opts.Checker, initPath, "checker", input.BinaryLimit, 0o755); err != nil {
		return nil, err
	}
	mb, err := opts.Manifest.MarshalIndent()
	if err != nil {
		return nil, err
	}
	if err := add(ManifestPath, cpio.StaticRecord(mb, cpio.Info{Mode: cpio.S_IFREG | 0o644})); err != nil {
		return nil, err
	}
	if err := addModules(opts.Modules, add); err != nil {
		return nil, err
	}
	if err := checkModulesListed(opts); err != nil {
		return nil, err
	}
	if opts.Selftest != "" {
		if err := addHost(opts.Selftest, SelftestPath, "selftest", input.BinaryLimit, 0o755); err != nil {
			return nil, err
		}
	}
	for _, f := range opts.Extra {
		if !strings.HasPrefix(f.Dst, "/") {
			return nil, fmt.Errorf("initramfs: extra file %s: destination %q is not absolute", f.Src, f.Dst)
		}
		st, err := os.Stat(f.Src)
		if err != nil {
			return nil, fmt.Errorf("initramfs: extra file: %w", err)
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("initramfs: extra file %s is not a regular file", f.Src)
		}
		// Only the executable bit is carried over: host umasks must not change the archive.
		perm := uint64(0o644)
		if st.Mode().Perm()&0o100 != 0 {
			perm = 0o755
		}
		if err := addHost(f.Src, f.Dst, "extra file", input.BinaryLimit, perm); err != nil {
			return nil, err
		}
	}
	// Without dev/console the kernel opens no console for /init, and /init prints nothing.
	if err := add("/dev/console", cpio.CharDev("", 0o600, 5, 1)); err != nil {
		return nil, err
	}
	if err := add("/dev/null", cpio.CharDev("", 0o666, 1, 3)); err != nil {
		return nil, err
	}

	dirs := map[string]bool{"dev": true, "proc": true, "sys": true, "tmp": true}
	for name := range files {
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for d := range dirs {
		if _, clash := files[d]; clash {
			return nil, fmt.Errorf("initramfs: /%s is both a file and a directory", d)
		}
		mode := uint64(0o755)
		if d == "tmp" {
			mode = 0o1777
		}
		files[d] = cpio.Directory(d, mode)
	}

	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	recs := make([]cpio.Record, 0, len(names))
	for i, n := range names {
		r := cpio.MakeReproducible(files[n])
		// Distinct inode numbers: an unpacker that sees two records with one inode and
		// nlink > 1 would hard-link them.
		r.Ino = uint64(i + 1)
		r.NLink = 1
		if r.Mode&cpio.S_IFMT == cpio.S_IFDIR {
			r.NLink = 2
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// addModules lays the modules out as the kernel's modules_install with INSTALL_MOD_DIR=updates
// and depmod do (kernel.Install): lib/modules/<release>/updates/<file>, where <release> is the
// module's vermagic release, and the modules.dep and modules.alias that depmod writes for
// them (its text format: "updates/x.ko: deps" and "alias PATTERN name"), so the checker finds
// each module by its of: alias as modprobe would. Every module must be for one release, and a
// module's dependencies must be in the archive too.
func addModules(mods []string, add func(string, cpio.Record) error) error {
	if len(mods) == 0 {
		return nil
	}
	release := ""
	var dep, alias strings.Builder
	alias.WriteString("# Aliases extracted from modules themselves.\n")
	names := map[string]string{}
	infos := make([]*ModInfo, len(mods))
	for i, m := range mods {
		b, err := input.ReadFile(m, "module", input.ModuleLimit)
		if err != nil {
			return fmt.Errorf("initramfs: %w", err)
		}
		mi, err := ReadModInfo(b)
		if err != nil {
			return fmt.Errorf("initramfs: module %s: %w", m, err)
		}
		if release != "" && mi.Release != release {
			return fmt.Errorf("initramfs: module %s is for Linux %s, %s for %s: one initramfs boots one kernel", m, mi.Release, mods[0], release)
		}
		release = mi.Release
		infos[i] = mi
		file := "updates/" + filepath.Base(m)
		names[mi.Name] = file
		if err := add(path.Join(ModulesDir, release, file), cpio.StaticRecord(b, cpio.Info{Mode: cpio.S_IFREG | 0o644})); err != nil {
			return err
		}
	}
	for i, m := range mods {
		mi := infos[i]
		var deps []string
		for _, d := range mi.Depends {
			f, ok := names[d]
			if !ok {
				return fmt.Errorf("initramfs: module %s depends on %s, which is not among the --module files", m, d)
			}
			deps = append(deps, f)
		}
		fmt.Fprintf(&dep, "%s:", names[mi.Name])
		for _, d := range deps {
			fmt.Fprintf(&dep, " %s", d)
		}
		dep.WriteString("\n")
		for _, a := range mi.Aliases {
			fmt.Fprintf(&alias, "alias %s %s\n", a, mi.Name)
		}
	}
	dir := path.Join(ModulesDir, release)
	if err := add(path.Join(dir, "modules.dep"), cpio.StaticRecord([]byte(dep.String()), cpio.Info{Mode: cpio.S_IFREG | 0o644})); err != nil {
		return err
	}
	return add(path.Join(dir, "modules.alias"), cpio.StaticRecord([]byte(alias.String()), cpio.Info{Mode: cpio.S_IFREG | 0o644}))
}

// checkModulesListed makes sure every module the manifest loads is in the archive: a checker
// that cannot find its module fails every heap.
func checkModulesListed(opts Options) error {
	have := map[string]bool{}
	for _, m := range opts.Modules {
		have[filepath.Base(m)] = true
	}
	var missing []string
	for _, m := range opts.Manifest.Modules {
		if !have[m] {
			missing = append(missing, m)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("initramfs: the manifest loads %s but no such --module was given", strings.Join(missing, ", "))
	}
	return nil
}

// Entry is one archive member as listed by List.
type Entry struct {
	Name   string
	Mode   uint64 // type and permission bits, as in the cpio header
	Size   uint64
	Rmajor uint64
	Rminor uint64
}

// String prints an entry like "c 0600 5,1 dev/console" or "f 0755 123 init".
func (e Entry) String() string {
	perm := e.Mode & 0o7777
	switch e.Mode & cpio.S_IFMT {
	case cpio.S_IFDIR:
		return fmt.Sprintf("d %04o %s", perm, e.Name)
	case cpio.S_IFCHR:
		return fmt.Sprintf("c %04o %d,%d %s", perm, e.Rmajor, e.Rminor, e.Name)
	case cpio.S_IFREG:
		return fmt.Sprintf("f %04o %d %s", perm, e.Size, e.Name)
	}
	return fmt.Sprintf("? %o %s", e.Mode, e.Name)
}

// List reads one gzip-compressed newc archive (as Write produces) and returns its members.
func List(r io.Reader) ([]Entry, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("initramfs: %w", err)
	}
	zr.Multistream(false)
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("initramfs: %w", err)
	}
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(b)))
	if err != nil {
		return nil, fmt.Errorf("initramfs: %w", err)
	}
	out := make([]Entry, 0, len(recs))
	for _, r := range recs {
		out = append(out, Entry{Name: r.Name, Mode: r.Mode, Size: r.FileSize, Rmajor: r.Rmajor, Rminor: r.Rminor})
	}
	return out, nil
}
