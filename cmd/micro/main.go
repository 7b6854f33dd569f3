package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(newCLI(os.Stdin, os.Stdout, os.Stderr).execute(context.Background(), os.Args[1:]))
}
