package fdtsafe

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/u-root/u-root/pkg/dt"
)

// repoBlobs are the devicetree blobs in the repository's testdata: QEMU's virt tree, the
// lint seeds, real boards.
func repoBlobs(t testing.TB) map[string][]byte {
	t.Helper()
	var names []string
	for _, g := range []string{"../../dtbind/testdata/*.dtb", "../../lint/testdata/seeds/*.dtb"} {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, m...)
	}
	if len(names) < 10 {
		t.Fatalf("found only %d blobs: the test would prove little", len(names))
	}
	out := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(n)] = b
	}
	return out
}

// sameAsReadFDT fails unless Read and pkg/dt's ReadFDT give the same tree. Only called on
// blobs Read accepted, whose lengths are checked, so ReadFDT cannot run away on them.
func sameAsReadFDT(t *testing.T, name string, blob []byte, got *dt.FDT) {
	t.Helper()
	want, err := dt.ReadFDT(bytes.NewReader(blob[:got.Header.TotalSize]))
	if err != nil && got.Header.SizeDtStrings == 0 && got.Header.OffDtStrings == got.Header.TotalSize {
		return // the one blob pkg/dt cannot read: no property at all (see the package comment)
	}
	if err != nil {
		t.Fatalf("%s: Read accepted a blob pkg/dt refuses: %v", name, err)
	}
	// pkg/dt builds a name a byte at a time as string(byte), which encodes bytes above 0x7f
	// as runes; Read keeps the bytes. Compare in pkg/dt's spelling.
	got = &dt.FDT{Header: got.Header, ReserveEntries: got.ReserveEntries, RootNode: runeNames(got.RootNode)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: Read and pkg/dt's ReadFDT differ:\n got header %+v, %d reserve entries\nwant header %+v, %d reserve entries", name, got.Header, len(got.ReserveEntries), want.Header, len(want.ReserveEntries))
	}
}

func runeNames(n *dt.Node) *dt.Node {
	c := *n
	var b strings.Builder
	for i := 0; i < len(n.Name); i++ {
		b.WriteRune(rune(n.Name[i]))
	}
	c.Name = b.String()
	c.Children = nil
	for _, ch := range n.Children {
		c.Children = append(c.Children, runeNames(ch))
	}
	return &c
}

// TestReadMatchesPkgDT: every blob in the repository gives the tree pkg/dt's ReadFDT gives,
// node for node and byte for byte.
func TestReadMatchesPkgDT(t *testing.T) {
	for name, blob := range repoBlobs(t) {
		f, err := Read(blob)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sameAsReadFDT(t, name, blob, f)
	}
}

// TestReadMutatedBlobs: random damage to real blobs never panics, and whatever Read still
// accepts reads as pkg/dt reads it.
func TestReadMutatedBlobs(t *testing.T) {
	rng := rand.New(rand.NewSource(17))
	accepted := 0
	for name, blob := range repoBlobs(t) {
		for i := 0; i < 300; i++ {
			b := bytes.Clone(blob)
			switch i % 3 {
			case 0:
				b = b[:rng.Intn(len(b))]
			default:
				for j := 0; j < 1+rng.Intn(4); j++ {
					b[rng.Intn(len(b))] ^= byte(1 << rng.Intn(8))
				}
			}
			f, err := Read(b)
			if err == nil {
				accepted++
				sameAsReadFDT(t, name, b, f)
			}
		}
	}
	if accepted == 0 {
		t.Fatal("no mutated blob was accepted: the comparison never ran")
	}
}

// Property values are capped at their own length: appending to one must not overwrite the
// next property's bytes.
func TestPropertyValuesAreCapped(t *testing.T) {
	blob := repoBlobs(t)["qemu-virt-1g.dtb"]
	f, err := Read(blob)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := Read(blob)
	for _, p := range f.RootNode.Properties {
		_ = append(p.Value, 0xff, 0xff, 0xff, 0xff)
	}
	if !reflect.DeepEqual(f, before) {
		t.Fatal("appending to a property value changed another property")
	}
}

// builder writes a minimal version-17 blob whose structure block the test spells out.
type builder struct {
	strs, st []byte
}

func (b *builder) tok(v ...uint32) *builder {
	for _, x := range v {
		b.st = binary.BigEndian.AppendUint32(b.st, x)
	}
	return b
}

func (b *builder) node(name string) *builder {
	b.tok(fdtBeginNode)
	b.st = append(b.st, name...)
	b.st = append(b.st, 0)
	for len(b.st)%4 != 0 {
		b.st = append(b.st, 0)
	}
	return b
}

func (b *builder) prop(name string, val []byte) *builder {
	off := uint32(len(b.strs))
	b.strs = append(append(b.strs, name...), 0)
	b.tok(fdtProp, uint32(len(val)), off)
	b.st = append(b.st, val...)
	for len(b.st)%4 != 0 {
		b.st = append(b.st, 0)
	}
	return b
}

