// A program for tcgprof's test to attribute instructions to: its functions have symbols.
package main

import "fmt"

//go:noinline
func first() int { return 1 }

//go:noinline
func second() int { return 2 }

func main() { fmt.Println(first() + second()) }
