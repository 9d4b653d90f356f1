package initramfs

import (
	"bytes"
	"debug/elf"
	"fmt"
	"strings"
)

// ModInfo is what a module's .modinfo section says about it (the strings modinfo(8) prints).
type ModInfo struct {
	Name    string   // name=, the module's name
	Release string   // the kernel release it was built for: vermagic's first word
	Aliases []string // alias= patterns (of:N*T*C<compatible> ... from MODULE_DEVICE_TABLE)
	Depends []string // depends=: modules it needs
}

// ReadModInfo reads the .modinfo section of a kernel module (NUL-separated key=value
// strings, include/linux/moduleparam.h __MODULE_INFO).
func ReadModInfo(data []byte) (*ModInfo, error) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("not a kernel module (ELF): %w", err)
	}
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("not a kernel module: no .modinfo section")
	}
	raw, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf(".modinfo: %w", err)
	}
	mi := &ModInfo{}
	for _, kv := range bytes.Split(raw, []byte{0}) {
		k, v, ok := strings.Cut(string(kv), "=")
		if !ok {
			continue
		}
		switch k {
		case "name":
			mi.Name = v
		case "vermagic":
			if fs := strings.Fields(v); len(fs) > 0 {
				mi.Release = fs[0]
			}
		case "alias":
			mi.Aliases = append(mi.Aliases, v)
		case "depends":
			for _, d := range strings.Split(v, ",") {
				if d != "" {
					mi.Depends = append(mi.Depends, d)
				}
			}
		}
	}
	if mi.Name == "" || mi.Release == "" {
		return nil, fmt.Errorf("not a built kernel module: .modinfo has no name= or vermagic= (was it linked by modpost?)")
	}
	if strings.ContainsAny(mi.Release, "/") || mi.Release == "." || mi.Release == ".." {
		return nil, fmt.Errorf("module vermagic release %q is not a directory name", mi.Release)
	}
	return mi, nil
}
