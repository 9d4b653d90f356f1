// Package escape writes untrusted text (board, pool and heap names, descriptions, device
// paths, file names, node names read from a .dtb) into each language dtheap emits, so that the
// text can never end the construct it sits in and become code, markup or a new line.
//
// There is one function per target: C comments and C string literals (the generated kernel
// table), DTS comments, strings and &{/path} references, YAML scalars and comments (import),
// HTML/SVG text, attributes and comments (the map and report), and single lines for a console
// or a line-oriented text file (the boot check, README, Kconfig fragment). Every emitter goes
// through them; none writes such text raw.
//
// Strings and attributes escape so that the value reads back exactly (C and DTS by bytes,
// YAML and XML by runes where the language can only hold Unicode). Comments and console lines
// only need to stay inert and on one line: they keep what is printable and show the rest as
// \xNN or \u{NNNN}. Where a target cannot escape at all (DTS path references), the function
// refuses the text instead.
package escape

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// visible appends s to b with every rune that is not printable (control characters, line and
// paragraph separators, invalid UTF-8) shown as \xNN (bytes below 0x80 and invalid bytes) or
// \u{NNNN}. Spaces are kept.
func visible(b *strings.Builder, s string) {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(b, `\x%02x`, s[i])
		case r < 0x80 && (r < 0x20 || r == 0x7f):
			fmt.Fprintf(b, `\x%02x`, r)
		case r == ' ' || r < 0x80 || unicode.IsPrint(r):
			b.WriteString(s[i : i+n])
		default:
			fmt.Fprintf(b, `\u{%04x}`, r)
		}
		i += n
	}
}

// Line returns s as one inert line of text for a console or a line-oriented file (README,
// Kconfig fragment comments, the boot check's report): no control character (so no newline,
// carriage return or terminal escape that could forge another line), no line separator.
func Line(s string) string {
	var b strings.Builder
	visible(&b, s)
	return b.String()
}

// CComment returns s for the inside of a C /* */ comment on one line: "*/" cannot end it,
// "/*" cannot start a nested one (gcc -Wcomment), no newline, no control character; bytes
// outside printable ASCII are shown as \xNN so the file stays ASCII (checkpatch).
func CComment(s string) string {
	var b strings.Builder
	prev := byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '/' && prev == '*', c == '*' && prev == '/':
			b.WriteByte(' ')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
			c = 'x'
		default:
			b.WriteByte(c)
		}
		prev = c
	}
	return b.String()
}

// CString returns s as a C string literal holding exactly the bytes of s. Bytes outside
// printable ASCII become three-digit octal escapes: an octal escape ends after three digits,
// where a hex escape would swallow every hex digit that follows it. '?' is escaped so that no
// trigraph can form (??/ would be a backslash under -trigraphs).
func CString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\' || c == '?':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, `\%03o`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// DTSComment returns s for the inside of a /* */ comment in devicetree source: dtc's comments
// are C's, so the same rules apply.
func DTSComment(s string) string { return CComment(s) }

// DTSString returns s as a DTS string literal holding exactly the bytes of s. dtc reads \xHH
// with at most two hex digits and \ooo with at most three (dtc's get_escape_char), so a
// two-digit hex escape per byte never swallows what follows. A NUL byte cannot be written
// faithfully (it would split the string in the blob): names never contain one, the loader
// refuses control characters.
func DTSString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// IsNodeNameChar reports whether c may appear in a devicetree node name (Devicetree
// Specification 2.2.1, table 2.1: node-name and unit-address characters) or as the '@' between
// them.
func IsNodeNameChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
		c == ',' || c == '.' || c == '_' || c == '+' || c == '-' || c == '@'
}

// CheckNodeName returns an error saying what is wrong when name is not a devicetree node name:
// 1 to 31 characters of the node-name set before an optional @unit-address, the same set after.
func CheckNodeName(name string) error {
	base, unit, hasUnit := strings.Cut(name, "@")
	switch {
	case base == "":
		return fmt.Errorf("node name %s is empty before any @unit-address", Quote(name))
	case len(base) > 31:
		return fmt.Errorf("node name %s is %d characters before @, the devicetree specification allows 31", Quote(name), len(base))
	case hasUnit && (unit == "" || strings.Contains(unit, "@")):
		return fmt.Errorf("node name %s: want name@unit-address with one @ and a unit address", Quote(name))
	}
	for i := 0; i < len(name); i++ {
		if !IsNodeNameChar(name[i]) {
			return fmt.Errorf("node name %s has %s at byte %d: devicetree node names use only letters, digits and , . _ + - (and @ before the unit address)", Quote(name), Quote(name[i:i+1]), i+1)
		}
	}
	return nil
}

