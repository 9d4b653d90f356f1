package check

import (
	"bytes"
	"encoding/binary"
	"unsafe"
)

// The alloc check's three passes over the mapped buffer (zero check, pattern write, read back),
// a 64-bit word at a time where the buffer is 8-byte aligned (a mapping always is) and a byte at
// a time for the tail and for a misaligned buffer. Every byte is still checked against the same
// per-byte pattern; a word that differs is searched byte by byte so that failures still name the
// first bad offset.

// patternPeriod: pattern(i) is byte((i%patternPeriod)*131+7) ^ byte(i>>12), because byte(i*131+7)
// only depends on i mod 256.
const patternPeriod = 256

// patternWords holds pattern(0..255) without the per-page term, as native-endian words: byte k
// of patternWords[w] is byte(8*w+k)*131+7 in memory order.
var patternWords = func() (w [patternPeriod / 8]uint64) {
	var b [patternPeriod]byte
	for i := range b {
		b[i] = byte(i*131 + 7)
	}
	for i := range w {
		w[i] = binary.NativeEndian.Uint64(b[8*i:])
	}
	return w
}()

// pageWords is the number of words in the 4 KiB over which byte(i>>12) stays the same; it is a
// multiple of len(patternWords), so each page's words start at patternWords[0].
const pageWords = 4096 / 8

// pageWord is the per-page term byte(i>>12) repeated in every byte of a word.
func pageWord(page int) uint64 { return uint64(byte(page)) * 0x0101010101010101 }

// words returns the 8-byte aligned part of mem as words: mem[:8*len(w)] aliases w, the rest is
// the tail. Empty when mem does not start on an 8-byte boundary.
func words(mem []byte) []uint64 {
	if len(mem) < 8 || uintptr(unsafe.Pointer(&mem[0]))%8 != 0 {
		return nil
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(&mem[0])), len(mem)/8)
}

// zeroBlock is what firstNonZero compares mem with, a block at a time.
var zeroBlock [4096]byte

// firstNonZero returns the offset of the first byte of mem that is not zero, or -1. Blocks are
// compared with bytes.Equal, whose arm64 assembly loads 32 bytes per instruction where the
// word loop loads 8: under TCG every load costs a software TLB lookup. Only a block that
// differs is searched a word at a time.
func firstNonZero(mem []byte) int {
	for off := 0; off < len(mem); off += len(zeroBlock) {
		end := min(off+len(zeroBlock), len(mem))
		if !bytes.Equal(mem[off:end], zeroBlock[:end-off]) {
			return off + firstNonZeroWords(mem[off:end])
		}
	}
	return -1
}

// firstNonZeroWords is firstNonZero a word at a time.
func firstNonZeroWords(mem []byte) int {
	w := words(mem)
	for i, v := range w {
		if v != 0 {
			return firstNonZeroBytes(mem[8*i:8*i+8], 8*i)
		}
	}
	return firstNonZeroBytes(mem[8*len(w):], 8*len(w))
}

func firstNonZeroBytes(mem []byte, off int) int {
	for i, b := range mem {
		if b != 0 {
			return off + i
		}
	}
	return -1
}

// fillPattern writes pattern(i) to every mem[i].
func fillPattern(mem []byte) {
	w := words(mem)
	for page := 0; page*pageWords < len(w); page++ {
		pw := pageWord(page)
		chunk := w[page*pageWords : min(len(w), (page+1)*pageWords)]
		for j := range chunk {
			chunk[j] = patternWords[j%len(patternWords)] ^ pw
		}
	}
	for i := 8 * len(w); i < len(mem); i++ {
		mem[i] = pattern(i)
	}
}

// firstPatternMismatch returns the offset of the first byte of mem that is not pattern(i), or -1.
func firstPatternMismatch(mem []byte) int {
	w := words(mem)
	for page := 0; page*pageWords < len(w); page++ {
		pw := pageWord(page)
		base := page * pageWords
		chunk := w[base:min(len(w), base+pageWords)]
		for j, v := range chunk {
			if v != patternWords[j%len(patternWords)]^pw {
				i := base + j
				return firstPatternMismatchBytes(mem[8*i:8*i+8], 8*i)
			}
		}
	}
	return firstPatternMismatchBytes(mem[8*len(w):], 8*len(w))
}

func firstPatternMismatchBytes(mem []byte, off int) int {
	for i, b := range mem {
		if b != pattern(off+i) {
			return off + i
		}
	}
	return -1
}
