// Command dtheap-check verifies at boot that the DMA-BUF heaps a board was built for appeared,
// sit where the plan put them, and work. It runs as /init in an initramfs (PID 1: it mounts
// the pseudo filesystems itself and never exits; it powers off, reboots or execs the next
// init), as a u-root uinit, or as a plain command (exit status 0 on PASS, 1 on FAIL, 2 on
// usage errors). A uinit that is given --finally powers off (or reboots, halts) after the
// checks like PID 1 does, instead of returning to u-root's init, which would start its shell.
//
// As PID 1 it also reads dtheap.<flag>[=value] from the kernel command line (dtheap.then=,
// dtheap.strict, dtheap.finally=, dtheap.timings, dtheap.deadline=, ...) for every flag not given as
// an argument, so one initramfs serves several uses.
//
// Nothing it is given can stall the boot: the manifest is a regular file read through a limit,
// of at most the kernel's 128 heaps; --manifest and --modules-dir stay inside --root; and all
// checks together end at --deadline (default 10s), after which what did not run is named in one
// FAIL line and the boot goes on. It stays on the standard flag package to keep the static
// binary small.
//
// When a check fails it runs the doctor (package doctor, as dtheap doctor does) on the same
// root and prints its verdicts, so a failed boot says what the kernel did with each
// reserved-memory node and heap, with the kernel log line that proves it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dtheap/dtheap/doctor"
	"github.com/dtheap/dtheap/internal/escape"
	"github.com/dtheap/dtheap/internal/input"
	"github.com/dtheap/dtheap/provision/check"
	"github.com/dtheap/dtheap/provision/manifest"
)

type options struct {
	manifest   string
	modulesDir string
	root       string
	jsonOut    string
	strict     bool
	timeout    time.Duration
	deadline   time.Duration
	selftest   string
	selftestTO time.Duration
	then       string
	finally    string
	mount      bool
	timings    bool
	udevd      string
	udevadm    string
}

func newFlagSet(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("dtheap-check", flag.ContinueOnError)
	fs.StringVar(&o.manifest, "manifest", manifest.DefaultPath, "boot manifest to check against")
	fs.StringVar(&o.modulesDir, "modules-dir", check.DefaultModulesDir, "modules directory: <release>/modules.alias and modules.dep (loaded by alias as modprobe does), else the modules themselves")
	fs.StringVar(&o.root, "root", "/", "root of the system to inspect (for testing against a copy)")
	fs.StringVar(&o.jsonOut, "json", "", "also write the JSON report to `FILE` (- for stdout; text then goes to stderr)")
	fs.BoolVar(&o.strict, "strict", false, "a failure refuses to continue the boot: no exec of --then")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "time limit for each check")
	fs.DurationVar(&o.deadline, "deadline", check.DefaultDeadline, "time limit for all checks together (the selftest has its own): what has not finished is reported and the boot goes on")
	fs.StringVar(&o.selftest, "selftest", "", "run the kernel dmabuf-heap selftest binary at `PATH` on the mappable heaps")
	fs.DurationVar(&o.selftestTO, "selftest-timeout", 60*time.Second, "time limit for the selftest")
	fs.StringVar(&o.then, "then", "", "as PID 1: exec this init after the checks (e.g. /sbin/init)")
	fs.StringVar(&o.finally, "finally", "poweroff", "as PID 1 when not exec'ing --then, or whenever given (a u-root uinit): poweroff, reboot or halt")
	fs.BoolVar(&o.mount, "mount", false, "mount proc, sysfs, devtmpfs and debugfs if missing (implied as PID 1)")
	fs.BoolVar(&o.timings, "timings", false, "append each check's wall time to its line, and print the total")
	fs.StringVar(&o.udevd, "udevd", "", "after loading the modules, start systemd-udevd at `PATH` (--daemon), coldplug the dma_heap devices and settle, so that udev rules (dtheap access) are applied before the heaps are checked")
	fs.StringVar(&o.udevadm, "udevadm", "/bin/udevadm", "udevadm for --udevd's trigger and settle")
	return fs
}

// applyCmdline sets every dtheap.<flag> from the kernel command line that was not given as an
// argument: arguments win, so a bootloader entry can still override the baked-in cmdline.
func applyCmdline(fs *flag.FlagSet, cmdline string) []error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	for _, w := range strings.Fields(cmdline) {
		k, v, hasVal := strings.Cut(w, "=")
		name, ok := strings.CutPrefix(k, "dtheap.")
		if !ok || given[name] {
			continue
		}
		if fs.Lookup(name) == nil {
			errs = append(errs, fmt.Errorf("kernel command line: unknown option %s", k))
			continue
		}
		if !hasVal {
			v = "true" // a bare dtheap.strict
		}
		old := fs.Lookup(name).Value.String()
		if err := fs.Set(name, v); err != nil {
			fs.Set(name, old) // some flag types clobber the value before failing
			errs = append(errs, fmt.Errorf("kernel command line %s: %w", w, err))
		}
	}
	return errs
}

