package check

import (
	"fmt"
	"testing"
	"unsafe"
)

// buffer returns n bytes whose first byte is mis bytes past an 8-byte boundary, filled with fill.
func buffer(n, mis int, fill byte) []byte {
	raw := make([]byte, n+16)
	off := (8 - int(uintptr(unsafe.Pointer(&raw[0]))%8)) % 8
	mem := raw[off+mis : off+mis+n]
	for i := range mem {
		mem[i] = fill
	}
	return mem
}

// Lengths around the word size, a page, the 256-byte pattern period and the 256-page wrap of
// the page term; misalignments 0 (the word path, as for a real mapping) and odd (the byte path).
var (
	memLengths = []int{0, 1, 7, 8, 9, 15, 16, 17, 255, 256, 257, 4095, 4096, 4097, 4096 + 3, 64<<10 + 5, 1<<20 + 4096 + 3}
	memMis     = []int{0, 1, 3}
)

// positions worth a bad byte in a buffer of n bytes: the ends, odd offsets inside a word, the
// first byte of the tail, page boundaries.
func positions(n int) []int {
	var p []int
	for _, i := range []int{0, 1, 3, 7, 8, 9, 0x1235, 4095, 4096, 4097, 1<<20 + 1, n/8*8 - 1, n / 8 * 8, n - 2, n - 1} {
		if i >= 0 && i < n {
			p = append(p, i)
		}
	}
	return p
}

func TestWordsAliasAlignedMemory(t *testing.T) {
	mem := buffer(20, 0, 0)
	w := words(mem)
	if len(w) != 2 || unsafe.Pointer(&w[0]) != unsafe.Pointer(&mem[0]) {
		t.Fatalf("words of an aligned 20-byte buffer: %d words", len(w))
	}
	if w := words(buffer(20, 1, 0)); w != nil {
		t.Fatalf("words of a misaligned buffer: %d words, want none", len(w))
	}
}

func TestFirstNonZero(t *testing.T) {
	for _, n := range memLengths {
		for _, mis := range memMis {
			mem := buffer(n, mis, 0)
			if got := firstNonZero(mem); got != -1 {
				t.Fatalf("len %d mis %d: zeroed buffer: got %d, want -1", n, mis, got)
			}
			for _, pos := range positions(n) {
				for _, v := range []byte{0x01, 0x5a, 0x80} {
					mem[pos] = v
					if pos+9 < n {
						mem[pos+9] = 0xff // a later bad byte must not hide the first
					}
					if got := firstNonZero(mem); got != pos {
						t.Errorf("len %d mis %d: byte 0x%02x at %#x: got %#x", n, mis, v, pos, got)
					}
					mem[pos] = 0
					if pos+9 < n {
						mem[pos+9] = 0
					}
				}
			}
		}
	}
}

func TestFillPattern(t *testing.T) {
	for _, n := range memLengths {
		for _, mis := range memMis {
			mem := buffer(n, mis, 0xa5)
			fillPattern(mem)
			for i, b := range mem {
				if b != pattern(i) {
					t.Fatalf("len %d mis %d: byte %#x is 0x%02x, pattern 0x%02x", n, mis, i, b, pattern(i))
				}
			}
			if got := firstPatternMismatch(mem); got != -1 {
				t.Fatalf("len %d mis %d: filled buffer: mismatch at %#x", n, mis, got)
			}
		}
	}
}

func TestFirstPatternMismatch(t *testing.T) {
	for _, n := range memLengths {
		for _, mis := range memMis {
			mem := buffer(n, mis, 0)
			fillPattern(mem)
			for _, pos := range positions(n) {
				for _, flip := range []byte{0x01, 0x80, 0xff} {
					mem[pos] ^= flip
					if pos+9 < n {
						mem[pos+9] ^= 0x10
					}
					if got := firstPatternMismatch(mem); got != pos {
						t.Errorf("len %d mis %d: byte %#x flipped by 0x%02x: got %#x", n, mis, pos, flip, got)
					}
					mem[pos] ^= flip
					if pos+9 < n {
						mem[pos+9] ^= 0x10
					}
				}
			}
		}
	}
}

// A page that reads back another page's data (aliasing) differs from the pattern only in the
// per-page term.
func TestFirstPatternMismatchAliasedPage(t *testing.T) {
	for _, mis := range memMis {
		mem := buffer(3*4096, mis, 0)
		fillPattern(mem)
		copy(mem[2*4096:], mem[4096:2*4096])
		if got := firstPatternMismatch(mem); got != 2*4096 {
			t.Errorf("mis %d: page 2 holds page 1's data: got %#x, want 0x2000", mis, got)
		}
	}
}

func BenchmarkAllocCheckLoops(b *testing.B) {
	for _, mis := range []int{0, 1} {
		b.Run(fmt.Sprintf("1MiB/mis%d", mis), func(b *testing.B) {
			mem := buffer(1<<20, mis, 0)
			b.SetBytes(1 << 20)
			for range b.N {
				if firstNonZero(mem) >= 0 {
					b.Fatal("not zero")
				}
				fillPattern(mem)
				if firstPatternMismatch(mem) >= 0 {
					b.Fatal("mismatch")
				}
				clear(mem)
			}
		})
	}
}
