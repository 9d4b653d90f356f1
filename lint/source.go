package lint

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dtheap/dtheap/diag"
	bounded "github.com/dtheap/dtheap/internal/input"
)

// tree is a devicetree read from a file: the flattened blob and, for source, where each node
// and property was written.
type tree struct {
	blob []byte
	// where maps a node path, or path + "\x00" + property, to its source position.
	where    map[string]diag.Pos
	file     string
	fragment bool // a .dtsi: see dtbind.ImportOptions.Fragment
	// memreserve holds where each /memreserve/ of the source was written, in order; nil when
	// that cannot be told (a .dtb, or a count that differs from the blob's entries).
	memreserve []diag.Pos
}

func (t *tree) pos(path, prop string) diag.Pos {
	if p, ok := t.where[path+"\x00"+prop]; ok && prop != "" {
		p.Node = path
		return p
	}
	if p, ok := t.where[path]; ok {
		p.Node = path
		return p
	}
	return diag.Pos{File: t.file, Node: path}
}

// IsSource reports whether a path names devicetree source (compiled with dtc).
func IsSource(path string) bool {
	return strings.HasSuffix(path, ".dts") || strings.HasSuffix(path, ".dtsi")
}

// readTree loads a .dtb as it is, or preprocesses and compiles .dts/.dtsi source the way the
// kernel's dtbs build does (scripts/Makefile.lib cmd_dtc: cpp -nostdinc -I<includes> -undef
// -x assembler-with-cpp -D__DTS__, then dtc with -i for /include/), and reads every node's and
// property's source position from dtc's own annotations (-O dts -T -T), which follow cpp's
// line markers back to the original files.
func readTree(path string, includes []string) (*tree, error) {
	if !IsSource(path) {
		blob, err := bounded.ReadFile(path, "devicetree", bounded.BlobLimit)
		if err != nil {
			return nil, err
		}
		return &tree{blob: blob, file: path}, nil
	}
	dtc, err := exec.LookPath("dtc")
	if err != nil {
		return nil, fmt.Errorf("%s is devicetree source and dtc is not installed: install device-tree-compiler, or pass a compiled .dtb", path)
	}
	// cpp and dtc read the source: it must be a regular file of a sane size (a FIFO would
	// hang them, /dev/zero never end).
	if err := bounded.CheckRegular(path, "devicetree source", bounded.BlobLimit); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "dtheap-lint-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	input := path
	if strings.HasSuffix(path, ".dtsi") {
		// A .dtsi is meant to be included: give it the header dtc needs.
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, err
		}
		input = filepath.Join(dir, "wrap.dts")
		if err := os.WriteFile(input, []byte("/dts-v1/;\n#include \""+abs+"\"\n"), 0o600); err != nil {
			return nil, err
		}
	}
	incArgs := []string{"-I", filepath.Dir(path)}
	for _, inc := range includes {
		incArgs = append(incArgs, "-I", inc)
	}
	pp := filepath.Join(dir, "tree.dts.pp")
	if cpp, err := exec.LookPath("cpp"); err == nil {
		args := append([]string{"-nostdinc"}, incArgs...)
		args = append(args, "-undef", "-x", "assembler-with-cpp", "-D__DTS__", "-o", pp, input)
		if err := run(cpp, args, nil); err != nil {
			return nil, fmt.Errorf("preprocessing %s: %w", path, err)
		}
	} else {
		pp = input // no cpp: dtc alone (no #include or macros)
	}
	dtcInc := []string{"-i", filepath.Dir(path)}
	for _, inc := range includes {
		dtcInc = append(dtcInc, "-i", inc)
	}
	var blob bytes.Buffer
	if err := run(dtc, append(append([]string{"-q", "-I", "dts", "-O", "dtb", "-o", "-"}, dtcInc...), pp), &blob); err != nil {
		return nil, fmt.Errorf("dtc could not compile %s: %w", path, err)
	}
	var src bytes.Buffer
	if err := run(dtc, append(append([]string{"-q", "-I", "dts", "-O", "dts", "-T", "-T", "-o", "-"}, dtcInc...), pp), &src); err != nil {
		return nil, fmt.Errorf("dtc could not compile %s: %w", path, err)
	}
	t := &tree{blob: blob.Bytes(), file: path, where: annotations(src.String()), fragment: strings.HasSuffix(path, ".dtsi")}
	if pps, err := os.ReadFile(pp); err == nil {
		t.memreserve = memreserveSpots(string(pps), input)
	}
	if strings.HasSuffix(path, ".dtsi") {
		abs, _ := filepath.Abs(path)
		for k, p := range t.where {
			if p.File == abs {
				p.File = path
				t.where[k] = p
			}
		}
		for i, p := range t.memreserve {
			if p.File == abs {
				t.memreserve[i].File = path
			}
		}
	}
	return t, nil
}

