package binding

import "reflect"

// FastPath reports whether the rules of struct type t run on the fast
// path, for the tests that hold it to the validator's answers.
func FastPath(t reflect.Type) bool { return inputOf(reflect.PointerTo(t)).fast != nil }

// RaceEnabled says whether the race detector is on.
const RaceEnabled = raceEnabled
