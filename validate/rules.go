// Package validate holds the rule catalog (stable IDs, severities, one-line docs, like dtc's
// named checks) and checks a planned board against what Linux does at boot with reserved
// memory and DMA-BUF heaps.
package validate

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/dtheap/dtheap/diag"
)

// Rule is one named check, like a dtc check (scripts/dtc/checks.c): one function, registered
// once in Rules with its stable ID, severity, one-line doc and prerequisites.
type Rule struct {
	ID       string
	Severity diag.Severity
	Doc      string
	// Needs are the rule's prerequisites: facts about the board without which it cannot
	// judge. A rule whose board-wide prerequisite fails does not run; dram-unknown says so.
	Needs []Need
	// Tree marks a rule about how a devicetree is written: dtheap lint and import judge it
	// from the tree (package dtbind), and its corpus case is a .dts.
	Tree bool
	// check judges a board; nil for a rule only dtbind judges.
	check func(*Context)
}

// Need is a prerequisite of a rule.
type Need string

const (
	// NeedDRAM: the board states its DRAM (memory: is not unknown). Without it the rule does
	// not run.
	NeedDRAM Need = "dram"
	// NeedPlacement: the rule judges where a region is, so it sees only the regions whose place
	// is known: fixed ones and the dynamic pools the planner placed (not those unplaceable or
	// dynamic-at-zero report, nor any dynamic pool when the DRAM is unknown).
	NeedPlacement Need = "placement"
)

// Rules is the catalog, in the order Check runs it. IDs are stable: users silence them by
// name. Set in init, not in its declaration, because a rule may read the catalog (dram-unknown
// names the rules that could not judge) and Go forbids a variable whose initializer refers
// to itself.
var Rules []Rule