func main() {
	pid1 := os.Getpid() == 1
	if pid1 {
		defer func() {
			if p := recover(); p != nil {
				fmt.Fprintf(os.Stderr, "dtheap-check: internal error: %v\n", p)
				finish(options{finally: "poweroff"}, false)
			}
		}()
	}
	var o options
	fs := newFlagSet(&o)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if !pid1 {
			os.Exit(2)
		}
	}
	if pid1 || o.mount {
		mountPseudoFS(os.Stderr)
	}
	if pid1 {
		if b, err := input.ReadFile("/proc/cmdline", "kernel command line", 1<<20); err == nil {
			for _, err := range applyCmdline(fs, string(b)) {
				fmt.Fprintln(os.Stderr, "dtheap-check:", err)
			}
		}
	}
	ok := run(o, os.Stdout, os.Stderr)
	if pid1 || given(fs, "finally") {
		finish(o, ok)
	}
	if !ok {
		os.Exit(1)
	}
}

// given reports whether the flag was set on the command line (a uinit's come from u-root's
// /etc/uinit.flags).
func given(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// run performs the checks and writes the reports; it reports whether the verdict is PASS.
func run(o options, stdout, stderr io.Writer) bool {
	text := stdout
	if o.jsonOut == "-" {
		text = stderr
	}
	format := check.FormatResult
	if o.timings {
		format = check.FormatTimed
	}
	start := time.Now()
	var rep *check.Report
	manifestPath, err := inRoot(o.root, o.manifest, "--manifest")
	var m *manifest.Manifest
	if err == nil {
		_, err = inRoot(o.root, o.modulesDir, "--modules-dir")
	}
	if err == nil {
		m, err = manifest.Read(manifestPath)
	}
	if err != nil {
		res := check.Result{ID: "manifest", Status: check.Fail, Detail: err.Error()}
		fmt.Fprintln(text, check.FormatResult(res))
		rep = check.NewReport(nil, []check.Result{res})
	} else {
		fmt.Fprintf(text, "dtheap-check: board %s (%s), %d heap(s), manifest %s\n", escape.Line(m.Board), escape.Line(m.Arch), len(m.Heaps), escape.Line(o.manifest))
		cfg := check.Config{
			Root: o.root, Manifest: m, ModulesDir: o.modulesDir, Timeout: o.timeout, Deadline: o.deadline,
			Loader: check.FinitModule{}, Heaps: check.DMAHeaps{},
			OnResult: func(r check.Result) { fmt.Fprintln(text, format(r)) },
		}
		if o.udevd != "" {
			cfg.DeviceManager = startUdev(o.udevd, o.udevadm)
		}
		rep = check.Run(context.Background(), cfg)
		if o.selftest != "" {
			t := time.Now()
			res := check.RunSelftest(context.Background(), o.selftest, m, o.selftestTO, text)
			res.Duration = time.Since(t)
			fmt.Fprintln(text, format(res))
			rep.Add(res)
		}
	}
	if o.jsonOut != "" {
		if err := writeJSON(rep, o.jsonOut, stdout); err != nil {
			fmt.Fprintln(stderr, "dtheap-check:", err)
			rep.Add(check.Result{ID: "report", Status: check.Fail, Detail: err.Error()})
		}
	}
	if o.timings {
		fmt.Fprintf(text, "dtheap-check: checks took %v\n", time.Since(start).Round(time.Microsecond))
	}
	if !rep.OK() {
		explain(o.root, text)
	}
	fmt.Fprintln(text, rep.Summary())
	return rep.OK()
}

// explain runs the doctor (package doctor, the same code as dtheap doctor) after a failed
// check, so that a failed boot also says what the kernel did with each reserved-memory node
// and heap, with the log line that proves it.
func explain(root string, w io.Writer) {
	r, err := doctor.Examine(root)
	if err != nil {
		fmt.Fprintln(w, "dtheap-check: doctor:", escape.Line(err.Error()))
		return
	}
	var b strings.Builder
	r.WriteText(&b)
	for _, line := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		// Evidence lines are indented with a tab, which escape.Line would spell out.
		if strings.HasPrefix(line, "\t") {
			line = "    " + line[1:]
		}
		fmt.Fprintln(w, "dtheap-check: doctor:", escape.Line(line))
	}
}

