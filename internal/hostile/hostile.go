// Package hostile draws strings from an alphabet chosen to break out of every language dtheap
// writes: quotes, comment ends and starts (*/, /*, -->, --!>), markup, YAML indicators, format
// verbs, backslashes with hex digits after them, newlines and other control bytes, non-ASCII
// text and bytes that are not UTF-8. The escaping property tests of every emitter use it.
package hostile

import (
	"math/rand"
	"strings"
)

// Pieces are the fragments hostile strings are made of.
var Pieces = []string{
	`"`, `'`, "`", `\`, `\x`, `\0`, `%s`, `%n`, `%`, `*/`, `/*`, `//`, `--->`, `--!>`, `-->`, `<!--`, `-`,
	`<img src=x onerror=alert(1)>`, `<script>`, `&amp;`, `&`, `<`, `>`, `}`, `{`, `;`, `&{/`, `#`,
	`: `, `- `, `[`, `]`, `,`, `*a`, `!!str`, `?`, `??/`, `@`, `/`, `=`, " ", "\t", "\n", "\r",
	"\x00", "\x01", "\x1b[31m", "\x7f", "é", "\u00e9beef", "\u2028", "\u0085", "\ufeff", "ü",
	"日本", "\xff", "\xe9", "abc", "0x1f", "PASS heap/x/alloc: ok", "pwned", "int pwned = 1;",
}

// Printable are the pieces that hold no control character and are valid UTF-8: what the board
// loader accepts in a name.
var Printable = func() []string {
	var out []string
	for _, p := range Pieces {
		ok := true
		for _, r := range p {
			if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == 0xfffd || r == 0x2028 || r == 0xfeff {
				ok = false
			}
		}
		if ok && !strings.ContainsRune(p, 0xfffd) && validUTF8(p) {
			out = append(out, p)
		}
	}
	return out
}()

func validUTF8(s string) bool { return strings.ToValidUTF8(s, "\ufffd") == s }

// String returns a string of 1 to n pieces drawn from pieces.
func String(rng *rand.Rand, pieces []string, n int) string {
	var b strings.Builder
	for i := rng.Intn(n) + 1; i > 0; i-- {
		b.WriteString(pieces[rng.Intn(len(pieces))])
	}
	return b.String()
}
