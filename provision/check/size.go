package check

import "fmt"

// humanSize prints a byte count the way the kernel and DESIGN.md speak of sizes: binary units,
// exact when the value is a whole number of them, else with the byte count.
func humanSize(n uint64) string {
	units := []struct {
		shift uint
		name  string
	}{{40, "TiB"}, {30, "GiB"}, {20, "MiB"}, {10, "KiB"}}
	for _, u := range units {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d %s", n>>u.shift, u.name)
		}
	}
	for _, u := range units {
		if n >= 1<<u.shift {
			return fmt.Sprintf("%.2f %s (%d bytes)", float64(n)/float64(uint64(1)<<u.shift), u.name, n)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}
