package escape

import (
	"bytes"
	"encoding/xml"
	"math/rand"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"
	"gopkg.in/yaml.v3"

	"github.com/dtheap/dtheap/internal/hostile"
)

// samples returns hostile strings: every piece alone, then random concatenations.
func samples(pieces []string) []string {
	out := append([]string{""}, pieces...)
	rng := rand.New(rand.NewSource(16))
	for i := 0; i < 2000; i++ {
		out = append(out, hostile.String(rng, pieces, 6))
	}
	return out
}

func TestLineIsOneInertLine(t *testing.T) {
	for _, s := range samples(hostile.Pieces) {
		got := Line(s)
		if !utf8.ValidString(got) {
			t.Fatalf("Line(%q) = %q: not UTF-8", s, got)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == 0x2028 || r == 0x2029 {
				t.Fatalf("Line(%q) = %q holds U+%04X", s, got, r)
			}
		}
	}
	if got := Line("ok\nPASS forged"); got != `ok\x0aPASS forged` {
		t.Errorf("Line = %q", got)
	}
}

func TestCCommentCannotEnd(t *testing.T) {
	for _, s := range samples(hostile.Pieces) {
		got := CComment(s)
		if strings.Contains(got, "*/") || strings.Contains(got, "/*") {
			t.Fatalf("CComment(%q) = %q", s, got)
		}
		for i := 0; i < len(got); i++ {
			if got[i] < 0x20 || got[i] >= 0x7f {
				t.Fatalf("CComment(%q) = %q has byte 0x%02x", s, got, got[i])
			}
		}
		// The text goes between "/* " and " */": the comment must still end where we end it.
		if c := "/* " + got + " */"; strings.Index(c, "*/") != len(c)-2 {
			t.Fatalf("CComment(%q) = %q ends the comment early", s, got)
		}
	}
	if got := CComment("a*/b/*c*"); got != "a* /b/ *c*" {
		t.Errorf("CComment = %q", got)
	}
}

// unquoteC decodes a C or DTS string literal with the escapes CString and DTSString write.
func unquoteC(t *testing.T, lit string) []byte {
	t.Helper()
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		t.Fatalf("not a literal: %q", lit)
	}
	s := lit[1 : len(lit)-1]
	var out []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' {
			t.Fatalf("unescaped quote in %q", lit)
		}
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		switch {
		case s[i] == 'x':
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				t.Fatalf("bad \\x in %q", lit)
			}
			out = append(out, byte(v))
			i += 2
		case s[i] >= '0' && s[i] <= '7':
			v, err := strconv.ParseUint(s[i:i+3], 8, 8)
			if err != nil {
				t.Fatalf("bad octal in %q", lit)
			}
			out = append(out, byte(v))
			i += 2
		default:
			out = append(out, s[i])
		}
	}
	return out
}

func TestStringsRoundTripByBytes(t *testing.T) {
	for _, s := range samples(hostile.Pieces) {
		for name, f := range map[string]func(string) string{"CString": CString, "DTSString": DTSString} {
			lit := f(s)
			if got := unquoteC(t, lit); !bytes.Equal(got, []byte(s)) {
				t.Fatalf("%s(%q) = %s reads back as %q", name, s, lit, got)
			}
			for i := 1; i < len(lit)-1; i++ {
				if lit[i] < 0x20 || lit[i] >= 0x7f {
					t.Fatalf("%s(%q) = %q holds raw byte 0x%02x", name, s, lit, lit[i])
				}
			}
			if name == "CString" && strings.Contains(lit, "??") {
				t.Fatalf("CString(%q) = %q can form a trigraph", s, lit)
			}
		}
	}
	// The case: é followed by hex digits. A per-rune \xe9 would swallow "beef".
	if got := CString("caf\u00e9beef"); got != `"caf\303\251beef"` {
		t.Errorf("CString = %s", got)
	}
}

