package board

import (
	"path/filepath"
	"testing"

	"github.com/dtheap/dtheap/internal/testfile"
)

// TestFirmwareInserted: which firmware regions are inserted (in the kernel's tree, not written
// by dtheap) and which are emitted, explicit and by default. On riscv64 a region named as
// OpenSBI names its inserted nodes is inserted unless the board says otherwise; elsewhere, and
// under any other name, nothing is inserted by default.
func TestFirmwareInserted(t *testing.T) {
	tests := []struct {
		name, arch, entry string
		inserted, emit    bool
	}{
		{"riscv64 mmode_resv0, emit: false", "riscv64", "{name: mmode_resv0, base: 0x80000000, size: 512KiB, emit: false}", true, false},
		{"riscv64 mmode_resv1, nothing said", "riscv64", "{name: mmode_resv1, base: 0x80000000, size: 512KiB}", true, false},
		{"riscv64 mmode_pmp0 (OpenSBI before v1.0)", "riscv64", "{name: mmode_pmp0, base: 0x80000000, size: 512KiB}", true, false},
		{"riscv64 mmode_resv0, emit: true", "riscv64", "{name: mmode_resv0, base: 0x80000000, size: 512KiB, emit: true}", false, true},
		{"riscv64 mmode_resv0, inserted: false", "riscv64", "{name: mmode_resv0, base: 0x80000000, size: 512KiB, inserted: false}", false, true},
		{"riscv64 mmode_resv without a number", "riscv64", "{name: mmode_resv, base: 0x80000000, size: 512KiB}", false, true},
		{"riscv64 mmode_resv0x", "riscv64", "{name: mmode_resv0x, base: 0x80000000, size: 512KiB}", false, true},
		{"riscv64 other name", "riscv64", "{name: sbi, base: 0x80000000, size: 512KiB, emit: false}", false, false},
		{"arm64 mmode_resv0", "arm64", "{name: mmode_resv0, base: 0x80000000, size: 512KiB}", false, true},
		{"arm64 optee, inserted: true", "arm64", "{name: optee, base: 0x80000000, size: 512KiB, inserted: true}", true, false},
	}
	write := testfile.Writer(t, t.TempDir())
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "board: b\narch: " + tt.arch + "\nkernel: {version: \"6.1\"}\nmemory:\n  - {name: dram, base: 0x80000000, size: 1GiB}\nfirmware:\n  - " + tt.entry + "\n"
			b, findings, err := Load(write(filepath.Base(t.Name())+string(rune('a'+i))+".yaml", src), Options{})
			if err != nil || b == nil {
				t.Fatalf("Load: %v %v", err, findings)
			}
			f := b.Firmware[0]
			if f.Inserted != tt.inserted || f.Emit != tt.emit {
				t.Errorf("inserted %v, emit %v; want %v, %v", f.Inserted, f.Emit, tt.inserted, tt.emit)
			}
		})
	}
}
