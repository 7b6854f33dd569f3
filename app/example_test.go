package app_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/app/devserver"
	"github.com/natsmux/natsmux/micro"
)

// ExampleRun runs the seed's demo service against an embedded server until
// its context ends. A main function would call app.Main with the same
// Service instead.
func ExampleRun() {
	srv, err := devserver.Start(devserver.Options{Port: -1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown()

	r := natsmux.NewRouter()
	r.Route("demo", func(r *natsmux.Router) {
		r.HandleFunc("echo", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			return natsmux.Reply(req.Data), nil
		}, natsmux.WithSubject("ECHO"))
	})
	service := app.Service{
		Config: micro.Config{Name: "demo-service", Version: "1.0.0", Description: "Demo service"},
		Router: r,
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, []app.Service{service},
			app.WithConn(app.ConnOptions{URL: srv.ClientURL()}), app.WithLogger(slog.New(slog.DiscardHandler)))
	}()

	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()
	reply, err := requestWhenUp(nc, "demo.ECHO", "Hello, world!")
	fmt.Println(string(reply), err)

	cancel()
	fmt.Println("Run returned", <-done)
	// Output:
	// Hello, world! <nil>
	// Run returned <nil>
}

// requestWhenUp retries a request until a responder has subscribed.
func requestWhenUp(nc *nats.Conn, subject, data string) ([]byte, error) {
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		reply, err := nc.Request(subject, []byte(data), time.Second)
		if !errors.Is(err, nats.ErrNoResponders) || time.Now().After(deadline) {
			if err != nil {
				return nil, err
			}
			return reply.Data, nil
		}
	}
}
