package main

import (
	"fmt"
	"log"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/internal/loadgen"
	"github.com/natsmux/natsmux/micro"
)

// mixes are workloads of fast and slow requests: one request in Every takes
// Slow, the others none; a heavy-tailed spread; and the two extremes.
var mixes = []struct {
	name string
	mix  loadgen.Mix
}{
	{"echo", loadgen.Mix{}},
	{"every request 1 ms", loadgen.Mix{Every: 1, Slow: time.Millisecond}},
	{"1 in 2 takes 1 ms", loadgen.Mix{Every: 2, Slow: time.Millisecond}},
	{"1 in 5 takes 200 µs", loadgen.Mix{Every: 5, Slow: 200 * time.Microsecond}},
	{"1 in 10 takes 1 ms", loadgen.Mix{Every: 10, Slow: time.Millisecond}},
	{"1 in 20 takes 5 ms", loadgen.Mix{Every: 20, Slow: 5 * time.Millisecond}},
	{"1 in 100 takes 5 ms", loadgen.Mix{Every: 100, Slow: 5 * time.Millisecond}},
	{"1 in 1000 takes 50 ms", loadgen.Mix{Every: 1000, Slow: 50 * time.Millisecond}},
	{"heavy tail (Pareto)", loadgen.Mix{HeavyTail: true}},
}

// mixResponders in report order; the first, a goroutine per message, is the
// baseline: the simplest design that a slow request never holds up.
var mixResponders = []string{"goroutine per message", "natsmux micro", "raw nats.go (inline)"}

const mixCallers = 32

// measureMixes runs every mix against every mix responder.
func measureMixes(connect func() (*nats.Conn, error), rounds int, round time.Duration) ([][]loadgen.Result, error) {
	var tables [][]loadgen.Result
	for i, m := range mixes {
		var c cleanups
		must(loadgen.StartPerMessage(c.conn(connect), "mix.gpm", 0))
		subject := fmt.Sprintf("mix.micro.%d", i) // a fresh endpoint: its mode starts from scratch
		must(c.service(connect, micro.Config{Name: "mix", Version: "1.0.0"}).
			AddEndpoint("mix", echoMicro(0), micro.WithEndpointSubject(subject)))
		must(loadgen.StartRaw(c.conn(connect), "mix.raw", 0))
		client := c.conn(connect)
		must(client.Flush())
		targets := []loadgen.Target{
			{Name: mixResponders[0], Subject: "mix.gpm", Conn: client},
			{Name: mixResponders[1], Subject: subject, Conn: client},
			{Name: mixResponders[2], Subject: "mix.raw", Conn: client},
		}
		log.Printf("mix %s: %d rounds of %s per responder", m.name, rounds, round)
		res := loadgen.Compare(targets, loadgen.Load{Requesters: mixCallers, Payload: payload, Mix: m.mix}, rounds, round)
		c.run()
		if err := checkResults(m.name, mixResponders, res); err != nil {
			return nil, err
		}
		tables = append(tables, res)
	}
	return tables, nil
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
