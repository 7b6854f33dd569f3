//go:build !race

package binding_test

// raceEnabled says whether the race detector is on.
const raceEnabled = false
