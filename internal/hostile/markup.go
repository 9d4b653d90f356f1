package hostile

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"

	"golang.org/x/net/html"
)

// Markup is the shape of an SVG or HTML document: which elements and element:attribute pairs
// it has, how many comments, and its text. The escaping tests compare a hostile document's
// shape with what the generator makes of plain input: anything more was injected.
type Markup struct {
	Elements   map[string]bool
	Attributes map[string]bool // "element:attribute"
	Comments   int
	Texts      []string
}

func newMarkup() Markup {
	return Markup{Elements: map[string]bool{}, Attributes: map[string]bool{}}
}

// SVGMarkup parses doc as XML.
func SVGMarkup(doc []byte) (Markup, error) {
	m := newMarkup()
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return m, nil
		}
		if err != nil {
			return m, fmt.Errorf("SVG does not parse as XML: %w", err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			m.Elements[x.Name.Local] = true
			for _, a := range x.Attr {
				m.Attributes[x.Name.Local+":"+a.Name.Local] = true
			}
		case xml.Comment:
			m.Comments++
		case xml.CharData:
			m.Texts = append(m.Texts, string(x))
		}
	}
}

// HTMLMarkup tokenizes doc as HTML, the way a browser would read it.
func HTMLMarkup(doc []byte) (Markup, error) {
	m := newMarkup()
	z := html.NewTokenizer(bytes.NewReader(doc))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if z.Err() != io.EOF {
				return m, z.Err()
			}
			return m, nil
		}
		tok := z.Token()
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			m.Elements[tok.Data] = true
			for _, a := range tok.Attr {
				m.Attributes[tok.Data+":"+a.Key] = true
			}
		case html.CommentToken:
			m.Comments++
		case html.TextToken:
			m.Texts = append(m.Texts, tok.Data)
		}
	}
}

// KernelStubHeader stands in for dtheap.h and the kernel headers when a generated
// dtheap_board.c is compiled on the host: the table is checked for injection only, so plain
// C types of the same shape are enough.
const KernelStubHeader = `#include <stdbool.h>
typedef unsigned long long u64;
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
enum dtheap_kind { DTHEAP_KIND_CMA, DTHEAP_KIND_CARVEOUT, DTHEAP_KIND_UNMAPPED };
enum dtheap_mapping { DTHEAP_MAP_CACHED, DTHEAP_MAP_WRITECOMBINE, DTHEAP_MAP_NONE };
struct dtheap_heap_desc { const char *name; const char *region; enum dtheap_kind kind;
	enum dtheap_mapping mapping; u64 base; u64 size; bool fixed; };
struct dtheap_board { const char *name; const struct dtheap_heap_desc *heaps; unsigned int nr_heaps; };
extern const struct dtheap_board dtheap_board;
`
