package validate_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/lint"
	"github.com/dtheap/dtheap/pipeline"
	"github.com/dtheap/dtheap/validate"
)

// The board schema has `silence:` only on firmware, memreserve and pool entries
// (schemas/board.schema.json, board/load.go); there is no board-level silence. A finding that
// concerns no entry (its position is outside every such entry, e.g. a memory bank or the kernel: block)
// is therefore silenced for the run with validate.Options.Disable, the --disable flag.

// silenceBoard is a corpus board parsed as a yaml.Node, with every firmware and pool entry
// given a flow-style `silence:` list (empty unless the board already had one), so that adding
// a rule to one list changes no line or column before it: positions of the other findings stay
// comparable.
type silenceBoard struct {
	root    *yaml.Node
	entries []*yaml.Node // firmware, memreserve and pool mapping nodes, in file order
	lists   []*yaml.Node // each entry's silence sequence
}

func readSilenceBoard(t *testing.T, path string) *silenceBoard {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	sb := &silenceBoard{root: &doc}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "extends":
			// Written to another directory, the board must still find its base: point at it
			// from there (board.Load joins extends to the board's directory).
			abs, err := filepath.Abs(filepath.Join(filepath.Dir(path), v.Value))
			if err != nil {
				t.Fatal(err)
			}
			v.Value = abs // made relative to the output directory in write
		case "firmware", "memreserve", "pools":
			for _, e := range v.Content {
				if e.Kind != yaml.MappingNode {
					t.Fatalf("%s: %s entry at line %d is not a mapping", path, k.Value, e.Line)
				}
				var list *yaml.Node
				for j := 0; j+1 < len(e.Content); j += 2 {
					if e.Content[j].Value == "silence" {
						list = e.Content[j+1]
					}
				}
				if list == nil {
					list = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
					e.Content = append(e.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "silence"}, list)
				}
				list.Style = yaml.FlowStyle
				sb.entries = append(sb.entries, e)
				sb.lists = append(sb.lists, list)
			}
		}
	}
	return sb
}

// write writes the board, with the rule added to the silence list of the entries listed, to
// dir/board.yaml (the same path every time, so positions compare equal).
func (sb *silenceBoard) write(t *testing.T, dir, rule string, entries map[int]bool) string {
	t.Helper()
	saved := make([][]*yaml.Node, len(sb.lists))
	for i, l := range sb.lists {
		saved[i] = l.Content
		if entries[i] {
			l.Content = append(slices.Clip(l.Content), &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: rule})
		}
	}
	defer func() {
		for i, l := range sb.lists {
			l.Content = saved[i]
		}
	}()
	root := sb.root.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "extends" {
			v := root.Content[i+1]
			abs := v.Value
			rel, err := filepath.Rel(dir, abs)
			if err != nil {
				t.Fatal(err)
			}
			v.Value = rel
			defer func() { v.Value = abs }()
		}
	}
	out, err := yaml.Marshal(sb.root)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "board.yaml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// entryAt returns the index of the firmware or pool entry whose lines hold pos, or -1.
func (sb *silenceBoard) entryAt(path string, pos diag.Pos) int {
	if pos.File != path {
		return -1
	}
	for i, e := range sb.entries {
		lo, hi := lineSpan(e)
		if lo <= pos.Line && pos.Line <= hi {
			return i
		}
	}
	return -1
}

func lineSpan(n *yaml.Node) (lo, hi int) {
	lo, hi = n.Line, n.Line
	for _, c := range n.Content {
		if c.Line == 0 {
			continue // a node this test added: it has no position in the source
		}
		l, h := lineSpan(c)
		lo, hi = min(lo, l), max(hi, h)
	}
	return lo, hi
}

func loadSilenced(t *testing.T, path, rule string, disable []string) diag.List {
	t.Helper()
	res, err := pipeline.Load(path, pipeline.Options{Validate: validate.Options{Verbose: verbose[rule], Disable: disable}})
	if err != nil {
		t.Fatal(err)
	}
	return res.Findings
}

// others returns the findings of every rule but one.
func others(fs diag.List, rule string) diag.List {
	var out diag.List
	for _, f := range fs {
		if f.Rule != rule {
			out = append(out, f)
		}
	}
	return out
}

// checkSilenced asserts that rule no longer fires and that every other finding is exactly as
// before (rule, position, message, hint, related positions).
func checkSilenced(t *testing.T, rule string, before, after diag.List) {
	t.Helper()
	if hasRule(after, rule) {
		t.Errorf("%s still fires after silence:\n%v", rule, after)
	}
	if b, a := others(before, rule), others(after, rule); !reflect.DeepEqual(b, a) {
		t.Errorf("silencing %s changed the other findings:\nbefore:\n%v\nafter:\n%v", rule, b, a)
	}
}

// boardLevel lists the rules about the board as a whole that point into an entry only to show
// where the excess starts; they are not about that entry (validate reports them with no region),
// so silence: on it does not apply and the test disables them for the run instead.
var boardLevel = map[string]string{
	"too-many-regions": "a count of /reserved-memory children; reported at the first region the kernel ignores",
	"heap-count":       "a count of heaps; reported at the first heap the DMA-BUF heap core refuses",
}

