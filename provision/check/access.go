package check

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dtheap/dtheap/internal/escape"
	"github.com/dtheap/dtheap/internal/input"
	"github.com/dtheap/dtheap/provision/manifest"
)

// GroupFile is where the checker resolves a manifest's group names, as udev does (getgrnam
// through /etc/group in an initramfs without NSS modules).
const GroupFile = "/etc/group"

// checkAccess verifies the group and mode of a heap's device node and every alias link to it,
// as the board's access: and aliases: asked (dtheap access writes the udev rules and ueventd
// lines that apply them). It polls until they hold or the timeout passes: a device manager
// applies them after the node appears, asynchronously.
func (r *runner) checkAccess(ctx context.Context, h *manifest.Heap, dev string) {
	id := "heap/" + h.Name
	if h.Group != "" || h.Mode != "" {
		r.step(ctx, id+"/access", func(ctx context.Context) (Status, string) {
			return r.poll(ctx, func() (bool, string) { return r.nodeAccess(h, dev) })
		})
	}
	for _, a := range h.Aliases {
		link := path.Join(HeapDevDir, a)
		r.step(ctx, id+"/alias/"+a, func(ctx context.Context) (Status, string) {
			return r.poll(ctx, func() (bool, string) { return r.alias(dev, link) })
		})
	}
}

// poll runs fn until it reports ok or ctx ends; the last message is the detail.
func (r *runner) poll(ctx context.Context, fn func() (bool, string)) (Status, string) {
	start := time.Now()
	tick := time.NewTicker(r.cfg.Poll)
	defer tick.Stop()
	for {
		ok, msg := fn()
		if ok {
			return Pass, msg
		}
		select {
		case <-ctx.Done():
			return Fail, fmt.Sprintf("%s (still so after %v)", msg, time.Since(start).Round(time.Millisecond))
		case <-tick.C:
		}
	}
}

func (r *runner) nodeAccess(h *manifest.Heap, dev string) (bool, string) {
	st, err := os.Stat(r.cfg.path(dev))
	if err != nil {
		return false, err.Error()
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return false, dev + ": no owner information"
	}
	mode := fmt.Sprintf("%04o", st.Mode().Perm())
	var bad []string
	if h.Mode != "" && mode != h.Mode {
		bad = append(bad, fmt.Sprintf("mode %s, want %s", mode, h.Mode))
	}
	group := "root"
	if h.Group != "" {
		group = h.Group
	}
	gid, err := r.lookupGroup(group)
	switch {
	case err != nil:
		bad = append(bad, err.Error())
	case uint32(sys.Gid) != gid:
		bad = append(bad, fmt.Sprintf("gid %d, want %d (%s)", sys.Gid, gid, escape.Line(group)))
	}
	if sys.Uid != 0 {
		bad = append(bad, fmt.Sprintf("owner uid %d, want 0 (root)", sys.Uid))
	}
	if len(bad) > 0 {
		return false, fmt.Sprintf("%s: %s", dev, strings.Join(bad, ", "))
	}
	return true, fmt.Sprintf("%s: root:%s (gid %d) mode %s", dev, escape.Line(group), gid, mode)
}

// lookupGroup resolves a group name through Root's /etc/group; a number is a gid.
func (r *runner) lookupGroup(name string) (uint32, error) {
	if n, err := strconv.ParseUint(name, 10, 32); err == nil {
		return uint32(n), nil
	}
	if name == "root" {
		return 0, nil
	}
	data, err := input.ReadFile(r.cfg.path(GroupFile), "group file", 1<<20)
	if err != nil {
		return 0, fmt.Errorf("group %s: %v", escape.Line(name), err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) >= 3 && f[0] == name {
			n, err := strconv.ParseUint(f[2], 10, 32)
			if err != nil {
				return 0, fmt.Errorf("group %s: bad gid %q in %s", escape.Line(name), escape.Line(f[2]), GroupFile)
			}
			return uint32(n), nil
		}
	}
	return 0, fmt.Errorf("group %s is not in %s", escape.Line(name), GroupFile)
}

// alias checks that link is a symbolic link that leads to the same device as dev.
func (r *runner) alias(dev, link string) (bool, string) {
	lst, err := os.Lstat(r.cfg.path(link))
	if err != nil {
		return false, err.Error()
	}
	if lst.Mode()&os.ModeSymlink == 0 {
		return false, fmt.Sprintf("%s is not a symbolic link", link)
	}
	target, _ := os.Readlink(r.cfg.path(link))
	lt, err := os.Stat(r.cfg.path(link))
	if err != nil {
		return false, fmt.Sprintf("%s -> %s: %v", link, escape.Line(target), err)
	}
	dt, err := os.Stat(r.cfg.path(dev))
	if err != nil {
		return false, err.Error()
	}
	if !os.SameFile(lt, dt) {
		return false, fmt.Sprintf("%s -> %s, not %s", link, escape.Line(target), dev)
	}
	return true, fmt.Sprintf("%s -> %s", link, escape.Line(target))
}
