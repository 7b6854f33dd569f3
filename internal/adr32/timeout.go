package adr32

import (
	"errors"
	"strconv"
	"time"
)

// TimeoutHeader carries the caller's timeout on a request: a Go duration such
// as "1.5s" or a whole number of milliseconds.
const TimeoutHeader = "Nats-Service-Timeout"

// MaxCallerTimeout caps the timeout a caller may ask for, so that no request
// holds its context and timer for longer, whatever the header says.
const MaxCallerTimeout = time.Hour

// CallerTimeout reads a TimeoutHeader value. A malformed or non-positive
// value means no timeout; a value above MaxCallerTimeout is MaxCallerTimeout.
func CallerTimeout(v string) (time.Duration, bool) {
	d, err := time.ParseDuration(v)
	if err != nil {
		ms, err := strconv.ParseInt(v, 10, 64) // out of range: err, and ms clamped to its sign's limit
		switch {
		case ms <= 0 || (err != nil && !errors.Is(err, strconv.ErrRange)):
			return 0, false
		case ms > int64(MaxCallerTimeout/time.Millisecond):
			return MaxCallerTimeout, true
		}
		d = time.Duration(ms) * time.Millisecond
	}
	if d <= 0 {
		return 0, false
	}
	return min(d, MaxCallerTimeout), true
}