func TestYAMLScalarRoundTrips(t *testing.T) {
	for _, s := range samples(hostile.Pieces) {
		if !utf8.ValidString(s) {
			continue // YAML holds Unicode only: the importer refuses such names first
		}
		q := YAMLScalar(s)
		for _, doc := range []string{"k: " + q + "\n", "- {k: " + q + ", j: 1}\n", "[" + q + ", x]\n"} {
			var v any
			if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
				t.Fatalf("YAMLScalar(%q) = %s: %v", s, q, err)
			}
			var got any
			switch x := v.(type) {
			case map[string]any:
				got = x["k"]
			case []any:
				if m, ok := x[0].(map[string]any); ok {
					got = m["k"]
					if m["j"] != 1 || len(m) != 2 {
						t.Fatalf("YAMLScalar(%q) = %s changed the mapping: %v", s, q, m)
					}
				} else {
					got = x[0]
					if len(x) != 2 {
						t.Fatalf("YAMLScalar(%q) = %s changed the list: %v", s, q, x)
					}
				}
			}
			if got != s {
				t.Fatalf("YAMLScalar(%q) = %s reads back as %#v in %q", s, q, got, doc)
			}
		}
		if strings.ContainsAny(q, "\n\r") {
			t.Fatalf("YAMLScalar(%q) = %q spans lines", s, q)
		}
	}
}

// xmlSafe drops what XML cannot hold, which the markup escapers replace with U+FFFD.
func xmlSafe(s string) string {
	var b strings.Builder
	for _, r := range s { // an invalid byte ranges as U+FFFD, one per byte
		if !xmlChar(r) || r >= 0x7f && r <= 0x9f {
			r = 0xfffd
		}
		b.WriteRune(r)
	}
	return b.String()
}

func TestMarkupRoundTrips(t *testing.T) {
	for _, s := range samples(hostile.Pieces) {
		doc := `<p title="` + HTMLAttr(s) + `" class='` + HTMLAttr(s) + `'>` + HTMLText(s) + `<!--` + HTMLComment(s) + `--></p>`
		want := xmlSafe(s)
		// XML (SVG): one element, the attribute and text read back, one comment.
		d := xml.NewDecoder(strings.NewReader(doc))
		var toks []xml.Token
		for {
			tok, err := d.Token()
			if err != nil {
				if err.Error() == "EOF" {
					break
				}
				t.Fatalf("XML parse of %q: %v", doc, err)
			}
			toks = append(toks, xml.CopyToken(tok))
		}
		start, ok := toks[0].(xml.StartElement)
		if !ok || start.Name.Local != "p" || len(start.Attr) != 2 || start.Attr[0].Value != want || start.Attr[1].Value != want {
			t.Fatalf("XML of %q: %#v", s, toks[0])
		}
		text := ""
		comments := 0
		for _, tok := range toks[1:] {
			switch x := tok.(type) {
			case xml.CharData:
				text += string(x)
			case xml.Comment:
				comments++
			case xml.StartElement:
				t.Fatalf("XML of %q: element %s was not generated", s, x.Name.Local)
			}
		}
		if text != want || comments != 1 {
			t.Fatalf("XML of %q: text %q, %d comments", s, text, comments)
		}
		// HTML: the same.
		z := html.NewTokenizer(strings.NewReader(doc))
		elems, comments := 0, 0
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				break
			}
			tok := z.Token()
			switch tt {
			case html.StartTagToken, html.SelfClosingTagToken:
				elems++
				if tok.Data != "p" || len(tok.Attr) != 2 || tok.Attr[0].Key != "title" || tok.Attr[1].Key != "class" {
					t.Fatalf("HTML of %q: element %v", s, tok)
				}
			case html.CommentToken:
				comments++
			}
		}
		if elems != 1 || comments != 1 {
			t.Fatalf("HTML of %q: %d elements, %d comments in %q", s, elems, comments, doc)
		}
	}
}

func TestPaths(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"/", true}, {"/soc/gpu@38000000", true}, {"/a,b/c_d.e+f-g", true},
		{"", false}, {"soc", false}, {"/soc/", false}, {"//soc", false}, {"/soc}", false},
		{"/soc} ; / { pwned; }; &{/x", false}, {"/a\nb", false}, {"/é", false}, {"/a@b@c", false},
		{"/" + strings.Repeat("a", 32), false}, {"/" + strings.Repeat("a", 31) + "@1", true}, {"/@1", false},
	} {
		ref, err := DTSPathRef(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("DTSPathRef(%q) = %q, %v; want ok=%v", tc.in, ref, err, tc.ok)
		}
		if err == nil && ref != "&{"+tc.in+"}" {
			t.Errorf("DTSPathRef(%q) = %q", tc.in, ref)
		}
	}
}
