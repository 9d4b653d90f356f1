package size

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    uint64
		wantErr string
	}{
		{"4096", 4096, ""},
		{"0x40000000", 0x40000000, ""},
		{"0X10", 16, ""},
		{"64M", 64 << 20, ""},
		{"64MiB", 64 << 20, ""},
		{"64 MiB", 64 << 20, ""},
		{"1G", 1 << 30, ""},
		{"2GiB", 2 << 30, ""},
		{"4K", 4096, ""},
		{"4KiB", 4096, ""},
		{"1T", 1 << 40, ""},
		{"0x1_0000", 0x10000, ""},
		{"0b100", 4, ""},
		{"18446744073709551615", 1<<64 - 1, ""},
		{"18446744073709551616", 0, "64 bits"},
		{"0x10000000000000000", 0, "64 bits"},
		{"16777216T", 0, "64 bits"},
		{"17179869184G", 0, "64 bits"},
		{"64MB", 0, "write 64MiB"},
		{"64mb", 0, "write 64MiB"},
		{"4kB", 0, "write 4KiB"},
		{"1GB", 0, "write 1GiB"},
		{"4k", 0, "write 4K"},
		{"", 0, "empty"},
		{"MiB", 0, "missing number"},
		{"12abc", 0, "not a number"},
		{"-1", 0, "not a number"},
		{"0x", 0, "missing digits"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse(%q) error = %v, want it to mention %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %#x, %v; want %#x", tt.in, got, err, tt.want)
		}
	}
}

func TestPrint(t *testing.T) {
	tests := []struct {
		v                      uint64
		human, approx, compact string
	}{
		{0, "0 B", "0 B", "0"},
		{4096, "4 KiB", "4 KiB", "4KiB"},
		{64 << 20, "64 MiB", "64 MiB", "64MiB"},
		{1536 << 20, "1536 MiB", "1.5 GiB", "1536MiB"},
		{1000, "1000 B", "1000 B", "0x3e8"},
		{3 << 30, "3 GiB", "3 GiB", "3GiB"},
	}
	for _, tt := range tests {
		if g := Human(tt.v); g != tt.human {
			t.Errorf("Human(%d) = %q, want %q", tt.v, g, tt.human)
		}
		if g := Approx(tt.v); g != tt.approx {
			t.Errorf("Approx(%d) = %q, want %q", tt.v, g, tt.approx)
		}
		if g := Compact(tt.v); g != tt.compact {
			t.Errorf("Compact(%d) = %q, want %q", tt.v, g, tt.compact)
		}
		if back, err := Parse(Compact(tt.v)); err != nil || back != tt.v {
			t.Errorf("Parse(Compact(%d)) = %d, %v", tt.v, back, err)
		}
	}
}
