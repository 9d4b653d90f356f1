// Command genboard writes the inputs of bench/dtc.sh: a synthetic board of N pools
// (internal/benchboard), or the base devicetree source a board's plan can be patched into
// (memory and consumer devices as the board says, labels for dtc -@).
//
//	go run ./bench/genboard -pools 63 -o board.yaml
//	go run ./bench/genboard -base-of board.yaml -o base.dts
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/dtheap/dtheap/internal/benchboard"
	"github.com/dtheap/dtheap/pipeline"
)

func main() {
	pools := flag.Int("pools", 0, "write a synthetic board with this many pools")
	baseOf := flag.String("base-of", "", "write the base .dts for this board file instead")
	out := flag.String("o", "", "file to write")
	flag.Parse()
	if *out == "" || (*pools > 0) == (*baseOf != "") || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: genboard (-pools N | -base-of BOARD.yaml) -o FILE")
		os.Exit(2)
	}
	data, err := generate(*pools, *baseOf)
	if err == nil {
		err = os.WriteFile(*out, data, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "genboard:", err)
		os.Exit(1)
	}
}

func generate(pools int, baseOf string) ([]byte, error) {
	if pools > 0 {
		return benchboard.YAML(pools), nil
	}
	// The base must match the plan (memory, devices), so plan the board first.
	res, err := pipeline.Load(baseOf, pipeline.Options{})
	if err != nil {
		return nil, err
	}
	if res.Plan == nil {
		return nil, fmt.Errorf("%s did not load: %v", baseOf, res.Findings)
	}
	dts, err := benchboard.BaseDTS(res.Plan)
	return []byte(dts), err
}
