// Command heapreport turns the consoles of `make bench-e2e` boots into the Markdown tables of
// BENCHMARKS.md ("Heaps in the guest", "Boot check") and, with --json, a machine-readable
// results file.
//
//	heapreport --heap boot1.txt --heap boot2.txt \
//	    --checker check1.txt --baseline mininit1.txt --extra "mininit + module=m1.txt" \
//	    --binary dtheap-check=PATH --binary mininit=PATH --json out/bench/results.json
//
// Every --heap console must hold one complete heapbench run; every boot console must carry
// printk timestamps (printk.time=1). Exit status 0, or 2 on a missing or unreadable input.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/dtheap/dtheap/bench/guest"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

type results struct {
	Heaps *guest.HeapReport `json:"heaps,omitempty"`
	Boot  *guest.BootReport `json:"boot,omitempty"`
	// Targets lists every issue #8 target evaluated, heaps and boot.
	Targets []guest.Target `json:"targets"`
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "heapreport:", err)
		os.Exit(2)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("heapreport", flag.ContinueOnError)
	var heaps, checker, baseline, extra, binaries list
	fs.Var(&heaps, "heap", "console of a heapbench boot (repeatable)")
	fs.Var(&checker, "checker", "console of a boot with dtheap-check --timings as /init (repeatable)")
	fs.Var(&baseline, "baseline", "console of a boot with the minimal /init (repeatable)")
	fs.Var(&extra, "extra", "NAME=console of another /init variant to list (repeatable)")
	fs.Var(&binaries, "binary", "NAME=path of a binary whose size to list (repeatable)")
	jsonOut := fs.String("json", "", "also write the results as JSON to `FILE`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var res results
	if len(heaps) > 0 {
		var runs []*guest.Run
		for _, f := range heaps {
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			r, err := guest.ParseRun(string(b))
			if err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			runs = append(runs, r)
		}
		rep, err := guest.Combine(runs)
		if err != nil {
			return err
		}
		res.Heaps = rep
		res.Targets = append(res.Targets, rep.HeapTargets()...)
		fmt.Fprintln(out, "## Heaps in the guest (measured)")
		fmt.Fprintln(out)
		rep.WriteMarkdown(out)
		fmt.Fprintln(out)
	}
	if len(checker) > 0 || len(baseline) > 0 {
		if len(checker) == 0 || len(baseline) == 0 {
			return fmt.Errorf("boot timing needs both --checker and --baseline consoles")
		}
		br := &guest.BootReport{}
		var err error
		if br.Checker, err = variant("dtheap-check", checker); err != nil {
			return err
		}
		if br.Baseline, err = variant("minimal /init", baseline); err != nil {
			return err
		}
		var names []string
		byName := map[string][]string{}
		for _, e := range extra {
			name, file, ok := strings.Cut(e, "=")
			if !ok {
				return fmt.Errorf("--extra %q: want NAME=FILE", e)
			}
			if _, seen := byName[name]; !seen {
				names = append(names, name)
			}
			byName[name] = append(byName[name], file)
		}
		for _, n := range names {
			v, err := variant(n, byName[n])
			if err != nil {
				return err
			}
			br.Extra = append(br.Extra, v)
		}
		for _, b := range binaries {
			name, file, ok := strings.Cut(b, "=")
			if !ok {
				return fmt.Errorf("--binary %q: want NAME=PATH", b)
			}
			st, err := os.Stat(file)
			if err != nil {
				return err
			}
			br.Binaries = append(br.Binaries, guest.Binary{Name: name, Bytes: st.Size()})
		}
		res.Boot = br
		res.Targets = append(res.Targets, br.Target())
		if t, ok := br.ModuleLoadTarget(); ok {
			res.Targets = append(res.Targets, t)
		}
		fmt.Fprintln(out, "## Boot check (measured)")
		fmt.Fprintln(out)
		br.WriteMarkdown(out)
	}
	if res.Heaps == nil && res.Boot == nil {
		return fmt.Errorf("nothing to report: give --heap and/or --checker with --baseline")
	}
	if *jsonOut != "" {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func variant(name string, files []string) (guest.BootVariant, error) {
	v := guest.BootVariant{Name: name}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return v, err
		}
		boot, err := guest.ParseBoot(string(b))
		if err != nil {
			return v, fmt.Errorf("%s: %w", f, err)
		}
		v.Boots = append(v.Boots, boot)
	}
	return v, nil
}
