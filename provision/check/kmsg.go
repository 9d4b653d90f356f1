package check

import (
	"strings"

	"github.com/dtheap/dtheap/internal/kmsg"
)

// readKmsg returns the kernel log's messages (text only) from root/dev/kmsg.
func readKmsg(name string) ([]string, error) { return kmsg.Read(name, 8<<20, 100000) }

// grepLog returns the lines containing every one of subs, keeping at most the last max.
func grepLog(lines []string, max int, subs ...string) []string {
	var out []string
next:
	for _, l := range lines {
		for _, s := range subs {
			if !strings.Contains(l, s) {
				continue next
			}
		}
		out = append(out, l)
	}
	if len(out) > max {
		out = out[len(out)-max:]
	}
	return out
}
