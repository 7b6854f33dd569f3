// Command exitcode is run by the tests of micro run: it prints its
// arguments and NATS_URL, then exits with the code its first argument
// names or, without arguments, waits to be ended by a signal.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	fmt.Printf("args=%q NATS_URL=%s\n", os.Args[1:], os.Getenv("NATS_URL"))
	if len(os.Args) < 2 {
		time.Sleep(time.Hour)
	}
	code, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(100)
	}
	os.Exit(code)
}
