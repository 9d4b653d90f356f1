package manifest

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"reflect"
	"strings"
	"testing"
)

// refDecode is what Decode did before decode.go: encoding/json with unknown fields refused.
// rest is what follows the first value.
func refDecode(b []byte) (m Manifest, rest []byte, err error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err = dec.Decode(&m)
	if err == nil {
		rest = b[dec.InputOffset():]
	}
	return m, rest, err
}

// sameAsEncodingJSON fails unless decodeJSON and encoding/json agree on b: both refuse it, or
// both accept it with the same value. decodeJSON may refuse what encoding/json takes only for
// its two documented reasons: a field given twice, data after the object.
func sameAsEncodingJSON(t *testing.T, b []byte) (accepted bool) {
	t.Helper()
	want, rest, refErr := refDecode(b)
	var got Manifest
	err := decodeJSON(b, &got)
	switch {
	case refErr != nil && err == nil:
		t.Fatalf("decodeJSON accepts what encoding/json refuses (%v):\n%q", refErr, b)
	case refErr == nil && err != nil:
		if strings.Contains(err.Error(), "given twice") {
			return false
		}
		if strings.Contains(err.Error(), "trailing data") && len(bytes.TrimLeft(rest, " \t\r\n")) > 0 {
			return false
		}
		t.Fatalf("decodeJSON refuses what encoding/json accepts: %v\n%q", err, b)
	case refErr == nil && !reflect.DeepEqual(got, want):
		t.Fatalf("decodeJSON and encoding/json differ on %q:\n got %#v\nwant %#v", b, got, want)
	}
	return err == nil
}

// pieces of hostile text for generated strings: escapes, surrogates (paired, lone, reversed),
// invalid UTF-8, control characters, quotes.
var (
	pieces = []string{"a", "video@70000000", "é", "\u2028", `\u00e9`, `\ud83d\ude00`, `\ud83d`, `\ude00\ud83d`, `\ud83dx`,
		`\ud83d\u0041`, "\xff", "\xed\xa0\x80", "\xef\xbf\xbd", `\"`, `\\`, `\/`, `\b\f\n\r\t`, " ", `\uD83D\uDE00`}
	badPieces = []string{`\u00`, `\x`, "\x01", `\u+123`, `\u0x12`, `\u-123`, `\u_123`, "\n"}
)

func randText(rng *rand.Rand) string {
	var b strings.Builder
	for i := rng.Intn(4); i > 0; i-- {
		if rng.Intn(40) == 0 {
			b.WriteString(badPieces[rng.Intn(len(badPieces))])
		} else {
			b.WriteString(pieces[rng.Intn(len(pieces))])
		}
	}
	return b.String()
}

var (
	numbers    = []string{"0", "1", "4096", "18446744073709551615", "null"}
	badNumbers = []string{"18446744073709551616", "-1", "-0", "1.0", "1e3", "01", "0x10", "1E+2", "-", "2.", ".5", `"1"`, "true"}
)

var jsonValues = []string{`"x"`, "7", "true", "false", "null", "[]", "{}", `["a", null]`, `[{}]`, `[null]`, "nul", "tru", `"`}

// randManifest writes a manifest in JSON with random spellings: keys in another case or
// folded (the Kelvin sign for k, long s for s), values of the wrong type, nulls, odd numbers
// and strings, unknown and repeated keys, white space.
func randManifest(rng *rand.Rand) []byte {
	var b bytes.Buffer
	key := func(k string) string {
		switch rng.Intn(12) {
		case 0:
			k = strings.ToUpper(k)
		case 1:
			k = strings.Replace(strings.Replace(k, "k", "\u212a", 1), "s", "\u017f", 1)
		}
		if rng.Intn(80) == 0 {
			k += "x"
		}
		return `"` + k + `"`
	}
	val := func(kind byte) string {
		if rng.Intn(60) == 0 {
			return jsonValues[rng.Intn(len(jsonValues))]
		}
		switch kind {
		case 's':
			return `"` + randText(rng) + `"`
		case 'n':
			if rng.Intn(30) == 0 {
				return badNumbers[rng.Intn(len(badNumbers))]
			}
			return numbers[rng.Intn(len(numbers))]
		case 'b':
			return []string{"true", "false", "null"}[rng.Intn(3)]
		default: // list of strings
			var e []string
			for i := rng.Intn(3); i > 0; i-- {
				e = append(e, `"`+randText(rng)+`"`)
			}
			return "[" + strings.Join(e, ",") + "]"
		}
	}
	obj := func(fields string) string {
		var kv []string
		for _, f := range strings.Fields(fields) {
			if rng.Intn(6) == 0 {
				continue
			}
			name, kind, _ := strings.Cut(f, ":")
			n := 1
			if rng.Intn(80) == 0 {
				n = 2
			}
			for ; n > 0; n-- {
				kv = append(kv, key(name)+":"+val(kind[0]))
			}
		}
		rng.Shuffle(len(kv), func(i, j int) { kv[i], kv[j] = kv[j], kv[i] })
		return "{" + strings.Join(kv, ",\n ") + "}"
	}
	list := func(fields string) string {
		if rng.Intn(10) == 0 {
			return "null"
		}
		var e []string
		for i := rng.Intn(3); i > 0; i-- {
			if rng.Intn(10) == 0 {
				e = append(e, "null")
			} else {
				e = append(e, obj(fields))
			}
		}
		return "[" + strings.Join(e, ", ") + "]"
	}
	const pool = "name:s node:s kind:s base:n size:n fixed:b no_map:b reusable:b default_cma:b"
	const heap = "name:s provider:s kind:s pool:s base:n size:n fixed:b mappable:b group:s mode:s aliases:l"
	top := obj("generator:s board:s arch:s kernel_version:s modules:l heap_node:s cma_total:n")
	top = strings.TrimSuffix(top, "}")
	if top != "{" {
		top += ","
	}
	b.WriteString(top + ` "pools": ` + list(pool) + `, "heaps": ` + list(heap) + "}")
	switch rng.Intn(10) {
	case 0:
		b.WriteString(" \n")
	case 1:
		b.WriteString(" {}")
	case 2:
		b.WriteString("]")
	}
	return b.Bytes()
}

