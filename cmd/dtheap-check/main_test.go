package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestApplyCmdline(t *testing.T) {
	tests := []struct {
		name, args, cmdline string
		check               func(o options) bool
		wantErrs            int
	}{
		{"then and strict", "", "console=ttyAMA0 dtheap.then=/sbin/init dtheap.strict",
			func(o options) bool { return o.then == "/sbin/init" && o.strict }, 0},
		{"argument wins", "--then=/bin/sh", "dtheap.then=/sbin/init",
			func(o options) bool { return o.then == "/bin/sh" }, 0},
		{"strict off", "", "dtheap.strict=0 dtheap.timeout=2s dtheap.finally=reboot",
			func(o options) bool { return !o.strict && o.timeout == 2*time.Second && o.finally == "reboot" }, 0},
		{"unknown and bad", "", "dtheap.nope=1 dtheap.timeout=soon root=/dev/vda",
			func(o options) bool { return o.timeout == 5*time.Second }, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o options
			fs := newFlagSet(&o)
			if err := fs.Parse(strings.Fields(tt.args)); err != nil {
				t.Fatal(err)
			}
			errs := applyCmdline(fs, tt.cmdline)
			if len(errs) != tt.wantErrs || !tt.check(o) {
				t.Errorf("got %+v, errors %v", o, errs)
			}
		})
	}
}

// A missing manifest is a FAIL verdict with a report, not a crash: as PID 1 the boot must go on
// to its final action either way.
func TestRunWithoutManifest(t *testing.T) {
	dir := t.TempDir()
	var o options
	fs := newFlagSet(&o)
	jsonFile := filepath.Join(dir, "r.json")
	if err := fs.Parse([]string{"--root", dir, "--json", jsonFile}); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if run(o, &out, &errb) {
		t.Fatal("run passed without a manifest")
	}
	if !strings.Contains(out.String(), "FAIL manifest: read manifest") ||
		!strings.Contains(out.String(), "dtheap-check: verdict FAIL (1 checks, 1 failed, 0 skipped)") {
		t.Errorf("output:\n%s", out.String())
	}
	var rep struct{ Verdict string }
	b, err := os.ReadFile(jsonFile)
	if err != nil || json.Unmarshal(b, &rep) != nil || rep.Verdict != "FAIL" {
		t.Errorf("JSON report %s: %v", b, err)
	}
}

func TestRunTimings(t *testing.T) {
	var o options
	fs := newFlagSet(&o)
	if err := fs.Parse([]string{"--root", t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if errs := applyCmdline(fs, "dtheap.timings"); len(errs) > 0 || !o.timings {
		t.Fatalf("dtheap.timings on the command line: %v, timings=%v", errs, o.timings)
	}
	var out, errb bytes.Buffer
	run(o, &out, &errb)
	if !strings.Contains(out.String(), "\ndtheap-check: checks took ") {
		t.Errorf("no total time line:\n%s", out.String())
	}
}

func TestRunJSONToStdout(t *testing.T) {
	var o options
	fs := newFlagSet(&o)
	if err := fs.Parse([]string{"--root", t.TempDir(), "--json", "-"}); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	run(o, &out, &errb)
	var rep map[string]any
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Errorf("stdout is not pure JSON: %v\n%s", err, out.String())
	}
	if !strings.Contains(errb.String(), "dtheap-check: verdict FAIL") {
		t.Errorf("human text should move to stderr, got %q", errb.String())
	}
}

// TestSmallDeps keeps the static binary small (<= 3 MiB for arm64): the checker must not link
// the planner side of the project or the CLI's libraries. Importing package provision instead
// of provision/manifest once cost 0.9 MiB.
func TestSmallDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, bad := range []string{
		"github.com/spf13/cobra", "gopkg.in/yaml.v3", "github.com/santhosh-tekuri/jsonschema/v6",
		"github.com/dtheap/dtheap/plan", "github.com/dtheap/dtheap/board", "github.com/dtheap/dtheap/provision",
	} {
		for _, dep := range strings.Fields(string(out)) {
			if dep == bad {
				t.Errorf("dtheap-check links %s", bad)
			}
		}
	}
}

// Outside PID 1 only an explicit --finally ends the system (a u-root uinit in
// /etc/uinit.flags); the flag's default must not power off a host the checker runs on.
func TestFinallyGiven(t *testing.T) {
	for _, tt := range []struct {
		args string
		want bool
	}{
		{"", false},
		{"--mount --strict", false},
		{"--mount --finally=poweroff", true},
		{"--finally reboot", true},
	} {
		var o options
		fs := newFlagSet(&o)
		if err := fs.Parse(strings.Fields(tt.args)); err != nil {
			t.Fatal(err)
		}
		if got := given(fs, "finally"); got != tt.want {
			t.Errorf("%q: given(finally) = %v, want %v", tt.args, got, tt.want)
		}
	}
}

// Before powering off, the checker waits for the reader of its output pipe (u-root's init) to
// take everything, and never longer than the limit when nobody reads.
func TestDrainOutput(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	w.Write([]byte("dtheap-check: verdict FAIL\n"))
	start := time.Now()
	drainOutput([]*os.File{w}, 300*time.Millisecond)
	if d := time.Since(start); d < 300*time.Millisecond || d > 3*time.Second {
		t.Errorf("unread pipe: returned after %v, want the 300ms limit", d)
	}

	w.Write([]byte("more\n"))
	got := make(chan string, 1)
	go func() {
		time.Sleep(50 * time.Millisecond)
		b := make([]byte, 256)
		n, _ := r.Read(b)
		got <- string(b[:n])
	}()
	start = time.Now()
	drainOutput([]*os.File{w}, 5*time.Second)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("read pipe: returned after %v", d)
	}
	select {
	case s := <-got:
		if !strings.HasSuffix(s, "more\n") {
			t.Errorf("reader got %q", s)
		}
	default:
		t.Error("drainOutput returned before the reader took the output")
	}

	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start = time.Now()
	drainOutput([]*os.File{f}, 5*time.Second)
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("regular file: waited %v", d)
	}
}
