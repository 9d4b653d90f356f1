package kmodel

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a kernel major.minor; the patch level never changes what dtheap models.
type Version struct{ Major, Minor int }

func (v Version) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// Less reports whether v is an older kernel than o.
func (v Version) Less(o Version) bool {
	return v.Major < o.Major || (v.Major == o.Major && v.Minor < o.Minor)
}

// AtLeast reports whether v is o or newer.
func (v Version) AtLeast(o Version) bool { return !v.Less(o) }

// ParseVersion reads the major.minor at the start of a kernel version or release string:
// "6.1", "6.12.117", "7.3.4-arm64", "6.13.0-rc1+".
func ParseVersion(s string) (Version, error) {
	s = strings.TrimSpace(s)
	maj, rest, ok := strings.Cut(s, ".")
	if !ok {
		return Version{}, fmt.Errorf("kernel version %q: want major.minor, e.g. 6.12", s)
	}
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(rest[:end])
	if err1 != nil || err2 != nil || a < 0 || a > 99 || b > 999 {
		return Version{}, fmt.Errorf("kernel version %q: want major.minor, e.g. 6.12", s)
	}
	return Version{a, b}, nil
}
