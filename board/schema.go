package board

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/dtheap/dtheap/diag"
	"github.com/dtheap/dtheap/schemas"
)

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

func boardSchema() (*jsonschema.Schema, error) {
	schemaOnce.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemas.Board))
		if err != nil {
			schemaErr = fmt.Errorf("embedded board schema: %w", err)
			return
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource(schemas.BoardURL, doc); err != nil {
			schemaErr = fmt.Errorf("embedded board schema: %w", err)
			return
		}
		schema, schemaErr = c.Compile(schemas.BoardURL)
	})
	return schema, schemaErr
}

var printer = message.NewPrinter(language.English)

// checkSchema validates one file's tree against the board schema and turns every leaf error
// into a positioned finding. With partial (a file that extends a base), top-level required keys
// are not demanded: the base may supply them, and the merged tree is checked for them.
func checkSchema(root *value, partial bool) diag.List {
	sch, err := boardSchema()
	if err != nil {
		return diag.List{{Pos: root.pos, Severity: diag.Error, Rule: "schema", Message: err.Error()}}
	}
	// toJSON gives the values jsonschema.UnmarshalJSON would (json.Number for numbers, maps,
	// slices, strings, bools, nil) without a text round trip, and records where each value
	// came from only when there are errors to place (see toJSON).
	err = sch.Validate(root.toJSON("", nil))
	if err == nil {
		return nil
	}
	where := map[string]*value{}
	root.toJSON("", where)
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return diag.List{{Pos: root.pos, Severity: diag.Error, Rule: "schema", Message: err.Error()}}
	}
	var out diag.List
	seen := map[string]bool{}
	for _, leaf := range leaves(ve) {
		ptr := ""
		if len(leaf.InstanceLocation) > 0 {
			parts := make([]string, len(leaf.InstanceLocation))
			for i, p := range leaf.InstanceLocation {
				parts[i] = escapePtr(p)
			}
			ptr = "/" + strings.Join(parts, "/")
		}
		v := where[ptr]
		pos := root.pos
		if v != nil {
			pos = v.pos
		}
		f := diag.Finding{Pos: pos, Severity: diag.Error, Rule: "schema"}
		field := instancePath(leaf.InstanceLocation)
		switch k := leaf.ErrorKind.(type) {
		case *kind.AdditionalProperties:
			for _, p := range k.Properties {
				kp := pos
				if v != nil && v.fields[p] != nil {
					kp = v.fields[p].keyPos
				}
				f2 := f
				f2.Pos = kp
				f2.Message = fmt.Sprintf("unknown key %q in %s", p, field)
				f2.Hint = "allowed keys: " + strings.Join(allowedKeys(leaf), ", ")
				if v != nil && v.fields[p] != nil && v.fields[p].tag == "!!null" && v.fields[p].text == "" {
					f2.Hint = fmt.Sprintf("inside {...} a comma ends the value: quote a name that contains one, e.g. name: \"linux,%s\"; else %s", p, f2.Hint)
				}
				out = appendOnce(out, seen, f2)
			}
			continue
		case *kind.Required:
			if partial && len(leaf.InstanceLocation) == 0 {
				continue
			}
			f.Message = fmt.Sprintf("%s is missing required key(s) %s", field, strings.Join(quoteAll(k.Missing), ", "))
		case *kind.Enum:
			f.Message = fmt.Sprintf("%s: %s", field, k.LocalizedString(printer))
		default:
			f.Message = fmt.Sprintf("%s: %s", field, leaf.ErrorKind.LocalizedString(printer))
		}
		out = appendOnce(out, seen, f)
	}
	return out
}

func appendOnce(l diag.List, seen map[string]bool, f diag.Finding) diag.List {
	k := f.Pos.String() + f.Message
	if seen[k] {
		return l
	}
	seen[k] = true
	return append(l, f)
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = fmt.Sprintf("%q", x)
	}
	return out
}

// leaves returns the most specific errors. For oneOf failures (size: integer or string) the
// causes are the alternatives; when every alternative failed on type alone, one message about
// the accepted forms is clearer than two.
func leaves(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	if _, ok := e.ErrorKind.(*kind.OneOf); ok {
		return []*jsonschema.ValidationError{oneOfLeaf(e)}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

func oneOfLeaf(e *jsonschema.ValidationError) *jsonschema.ValidationError {
	// Prefer a cause that is not a plain type mismatch: it says what is wrong with the value.
	for _, c := range e.Causes {
		if _, isType := c.ErrorKind.(*kind.Type); !isType {
			l := leaves(c)
			if len(l) > 0 {
				return l[0]
			}
		}
	}
	return &jsonschema.ValidationError{InstanceLocation: e.InstanceLocation, ErrorKind: oneOfKind{}}
}

type oneOfKind struct{}

func (oneOfKind) KeywordPath() []string { return []string{"oneOf"} }
func (oneOfKind) LocalizedString(*message.Printer) string {
	return "wrong type: want a number or a string such as \"64MiB\" or \"&label\", see the schema"
}

// allowedKeys lists the property names the failing object's schema allows.
func allowedKeys(e *jsonschema.ValidationError) []string {
	sch, err := boardSchema()
	if err != nil {
		return nil
	}
	s := findSchema(sch, e.SchemaURL)
	if s == nil {
		return nil
	}
	keys := make([]string, 0, len(s.Properties))
	for k := range s.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func findSchema(s *jsonschema.Schema, url string) *jsonschema.Schema {
	url = strings.TrimSuffix(url, "/additionalProperties")
	seen := map[*jsonschema.Schema]bool{}
	var walk func(*jsonschema.Schema) *jsonschema.Schema
	walk = func(x *jsonschema.Schema) *jsonschema.Schema {
		if x == nil || seen[x] {
			return nil
		}
		seen[x] = true
		if x.Location == url {
			return x
		}
		for _, p := range x.Properties {
			if r := walk(p); r != nil {
				return r
			}
		}
		if r := walk(x.Ref); r != nil {
			return r
		}
		if it, ok := x.Items.(*jsonschema.Schema); ok {
			if r := walk(it); r != nil {
				return r
			}
		}
		if r := walk(x.Items2020); r != nil {
			return r
		}
		for _, o := range x.OneOf {
			if r := walk(o); r != nil {
				return r
			}
		}
		return nil
	}
	return walk(s)
}

// instancePath renders a JSON instance location the way the board file reads: pools[2].size.
func instancePath(loc []string) string {
	if len(loc) == 0 {
		return "the board"
	}
	var b strings.Builder
	for _, p := range loc {
		if _, err := strconv.Atoi(p); err == nil {
			b.WriteString("[" + p + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}
