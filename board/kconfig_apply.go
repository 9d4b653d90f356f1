package board

import "github.com/dtheap/dtheap/diag"

// ApplyKconfig replaces a board's kernel facts with those of a kernel .config, as
// Options.Kconfig does for a loaded board; dtheap lint uses it on a board built from a
// devicetree. Findings (an arch that differs) come back as a list; an unreadable file is an
// *IOError.
func ApplyKconfig(b *Board, path string) (diag.List, error) {
	d := &decoder{}
	if err := applyKconfig(b, path, d); err != nil {
		return nil, err
	}
	return d.errs, nil
}
