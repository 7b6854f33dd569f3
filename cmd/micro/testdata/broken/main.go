// Command broken does not compile, for the tests of micro run.
package main

func main() {
	var n int = "not a number"
	_ = n
}
