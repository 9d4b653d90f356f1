// Command upstream lints every arm64 and riscv .dts of a Linux source tree with dtheap lint
// (as scripts/lint-upstream.sh runs it) and checks the result: these boards boot, so every
// error-level finding must be on the allow-list of real kernel-losing defects
// (lint/upstream/allow.txt, each entry with the kernel source line that proves the loss), and
// every allow-list entry must still match. It prints a report (trees, regions, findings by
// rule and severity, every error and warning) in Markdown.
//
//	go run ./lint/upstream -src linux-source-6.12 -kernel 6.12 [-allow lint/upstream/allow.txt] [-j 2]
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/lint"
	"github.com/dtheap/dtheap/pipeline"
)

type allowEntry struct {
	version, tree, rule, node, why string
	used                           bool
}

func main() {
	src := flag.String("src", "", "root of an unpacked Linux source tree")
	kernel := flag.String("kernel", "", "the tree's kernel version (6.12, 7.3)")
	allowPath := flag.String("allow", "lint/upstream/allow.txt", "allow-list of real kernel-losing defects")
	jobs := flag.Int("j", 2, "trees linted at once")
	out := flag.String("o", "", "also write the report to this file")
	filter := flag.String("filter", "", "only trees whose path contains this")
	flag.Parse()
	if *src == "" || *kernel == "" {
		fmt.Fprintln(os.Stderr, "usage: upstream -src LINUX_SOURCE_DIR -kernel VERSION")
		os.Exit(2)
	}
	allow, err := readAllow(*allowPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var trees []string
	for _, arch := range []string{"arm64", "riscv"} {
		root := filepath.Join(*src, "arch", arch, "boot", "dts")
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(p, ".dts") && strings.Contains(p, *filter) {
				trees = append(trees, p)
			}
			return nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	sort.Strings(trees)
	opts := lint.Options{Kernel: *kernel, Includes: []string{filepath.Join(*src, "scripts", "dtc", "include-prefixes")}}
	results := make([]*lint.Result, len(trees))
	errs := make([]error, len(trees))
	loads := make([]error, len(trees))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < *jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i], errs[i] = lint.Lint(trees[i], opts)
				if errs[i] == nil {
					loads[i] = importLoads(results[i])
				}
			}
		}()
	}
	for i := range trees {
		next <- i
	}
	close(next)
	wg.Wait()

	var rep strings.Builder
	rel := func(p string) string { r, _ := filepath.Rel(*src, p); return filepath.ToSlash(r) }
	linted, withRM, regions, nodes, failed := 0, 0, 0, 0, 0
	bySev := map[diag.Severity]map[string]int{diag.Error: {}, diag.Warning: {}, diag.Info: {}}
	var listed []string
	unexpected, notLoading := 0, 0
	for i, res := range results {
		if errs[i] != nil {
			failed++
			fmt.Fprintf(&rep, "- could not compile %s: %s\n", rel(trees[i]), firstLine(errs[i].Error()))
			continue
		}
		linted++
		if loads[i] != nil {
			notLoading++
			fmt.Fprintf(&rep, "- dtheap import of %s gives a board that does not load: %s\n", rel(trees[i]), firstLine(loads[i].Error()))
		}
		if res.HasReservedMemory {
			withRM++
		}
		regions += res.Regions
		nodes += res.Nodes
		for _, f := range res.Findings {
			if f.Rule == "kernel-version" {
				continue // the same info on every tree: the version's placement caveat
			}
			bySev[f.Severity][f.Rule]++
			if f.Severity < diag.Warning {
				continue
			}
			tag := ""
			if f.Severity == diag.Error {
				if a := match(allow, *kernel, rel(trees[i]), f); a != nil {
					a.used = true
					tag = " (allow-listed: " + a.why + ")"
				} else {
					unexpected++
					tag = " **NOT ON THE ALLOW-LIST**"
				}
			}
			at := rel(f.Pos.File)
			if f.Pos.Line > 0 {
				at = fmt.Sprintf("%s:%d", at, f.Pos.Line)
			}
			listed = append(listed, fmt.Sprintf("- %s (%s) %s[%s] %s: %s%s", rel(trees[i]), at, f.Severity, f.Rule, f.Pos.Node, oneLine(f.Message), tag))
		}
	}
	var head strings.Builder
	fmt.Fprintf(&head, "### Linux %s: arm64 and riscv trees\n\n", *kernel)
	fmt.Fprintf(&head, "%d .dts found, %d linted, %d could not be compiled by this dtc; %d with /reserved-memory; %d /reserved-memory children, %d regions the kernel keeps.\n\n", len(trees), linted, failed, withRM, nodes, regions)
	fmt.Fprintf(&head, "dtheap import of each: %d board(s) load, %d do not.\n\n", linted-notLoading, notLoading)
	fmt.Fprintf(&head, "| severity | rule | findings |\n|---|---|---|\n")
	for _, sev := range []diag.Severity{diag.Error, diag.Warning, diag.Info} {
		var ids []string
		for id := range bySev[sev] {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			fmt.Fprintf(&head, "| %s | %s | %d |\n", sev, id, bySev[sev][id])
		}
	}
	stale := 0
	for _, a := range allow {
		if a.version == *kernel && !a.used && *filter == "" {
			stale++
			fmt.Fprintf(&rep, "- allow-list entry no longer matches: %s %s %s %s\n", a.version, a.tree, a.rule, a.node)
		}
	}
	report := head.String() + "\nErrors and warnings:\n\n" + strings.Join(listed, "\n") + "\n" + rep.String()
	fmt.Print(report)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	if unexpected > 0 || stale > 0 || notLoading > 0 {
		fmt.Fprintf(os.Stderr, "upstream: %d error(s) not on the allow-list, %d stale allow-list entr(ies), %d imported board(s) that do not load\n", unexpected, stale, notLoading)
		os.Exit(1)
	}
}

func match(allow []*allowEntry, version, tree string, f diag.Finding) *allowEntry {
	for _, a := range allow {
		if a.version == version && a.tree == tree && a.rule == f.Rule && a.node == f.Pos.Node {
			return a
		}
	}
	return nil
}

// readAllow reads "VERSION TREE RULE NODE | why, with the kernel source line" lines.
func readAllow(path string) ([]*allowEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	var out []*allowEntry
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		spec, why, ok := strings.Cut(line, "|")
		fs := strings.Fields(spec)
		if !ok || len(fs) != 4 || strings.TrimSpace(why) == "" {
			return nil, fmt.Errorf("%s:%d: want VERSION TREE RULE NODE | why (with the kernel source line)", path, n)
		}
		out = append(out, &allowEntry{version: fs[0], tree: fs[1], rule: fs[2], node: fs[3], why: strings.TrimSpace(why)})
	}
	return out, sc.Err()
}

// importLoads writes the board dtheap import makes of the tree and loads it as validate
// would: the acceptance of issue 13 is that every upstream tree imports to a board that loads.
func importLoads(res *lint.Result) error {
	dir, err := os.MkdirTemp("", "dtheap-upstream-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "board.yaml")
	if err := os.WriteFile(path, res.Board.YAML(), 0o644); err != nil {
		return err
	}
	r, err := pipeline.Load(path, pipeline.Options{})
	if err != nil {
		return err
	}
	if r.Plan == nil {
		return r.Findings
	}
	return nil
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }
