// Package size parses and prints byte sizes and addresses the way a bring-up engineer writes them
// and the kernel reads them.
//
// Accepted: plain decimal ("4096"), hex ("0x1000"), and a number followed by a binary suffix:
// K, M, G, T (as the kernel's memparse reads them, powers of 1024) or KiB, MiB, GiB, TiB.
// "MB", "kB", "GB" are refused: tools disagree on whether they mean 1000 or 1024, and a board
// description must not depend on which one a reader picked. Values that do not fit in 64 bits
// are an error, never a wrap.
package size

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// Common sizes.
const (
	KiB uint64 = 1 << 10
	MiB uint64 = 1 << 20
	GiB uint64 = 1 << 30
	TiB uint64 = 1 << 40
)

var suffixes = []struct {
	text  string
	shift uint
}{
	{"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40},
	{"K", 10}, {"M", 20}, {"G", 30}, {"T", 40},
}

// ambiguous maps suffixes that tools read differently to the advice given instead.
var ambiguous = map[string]string{
	"kb": "KiB", "mb": "MiB", "gb": "GiB", "tb": "TiB",
}

// ErrOverflow is returned for values that do not fit in 64 bits.
var ErrOverflow = errors.New("value does not fit in 64 bits")

// Parse reads a size or address. The error says what to write instead.
func Parse(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, errors.New("empty size: write a number such as 0x1000, 4096 or 64MiB")
	}
	num, shift := t, uint(0)
	for _, sf := range suffixes {
		if strings.HasSuffix(t, sf.text) {
			num, shift = strings.TrimSpace(strings.TrimSuffix(t, sf.text)), sf.shift
			break
		}
	}
	if shift == 0 {
		lower := strings.ToLower(t)
		for amb, want := range ambiguous {
			if strings.HasSuffix(lower, amb) {
				n := strings.TrimSpace(t[:len(t)-len(amb)])
				return 0, fmt.Errorf("%q is ambiguous (1000 or 1024?): write %s%s for binary units, or the exact byte count", s, n, want)
			}
		}
		if strings.HasSuffix(t, "k") || strings.HasSuffix(t, "m") || strings.HasSuffix(t, "g") {
			n := strings.TrimSpace(t[:len(t)-1])
			return 0, fmt.Errorf("%q: unknown suffix %q: write %s%s (binary) or %s%s", s, t[len(t)-1:], n, strings.ToUpper(t[len(t)-1:]), n, strings.ToUpper(t[len(t)-1:])+"iB")
		}
	}
	if num == "" {
		return 0, fmt.Errorf("%q: missing number before the unit", s)
	}
	v, err := parseNumber(num)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", s, err)
	}
	if shift > 0 {
		hi, lo := bits.Mul64(v, 1<<shift)
		if hi != 0 {
			return 0, fmt.Errorf("%q: %w", s, ErrOverflow)
		}
		v = lo
	}
	return v, nil
}

func parseNumber(n string) (uint64, error) {
	n = strings.ReplaceAll(n, "_", "")
	base := 10
	digits := n
	switch {
	case strings.HasPrefix(n, "0x") || strings.HasPrefix(n, "0X"):
		base, digits = 16, n[2:]
	case strings.HasPrefix(n, "0b") || strings.HasPrefix(n, "0B"):
		base, digits = 2, n[2:]
	}
	if digits == "" {
		return 0, errors.New("missing digits")
	}
	v, err := strconv.ParseUint(digits, base, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return 0, ErrOverflow
		}
		return 0, fmt.Errorf("not a number (write decimal, 0x hex, or a size such as 64MiB)")
	}
	return v, nil
}

// units are the binary units sizes are printed in, largest first.
var units = []struct {
	name string
	val  uint64
}{{"TiB", TiB}, {"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}}

// Human prints a size in the largest binary unit that divides it exactly ("64 MiB", "1.5 GiB" is
// never produced: "1536 MiB"), falling back to bytes.
func Human(v uint64) string {
	if v == 0 {
		return "0 B"
	}
	for _, u := range units {
		if v%u.val == 0 {
			return fmt.Sprintf("%d %s", v/u.val, u.name)
		}
	}
	return fmt.Sprintf("%d B", v)
}

// Approx prints a size rounded to one decimal in the largest unit not above it ("47.9 MiB"),
// for places where exactness would hurt reading (maps, tables of free space).
func Approx(v uint64) string {
	for _, u := range units {
		if v >= u.val {
			if v%u.val == 0 {
				return fmt.Sprintf("%d %s", v/u.val, u.name)
			}
			return fmt.Sprintf("%.1f %s", float64(v)/float64(u.val), u.name)
		}
	}
	return fmt.Sprintf("%d B", v)
}

// Hex prints an address as the kernel does in its reserved-memory messages.
func Hex(v uint64) string { return fmt.Sprintf("0x%x", v) }

// Compact prints a size in the form Parse reads back and a person would write ("64MiB",
// "0x1234" when no binary unit divides it).
func Compact(v uint64) string {
	if v == 0 {
		return "0"
	}
	for _, u := range units {
		if v%u.val == 0 {
			return fmt.Sprintf("%d%s", v/u.val, u.name)
		}
	}
	return fmt.Sprintf("0x%x", v)
}
