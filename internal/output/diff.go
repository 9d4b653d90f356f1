package output

import (
	"fmt"
	"strings"
)

// context is the number of unchanged lines shown around each change, as diff -u does.
const context = 3

type opKind byte

const (
	opEq  opKind = ' '
	opDel opKind = '-'
	opIns opKind = '+'
)

type op struct {
	kind opKind
	a, b int // line index in a (eq, del) and b (eq, ins)
}

// UnifiedDiff returns a unified diff (diff -u format) from a to b, "" when they are equal.
// Generated files are small (hundreds of lines), so a plain LCS table is fast enough and keeps
// the code obviously correct; common prefix and suffix are trimmed first.
func UnifiedDiff(nameA, nameB, a, b string) string {
	if a == b {
		return ""
	}
	la, lb := splitLines(a), splitLines(b)
	ops := diffLines(la, lb)
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", nameA, nameB)
	for i := 0; i < len(ops); {
		// Find the next change.
		for i < len(ops) && ops[i].kind == opEq {
			i++
		}
		if i == len(ops) {
			break
		}
		start := max(i-context, 0)
		end := i
		// Extend the hunk while changes are closer than 2*context lines apart.
		for j := i; j < len(ops); j++ {
			if ops[j].kind != opEq {
				end = j + 1
				continue
			}
			if j-end >= 2*context {
				break
			}
		}
		end = min(end+context, len(ops))
		hunk := ops[start:end]
		aStart, bStart, aLen, bLen := -1, -1, 0, 0
		for _, o := range hunk {
			if o.kind != opIns {
				if aStart < 0 {
					aStart = o.a
				}
				aLen++
			}
			if o.kind != opDel {
				if bStart < 0 {
					bStart = o.b
				}
				bLen++
			}
		}
		// diff -u numbers an empty side by the line before it.
		if aStart < 0 {
			aStart = hunk[0].a - 1
		}
		if bStart < 0 {
			bStart = hunk[0].b - 1
		}
		fmt.Fprintf(&sb, "@@ -%s +%s @@\n", hunkRange(aStart, aLen), hunkRange(bStart, bLen))
		for _, o := range hunk {
			var line string
			if o.kind == opIns {
				line = lb[o.b]
			} else {
				line = la[o.a]
			}
			sb.WriteByte(byte(o.kind))
			sb.WriteString(strings.TrimSuffix(line, "\n"))
			sb.WriteByte('\n')
			if !strings.HasSuffix(line, "\n") {
				sb.WriteString("\\ No newline at end of file\n")
			}
		}
		i = end
	}
	return sb.String()
}

func hunkRange(start, n int) string {
	if n == 1 {
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

// splitLines keeps the newline on each line so a missing final newline shows in the diff.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// diffLines returns the edit script from a to b along a longest common subsequence.
func diffLines(a, b []string) []op {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	// lcs[i][j] = LCS length of ma[i:] and mb[j:].
	n, m := len(ma), len(mb)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if ma[i] == mb[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []op
	for k := 0; k < pre; k++ {
		ops = append(ops, op{opEq, k, k})
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && ma[i] == mb[j]:
			ops = append(ops, op{opEq, pre + i, pre + j})
			i++
			j++
		case j < m && (i == n || lcs[i][j+1] > lcs[i+1][j]):
			ops = append(ops, op{opIns, pre + i, pre + j})
			j++
		default:
			ops = append(ops, op{opDel, pre + i, pre + j})
			i++
		}
	}
	for k := 0; k < suf; k++ {
		ops = append(ops, op{opEq, len(a) - suf + k, len(b) - suf + k})
	}
	return ops
}