// CheckPath returns an error unless p is an absolute devicetree node path ("/", or /name/name
// with each name a valid node name): what a DTS &{/path} reference can carry, since dtc's
// lexer has no escapes there.
func CheckPath(p string) error {
	if p == "/" {
		return nil
	}
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("path %s does not start with /", Quote(p))
	}
	for _, n := range strings.Split(p[1:], "/") {
		if n == "" {
			return fmt.Errorf("path %s has an empty node name (// or a trailing /)", Quote(p))
		}
		if err := CheckNodeName(n); err != nil {
			return fmt.Errorf("path %s: %w", Quote(p), err)
		}
	}
	return nil
}

// DTSPathRef returns the DTS reference &{p} to the node at path p, or an error when p is not a
// devicetree path (dtc's lexer takes &{ followed by path characters up to the first }: nothing
// can be escaped inside, so the path is refused instead).
func DTSPathRef(p string) (string, error) {
	if err := CheckPath(p); err != nil {
		return "", err
	}
	return "&{" + p + "}", nil
}

// Quote returns s double-quoted with Go's escapes, for error messages: whatever s holds, the
// message stays one printable line.
func Quote(s string) string { return fmt.Sprintf("%+q", s) }

// yamlPlainSafe reports whether s reads back as the same string when written plain inside a
// YAML flow collection ({...} or [...]): it starts with a letter or _ and holds only letters,
// digits and _ - . @ /, and is not one of the words YAML 1.1 and 1.2 read as a boolean or null.
func yamlPlainSafe(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' ||
			i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '.' || c == '@' || c == '/')
		if !ok {
			return false
		}
	}
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "null", "y", "n":
		return false
	}
	return true
}

// YAMLScalar returns s as a YAML scalar that reads back as the same string in block and flow
// context: plain when that is unambiguous, else double-quoted with YAML's escapes for quotes,
// backslashes and every rune that is not printable (line breaks, NEL, line and paragraph
// separators, BOM). YAML holds Unicode text only: a byte that is not valid UTF-8 is written as
// U+FFFD, so callers that must round-trip exactly refuse such input first.
func YAMLScalar(s string) string {
	if yamlPlainSafe(s) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r == ' ' || r < 0x7f || unicode.IsPrint(r) && r != 0xfeff:
			b.WriteRune(r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// YAMLComment returns s for the rest of a line after "# ": one line, nothing unprintable.
func YAMLComment(s string) string { return Line(s) }

// xmlChar reports whether r may appear in an XML 1.0 document (the Char production).
func xmlChar(r rune) bool {
	return r == 0x9 || r == 0xa || r == 0xd || r >= 0x20 && r <= 0xd7ff ||
		r >= 0xe000 && r <= 0xfffd || r >= 0x10000 && r <= 0x10ffff
}

// markup escapes s for HTML and XML text or a double- or single-quoted attribute value. A rune
// XML forbids (most control characters, invalid UTF-8) becomes U+FFFD: SVG is XML, where
// even an escaped one is an error.
func markup(s string, attr bool) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			r = unicode.ReplacementChar
		}
		switch {
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case r == '"':
			b.WriteString("&#34;")
		case r == '\'':
			b.WriteString("&#39;")
		case attr && (r == '\n' || r == '\r' || r == '\t'):
			// Attribute value normalisation would turn these into spaces on reading.
			fmt.Fprintf(&b, "&#%d;", r)
		case r == '\r':
			b.WriteString("&#13;")
		case !xmlChar(r) || r >= 0x7f && r <= 0x9f:
			b.WriteRune(unicode.ReplacementChar)
		default:
			b.WriteRune(r)
		}
		i += n
	}
	return b.String()
}

// HTMLText returns s for text content in HTML and SVG (XML): < > & and quotes as references.
func HTMLText(s string) string { return markup(s, false) }

// HTMLAttr returns s for a quoted attribute value in HTML and SVG.
func HTMLAttr(s string) string { return markup(s, true) }

// HTMLComment returns s for the inside of <!-- -->, in HTML and XML alike: no "--" (XML
// forbids it, and "-->" or "--!>" would end the comment in HTML), no leading ">" or "->", no
// trailing "-", and only characters XML allows. A space goes between two dashes.
func HTMLComment(s string) string {
	t := markupChars(s)
	var b strings.Builder
	if strings.HasPrefix(t, ">") || strings.HasPrefix(t, "-") {
		b.WriteByte(' ')
	}
	prev := rune(0)
	for _, r := range t {
		if r == '-' && prev == '-' {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
		prev = r
	}
	if prev == '-' {
		b.WriteByte(' ')
	}
	return b.String()
}

// markupChars replaces every rune XML forbids (and C1 controls) with U+FFFD and keeps line
// breaks out, for comments, which have no escapes.
func markupChars(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 || !xmlChar(r) || r < 0x20 || r >= 0x7f && r <= 0x9f {
			r = unicode.ReplacementChar
		}
		b.WriteRune(r)
		i += n
	}
	return b.String()
}
