//go:build !race

package binding

// raceEnabled says whether the race detector is on.
const raceEnabled = false
