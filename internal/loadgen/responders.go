package loadgen

import (
	"time"

	"github.com/nats-io/nats.go"
	refmicro "github.com/nats-io/nats.go/micro"
)

// The baselines every comparison in natsmux is made against. Each answers
// with the request's payload, after sleeping delay when it is not zero and
// the work the payload asks for (Mix).

// StartRaw subscribes a plain nats.go responder to subject in queue group q:
// the fastest a NATS responder can be.
func StartRaw(nc *nats.Conn, subject string, delay time.Duration) error {
	_, err := nc.QueueSubscribe(subject, "q", func(m *nats.Msg) {
		sleep(delay)
		Work(m.Data)
		_ = m.Respond(m.Data)
	})
	if err != nil {
		return err
	}
	return nc.Flush()
}

// StartPerMessage subscribes a nats.go responder that hands each message to
// a goroutine of its own: the simplest design that a slow request never
// holds up, and the anchor of the mixed workloads.
func StartPerMessage(nc *nats.Conn, subject string, delay time.Duration) error {
	_, err := nc.QueueSubscribe(subject, "q", func(m *nats.Msg) {
		go func() {
			sleep(delay)
			Work(m.Data)
			_ = m.Respond(m.Data)
		}()
	})
	if err != nil {
		return err
	}
	return nc.Flush()
}

// StartNatsMicro adds a service with nats.go's micro (the reference ADR-32
// implementation) with one endpoint on subject. Stop it with the returned
// function.
func StartNatsMicro(nc *nats.Conn, subject string, delay time.Duration) (stop func() error, err error) {
	svc, err := refmicro.AddService(nc, refmicro.Config{Name: "natsgo-micro", Version: "1.0.0"})
	if err != nil {
		return nil, err
	}
	err = svc.AddEndpoint("echo", refmicro.HandlerFunc(func(r refmicro.Request) {
		sleep(delay)
		Work(r.Data())
		_ = r.Respond(r.Data())
	}), refmicro.WithEndpointSubject(subject))
	if err != nil {
		_ = svc.Stop()
		return nil, err
	}
	return svc.Stop, nc.Flush()
}

func sleep(d time.Duration) {
	if d > 0 {
		time.Sleep(d)
	}
}
