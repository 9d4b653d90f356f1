package escape

import "fmt"

// IsDevNameChar reports whether c may appear in a heap name or alias written into a udev rule,
// an Android ueventd line or an init.rc command unchanged: letters, digits and + - . : = @ _ ,.
// Everything else is syntax in one of them: whitespace separates udev links and init tokens,
// $ and % are udev substitutions, " and \ its quoting, * ? [ ] | globs and alternatives in a
// KERNEL match and globs in ueventd paths, # a comment in init's tokenizer; udev replaces any
// character outside [0-9A-Za-z#+-.:=@_] in a SYMLINK unless string_escape=none
// (systemd src/udev/udev-rules.c, udev_replace_chars()).
func IsDevNameChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
		c == '+' || c == '-' || c == '.' || c == ':' || c == '=' || c == '@' || c == '_' || c == ','
}

// DevName returns name unchanged for a udev rule, a ueventd line or an init.rc command, or an
// error when it holds a character one of them would read as syntax. Nothing can be escaped in
// all three (ueventd paths have no escapes for globs), so such a name is refused, not escaped.
func DevName(name string) (string, error) {
	if name == "" || name == "." || name == ".." {
		return "", fmt.Errorf("%s is not a device node name", Quote(name))
	}
	for i := 0; i < len(name); i++ {
		if !IsDevNameChar(name[i]) {
			return "", fmt.Errorf("%s has %s at byte %d: udev rules and ueventd lines take only letters, digits and + - . : = @ _ ,", Quote(name), Quote(name[i:i+1]), i+1)
		}
	}
	return name, nil
}