// TestDecodeMatchesEncodingJSON: the hand decoder gives what encoding/json gives, on DESIGN.md's
// example, on generated manifests and on random damage to both.
func TestDecodeMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	inputs := [][]byte{[]byte(designExample), []byte("null"), []byte(""), []byte("  "), []byte("[]"), []byte(`{"pools": null}`),
		[]byte(`{"modules": []}`), []byte(`{"heaps": [null]}`), []byte(`{"Board": "x", "BOARD": "y"}`), []byte(`{"board": "a", "board": "b"}`)}
	for i := 0; i < 3000; i++ {
		inputs = append(inputs, randManifest(rng))
	}
	accepted, refused := 0, 0
	for i, in := range inputs {
		for j := 0; j < 4; j++ {
			b := in
			if j > 0 { // damaged copies: a flipped, dropped or inserted byte
				b = bytes.Clone(in)
				if len(b) == 0 {
					continue
				}
				k := rng.Intn(len(b))
				switch j {
				case 1:
					b[k] ^= byte(1 << rng.Intn(8))
				case 2:
					b = append(b[:k], b[k+1:]...)
				case 3:
					const ins = `"{}[],:\ 0-e.n`
					b = append(b[:k], append([]byte{ins[rng.Intn(len(ins))]}, b[k:]...)...)
				}
			}
			if sameAsEncodingJSON(t, b) {
				accepted++
			} else {
				refused++
			}
		}
		if i == 0 && !sameAsEncodingJSON(t, in) {
			t.Fatal("DESIGN.md's example refused")
		}
	}
	// Both sides must have been exercised, or the comparison proves little.
	if accepted < 500 || refused < 500 {
		t.Fatalf("accepted %d, refused %d: the generator is off", accepted, refused)
	}
}

func TestDecodeErrorsSayWhereAndWhy(t *testing.T) {
	tests := []struct{ in, want string }{
		{"{\n  \"board\": 1\n}", "line 2 column 12: cannot unmarshal number into field board of type string"},
		{`{"cma_total": 1.5}`, "cannot unmarshal number 1.5 into field cma_total of type uint64"},
		{`{"board": "a", "BOARD": "b"}`, `manifest: board given twice (key "BOARD")`},
		{`{"pools": [{"size": 1, "size": 2}]}`, `pool: size given twice`},
		{`{"heaps": [{"nope": 1}]}`, `json: unknown field "nope"`},
		{`{} ]`, "line 1 column 4: trailing data after the JSON object"},
		{"{\"board\": \"a\x01\"}", "control character 0x01 in a string"},
		{`{"board": "\q"}`, `invalid escape \q`},
		{`[]`, "the manifest is a JSON object, not array"},
		{`{"board": "a"`, `want ',' or '}' after the value of "board"`},
		{`{"board": `, "unexpected end of input"},
	}
	for _, tt := range tests {
		var m Manifest
		err := decodeJSON([]byte(tt.in), &m)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.in, err, tt.want)
		}
	}
}

// FuzzDecode: no input panics the decoder, and it agrees with encoding/json.
func FuzzDecode(f *testing.F) {
	rng := rand.New(rand.NewSource(1))
	f.Add([]byte(designExample))
	for i := 0; i < 20; i++ {
		f.Add(randManifest(rng))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sameAsEncodingJSON(t, b)
	})
}