// inRoot joins p (taken as absolute inside the inspected system) to root, refusing a path
// whose ".." would climb out of root: --manifest ../../etc/shadow must not read the host's.
func inRoot(root, p, flag string) (string, error) {
	clean := filepath.Clean("/" + p)
	if rel := filepath.Clean(strings.TrimPrefix(p, "/")); rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%s %s escapes --root %s: give a path inside it", flag, escape.Line(p), escape.Line(root))
	}
	// A symbolic link inside the root may still point out of it (an absolute link is taken
	// from the host's /, not the root's). os.Root resolves links the way the path would be
	// read and refuses any that leave the root; a missing file is left to the reader to report.
	// Nothing can leave "/", the root at boot, so the boot does not pay for the walk.
	if filepath.Clean(root) == "/" {
		return filepath.Join(root, clean), nil
	}
	if r, err := os.OpenRoot(root); err == nil {
		defer r.Close()
		rel := strings.TrimPrefix(clean, "/")
		if rel == "" {
			rel = "."
		}
		if _, err := r.Stat(rel); err != nil && strings.Contains(err.Error(), "escapes from parent") {
			return "", fmt.Errorf("%s %s escapes --root %s through a symbolic link: give a path inside it", flag, escape.Line(p), escape.Line(root))
		}
	}
	return filepath.Join(root, clean), nil
}

func writeJSON(rep *check.Report, name string, stdout io.Writer) error {
	if name == "-" {
		return rep.WriteJSON(stdout)
	}
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("json report: %w", err)
	}
	if err := rep.WriteJSON(f); err != nil {
		f.Close()
		return fmt.Errorf("json report %s: %w", name, err)
	}
	return f.Close()
}

// mountPseudoFS mounts what the checks read: the kernel mounts none of it for an initramfs.
// EBUSY means it is already there (a uinit, or a running system with --mount).
func mountPseudoFS(log io.Writer) {
	for _, m := range []struct{ src, dir, typ string }{
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
		{"devtmpfs", "/dev", "devtmpfs"},
		{"debugfs", "/sys/kernel/debug", "debugfs"},
	} {
		// Raw mkdir(2): os.MkdirAll's path walk is code a PID 1 under TCG pays to translate,
		// and the parents (/, /sys) are there by the time each directory is made.
		if err := unix.Mkdir(m.dir, 0o755); err != nil && err != unix.EEXIST {
			fmt.Fprintf(log, "dtheap-check: mkdir %s: %v\n", m.dir, err)
			continue
		}
		err := unix.Mount(m.src, m.dir, m.typ, unix.MS_NOSUID|unix.MS_NOEXEC, "")
		if err != nil && !errors.Is(err, unix.EBUSY) {
			fmt.Fprintf(log, "dtheap-check: mount %s on %s: %v\n", m.typ, m.dir, err)
		}
	}
}

// drainOutput waits, at most limit, until whoever reads our output pipes has taken all we
// wrote. u-root's init gives a uinit a pipe (libinit.WithMultiTTY copies it to every console
// through io.MultiWriter) and what is still in the pipe at power-off is lost: on a failed
// check under u-root, the doctor's lines and the verdict were. FIONREAD (TIOCINQ) on either
// end of a pipe counts the unread bytes (pipe_ioctl in fs/pipe.c). Outputs that are not pipes
// (PID 1's console) cost nothing.
func drainOutput(files []*os.File, limit time.Duration) {
	deadline := time.Now().Add(limit)
	piped := false
	for _, f := range files {
		var st unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
			continue
		}
		piped = true
		for time.Now().Before(deadline) {
			if n, err := unix.IoctlGetInt(int(f.Fd()), unix.TIOCINQ); err != nil || n == 0 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if piped {
		// The reader's last read still has to reach the console.
		time.Sleep(100 * time.Millisecond)
	}
}

// finish ends PID 1's part: exec the next init when allowed, else power off, reboot or halt.
// It never returns: PID 1 exiting panics the kernel.
func finish(o options, ok bool) {
	if o.then != "" {
		if ok || !o.strict {
			fmt.Fprintf(os.Stderr, "dtheap-check: exec %s\n", o.then)
			err := unix.Exec(o.then, []string{o.then}, os.Environ())
			fmt.Fprintf(os.Stderr, "dtheap-check: exec %s: %v\n", o.then, err)
		} else {
			fmt.Fprintf(os.Stderr, "dtheap-check: --strict and the check failed: not starting %s\n", o.then)
		}
	}
	// The magic numbers are unsigned 32-bit in the kernel; HALT does not fit a 32-bit int.
	cmd, what := uint32(unix.LINUX_REBOOT_CMD_POWER_OFF), "powering off"
	switch o.finally {
	case "reboot":
		cmd, what = unix.LINUX_REBOOT_CMD_RESTART, "rebooting"
	case "halt":
		cmd, what = unix.LINUX_REBOOT_CMD_HALT, "halting"
	}
	fmt.Fprintf(os.Stderr, "dtheap-check: %s\n", what)
	drainOutput([]*os.File{os.Stdout, os.Stderr}, 2*time.Second)
	unix.Sync()
	err := unix.Reboot(int(int32(cmd)))
	fmt.Fprintf(os.Stderr, "dtheap-check: reboot(%s): %v; idling\n", what, err)
	for {
		time.Sleep(time.Hour)
	}
}
