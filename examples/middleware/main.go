// Command middleware is a jobs service behind natsmux's recommended
// middleware chain, with load shedding on a group and a timeout on one
// endpoint:
//
//	hello     greets the name it is sent
//	crash     panics: the caller gets a 500 and the service keeps serving
//	fail      fails: the caller gets a 500, the logs get the reason
//	jobs.run  works for the duration it is sent ("250ms"): at most 2 jobs
//	          at once (429 beyond), each for at most 1s (504 beyond)
//
// Every error reply carries the request's X-Request-Id, the key to its
// logs, and every request is logged as one JSON line on stderr. Try:
//
//	micro run ./examples/middleware
//	micro request -H X-Request-Id:req-1 hello Ann
//	micro request --reply-headers crash  # 500, with the id to look for in the logs
//	micro request jobs.run 5s          # 504 after 1s
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/app/devserver"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/middleware"
)

const (
	maxJobs    = 2           // jobs served at once; Limit turns more away with 429
	jobTimeout = time.Second // Timeout answers 504 to a job still running after this
)

func main() {
	// One JSON line per record, for the requests and the runner's own news.
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	app.New(devserver.Fallback(), app.WithLogger(logger)).Main(service(logger))
}

// service returns the jobs service, logging its requests to logger.
func service(logger *slog.Logger) app.Service {
	r := natsmux.NewRouter()
	// The recommended chain in its documented order; middleware.Recommended()
	// is the same with every default, logging to slog.Default().
	logRequests := middleware.Logger(middleware.WithLogger(logger))
	r.Use(
		middleware.Tracing(),   // outermost: all below runs in the request's span
		middleware.RequestID(), // the id goes on the context for Logger, and on every error reply
		logRequests,            // one record per request, with its final code
		middleware.Metrics(),   // duration and in-flight requests
		middleware.Recover(),   // innermost: a panic becomes a 500 that the others see
	)
	// Tracing and Metrics report to the global OpenTelemetry providers, which
	// do nothing until the program sets them: see examples/observability.

	r.HandleFunc("hello", hello)
	r.HandleFunc("crash", crash)
	r.HandleFunc("fail", fail)
	r.Route("jobs", func(r *natsmux.Router) {
		// Load shedding for the group: a job beyond maxJobs is turned away at
		// once, so that callers can back off instead of queueing. Each
		// endpoint of the group has a limit of its own, unless
		// middleware.WithSharedLimit() makes one for them all.
		r.Use(middleware.Limit(maxJobs))
		// Timeout where a handler may block, not everywhere: it costs a copy
		// of the request and a place in a deadline heap per request.
		r.HandleFunc("run", runJob, natsmux.WithMiddleware(middleware.Timeout(jobTimeout)))
	})
	return app.Service{
		Config: micro.Config{Name: "jobs", Version: "1.0.0", Description: "Jobs behind the recommended middleware"},
		Router: r,
	}
}

func hello(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
	if len(req.Data) == 0 {
		return nil, natsmux.NewError(400, "send a name to greet")
	}
	// Logger adds this to the request's record.
	middleware.AddLogAttrs(ctx, slog.String("name", string(req.Data)))
	return natsmux.Reply([]byte("hello, " + string(req.Data))), nil
}

func crash(context.Context, *natsmux.Request) (*natsmux.Response, error) {
	panic("the crash endpoint crashes, as asked")
}

// errLedgerOffline stands for a failure deep inside a handler.
var errLedgerOffline = errors.New("ledger offline")

// fail returns an error without a code: the caller sees "internal error"
// only, and Logger records the whole text.
func fail(context.Context, *natsmux.Request) (*natsmux.Response, error) {
	return nil, fmt.Errorf("booking the payment: %w", errLedgerOffline)
}

// runJob works for the duration in the payload, or until the request's
// context ends: a handler that waits watches ctx.Done(), so that it stops
// when Timeout has answered for it.
func runJob(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
	d, err := time.ParseDuration(string(req.Data))
	if err != nil || d < 0 {
		return nil, natsmux.Errorf(400, "send how long the job takes, such as 250ms, not %q", req.Data)
	}
	middleware.AddLogAttrs(ctx, slog.Duration("job", d))
	work := time.NewTimer(d)
	defer work.Stop()
	select {
	case <-work.C:
		return natsmux.Reply([]byte("done after " + d.String())), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
