// Command client shows the caller's side: it starts an inventory service
// with typed endpoints, then calls it with the client package, the way
// another process would, and prints what each call gives:
//
//   - a typed call, with the service's own Go types, a header of the
//     caller's (a request id, which the service echoes) and the reply's
//     headers read back;
//   - error replies turned back into *natsmux.Error: field errors of a
//     request that fails validation, and a 404 that matches
//     natsmux.ErrNotFound;
//   - a call whose context deadline passes first, and one to a subject no
//     service listens on;
//   - discovery: the instances (PING), their endpoints (INFO) and their
//     counters (STATS).
//
// The client runs its calls through middleware: RequestID gives every call
// an id, and Resilience retries the calls to endpoints that INFO declares
// idempotent (check, not recount) when no instance answers in time.
//
// Then it stops the service and exits:
//
//	go run ./examples/client
//
// It connects to NATS_URL, and without one to nats://127.0.0.1:4222,
// starting an embedded server there if nothing answers.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/app/devserver"
	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/client"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/middleware"
)

const (
	serviceName    = "inventory"
	recountTakes   = 2 * time.Second        // how long a recount works when nobody stops it
	callerPatience = 100 * time.Millisecond // the deadline of the recount call
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

// The service and its callers share these types.
type (
	// Check asks whether qty of an item are in stock.
	Check struct {
		SKU string `json:"sku" validate:"required"`
		Qty int    `json:"qty" validate:"min=1"`
	}
	// Stock is the answer to a Check.
	Stock struct {
		SKU       string `json:"sku"`
		Available int    `json:"available"`
		Enough    bool   `json:"enough"`
	}
	// Recount asks for a count of a warehouse's shelves.
	Recount struct {
		Warehouse string `json:"warehouse" validate:"required"`
	}
	// Counted is the result of a Recount.
	Counted struct {
		Items int `json:"items"`
	}
)

// stock is what the inventory holds, by SKU.
var stock = map[string]int{"tea": 12, "coffee": 3}

// service returns the inventory service's configuration and router.
func service() (micro.Config, *natsmux.Router) {
	r := natsmux.NewRouter()
	// The caller below reads its X-Request-Id back from a successful reply,
	// which carries it only with this option (error replies always do).
	r.Use(middleware.RequestID(middleware.WithRequestIDOnEveryReply()))
	r.Route(serviceName, func(r *natsmux.Router) {
		// Checking stock twice does no harm: callers may retry it.
		r.Handle("check", binding.JSON(check), natsmux.WithIdempotent())
		r.Handle("recount", binding.JSON(recount))
	})
	return micro.Config{Name: serviceName, Version: "1.0.0", Description: "Stock levels"}, r
}

func check(_ context.Context, c *Check) (*Stock, error) {
	n, ok := stock[c.SKU]
	if !ok {
		return nil, natsmux.Errorf(404, "no item %s", c.SKU)
	}
	return &Stock{SKU: c.SKU, Available: n, Enough: n >= c.Qty}, nil
}

// recount is slow. The client sends its deadline with the request, so ctx
// ends when the caller stops waiting, and so does the recount.
func recount(ctx context.Context, _ *Recount) (*Counted, error) {
	done := time.NewTimer(recountTakes)
	defer done.Stop()
	select {
	case <-done.C:
		return &Counted{Items: len(stock)}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// run starts the service, calls it, prints the results to out, and stops
// the service.
func run(ctx context.Context, out io.Writer) (err error) {
	var conn app.ConnOptions
	// NATS_URL and the other variables natscli reads, then its context.
	if err := conn.Load(); err != nil {
		return err
	}
	nc, stopServer, err := app.ConnectOrStart(conn, app.DefaultURL, devserver.StartAt, slog.Default(), nats.Name(serviceName))
	if err != nil {
		return err
	}
	defer func() {
		nc.Close()
		if stopServer != nil {
			stopServer()
		}
	}()

	// Serve until the calls are done, then stop gracefully.
	serving, stopServing := context.WithCancel(ctx)
	defer stopServing()
	ready := make(chan struct{})
	served := make(chan error, 1)
	cfg, r := service()
	go func() {
		served <- natsmux.Serve(serving, nc, cfg, r, natsmux.WithOnStart(func(micro.Service) { close(ready) }))
	}()
	select {
	case <-ready:
	case err := <-served:
		return err
	}
	defer func() {
		stopServing()
		err = errors.Join(err, <-served)
	}()

	// The caller has a connection of its own, as another process would.
	// When run started an embedded server, it did so at conn's address.
	callerConn, err := conn.Connect(nats.Name(serviceName + " caller"))
	if err != nil {
		return err
	}
	defer callerConn.Close()
	c, err := client.New(callerConn, client.WithMiddleware(client.RequestID(), client.Resilience()))
	if err != nil {
		return err
	}
	// What INFO declares idempotent is what Resilience may retry.
	if err := c.LearnEndpoints(ctx, micro.WithDiscoveryService(serviceName), micro.WithDiscoveryMax(1)); err != nil {
		return err
	}
	if err := call(ctx, c, out); err != nil {
		return err
	}
	return discover(ctx, c, out)
}

// call makes calls that succeed and calls that fail, and prints what the
// caller learns from each.
func call(ctx context.Context, c *client.Client, out io.Writer) error {
	var reply nats.Header
	s, err := client.Call[Check, Stock](ctx, c, "inventory.check", &Check{SKU: "tea", Qty: 2},
		client.WithHeader(client.DefaultRequestIDHeader, "check-42"), client.WithReplyHeader(&reply))
	if err != nil {
		return err // the only call meant to succeed
	}
	fmt.Fprintf(out, "check 2 %s: %d available, enough: %t (request id %s)\n", s.SKU, s.Available, s.Enough,
		reply.Get(client.DefaultRequestIDHeader))

	// A request that fails validation: a 400 with a field error per rule.
	_, err = client.Call[Check, Stock](ctx, c, "inventory.check", &Check{SKU: "tea"})
	fmt.Fprintf(out, "check 0 tea: %v\n", err)
	for _, fe := range binding.FieldErrors(err) {
		fmt.Fprintf(out, "  field %s, rule %s %s: %s\n", fe.Field, fe.Rule, fe.Param, fe.Message)
	}

	// An error reply is a *natsmux.Error; errors.Is compares codes with
	// the sentinels.
	_, err = client.Call[Check, Stock](ctx, c, "inventory.check", &Check{SKU: "plum", Qty: 1})
	var e *natsmux.Error
	if errors.As(err, &e) {
		fmt.Fprintf(out, "check 1 plum: code %d, %q; is ErrNotFound: %t\n", e.Code, e.Description, errors.Is(err, natsmux.ErrNotFound))
	}

	// No reply before the deadline: a 504, whether the client gives up
	// first or the service, which got the deadline, answers 504 first.
	short, cancel := context.WithTimeout(ctx, callerPatience)
	defer cancel()
	_, err = client.Call[Recount, Counted](short, c, "inventory.recount", &Recount{Warehouse: "north"})
	fmt.Fprintf(out, "recount with a %s deadline: code %d; is ErrTimeout: %t\n", callerPatience,
		natsmux.CodeOf(err), errors.Is(err, natsmux.ErrTimeout))

	// Nobody listens: a 503 at once, rather than a wait for the timeout.
	_, err = client.Call[Check, Stock](ctx, c, "warehouse.check", &Check{SKU: "tea", Qty: 1})
	fmt.Fprintf(out, "warehouse.check: code %d; is nats.ErrNoResponders: %t\n",
		natsmux.CodeOf(err), errors.Is(err, nats.ErrNoResponders))
	return nil
}

// discover prints what the ADR-32 discovery requests find of the service.
func discover(ctx context.Context, c *client.Client, out io.Writer) error {
	only := micro.WithDiscoveryService(serviceName)
	pings, err := c.Ping(ctx, only)
	if err != nil {
		return err
	}
	for _, p := range pings {
		fmt.Fprintf(out, "ping: %s %s, instance %s\n", p.Name, p.Version, p.ID)
	}

	infos, err := c.Info(ctx, only)
	if err != nil {
		return err
	}
	for _, info := range infos {
		fmt.Fprintf(out, "info: %s, %q\n", info.Name, info.Description)
		for _, ep := range info.Endpoints {
			// A typed endpoint publishes a JSON Schema of what it takes.
			fmt.Fprintf(out, "  %s on %s, queue group %s, idempotent %t, takes %s\n",
				ep.Name, ep.Subject, ep.QueueGroup, ep.Metadata[natsmux.IdempotentKey] == "true", ep.Metadata[binding.RequestSchemaKey])
		}
	}

	stats, err := c.Stats(ctx, only)
	if err != nil {
		return err
	}
	for _, st := range stats {
		fmt.Fprintf(out, "stats: %s\n", st.Name)
		for _, ep := range st.Endpoints {
			fmt.Fprintf(out, "  %s: %s, %s (last %q), average %s\n", ep.Name, count(ep.NumRequests, "request"),
				count(ep.NumErrors, "error"), ep.LastError, ep.AverageProcessingTime.Round(time.Microsecond))
		}
	}
	return nil
}

// count says how many of noun there are: "1 request", "2 requests".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
