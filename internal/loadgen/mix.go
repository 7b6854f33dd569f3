package loadgen

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"time"
)

// Mix says how long handlers work on each request: real services answer
// most requests at once and a few slowly (a cache miss, a cold query), and
// a dispatcher tuned to uniform loads can fail on such a mix. The requester
// draws each request's work and writes it into the payload; every responder
// of this package, and every handler in natsmux's benchmarks, reads it with
// Work and sleeps that long before it answers.
type Mix struct {
	// Every makes one request in Every slow (at random, with probability
	// 1/Every), taking Slow; the others take no time. 0 means no slow ones.
	Every int
	Slow  time.Duration
	// HeavyTail gives every request a work time drawn from a Pareto
	// distribution (scale 20µs, shape 1.1, capped at 50ms): most requests
	// short, a long tail of slow ones. Those under FastUnder count as fast.
	HeavyTail bool
}

// NamedMix is a Mix with a name for benchmark results (Name) and one for
// reports (Title).
type NamedMix struct {
	Name, Title string
	Mix         Mix
}

// Mixes is the family of workloads the dispatcher is measured on, by
// BenchmarkMix and by the benchmark report: the two extremes, one request in
// Every taking Slow with the others none, and a heavy-tailed spread.
var Mixes = []NamedMix{
	{"echo", "echo", Mix{}},
	{"all-1ms", "every request 1 ms", Mix{Every: 1, Slow: time.Millisecond}},
	{"1in2-1ms", "1 in 2 takes 1 ms", Mix{Every: 2, Slow: time.Millisecond}},
	{"1in5-200us", "1 in 5 takes 200 µs", Mix{Every: 5, Slow: 200 * time.Microsecond}},
	{"1in10-1ms", "1 in 10 takes 1 ms", Mix{Every: 10, Slow: time.Millisecond}},
	{"1in20-5ms", "1 in 20 takes 5 ms", Mix{Every: 20, Slow: 5 * time.Millisecond}},
	{"1in100-5ms", "1 in 100 takes 5 ms", Mix{Every: 100, Slow: 5 * time.Millisecond}},
	{"1in1000-50ms", "1 in 1000 takes 50 ms", Mix{Every: 1000, Slow: 50 * time.Millisecond}},
	{"heavy-tail", "heavy tail (Pareto)", Mix{HeavyTail: true}},
}

// FastUnder is the work below which a request counts as fast in a heavy
// tailed mix; its latency goes into Result's fast percentiles.
const FastUnder = 100 * time.Microsecond

// workTag marks a payload that carries a work time: 4 bytes of tag, then 8
// bytes of nanoseconds, then the rest of the payload.
var workTag = [4]byte{'w', 'o', 'r', 'k'}

const workHeader = len(workTag) + 8

// source returns a function that gives each request of requester i its
// payload, and whether the request counts as slow. The payload keeps the
// load's size.
func (m Mix) source(i int, payload []byte) func() ([]byte, bool) {
	if m.Every == 0 && !m.HeavyTail {
		return func() ([]byte, bool) { return payload, false }
	}
	rng := rand.New(rand.NewPCG(uint64(i), 0x5eed))
	buf := make([]byte, max(len(payload), workHeader))
	copy(buf[workHeader:], payload)
	copy(buf, workTag[:])
	return func() ([]byte, bool) {
		var work time.Duration
		switch {
		case m.HeavyTail:
			scale, shape := 20e3, 1.1 // nanoseconds
			work = time.Duration(min(scale/math.Pow(1-rng.Float64(), 1/shape), float64(50*time.Millisecond)))
		case rng.IntN(m.Every) == 0:
			work = m.Slow
		}
		// nats.go copies a request into its buffer when it is sent, so the
		// next request may reuse buf.
		binary.BigEndian.PutUint64(buf[len(workTag):], uint64(work))
		return buf, work >= FastUnder || (work > 0 && !m.HeavyTail)
	}
}

// Work sleeps for the work time that payload asks for, if any.
func Work(payload []byte) {
	if len(payload) < workHeader || [4]byte(payload[:4]) != workTag {
		return
	}
	if d := time.Duration(binary.BigEndian.Uint64(payload[len(workTag):])); d > 0 {
		time.Sleep(d)
	}
}