func run(name string, args []string, stdout *bytes.Buffer) error {
	c := exec.Command(name, args...)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if stdout != nil {
		c.Stdout = stdout
	}
	if err := c.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return errors.New(strings.TrimSpace(stderr.String()))
		}
		return err
	}
	return nil
}

// annotations reads dtc -O dts -T -T output, where every node and property line ends in a
// comment naming where it was written ("/* a.dtsi:9:4-9:36, b.dts:7:8-7:26 */"). A node takes
// its first position (where it was defined), a property its last (where its value was set).
func annotations(src string) map[string]diag.Pos {
	where := map[string]diag.Pos{}
	var stack []string
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		i := strings.LastIndex(line, "/* ")
		if i < 0 || !strings.HasSuffix(line, "*/") {
			continue
		}
		code, ann := strings.TrimSpace(line[:i]), strings.TrimSuffix(line[i+3:], "*/")
		spots := strings.Split(strings.TrimSpace(ann), ", ")
		switch {
		case strings.HasPrefix(code, "}"):
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case strings.HasSuffix(code, "{"):
			f := strings.Fields(strings.TrimSuffix(code, "{"))
			if len(f) == 0 {
				continue
			}
			name := f[len(f)-1]
			path := "/"
			if len(stack) > 0 {
				path = joinPath(stack[len(stack)-1], name)
			}
			stack = append(stack, path)
			if p, ok := parseSpot(spots[0]); ok {
				where[path] = p
			}
		case strings.HasSuffix(code, ";") && len(stack) > 0:
			code = strings.TrimSuffix(code, ";")
			if j := strings.Index(code, " = "); j >= 0 {
				code = code[:j]
			}
			f := strings.Fields(code)
			if len(f) == 0 {
				continue
			}
			if p, ok := parseSpot(spots[len(spots)-1]); ok {
				where[stack[len(stack)-1]+"\x00"+f[len(f)-1]] = p
			}
		}
	}
	return where
}

// memreserveSpots finds every /memreserve/ in preprocessed source, in order, at the file, line
// and column cpp's line markers (# LINE "FILE" ...) say it was written: dtc's -T annotations
// give the reservation block no position, and dtc keeps the entries in source order.
func memreserveSpots(pp, input string) []diag.Pos {
	var out []diag.Pos
	file, line := input, 1
	for _, l := range strings.Split(pp, "\n") {
		if n, f, ok := lineMarker(l); ok {
			file, line = f, n
			continue
		}
		for off := 0; ; {
			i := strings.Index(l[off:], "/memreserve/")
			if i < 0 {
				break
			}
			out = append(out, diag.Pos{File: file, Line: line, Col: off + i + 1})
			off += i + len("/memreserve/")
		}
		line++
	}
	return out
}

// lineMarker reads cpp's `# LINE "FILE" FLAGS...`; a FILE with an escaped quote is not one
// dtheap needs to place, and is taken as no marker.
func lineMarker(l string) (int, string, bool) {
	rest, ok := strings.CutPrefix(l, "# ")
	if !ok {
		return 0, "", false
	}
	num, rest, ok := strings.Cut(rest, " \"")
	n, err := strconv.Atoi(num)
	if !ok || err != nil {
		return 0, "", false
	}
	file, _, ok := strings.Cut(rest, "\"")
	if !ok || strings.Contains(file, "\\") {
		return 0, "", false
	}
	return n, file, true
}

func joinPath(parent, name string) string {
	if parent == "/" {
		return "/" + name
	}
	return parent + "/" + name
}

// parseSpot reads "file:line:col-line:col".
func parseSpot(s string) (diag.Pos, bool) {
	if j := strings.LastIndex(s, "-"); j >= 0 {
		s = s[:j]
	}
	j := strings.LastIndex(s, ":")
	if j < 0 {
		return diag.Pos{}, false
	}
	col, err1 := strconv.Atoi(s[j+1:])
	k := strings.LastIndex(s[:j], ":")
	if k < 0 || err1 != nil {
		return diag.Pos{}, false
	}
	line, err2 := strconv.Atoi(s[k+1 : j])
	if err2 != nil || s[:k] == "" || strings.HasPrefix(s[:k], "<") {
		return diag.Pos{}, false
	}
	return diag.Pos{File: s[:k], Line: line, Col: col}, true
}
