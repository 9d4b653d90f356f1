package plan

// kernelSort sorts like Linux 6.1 lib/sort.c sort_r: a bottom-up heapsort that is NOT stable.
// The reserved-memory code sorts an array in which every dynamic region compares equal, so
// their relative order after the sort (which is their allocation order) is whatever this exact
// algorithm leaves; any other sort would predict the wrong placement. Indices are in elements
// (the kernel's byte offsets divided by the element size), which does not change the
// sequence of comparisons and swaps.
func kernelSort[T any](a []T, cmp func(x, y T) int) {
	n := len(a)
	i := n / 2
	if i == 0 { // num < 2
		return
	}
	parent := func(j int) int { return (j - 1) / 2 }
	for {
		switch {
		case i > 0: // building the heap: sift down --i
			i--
		default:
			n--
			if n == 0 {
				return
			}
			a[0], a[n] = a[n], a[0] // extract the root to --n
		}
		// Find the sift-down path to a leaf, one comparison per level.
		b := i
		var c, d int
		for {
			c = 2*b + 1
			d = c + 1
			if d >= n {
				break
			}
			if cmp(a[c], a[d]) >= 0 {
				b = c
			} else {
				b = d
			}
		}
		if d == n { // last leaf with no sibling
			b = c
		}
		// Backtrack to where a[i] belongs, then shift it into place.
		for b != i && cmp(a[i], a[b]) >= 0 {
			b = parent(b)
		}
		c = b
		for b != i {
			b = parent(b)
			a[b], a[c] = a[c], a[b]
		}
	}
}