// runLevel lists the rules whose corpus findings point outside every entry, so the test can only
// disable them; a rule moving in or out of this list means its findings moved: check why.
var runLevel = map[string]bool{
	"too-many-regions": true, "heap-count": true, // boardLevel
	"memory-overlap": true, "cells": true, // memory: banks
	"cmdline-cma": true, "kernel-version": true, // the kernel: block
	"dram-unknown": true, // the memory: key
}

// treeOnlySilence lists the rules TestSilenceEveryRule does not cover: validate.TreeOnly rules
// are judged from a .dts (dtheap lint, import), which has no entries and no silence: list;
// TestSilenceTreeRules silences them with --disable instead.
func treeOnlySilence() []string {
	var ids []string
	for _, r := range validate.Rules {
		if validate.TreeOnly(r.ID) {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// TestSilenceEveryRule proves issue 13's "silence: works for every rule": for each rule with a
// YAML corpus board, it adds silence: [rule] to every firmware or pool entry a finding of the
// rule points into (Disable for findings outside every entry), and checks that the rule is
// gone and no other finding changed, so a silenced finding cannot corrupt another.
func TestSilenceEveryRule(t *testing.T) {
	skip := treeOnlySilence()
	for _, r := range validate.Rules {
		if slices.Contains(skip, r.ID) {
			continue // judged from a .dts: nothing to silence (see treeOnlySilence)
		}
		t.Run(r.ID, func(t *testing.T) {
			src := filepath.Join("testdata", "rules", r.ID+".yaml")
			sb := readSilenceBoard(t, src)
			dir := t.TempDir()
			path := sb.write(t, dir, r.ID, nil)
			before := loadSilenced(t, path, r.ID, nil)
			if !hasRule(before, r.ID) {
				t.Fatalf("%s does not fire on %s rewritten with empty silence lists:\n%v", r.ID, src, before)
			}
			entries := map[int]bool{}
			var disable []string
			for _, f := range before {
				if f.Rule != r.ID {
					continue
				}
				if i := sb.entryAt(path, f.Pos); i >= 0 && boardLevel[r.ID] == "" {
					entries[i] = true
				} else if len(disable) == 0 {
					disable = []string{r.ID}
				}
			}
			if (disable != nil) != runLevel[r.ID] || (len(entries) == 0) != runLevel[r.ID] {
				t.Errorf("%s: silenced on %d entries, disabled for the run: %v; runLevel says %v", r.ID, len(entries), disable != nil, runLevel[r.ID])
			}
			path = sb.write(t, dir, r.ID, entries)
			checkSilenced(t, r.ID, before, loadSilenced(t, path, r.ID, disable))
		})
	}
}

// TestSilenceOverlapSecondPool is the corpus form of issue 13's panic (index out of range [-1]
// with silence: [overlap] on the second pool of an overlapping pair): overlap.yaml with only
// its second overlapping entry silenced.
func TestSilenceOverlapSecondPool(t *testing.T) {
	sb := readSilenceBoard(t, filepath.Join("testdata", "rules", "overlap.yaml"))
	dir := t.TempDir()
	path := sb.write(t, dir, "overlap", nil)
	before := loadSilenced(t, path, "overlap", nil)
	var second = -1
	for _, f := range before {
		if f.Rule == "overlap" {
			if len(f.Related) == 0 {
				t.Fatalf("overlap finding without the other region: %v", f)
			}
			a, b := sb.entryAt(path, f.Related[0]), sb.entryAt(path, f.Pos)
			if a < 0 || b < 0 || a >= b {
				t.Fatalf("overlap finding %v: want it on the later entry of the pair, got entries %d and %d", f, a, b)
			}
			second = b
			break
		}
	}
	if second < 0 {
		t.Fatalf("overlap does not fire on overlap.yaml:\n%v", before)
	}
	path = sb.write(t, dir, "overlap", map[int]bool{second: true})
	after := loadSilenced(t, path, "overlap", nil)
	for _, f := range after {
		if f.Rule == "overlap" && sb.entryAt(path, f.Pos) == second {
			t.Errorf("silenced overlap still reported on entry %d: %v", second, f)
		}
	}
	if b, a := others(before, "overlap"), others(after, "overlap"); !reflect.DeepEqual(b, a) {
		t.Errorf("silencing overlap on the second pool changed the other findings:\nbefore:\n%v\nafter:\n%v", b, a)
	}
}

// TestSilenceTreeRules is the silence case of every tree rule: a .dts has no silence: list,
// so dtheap lint --disable RULE (lint.Options.Validate.Disable) is how a user turns one off.
// The rule must be gone from its corpus tree's findings and every other finding unchanged.
func TestSilenceTreeRules(t *testing.T) {
	n := 0
	for _, id := range treeOnlySilence() {
		n++
		t.Run(id, func(t *testing.T) {
			tree := filepath.Join("testdata", "rules", id+".dts")
			before, err := lint.Lint(tree, lint.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !hasRule(before.Findings, id) {
				t.Fatalf("%s does not fire on %s:\n%v", id, tree, before.Findings)
			}
			after, err := lint.Lint(tree, lint.Options{Validate: validate.Options{Disable: []string{id}}})
			if err != nil {
				t.Fatal(err)
			}
			checkSilenced(t, id, before.Findings, after.Findings)
		})
	}
	if n < 10 {
		t.Errorf("only %d tree rules", n)
	}
}