func init() {
	Rules = []Rule{
		{ID: "overlap", Severity: diag.Error, check: checkOverlap,
			Doc: "two regions share memory and one is a CMA pool or a heap: Linux prints OVERLAP DETECTED and uses both, silently corrupting each other"},
		{ID: "reserved-overlap", Severity: diag.Warning, check: checkReservedOverlap,
			Doc: "two firmware regions or plain reservations (no pool, no heap) overlap: the kernel prints OVERLAP DETECTED and keeps both; it allocates nothing there, whether their drivers collide is theirs"},
		{ID: "memory-overlap", Severity: diag.Warning, check: checkMemoryOverlap,
			Doc: "two DRAM banks overlap: memblock_add merges them, so nothing is lost, but the tree or board probably says something it does not mean"},
		{ID: "outside-dram", Severity: diag.Error, Needs: []Need{NeedDRAM}, check: checkOutsideDRAM,
			Doc: "a CMA pool or heap lies wholly or partly outside DRAM (touching banks count as one): the kernel accepts it without a word and the memory is not there"},
		{ID: "reserved-outside-dram", Severity: diag.Info, Needs: []Need{NeedDRAM}, check: checkReservedOutsideDRAM,
			Doc: "a firmware region or plain reservation lies outside DRAM (on-chip SRAM, a hole the boot loader keeps): the kernel reserves nothing there and keeps the region for its driver"},
		{ID: "memreserve-overlap", Severity: diag.Error, Needs: []Need{NeedPlacement}, check: checkMemreserveOverlap,
			Doc: "a CMA pool or heap overlaps a /memreserve/ entry (memory the boot loader keeps): 6.12 and later place dynamic pools before they reserve /memreserve/ entries, so a dynamic one lands there; a fixed one is reserved without a word (6.1: a no-map one fails, 'failed to reserve memory for node')"},
		{ID: "memreserve-nomap", Severity: diag.Warning, check: checkMemreserveNoMap,
			Doc: "6.1: a no-map firmware region or plain reservation overlaps a /memreserve/ entry, which 6.1 reserves first: 'failed to reserve memory for node', the memory stays reserved but in the linear map (6.12 and later mark it no-map first)"},
		{ID: "memreserve-zero-size", Severity: diag.Warning, check: checkMemreserveZeroSize,
			Doc: "a /memreserve/ entry of size 0: it reserves nothing, and the kernel stops reading /memreserve/ at it"},
		{ID: "memreserve-ignored", Severity: diag.Error, check: checkMemreserveIgnored,
			Doc: "a /memreserve/ entry after one of size 0: the kernel never reads it, so the memory is not reserved"},
		{ID: "memreserve-outside-dram", Severity: diag.Info, Needs: []Need{NeedDRAM}, check: checkMemreserveOutsideDRAM,
			Doc: "a /memreserve/ entry lies wholly or partly outside DRAM: memblock_reserve there keeps nothing from Linux, and needs to (upstream Realtek trees reserve the memory their /memory leaves out, e.g. 0x0-0x1f000)"},
		{ID: "alloc-range-outside-dram", Severity: diag.Warning, Needs: []Need{NeedDRAM}, check: checkAllocRangeOutsideDRAM,
			Doc: "an alloc-ranges entry holds no DRAM at all: the kernel tries it in vain (entries that run past the end of DRAM are fine: memblock searches only the memory inside them)"},
		{ID: "unplaceable", Severity: diag.Error, Needs: []Need{NeedDRAM}, check: checkUnplaceable,
			Doc: "a dynamic pool fits nowhere the kernel may put it: the boot logs 'failed to allocate memory for node' and the pool is missing"},
		{ID: "dynamic-at-zero", Severity: diag.Error, Needs: []Need{NeedDRAM}, check: checkDynamicAtZero,
			Doc: "a dynamic pool fits only at physical address 0, which the kernel never allocates (memblock skips the first page; base 0 means failure)"},
		{ID: "cma-alignment", Severity: diag.Error, Needs: []Need{NeedPlacement}, check: checkCMAAlignment,
			Doc: "a CMA pool's base or size is not a multiple of the CMA alignment (PAGE_SIZE << pageblock_order): 'incorrect alignment of CMA region' and the memory goes back to the kernel"},
		{ID: "cma-zone-crossing", Severity: diag.Error, Needs: []Need{NeedPlacement}, check: checkCMAZoneCrossing,
			Doc: "a CMA pool spans a memory zone limit: 'CMA area could not be activated' and its pages go back to the buddy allocator"},
		{ID: "cma-slots", Severity: diag.Error, check: checkCMASlots,
			Doc: "more CMA areas than the kernel has CMA slots (MAX_CMA_AREAS: 1 + CONFIG_CMA_AREAS on 6.1, CONFIG_CMA_AREAS from 6.12): the extra ones fail with 'Not enough slots for CMA reserved regions'"},
		{ID: "cma-disabled", Severity: diag.Error, check: checkCMADisabled,
			Doc: "a cma pool on a kernel without CONFIG_CMA/CONFIG_DMA_CMA"},
		{ID: "too-many-regions", Severity: diag.Error, check: checkTooManyRegions,
			Doc: "more regions than the kernel keeps: 6.1 keeps 64 /reserved-memory children ('not enough space for all defined regions'), 6.12 and later 64 dynamic ones ('too many defined dynamic regions, skip'); the rest are ignored"},
		{ID: "multiple-default-cma", Severity: diag.Error, check: checkMultipleDefaultCMA,
			Doc: "more than one default CMA pool: 6.1 creates both without a word and the last one wins"},
		{ID: "default-not-cma", Severity: diag.Error, check: checkDefaultNotCMA,
			Doc: "default: true on a pool that is not kind: cma"},
		{ID: "cmdline-cma", Severity: diag.Warning, check: checkCmdlineCMA,
			Doc: "the kernel command line has cma=, which overrides the default CMA pool node ('bypass ... node, using cmdline CMA params instead')"},
		{ID: "arm-map-unsupported", Severity: diag.Error, check: checkArmMapUnsupported,
			Doc: "32-bit arm: a non-reusable shared-dma-pool must be no-map ('regions without no-map are not yet supported')"},
		{ID: "heap-name", Severity: diag.Error, check: checkHeapName,
			Doc: "a heap name is empty (dma_heap_add refuses it), '.' or '..', longer than a file name may be (NAME_MAX, 255), or holds '/', which the kernel makes '!' (kobject_set_name_vargs): /dev/dma_heap/<name> will not exist"},
		{ID: "heap-name-format", Severity: diag.Error, check: checkHeapNameFormat,
			Doc: "a heap name holds '%': dma_heap_add passes the name to device_create as its format string (6.1, 6.12, 7.3), so '%%' becomes '%' and any other conversion reads an argument that was never passed"},
		{ID: "heap-name-duplicate", Severity: diag.Error, check: checkHeapNameDuplicate,
			Doc: "two heaps share a name: dma_heap_add refuses the second (EINVAL)"},
		{ID: "heap-name-kernel", Severity: diag.Error, check: checkHeapNameKernel,
			Doc: "a heap name collides with a heap the kernel registers itself (system; the default CMA area's heap on 6.1 and 6.12; on 7.3 default_cma_region and every CMA area's node name)"},
		{ID: "cma-heap-name", Severity: diag.Error, Needs: []Need{NeedPlacement}, check: checkCMAHeapName,
			Doc: "a cma pool's heap: on a kernel that registers every CMA area's heap itself (7.3) names a heap that will not exist: the kernel names it after the node"},
		{ID: "heap-count", Severity: diag.Error, check: checkHeapCount,
			Doc: "more than 128 heaps: the DMA-BUF heap core refuses the rest"},
		{ID: "heap-kind", Severity: diag.Error, check: checkHeapKind,
			Doc: "a heap or mapping on a pool that cannot carry it (reserved pools have no heap; only carveout heaps choose a mapping)"},
		{ID: "heap-on-default-cma", Severity: diag.Warning, check: checkHeapOnDefaultCMA,
			Doc: "a heap of another name on the default CMA pool, over which the kernel already registers its own CMA heap (6.1, 6.12)"},
		{ID: "dma-limit", Severity: diag.Error, Needs: []Need{NeedPlacement}, check: checkDMALimit,
			Doc: "a device that can address only N bits is given a pool that reaches above 2^N"},
		{ID: "page-alignment", Severity: diag.Error, check: checkPageAlignment,
			Doc: "a CMA pool's or heap's base or size is not a multiple of the page size (firmware regions and plain reservations may be any byte range)"},
		{ID: "zero-size", Severity: diag.Error, check: checkZeroSize,
			Doc: "a region of size 0: the kernel fails to reserve it"},
		{ID: "duplicate-name", Severity: diag.Error, check: checkDuplicateName,
			Doc: "two regions share a name or a label: their devicetree nodes or labels collide"},
		{ID: "fixed-ignores-dynamic", Severity: diag.Warning, check: checkFixedIgnoresDynamic,
			Doc: "a fixed pool (with base) also sets alignment or alloc-ranges, which the kernel ignores"},
		{ID: "cells", Severity: diag.Error, check: checkCells,
			Doc: "an address or size does not fit in the root's #address-cells/#size-cells"},
		{ID: "kernel-version", Severity: diag.Info, check: checkKernelVersion,
			Doc: "which kernel model dtheap uses: a version that is not a proven model (6.1, 6.12, 7.3) gets the nearest older one (shown always; for a proven version with -v)"},
		{ID: "mapping-unmapped", Severity: diag.Error, check: checkMappingUnmapped,
			Doc: "mapping: is set on an unmapped pool, which is never CPU-mapped"},
		{ID: "access-no-heap", Severity: diag.Error, check: checkAccessNoHeap,
			Doc: "access: or aliases: on a pool that has no heap (no heap:, kind reserved, or a pool the kernel sets nothing up over): there is no device node to own, mode or link to"},
		{ID: "access-chars", Severity: diag.Error, check: checkAccessChars,
			Doc: "an alias, an access group, or the name of a heap given access or aliases holds what udev or ueventd reads as syntax: names only letters, digits and + - . : = @ _ , (udev replaces other characters in SYMLINK, and * ? [ ] | are globs in a KERNEL match and in ueventd paths); groups are names ([A-Za-z_][A-Za-z0-9_-]*, at most 32) or numeric gids"},
		{ID: "heap-alias", Severity: diag.Error, check: checkHeapAlias,
			Doc: "an alias is the name of a heap on the board's kernel (the board's, the kernel's own CMA heaps, system) or another alias: the link would replace or shadow a real heap"},
		{ID: "access-others-write", Severity: diag.Warning, check: checkAccessOthersWrite,
			Doc: "access mode lets any user open the heap for writing (others w bit); note that allocating needs only read access (dma_heap_ioctl checks no file mode)"},
		{ID: "access-mode-implied", Severity: diag.Warning, check: checkAccessModeImplied,
			Doc: "access: gives a group but no mode: dtheap writes 0660, what udev gives a node whose GROUP is set (ueventd has no default); say mode: to make it explicit"},
		{ID: "predicted-placement", Severity: diag.Info, Needs: []Need{NeedDRAM}, check: checkPredictedPlacement,
			Doc: "where the kernel is predicted to place a dynamic pool (shown with -v)"},
		// Rules a board file can break that came with reading trees.
		{ID: "dram-unknown", Severity: diag.Info, check: checkDRAMUnknown,
			Doc: "memory: unknown (the boot loader decides the DRAM): the rules that need DRAM do not run and those that need placement judge no dynamic pool; this names them"},
		// The rules about how a devicetree writes /reserved-memory: cell counts, property
		// lengths, flags the kernel refuses together. The emitters write them right, so most are
		// judged only by dtheap lint and dtheap import, from the tree they read (package dtbind,
		// which cites each one's kernel source where it checks it); they are in the one catalog so
		// that IDs, severities, --disable and --list-rules work the same everywhere. The three with
		// a check function can also be broken by a board (an imported one, or a cma pool with
		// no-map: true).
		{ID: "rmem-cells", Severity: diag.Error, Tree: true,
			Doc: "/reserved-memory has no #address-cells/#size-cells, or not the root's: 'Reserved memory: unsupported node format, ignoring', and the kernel ignores EVERY region"},
		{ID: "rmem-ranges", Severity: diag.Error, Tree: true,
			Doc: "/reserved-memory has no ranges property: 'unsupported node format, ignoring', and the kernel ignores EVERY region"},
		{ID: "reg-length", Severity: diag.Error, Tree: true,
			Doc: "a region's reg is not a whole number of <address size> entries of the root's cell counts: 'invalid reg property', the node is skipped"},
		{ID: "reg-entries", Severity: diag.Info, Tree: true,
			Doc: "a region's reg has more than one entry: 6.1 and 6.12 reserve every entry but record only the first; 7.3 reserves only the first (warning there)"},
		{ID: "size-length", Severity: diag.Error, Tree: true,
			Doc: "a dynamic region's size is not #size-cells cells: 'invalid size property', the node is skipped"},
		{ID: "alignment-length", Severity: diag.Error, Tree: true,
			Doc: "a dynamic region's alignment is not #address-cells cells: 'invalid alignment property', the node is skipped"},
		{ID: "alloc-ranges-length", Severity: diag.Error, Tree: true,
			Doc: "alloc-ranges is not a whole number of <address size> pairs: 6.1 and 6.12 skip the node ('invalid alloc-ranges property'); 7.3 ignores the whole property and places the region anywhere (of_flat_dt_get_addr_size_prop returns nothing; warning there)"},
		{ID: "nomap-reusable", Severity: diag.Error, Tree: true, check: checkNoMapReusable,
			Doc: "a region is both no-map and reusable (in a tree, or a board's cma pool with no-map: true): no pool is made; 6.1/6.12 refuse it ('compatible matching fail') and give the memory back, 7.3 accepts it silently ('nomap reusable') and the memory is lost"},
		{ID: "alignment-power-of-two", Severity: diag.Warning, Tree: true,
			Doc: "a dynamic region's alignment is not a power of two: memblock's round_down masks with alignment-1, so the region lands on an address that is not a multiple of it"},
		{ID: "no-reg-or-size", Severity: diag.Warning, Tree: true,
			Doc: "a /reserved-memory child has neither reg nor size: the kernel skips it without a word"},
		{ID: "node-disabled", Severity: diag.Info, Tree: true,
			Doc: "a /reserved-memory child has status other than okay: the kernel skips it (of_fdt_device_is_available)"},
		{ID: "reg-zero-size", Severity: diag.Warning, Tree: true,
			Doc: "a region's reg has size 0 (a placeholder the boot loader fills in?): as written the kernel logs 'failed to reserve memory' and reserves nothing"},
		{ID: "carveout-cached", Severity: diag.Error, Tree: true, check: checkCarveoutCached,
			Doc: "a carveout heap mapped cached on a no-map region (an imported or linted tree; a board's cached carveout is written without no-map): the DMA API's cache maintenance goes through the kernel's linear map, which no-map memory is not in, so the driver refuses the heap at probe"},
		{ID: "carveout-wc-mapped", Severity: diag.Error, Tree: true, check: checkCarveoutWCMapped,
			Doc: "a write-combined carveout or an unmapped heap on a region without no-map (an imported or linted tree): the linear map would hold a cacheable alias of it, so the driver refuses the heap at probe"},
	}
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
		doc := r.Doc
		if len(r.Needs) > 0 {
			doc += " (needs " + needsText(r.Needs) + ")"
		}
		if _, err := fmt.Fprintf(w, "%-26s %-8s %s\n", r.ID, r.Severity, doc); err != nil {
			return err
		}
	}
	return nil
}

