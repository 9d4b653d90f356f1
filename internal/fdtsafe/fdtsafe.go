// Package fdtsafe reads a flattened devicetree blob with github.com/u-root/u-root/pkg/dt
// after checking it: ReadFDT trusts the header's block sizes and every property length, so a
// malformed blob can make it allocate gigabytes (FACTS.md section 4). Read checks the header
// against the blob's length and pre-scans the structure block before handing the blob over.
package fdtsafe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/u-root/u-root/pkg/dt"
)

const (
	fdtHeaderSize  = 40
	fdtBeginNode   = 1
	fdtEndNode     = 2
	fdtProp        = 3
	fdtNop         = 4
	fdtEnd         = 9
	maxBlob        = 64 << 20 // no real devicetree comes near this
	maxNodeNesting = 64
)

// Read parses a flattened devicetree blob, refusing malformed input with an error (never a
// panic, never an allocation larger than the blob).
func Read(blob []byte) (*dt.FDT, error) {
	if len(blob) > maxBlob {
		return nil, fmt.Errorf("devicetree blob is %d bytes: larger than any real tree (%d)", len(blob), maxBlob)
	}
	if len(blob) < fdtHeaderSize {
		return nil, fmt.Errorf("not a devicetree blob: %d bytes is shorter than the header", len(blob))
	}
	be := binary.BigEndian
	if be.Uint32(blob) != dt.Magic {
		return nil, fmt.Errorf("not a devicetree blob: magic 0x%08x, want 0x%08x", be.Uint32(blob), uint32(dt.Magic))
	}
	total := be.Uint32(blob[4:])
	offStruct, offStrings, offRsv := be.Uint32(blob[8:]), be.Uint32(blob[12:]), be.Uint32(blob[16:])
	version := be.Uint32(blob[20:])
	sizeStrings, sizeStruct := be.Uint32(blob[32:]), be.Uint32(blob[36:])
	if version < 17 {
		// Version 16 headers lack the size fields this reader relies on; dtc writes 17.
		return nil, fmt.Errorf("devicetree blob version %d is not supported (need 17: recompile with dtc)", version)
	}
	if uint64(total) > uint64(len(blob)) {
		return nil, fmt.Errorf("truncated devicetree blob: header says %d bytes, have %d", total, len(blob))
	}
	inside := func(off, size uint32, what string) error {
		if uint64(off)+uint64(size) > uint64(total) {
			return fmt.Errorf("malformed devicetree blob: %s block [%d, +%d) runs past the end (%d)", what, off, size, total)
		}
		return nil
	}
	if err := inside(offStruct, sizeStruct, "structure"); err != nil {
		return nil, err
	}
	if err := inside(offStrings, sizeStrings, "strings"); err != nil {
		return nil, err
	}
	if offRsv < fdtHeaderSize || offRsv%8 != 0 || offRsv >= total {
		return nil, fmt.Errorf("malformed devicetree blob: memory reservation block at %d", offRsv)
	}
	// The reservation block ends with an all-zero entry; make sure it does so inside the blob.
	for off := uint64(offRsv); ; off += 16 {
		if off+16 > uint64(total) {
			return nil, errors.New("malformed devicetree blob: memory reservation block is not terminated")
		}
		if be.Uint64(blob[off:]) == 0 && be.Uint64(blob[off+8:]) == 0 {
			if off+16 > uint64(offStruct) {
				return nil, errors.New("malformed devicetree blob: memory reservation block overlaps the structure block")
			}
			break
		}
	}
	if err := scanStruct(blob[offStruct:offStruct+sizeStruct], sizeStrings); err != nil {
		return nil, fmt.Errorf("malformed devicetree blob: %w", err)
	}
	f, err := dt.ReadFDT(bytes.NewReader(blob[:total]))
	if err != nil {
		return nil, fmt.Errorf("malformed devicetree blob: %w", err)
	}
	return f, nil
}

// scanStruct walks the structure block the way the reader will, checking every length before
// the reader allocates it.
func scanStruct(s []byte, sizeStrings uint32) error {
	be := binary.BigEndian
	depth, roots := 0, 0
	for off := 0; ; {
		if off+4 > len(s) {
			return errors.New("structure block ends without FDT_END")
		}
		tok := be.Uint32(s[off:])
		off += 4
		switch tok {
		case fdtBeginNode:
			if depth == 0 {
				roots++
				if roots > 1 {
					return errors.New("more than one root node")
				}
			}
			depth++
			if depth > maxNodeNesting {
				return fmt.Errorf("nodes nested deeper than %d", maxNodeNesting)
			}
			end := bytes.IndexByte(s[off:], 0)
			if end < 0 {
				return errors.New("unterminated node name")
			}
			off = align4(off + end + 1)
		case fdtEndNode:
			if depth == 0 {
				return errors.New("unbalanced end of node")
			}
			depth--
		case fdtProp:
			if depth == 0 {
				return errors.New("property outside a node")
			}
			if off+8 > len(s) {
				return errors.New("truncated property header")
			}
			n, nameoff := be.Uint32(s[off:]), be.Uint32(s[off+4:])
			off += 8
			if uint64(n) > uint64(len(s)-off) {
				return fmt.Errorf("property of %d bytes runs past the structure block", n)
			}
			if nameoff >= sizeStrings {
				return fmt.Errorf("property name offset %d outside the strings block", nameoff)
			}
			off = align4(off + int(n))
		case fdtNop:
		case fdtEnd:
			if depth != 0 || roots != 1 {
				return errors.New("structure block ends inside a node or without a root")
			}
			return nil
		default:
			return fmt.Errorf("unknown token 0x%x at offset %d", tok, off-4)
		}
	}
}

func align4(n int) int { return (n + 3) &^ 3 }
