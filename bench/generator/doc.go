// Package generator holds the generator benchmarks (issue #8): load+validate+plan and every
// emitter, on the largest reference board in boards/ and on synthetic boards of 10 to 10,000
// pools (internal/benchboard). Run them with
//
//	go test -run '^$' -bench . -benchmem -count 6 ./bench/generator
//
// BENCHMARKS.md at the repository root has the results and what they mean. The tests in this
// package only check that each benchmark does its real work; nothing here is timed by a test.
package generator
