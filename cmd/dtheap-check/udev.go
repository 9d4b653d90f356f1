package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/dtheap/dtheap/internal/escape"
	"github.com/dtheap/dtheap/provision/check"
)

// startUdev returns the device-manager step for --udevd: start systemd-udevd as a daemon, as
// an initramfs does (initramfs-tools: systemd-udevd --daemon; udevadm trigger; udevadm
// settle), then replay the add events of the dma_heap devices that appeared before it
// (coldplug) and wait until it has handled them, so the rules dtheap access wrote have been
// applied when the heaps are checked.
func startUdev(udevd, udevadm string) func(ctx context.Context) (check.Status, string) {
	return func(ctx context.Context) (check.Status, string) {
		start := time.Now()
		// udevd keeps its database and control socket under /run/udev.
		if err := os.MkdirAll("/run/udev", 0o755); err != nil {
			return check.Fail, err.Error()
		}
		steps := [][]string{
			{udevd, "--daemon"},
			{udevadm, "trigger", "--type=devices", "--action=add", "--subsystem-match=dma_heap"},
			{udevadm, "settle", "--timeout=5"},
		}
		for _, argv := range steps {
			out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
			if err != nil {
				return check.Fail, fmt.Sprintf("%s: %v: %s", strings.Join(argv, " "), err, escape.Line(strings.TrimSpace(string(out))))
			}
		}
		return check.Pass, fmt.Sprintf("%s started, dma_heap devices triggered and settled in %v", udevd, time.Since(start).Round(time.Millisecond))
	}
}
