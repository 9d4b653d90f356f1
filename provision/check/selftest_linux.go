//go:build linux

package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dtheap/dtheap/provision/manifest"
)

// RunSelftest runs the kernel's dmabuf-heap selftest binary against the manifest's mappable
// heaps only. The 6.1 selftest opens "/dev/dma_heap" hard-coded and tests every heap there, so
// a tmpfs is mounted over /dev/dma_heap holding copies of just those device nodes, and
// unmounted afterwards. The system's view of /dev/dma_heap is hidden while it runs: meant for
// a boot-time initramfs, where nothing else is running. The output goes to out, prefixed.
func RunSelftest(ctx context.Context, bin string, m *manifest.Manifest, timeout time.Duration, out io.Writer) Result {
	const id = "selftest"
	var names []string
	for _, h := range m.Heaps {
		names = append(names, h.Name)
	}
	mappable := func(n string) bool {
		for _, h := range m.Heaps {
			if h.Name == n {
				return h.Mappable
			}
		}
		return false
	}
	names = mappableHeaps(names, mappable)
	if len(names) == 0 {
		return Result{ID: id, Status: Skip, Detail: "no mappable heap"}
	}
	if _, err := os.Stat(bin); err != nil {
		return Result{ID: id, Status: Fail, Detail: fmt.Sprintf("selftest binary: %v", err)}
	}
	type node struct {
		name string
		rdev uint64
	}
	var nodes []node
	for _, n := range names {
		var st unix.Stat_t
		p := filepath.Join(HeapDevDir, n)
		if err := unix.Stat(p, &st); err != nil {
			return Result{ID: id, Status: Skip, Detail: fmt.Sprintf("%s: %v (see its device check)", p, err)}
		}
		nodes = append(nodes, node{n, st.Rdev})
	}
	if err := unix.Mount("tmpfs", HeapDevDir, "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=0755"); err != nil {
		return Result{ID: id, Status: Fail, Detail: fmt.Sprintf("mount tmpfs over %s: %v", HeapDevDir, err)}
	}
	defer unix.Unmount(HeapDevDir, unix.MNT_DETACH)
	for _, n := range nodes {
		if err := unix.Mknod(filepath.Join(HeapDevDir, n.name), unix.S_IFCHR|0o600, int(n.rdev)); err != nil {
			return Result{ID: id, Status: Fail, Detail: fmt.Sprintf("mknod %s: %v", n.name, err)}
		}
	}

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.WaitDelay = time.Second
	b, err := cmd.CombinedOutput()
	io.WriteString(out, prefixLines("selftest: ", string(b)))
	c := ParseSelftestCounts(string(b))
	ok, failed := c.Pass, c.Fail
	detail := fmt.Sprintf("%d passed, %d failed on %s", ok, failed, strings.Join(names, ", "))
	if c.Skip > 0 {
		detail = fmt.Sprintf("%d passed, %d failed, %d skipped on %s", ok, failed, c.Skip, strings.Join(names, ", "))
	}
	switch {
	case ctx.Err() != nil:
		return Result{ID: id, Status: Fail, Detail: fmt.Sprintf("timed out after %v; %s", timeout, detail)}
	case err != nil && !isExit(err):
		return Result{ID: id, Status: Fail, Detail: fmt.Sprintf("run %s: %v", bin, err)}
	case err != nil || failed > 0 || ok == 0:
		return Result{ID: id, Status: Fail, Detail: fmt.Sprintf("%s (exit: %v)", detail, err)}
	}
	return Result{ID: id, Status: Pass, Detail: detail}
}

func isExit(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee)
}
