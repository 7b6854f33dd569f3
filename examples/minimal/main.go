// Command minimal is the echo service of the "NATS Micro for Python"
// walkthrough, in Go: the service demo-service answers on demo.ECHO with
// what it receives.
//
//	micro run ./examples/minimal
//	micro request demo.ECHO "Hello, world!"
//	micro info demo-service
//
// It connects to NATS_URL (or --server), and without one to
// nats://127.0.0.1:4222, starting an embedded server there if nothing
// answers. Ctrl-C stops it gracefully.
package main

import (
	"context"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/app/devserver"
	"github.com/natsmux/natsmux/micro"
)

func main() {
	// devserver.Fallback: without NATS_URL and with no server on
	// nats://127.0.0.1:4222, run an embedded one. For development only: a
	// production service calls app.Main(service()), which links no server
	// and starts none.
	app.New(devserver.Fallback()).Main(service())
}

// service returns the demo service: a group demo with one endpoint, echo,
// on the subject ECHO, so demo.ECHO, in the default queue group q.
func service() app.Service {
	r := natsmux.NewRouter()
	r.Route("demo", func(r *natsmux.Router) {
		r.HandleFunc("echo", echo, natsmux.WithSubject("ECHO"))
	})
	return app.Service{
		Config: micro.Config{Name: "demo-service", Version: "1.0.0", Description: "Demo service"},
		Router: r,
	}
}

// echo replies with the request's payload.
func echo(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
	return natsmux.Reply(req.Data), nil
}