func (b *builder) blob(version, lastComp uint32) []byte {
	be := binary.BigEndian
	rsv := make([]byte, 16) // the terminating entry
	offRsv := uint32(fdtHeaderSize)
	offStruct := offRsv + uint32(len(rsv))
	offStrings := offStruct + uint32(len(b.st))
	total := offStrings + uint32(len(b.strs))
	h := make([]byte, fdtHeaderSize)
	for i, v := range []uint32{dt.Magic, total, offStruct, offStrings, offRsv, version, lastComp, 0, uint32(len(b.strs)), uint32(len(b.st))} {
		be.PutUint32(h[4*i:], v)
	}
	return append(append(append(h, rsv...), b.st...), b.strs...)
}

func TestReadRefuses(t *testing.T) {
	good := func() *builder { return (&builder{}).node("").prop("model", []byte("x\x00")) }
	nested := func(depth int) *builder {
		b := &builder{}
		for i := 0; i < depth; i++ {
			b.node("n")
		}
		for i := 0; i < depth; i++ {
			b.tok(fdtEndNode)
		}
		return b.tok(fdtEnd)
	}
	tests := []struct {
		name    string
		blob    []byte
		wantErr string // "" = accepted
	}{
		{"minimal", good().tok(fdtEndNode, fdtEnd).blob(17, 16), ""},
		{"version 18 readable as 17", good().tok(fdtEndNode, fdtEnd).blob(18, 17), ""},
		{"version 18 not readable as 17", good().tok(fdtEndNode, fdtEnd).blob(18, 18), "not compatible with version 17"},
		{"version 16", good().tok(fdtEndNode, fdtEnd).blob(16, 16), "version 16 is not supported"},
		{"data after FDT_END", good().tok(fdtEndNode, fdtEnd, fdtNop).blob(17, 16), "4 bytes after FDT_END"},
		{"two roots", good().tok(fdtEndNode).node("").tok(fdtEndNode, fdtEnd).blob(17, 16), "more than one root"},
		{"end inside a node", good().tok(fdtEnd).blob(17, 16), "ends inside a node"},
		{"unbalanced end", good().tok(fdtEndNode, fdtEndNode, fdtEnd).blob(17, 16), "unbalanced end of node"},
		{"unknown token", good().tok(7, fdtEndNode, fdtEnd).blob(17, 16), "unknown token 0x7"},
		{"property outside a node", (&builder{}).prop("x", nil).tok(fdtEnd).blob(17, 16), "property outside a node"},
		{"no FDT_END", good().tok(fdtEndNode).blob(17, 16), "without FDT_END"},
		{"nesting 64", nested(64).blob(17, 16), ""},
		{"no property at all", (&builder{}).node("").tok(fdtEndNode, fdtEnd).blob(17, 16), ""},
		{"name bytes kept", (&builder{}).node("").node("r\xe9gion").tok(fdtEndNode, fdtEndNode, fdtEnd).blob(17, 16), ""},
		{"nesting 65", nested(65).blob(17, 16), "nested deeper than 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Read(tt.blob)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				sameAsReadFDT(t, tt.name, tt.blob, f)
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}

	f, err := Read((&builder{}).node("").node("r\xe9gion").tok(fdtEndNode, fdtEndNode, fdtEnd).blob(17, 16))
	if err != nil || f.RootNode.Children[0].Name != "r\xe9gion" {
		t.Fatalf("node name bytes: %v", err)
	}
	// A property name must end inside the strings block (pkg/dt: "does not having
	// terminating null").
	b := good().tok(fdtEndNode, fdtEnd)
	b.strs = b.strs[:len(b.strs)-1] // drop the NUL of "model"
	if _, err := Read(b.blob(17, 16)); err == nil || !strings.Contains(err.Error(), "not terminated in the strings block") {
		t.Fatalf("unterminated property name: %v", err)
	}
	// The structure block must be 4-byte aligned.
	blob := good().tok(fdtEndNode, fdtEnd).blob(17, 16)
	be := binary.BigEndian
	mis := append(append(bytes.Clone(blob[:56]), 0, 0), blob[56:]...)
	be.PutUint32(mis[4:], be.Uint32(blob[4:])+2)   // total
	be.PutUint32(mis[8:], be.Uint32(blob[8:])+2)   // struct
	be.PutUint32(mis[12:], be.Uint32(blob[12:])+2) // strings
	if _, err := Read(mis); err == nil || !strings.Contains(err.Error(), "not 4-byte aligned") {
		t.Fatalf("misaligned structure block: %v", err)
	}
}

// FuzzRead: no input panics Read, and what it accepts reads as pkg/dt reads it.
func FuzzRead(f *testing.F) {
	for _, b := range repoBlobs(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if fdt, err := Read(b); err == nil {
			sameAsReadFDT(t, "fuzz", b, fdt)
		}
	})
}
