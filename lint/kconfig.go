package lint

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/dtheap/dtheap/kmodel"
	"github.com/dtheap/dtheap/plan"
)

// kconfigDefaultArea is the size of the default CMA area a kernel .config makes on its own:
// dma_contiguous_reserve (kernel/dma/contiguous.c, the same in 6.1, 6.12 and 7.3) reserves
// CONFIG_CMA_SIZE_MBYTES (or CONFIG_CMA_SIZE_PERCENTAGE of memory, or the smaller or larger of
// the two, by CONFIG_CMA_SIZE_SEL_*) when neither cma= nor a linux,cma-default node has set
// the default area. It takes a CMA slot and carries the kernel's own default heap, exactly as
// a cma= area does. 0: none, or not computable (a percentage of unknown DRAM).
func kconfigDefaultArea(path string, memory []plan.Bank) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && strings.HasPrefix(k, "CONFIG_") {
			vals[k] = strings.Trim(v, `"`)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	if vals["CONFIG_DMA_CMA"] != "y" {
		return 0, nil
	}
	mb, _ := strconv.ParseUint(vals["CONFIG_CMA_SIZE_MBYTES"], 10, 64)
	bySize := mb << 20
	var total uint64
	for _, m := range memory {
		total += m.Size
	}
	pct, _ := strconv.ParseUint(vals["CONFIG_CMA_SIZE_PERCENTAGE"], 10, 64)
	byPct := total / 100 * pct // cma_early_percent_memory: of memblock_phys_mem_size()
	switch {
	case vals["CONFIG_CMA_SIZE_SEL_PERCENTAGE"] == "y":
		return byPct, nil
	case vals["CONFIG_CMA_SIZE_SEL_MIN"] == "y":
		return min(bySize, byPct), nil
	case vals["CONFIG_CMA_SIZE_SEL_MAX"] == "y":
		return max(bySize, byPct), nil
	}
	return bySize, nil // CONFIG_CMA_SIZE_SEL_MBYTES, the default choice
}

// withKconfigArea adds the .config's own default CMA area to the command line the rules see,
// as the cma= it is equivalent to, when nothing else sets the default area.
func withKconfigArea(cmdline, kconfig string, b []plan.Bank, hasDefaultNode bool) (string, error) {
	if kconfig == "" || hasDefaultNode || kmodel.CmdlineCMA(cmdline) {
		return cmdline, nil
	}
	sz, err := kconfigDefaultArea(kconfig, b)
	if err != nil || sz == 0 {
		return cmdline, err
	}
	return strings.TrimSpace(fmt.Sprintf("%s cma=%dK", cmdline, sz>>10)), nil
}
