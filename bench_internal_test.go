package natsmux

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/micro"
)

// fakeRequest is a micro.Request that goes nowhere, to measure the router's
// own per-request work without NATS.
type fakeRequest struct {
	subject string
	data    []byte
}

func (f *fakeRequest) Respond(data []byte, _ ...micro.RespondOpt) error { return nil }
func (f *fakeRequest) RespondJSON(any, ...micro.RespondOpt) error       { return nil }
func (f *fakeRequest) RespondMsg(*nats.Msg) error                       { return nil }
func (f *fakeRequest) Error(code, description string, data []byte, _ ...micro.RespondOpt) error {
	return nil
}
func (f *fakeRequest) Data() []byte             { return f.data }
func (f *fakeRequest) Headers() micro.Headers   { return nil }
func (f *fakeRequest) Subject() string          { return f.subject }
func (f *fakeRequest) Reply() string            { return "_INBOX.x" }
func (f *fakeRequest) Context() context.Context { return context.Background() }

func noop(next Handler) Handler {
	return HandlerFunc(func(ctx context.Context, req *Request) (*Response, error) {
		return next.ServeNATS(ctx, req)
	})
}

// BenchmarkAdapter measures what the router adds to a request, in memory:
// the adapter (request and context), the chain and the reply, with the
// handler answering through natsmux.Reply.
func BenchmarkAdapter(b *testing.B) {
	echo := HandlerFunc(func(_ context.Context, req *Request) (*Response, error) { return Reply(req.Data), nil })
	for _, n := range []int{0, 5} {
		b.Run(map[int]string{0: "no-middleware", 5: "5-noop-middlewares"}[n], func(b *testing.B) {
			r := NewRouter()
			for range n {
				r.Use(noop)
			}
			r.Handle("echo", echo, WithSubject("orders.{id}.get"))
			a := (*adapter)(r.tree.routes[0].bind(micro.Config{Name: "bench"}, newServeConfig(nil)))
			mr := &fakeRequest{subject: "orders.42.get", data: []byte("payload")}
			b.ReportAllocs()
			for b.Loop() {
				a.Handle(mr)
			}
		})
	}
}
