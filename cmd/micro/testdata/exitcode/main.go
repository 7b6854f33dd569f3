// Command exitcode is run by the tests of micro run: it prints its
// arguments, NATS_URL and NATSMUX_LOG_FORMAT, then exits with the code its first argument
// names or, without arguments, waits to be ended by a signal.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	fmt.Printf("args=%q NATS_URL=%s NATSMUX_LOG_FORMAT=%s\n", os.Args[1:], os.Getenv("NATS_URL"), os.Getenv("NATSMUX_LOG_FORMAT"))
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
