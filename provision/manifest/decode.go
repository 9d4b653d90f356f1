package manifest

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The manifest is decoded by hand, not by encoding/json: the boot checker reads it on every
// boot, and encoding/json's reflection runs so much code once that decoding this small file
// took 25 to 35 ms of the boot under TCG (BENCHMARKS.md "Boot check").
//
// It accepts what json.Decoder with DisallowUnknownFields accepts into a Manifest, and decodes
// it to the same value (TestDecodeMatchesEncodingJSON checks both on generated and damaged
// manifests): keys match a field's name exactly or as bytes.EqualFold does, null leaves a
// field as it is (a list nil), numbers must be unsigned integers that fit in 64 bits, invalid
// UTF-8 in a string becomes U+FFFD. It is stricter in two places, with a message saying why:
// a field given twice in one object, under the same key or keys that fold alike, is refused
// (encoding/json would merge the two), and so is anything but white space after the object
// (Decode refused most of it before, through Decoder.More).

// decoder walks the manifest's bytes.
type decoder struct {
	b   []byte
	off int
}

// errorf prefixes the message with the line and column of the current byte.
func (d *decoder) errorf(format string, args ...any) error {
	line, col := 1, 1
	for _, c := range d.b[:min(d.off, len(d.b))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Errorf("line %d column %d: "+format, append([]any{line, col}, args...)...)
}

func (d *decoder) space() {
	for d.off < len(d.b) {
		switch d.b[d.off] {
		case ' ', '\t', '\n', '\r':
			d.off++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (d *decoder) peek() byte {
	d.space()
	if d.off >= len(d.b) {
		return 0
	}
	return d.b[d.off]
}

func (d *decoder) expect(c byte) error {
	if got := d.peek(); got != c {
		if got == 0 {
			return d.errorf("unexpected end of input, want %q", c)
		}
		return d.errorf("unexpected %q, want %q", got, c)
	}
	d.off++
	return nil
}

// null consumes a null literal if one is next.
func (d *decoder) null() (bool, error) {
	if d.peek() != 'n' {
		return false, nil
	}
	return true, d.literal("null")
}

func (d *decoder) literal(lit string) error {
	if !bytes.HasPrefix(d.b[d.off:], []byte(lit)) {
		return d.errorf("invalid literal, want %s", lit)
	}
	d.off += len(lit)
	return nil
}

// object calls field with the field name (of names) each key selects; a key that selects no
// field is an unknown field, one that selects a field already given is refused.
func (d *decoder) object(what string, names []string, field func(name string) error) error {
	if err := d.expect('{'); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	var seen []string
	if d.peek() == '}' {
		d.off++
		return nil
	}
	for {
		if d.peek() != '"' {
			return d.errorf("%s: want a key in double quotes", what)
		}
		key, err := d.str()
		if err != nil {
			return err
		}
		f, ok := fieldFor(key, names)
		if !ok {
			return d.errorf("json: unknown field %q", key)
		}
		for _, s := range seen {
			if s == f {
				return d.errorf("%s: %s given twice (key %q)", what, f, key)
			}
		}
		seen = append(seen, f)
		if err := d.expect(':'); err != nil {
			return err
		}
		if err := field(f); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.off++
		case '}':
			d.off++
			return nil
		default:
			return d.errorf("%s: want ',' or '}' after the value of %q", what, key)
		}
	}
}

// array calls elem for each element of an array, or returns isNull for null.
func (d *decoder) array(what string, elem func() error) (isNull bool, err error) {
	if n, err := d.null(); n || err != nil {
		return n, err
	}
	if err := d.expect('['); err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	if d.peek() == ']' {
		d.off++
		return false, nil
	}
	for {
		if err := elem(); err != nil {
			return false, err
		}
		switch d.peek() {
		case ',':
			d.off++
		case ']':
			d.off++
			return false, nil
		default:
			return false, d.errorf("%s: want ',' or ']' after an element", what)
		}
	}
}

// str reads a string as encoding/json does (escapes, surrogate pairs, invalid UTF-8 and lone
// surrogates as U+FFFD, control characters refused).
func (d *decoder) str() (string, error) {
	if err := d.expect('"'); err != nil {
		return "", err
	}
	start := d.off
	// The common case: no escape, plain ASCII.
	for i := d.off; i < len(d.b); i++ {
		c := d.b[i]
		if c == '"' {
			d.off = i + 1
			return string(d.b[start:i]), nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
	}
	var out []byte
	for d.off < len(d.b) {
		c := d.b[d.off]
		switch {
		case c == '"':
			d.off++
			return string(out), nil
		case c < 0x20:
			return "", d.errorf("control character 0x%02x in a string", c)
		case c == '\\':
			if d.off+1 >= len(d.b) {
				return "", d.errorf("unterminated string")
			}
			e := d.b[d.off+1]
			d.off += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := d.hex4()
				if !ok {
					return "", d.errorf("invalid \\u escape")
				}
				if utf16.IsSurrogate(r) {
					// A pair, if the next escape completes it; else U+FFFD.
					save := d.off
					if d.off+1 < len(d.b) && d.b[d.off] == '\\' && d.b[d.off+1] == 'u' {
						d.off += 2
						if r2, ok := d.hex4(); ok {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								out = utf8.AppendRune(out, dec)
								continue
							}
						}
					}
					d.off = save
					r = utf8.RuneError
				}
				out = utf8.AppendRune(out, r)
			default:
				return "", d.errorf("invalid escape \\%c", e)
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			d.off++
		default:
			r, size := utf8.DecodeRune(d.b[d.off:])
			d.off += size
			out = utf8.AppendRune(out, r) // RuneError for invalid bytes, as encoding/json
		}
	}
	return "", d.errorf("unterminated string")
}

func (d *decoder) hex4() (rune, bool) {
	if d.off+4 > len(d.b) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(d.b[d.off:d.off+4]), 16, 32)
	if err != nil || bytes.ContainsAny(d.b[d.off:d.off+4], "+-_xX") {
		return 0, false
	}
	d.off += 4
	return rune(v), true
}

// number consumes a JSON number and returns its text.
func (d *decoder) number() (string, error) {
	start := d.off
	i := d.off
	if i < len(d.b) && d.b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(d.b) && d.b[i] >= '0' && d.b[i] <= '9' {
			i, n = i+1, n+1
		}
		return n
	}
	switch {
	case i < len(d.b) && d.b[i] == '0':
		i++
	case digits() == 0:
		return "", d.errorf("invalid number")
	}
	if i < len(d.b) && d.b[i] == '.' {
		i++
		if digits() == 0 {
			return "", d.errorf("invalid number")
		}
	}
	if i < len(d.b) && (d.b[i] == 'e' || d.b[i] == 'E') {
		i++
		if i < len(d.b) && (d.b[i] == '+' || d.b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return "", d.errorf("invalid number")
		}
	}
	d.off = i
	return string(d.b[start:i]), nil
}

// typeError is a value of the wrong type for a field, named as encoding/json names it.
func (d *decoder) typeError(got, field, want string) error {
	if got == "end of input" {
		return d.errorf("unexpected end of input, want the value of %s", field)
	}
	return d.errorf("cannot unmarshal %s into field %s of type %s", got, field, want)
}

// kind names the JSON value that starts at the next byte, for type errors.
func (d *decoder) kind() string {
	switch d.peek() {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case 0:
		return "end of input"
	}
	return "number"
}

func (d *decoder) stringField(field string, dst *string) error {
	if n, err := d.null(); n || err != nil {
		return err
	}
	if d.peek() != '"' {
		return d.typeError(d.kind(), field, "string")
	}
	s, err := d.str()
	if err != nil {
		return err
	}
	*dst = s
	return nil
}

func (d *decoder) uintField(field string, dst *uint64) error {
	if n, err := d.null(); n || err != nil {
		return err
	}
	if c := d.peek(); c != '-' && (c < '0' || c > '9') {
		return d.typeError(d.kind(), field, "uint64")
	}
	s, err := d.number()
	if err != nil {
		return err
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return d.typeError("number "+s, field, "uint64")
	}
	*dst = v
	return nil
}

func (d *decoder) boolField(field string, dst *bool) error {
	if n, err := d.null(); n || err != nil {
		return err
	}
	switch d.peek() {
	case 't':
		*dst = true
		return d.literal("true")
	case 'f':
		*dst = false
		return d.literal("false")
	}
	return d.typeError(d.kind(), field, "bool")
}

func (d *decoder) stringsField(field string, dst *[]string) error {
	return list(d, field, dst, func(s *string) error { return d.stringField(field, s) })
}

// fieldFor returns the name among names that key selects: the exact name, else the first that
// matches as bytes.EqualFold (encoding/json's rule).
func fieldFor(key string, names []string) (string, bool) {
	for _, n := range names {
		if n == key {
			return n, true
		}
	}
	for _, n := range names {
		if bytes.EqualFold([]byte(n), []byte(key)) {
			return n, true
		}
	}
	return "", false
}

var (
	manifestFields = []string{"generator", "board", "arch", "kernel_version", "modules", "heap_node", "pools", "heaps", "cma_total"}
	poolFields     = []string{"name", "node", "kind", "base", "size", "fixed", "no_map", "reusable", "default_cma"}
	heapFields     = []string{"name", "provider", "kind", "pool", "base", "size", "fixed", "mappable", "group", "mode", "aliases"}
)

func (d *decoder) pool(p *Pool) error {
	return d.object("pool", poolFields, func(f string) error {
		switch f {
		case "name":
			return d.stringField("Pool.name", &p.Name)
		case "node":
			return d.stringField("Pool.node", &p.Node)
		case "kind":
			return d.stringField("Pool.kind", &p.Kind)
		case "base":
			return d.uintField("Pool.base", &p.Base)
		case "size":
			return d.uintField("Pool.size", &p.Size)
		case "fixed":
			return d.boolField("Pool.fixed", &p.Fixed)
		case "no_map":
			return d.boolField("Pool.no_map", &p.NoMap)
		case "reusable":
			return d.boolField("Pool.reusable", &p.Reusable)
		default: // default_cma
			return d.boolField("Pool.default_cma", &p.DefaultCMA)
		}
	})
}

func (d *decoder) heap(h *Heap) error {
	return d.object("heap", heapFields, func(f string) error {
		switch f {
		case "name":
			return d.stringField("Heap.name", &h.Name)
		case "provider":
			return d.stringField("Heap.provider", &h.Provider)
		case "kind":
			return d.stringField("Heap.kind", &h.Kind)
		case "pool":
			return d.stringField("Heap.pool", &h.Pool)
		case "base":
			return d.uintField("Heap.base", &h.Base)
		case "size":
			return d.uintField("Heap.size", &h.Size)
		case "fixed":
			return d.boolField("Heap.fixed", &h.Fixed)
		case "mappable":
			return d.boolField("Heap.mappable", &h.Mappable)
		case "group":
			return d.stringField("Heap.group", &h.Group)
		case "mode":
			return d.stringField("Heap.mode", &h.Mode)
		default: // aliases
			return d.stringsField("Heap.aliases", &h.Aliases)
		}
	})
}

// elements decodes an array of objects; null elements stay zero, a null array is nil.
func elements[T any](d *decoder, what string, dst *[]T, one func(*T) error) error {
	return list(d, what, dst, func(v *T) error {
		if n, err := d.null(); err != nil || n {
			return err
		}
		if d.peek() != '{' {
			return d.typeError(d.kind(), what, "object")
		}
		return one(v)
	})
}

// list decodes an array, each element into a zero T by one: a null array is nil, an empty one
// is empty but not nil (as encoding/json decodes them).
func list[T any](d *decoder, what string, dst *[]T, one func(*T) error) error {
	var out []T
	isNull, err := d.array(what, func() error {
		var v T
		if err := one(&v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	if err != nil {
		return err
	}
	if isNull {
		*dst = nil
	} else if out == nil {
		*dst = []T{}
	} else {
		*dst = out
	}
	return nil
}

// decodeJSON decodes b into m (see the comment at the top of the file).
func decodeJSON(b []byte, m *Manifest) error {
	d := &decoder{b: b}
	if n, err := d.null(); err != nil {
		return err
	} else if !n {
		if d.peek() != '{' {
			return d.errorf("the manifest is a JSON object, not %s", d.kind())
		}
		err := d.object("manifest", manifestFields, func(f string) error {
			switch f {
			case "generator":
				return d.stringField("generator", &m.Generator)
			case "board":
				return d.stringField("board", &m.Board)
			case "arch":
				return d.stringField("arch", &m.Arch)
			case "kernel_version":
				return d.stringField("kernel_version", &m.KernelVersion)
			case "modules":
				return d.stringsField("modules", &m.Modules)
			case "heap_node":
				return d.stringField("heap_node", &m.HeapNode)
			case "pools":
				return elements(d, "pools", &m.Pools, d.pool)
			case "heaps":
				return elements(d, "heaps", &m.Heaps, d.heap)
			default: // cma_total
				return d.uintField("cma_total", &m.CMATotal)
			}
		})
		if err != nil {
			return err
		}
	}
	if d.peek() != 0 {
		return d.errorf("trailing data after the JSON object")
	}
	return nil
}
