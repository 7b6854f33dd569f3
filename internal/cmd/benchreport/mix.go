package main

import (
	"fmt"
	"log"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/internal/loadgen"
	"github.com/natsmux/natsmux/micro"
)

// mixResponders in report order; the first, a goroutine per message, is the
// baseline: the simplest design that a slow request never holds up.
var mixResponders = []string{"goroutine per message", "natsmux micro", "raw nats.go (inline)"}

const mixCallers = 32

// measureMixes runs every mix against every mix responder.
func measureMixes(connect func() (*nats.Conn, error), rounds int, round time.Duration) ([][]loadgen.Result, error) {
	var tables [][]loadgen.Result
	for i, m := range loadgen.Mixes {
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
		log.Printf("mix %s: %d rounds of %s per responder", m.Title, rounds, round)
		res := loadgen.Compare(targets, loadgen.Load{Requesters: mixCallers, Payload: payload, Mix: m.Mix}, rounds, round)
		c.run()
		if err := checkResults(m.Title, mixResponders, res); err != nil {
			return nil, err
		}
		tables = append(tables, res)
	}
	return tables, nil
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
