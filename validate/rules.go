// Package validate holds the rule catalog (stable IDs, severities, one-line docs, like dtc's
// named checks) and checks a planned board against what Linux does at boot with reserved
// memory and DMA-BUF heaps.
package validate

import (
	"fmt"
	"io"
	"sort"

	"github.com/dtheap/dtheap/diag"
)

// Rule is one named check.
type Rule struct {
	ID       string
	Severity diag.Severity
	Doc      string
}

// Rules is the catalog. IDs are stable: users silence them by name.
var Rules = []Rule{
	{"overlap", diag.Error, "two regions share memory and one is a CMA pool or a heap: Linux prints OVERLAP DETECTED and uses both, silently corrupting each other"},
	{"reserved-overlap", diag.Warning, "two firmware regions or plain reservations (no pool, no heap) overlap: the kernel prints OVERLAP DETECTED and keeps both; it allocates nothing there, whether their drivers collide is theirs"},
	{"memory-overlap", diag.Warning, "two DRAM banks overlap: memblock_add merges them, so nothing is lost, but the tree or board probably says something it does not mean"},
	{"outside-dram", diag.Error, "a CMA pool or heap lies wholly or partly outside DRAM (touching banks count as one): the kernel accepts it without a word and the memory is not there"},
	{"reserved-outside-dram", diag.Info, "a firmware region or plain reservation lies outside DRAM (on-chip SRAM, a hole the boot loader keeps): the kernel reserves nothing there and keeps the region for its driver"},
	{"alloc-range-outside-dram", diag.Warning, "an alloc-ranges entry holds no DRAM at all: the kernel tries it in vain (entries that run past the end of DRAM are fine: memblock searches only the memory inside them)"},
	{"unplaceable", diag.Error, "a dynamic pool fits nowhere the kernel may put it: the boot logs 'failed to allocate memory for node' and the pool is missing"},
	{"dynamic-at-zero", diag.Error, "a dynamic pool fits only at physical address 0, which the kernel never allocates (memblock skips the first page; base 0 means failure)"},
	{"cma-alignment", diag.Error, "a CMA pool's base or size is not a multiple of the CMA alignment (PAGE_SIZE << pageblock_order): 'incorrect alignment of CMA region' and the memory goes back to the kernel"},
	{"cma-zone-crossing", diag.Error, "a CMA pool spans a memory zone limit: 'CMA area could not be activated' and its pages go back to the buddy allocator"},
	{"cma-slots", diag.Error, "more CMA areas than the kernel has CMA slots (MAX_CMA_AREAS: 1 + CONFIG_CMA_AREAS on 6.1, CONFIG_CMA_AREAS from 6.12): the extra ones fail with 'Not enough slots for CMA reserved regions'"},
	{"cma-disabled", diag.Error, "a cma pool on a kernel without CONFIG_CMA/CONFIG_DMA_CMA"},
	{"too-many-regions", diag.Error, "more regions than the kernel keeps: 6.1 keeps 64 /reserved-memory children ('not enough space for all defined regions'), 6.12 and later 64 dynamic ones ('too many defined dynamic regions, skip'); the rest are ignored"},
	{"multiple-default-cma", diag.Error, "more than one default CMA pool: 6.1 creates both without a word and the last one wins"},
	{"default-not-cma", diag.Error, "default: true on a pool that is not kind: cma"},
	{"cmdline-cma", diag.Warning, "the kernel command line has cma=, which overrides the default CMA pool node ('bypass ... node, using cmdline CMA params instead')"},
	{"arm-map-unsupported", diag.Error, "32-bit arm: a non-reusable shared-dma-pool must be no-map ('regions without no-map are not yet supported')"},
	{"heap-name", diag.Error, "a heap name is empty, '.' or '..', contains '/', or is longer than a file name may be (NAME_MAX, 255): /dev/dma_heap/<name> cannot exist"},
	{"heap-name-duplicate", diag.Error, "two heaps share a name: dma_heap_add refuses the second (EINVAL)"},
	{"heap-name-kernel", diag.Error, "a heap name collides with a heap the kernel registers itself (system; the default CMA area's heap on 6.1 and 6.12; on 7.3 default_cma_region and every CMA area's node name)"},
	{"cma-heap-name", diag.Error, "a cma pool's heap: on a kernel that registers every CMA area's heap itself (7.3) names a heap that will not exist: the kernel names it after the node"},
	{"heap-count", diag.Error, "more than 128 heaps: the DMA-BUF heap core refuses the rest"},
	{"heap-kind", diag.Error, "a heap or mapping on a pool that cannot carry it (reserved pools have no heap; only carveout heaps choose a mapping)"},
	{"heap-on-default-cma", diag.Warning, "a heap of another name on the default CMA pool, over which the kernel already registers its own CMA heap (6.1, 6.12)"},
	{"dma-limit", diag.Error, "a device that can address only N bits is given a pool that reaches above 2^N"},
	{"page-alignment", diag.Error, "a CMA pool's or heap's base or size is not a multiple of the page size (firmware regions and plain reservations may be any byte range)"},
	{"zero-size", diag.Error, "a region of size 0: the kernel fails to reserve it"},
	{"duplicate-name", diag.Error, "two regions share a name or a label: their devicetree nodes or labels collide"},
	{"fixed-ignores-dynamic", diag.Warning, "a fixed pool (with base) also sets alignment or alloc-ranges, which the kernel ignores"},
	{"cells", diag.Error, "an address or size does not fit in the root's #address-cells/#size-cells"},
	{"kernel-version", diag.Info, "which kernel model dtheap uses: a version that is not a proven model (6.1, 6.12, 7.3) gets the nearest older one (shown always; for a proven version with -v)"},
	{"mapping-unmapped", diag.Error, "mapping: is set on an unmapped pool, which is never CPU-mapped"},
	{"access-no-heap", diag.Error, "access: or aliases: on a pool that has no heap (no heap:, kind reserved, or a pool the kernel sets nothing up over): there is no device node to own, mode or link to"},
	{"access-chars", diag.Error, "an alias, an access group, or the name of a heap given access or aliases holds what udev or ueventd reads as syntax: names only letters, digits and + - . : = @ _ , (udev replaces other characters in SYMLINK, and * ? [ ] | are globs in a KERNEL match and in ueventd paths); groups are names ([A-Za-z_][A-Za-z0-9_-]*, at most 32) or numeric gids"},
	{"heap-alias", diag.Error, "an alias is the name of a heap on the board's kernel (the board's, the kernel's own CMA heaps, system) or another alias: the link would replace or shadow a real heap"},
	{"access-others-write", diag.Warning, "access mode lets any user open the heap for writing (others w bit); note that allocating needs only read access (dma_heap_ioctl checks no file mode)"},
	{"access-mode-implied", diag.Warning, "access: gives a group but no mode: dtheap writes 0660, what udev gives a node whose GROUP is set (ueventd has no default); say mode: to make it explicit"},
	{"predicted-placement", diag.Info, "where the kernel is predicted to place a dynamic pool (shown with -v)"},
}

// Lookup returns the rule with that ID.
func Lookup(id string) (Rule, bool) {
	for _, r := range Rules {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}

// WriteCatalog prints the catalog as a table.
func WriteCatalog(w io.Writer) error {
	rs := append([]Rule(nil), Rules...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].ID < rs[j].ID })
	for _, r := range rs {
		if _, err := fmt.Fprintf(w, "%-26s %-8s %s\n", r.ID, r.Severity, r.Doc); err != nil {
			return err
		}
	}
	return nil
}