func needsText(ns []Need) string {
	var s []string
	for _, n := range ns {
		s = append(s, string(n))
	}
	return strings.Join(s, ", ")
}

// TreeOnly reports whether a rule is about how a devicetree is written (Rule.Tree): its
// corpus case is a tree, judged by dtheap lint.
func TreeOnly(id string) bool {
	r, ok := Lookup(id)
	return ok && r.Tree
}

// WriteCatalogMarkdown writes the catalog as the Markdown table of RULES.md, which is
// generated from Rules (go test ./validate -update) so that the documentation cannot drift
// from the table.
func WriteCatalogMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("<!-- Generated from validate.Rules by `go test ./validate -update`: do not edit. -->\n")
	b.WriteString("# Rule catalog\n\n")
	b.WriteString("Every rule `dtheap validate`, `lint` and `import` report, in the order they run. Silence one\n")
	b.WriteString("for a board entry with `silence: [ID]`, for a run with `--disable ID`. *Needs*: the facts\n")
	b.WriteString("a rule cannot judge without (`dram`: the board states its DRAM, else the rule does not run\n")
	b.WriteString("and `dram-unknown` says so; `placement`: the rule sees only regions whose place is known).\n")
	b.WriteString("*Tree*: judged from how a devicetree is written (`lint`, `import`).\n\n")
	b.WriteString("| ID | severity | needs | tree | what it catches |\n|---|---|---|---|---|\n")
	for _, r := range Rules {
		tree := ""
		if r.Tree {
			tree = "yes"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", r.ID, r.Severity, needsText(r.Needs), tree, strings.ReplaceAll(r.Doc, "|", `\|`))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
