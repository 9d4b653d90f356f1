package validate

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/dtheap/dtheap/board"
	"github.com/dtheap/dtheap/plan"
)

// accessNameRE is what a heap name or alias may hold to pass unchanged through every file
// dtheap access writes. udev keeps only [0-9A-Za-z#+-.:=@_] (and valid UTF-8) of a SYMLINK
// value unless string_escape=none (systemd src/udev/udev-rules.c, TK_A_DEVLINK, with
// udev_replace_chars() and allow_listed_char_for_devnode() in src/shared/device-nodes.c); the
// rule sets string_escape=none so that ',' (linux,cma) survives, and these characters carry no
// meaning there: no whitespace (a link separator), no $ or % (substitutions), no " or \ (the
// value's quoting), no * ? [ ] | (globs and alternatives in KERNEL==, globs in ueventd paths),
// no # (a comment in init's and ueventd's tokenizer).
var accessNameRE = regexp.MustCompile(`^[A-Za-z0-9+\-.:=@_,]+$`)

// groupRE is a group name as shadow-utils' useradd accepts it (and so every udev and ueventd
// resolves); a number is a gid.
var (
	groupRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,31}$`)
	gidRE   = regexp.MustCompile(`^[0-9]{1,10}$`)
)

// accessPool is a pool that says access: or aliases:, with the heaps its region has.
type accessPool struct {
	r     *plan.Region
	heaps []*plan.Heap
}

// accessPools returns the pools with access: or aliases:. Only access-no-heap judges those
// without a heap; the other access rules see the ones with heaps.
func (c *Context) accessPools(withHeaps bool) []accessPool {
	var out []accessPool
	for _, r := range c.pools() {
		bp := r.Pool
		if bp.Access == nil && len(bp.Aliases) == 0 {
			continue
		}
		var heaps []*plan.Heap
		for _, h := range c.Plan.Heaps {
			if h.Region == r {
				heaps = append(heaps, h)
			}
		}
		if (len(heaps) > 0) == withHeaps {
			out = append(out, accessPool{r, heaps})
		}
	}
	return out
}

func checkAccessNoHeap(c *Context) {
	for _, ap := range c.accessPools(false) {
		bp := ap.r.Pool
		pos := bp.Pos
		if bp.Access != nil {
			pos = bp.Access.Pos
		} else if len(bp.Aliases) > 0 {
			pos = bp.Field("aliases")
		}
		c.report(ap.r, pos, "add heap: NAME to the pool, or remove access: and aliases:",
			"pool %q has access: or aliases: but no heap /dev/dma_heap/<name> to apply them to", bp.Name)
	}
}

// aliasOK reports whether an alias can be a link name at all (access-chars judges the rest);
// heap-alias judges only those.
func aliasOK(a board.Alias) bool {
	return a.Name != "." && a.Name != ".." && accessNameRE.MatchString(a.Name) && len(a.Name) <= nameMax
}

func checkAccessChars(c *Context) {
	for _, ap := range c.accessPools(true) {
		r, bp := ap.r, ap.r.Pool
		for _, h := range ap.heaps {
			if !accessNameRE.MatchString(h.Name) {
				c.report(r, h.Pos, "rename the heap with letters, digits and + - . : = @ _ , only",
					"heap %q cannot be matched exactly in a udev rule or a ueventd line: it holds a character outside letters, digits and + - . : = @ _ ,", h.Name)
			}
		}
		if a := bp.Access; a != nil && a.Group != "" && !groupRE.MatchString(a.Group) && !(gidRE.MatchString(a.Group) && gidOK(a.Group)) {
			c.report(r, a.GroupPos, "write a group name such as video or camera, or a numeric gid",
				"group %q of pool %q is not a group name udev and ueventd can resolve (letters, digits, _ and -, not starting with a digit or -, at most 32), nor a gid", a.Group, bp.Name)
		}
		for _, al := range bp.Aliases {
			switch {
			case al.Name == "." || al.Name == ".." || !accessNameRE.MatchString(al.Name):
				c.report(r, al.Pos, "use letters, digits and + - . : = @ _ , only",
					"alias %q of pool %q cannot be a link in /dev/dma_heap written by udev and Android init unchanged", al.Name, bp.Name)
			case len(al.Name) > nameMax:
				c.report(r, al.Pos, fmt.Sprintf("shorten it to at most %d bytes", nameMax),
					"alias of pool %q is %d bytes, longer than a file name may be (NAME_MAX %d)", bp.Name, len(al.Name), nameMax)
			}
		}
	}
}

func checkHeapAlias(c *Context) {
	// Every name a heap has on this kernel: an alias must not be one.
	heapNames := map[string]string{"system": "the kernel's system heap"}
	for _, n := range c.Plan.Kernel.OwnHeaps {
		heapNames[n] = "a heap the kernel registers itself"
	}
	for _, h := range c.Plan.Heaps {
		if h.Provider == "kernel" {
			heapNames[h.Name] = fmt.Sprintf("the kernel's own CMA heap over pool %q", h.Pool)
		} else {
			heapNames[h.Name] = fmt.Sprintf("the heap of pool %q", h.Pool)
		}
	}
	aliases := map[string]string{} // alias -> pool that gave it
	for _, ap := range c.accessPools(true) {
		r, bp := ap.r, ap.r.Pool
		for _, al := range bp.Aliases {
			if !aliasOK(al) {
				continue // access-chars
			}
			if why, taken := heapNames[al.Name]; taken {
				c.report(r, al.Pos, "pick another alias: an application that opens that name already finds that heap",
					"alias %q of pool %q is the name of %s (Linux %s): the link would stand in for that heap's device node", al.Name, bp.Name, why, c.Plan.Kernel.Version)
			} else if prev, dup := aliases[al.Name]; dup {
				c.report(r, al.Pos, "give each alias to one heap",
					"alias %q of pool %q is also an alias of pool %q: udev would point the link at whichever heap came last", al.Name, bp.Name, prev)
			} else {
				aliases[al.Name] = bp.Name
			}
		}
	}
}

func checkAccessOthersWrite(c *Context) {
	for _, ap := range c.accessPools(true) {
		if a := ap.r.Pool.Access; a != nil && a.ModeSet && a.Mode&0o002 != 0 {
			c.report(ap.r, a.ModePos, "drop the others' w bit (e.g. 0660) and give the users that need the heap the group",
				"mode %s of pool %q's heap lets every user open it for writing", plan.FormatMode(a.Mode), ap.r.Pool.Name)
		}
	}
}

func checkAccessModeImplied(c *Context) {
	for _, ap := range c.accessPools(true) {
		if a := ap.r.Pool.Access; a != nil && a.Group != "" && !a.ModeSet {
			c.report(ap.r, a.GroupPos, `add mode: "0660" (or the mode you mean)`,
				"pool %q's heap gets group %q but no mode: dtheap writes %s (udev's default for a node with a group; ueventd needs one)", ap.r.Pool.Name, a.Group, plan.ImpliedMode)
		}
	}
}

// gidOK reports whether a numeric group is a gid below (gid_t)-1, which means "no change" to
// chown(2) and is refused as a gid by udev and ueventd.
func gidOK(s string) bool {
	var n uint64
	for _, ch := range strings.TrimLeft(s, "0") {
		n = n*10 + uint64(ch-'0')
	}
	return n < 1<<32-1
}
