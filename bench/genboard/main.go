// Command genboard writes a synthetic board of N pools (internal/benchboard) and, optionally,
// a base devicetree blob the board's plan can be patched into. bench/dtc.sh uses it to give
// dtheap dtb and dtc the same input at every size.
//
//	go run ./bench/genboard -pools 63 -o board.yaml [-base base.dtb]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/dtheap/dtheap/internal/benchboard"
	"github.com/dtheap/dtheap/pipeline"
)

func main() {
	pools := flag.Int("pools", benchboard.MaxClean, "number of pools")
	out := flag.String("o", "", "board YAML to write")
	base := flag.String("base", "", "also write a base .dtb matching the board's memory and devices")
	flag.Parse()
	if *out == "" || *pools < 1 || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*pools, *out, *base); err != nil {
		fmt.Fprintln(os.Stderr, "genboard:", err)
		os.Exit(1)
	}
}

func run(pools int, out, base string) error {
	if err := os.WriteFile(out, benchboard.YAML(pools), 0o644); err != nil {
		return err
	}
	if base == "" {
		return nil
	}
	// The base must match the plan (memory, devices), so plan the board just written.
	res, err := pipeline.Load(out, pipeline.Options{})
	if err != nil {
		return err
	}
	if res.Plan == nil {
		return fmt.Errorf("%s did not load: %v", out, res.Findings)
	}
	blob, err := benchboard.BaseDTB(res.Plan)
	if err != nil {
		return err
	}
	return os.WriteFile(base, blob, 0o644)
}
