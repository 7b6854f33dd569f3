package natsmux_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

type codedError struct{ code int }

func (e codedError) Error() string  { return "coded " + strconv.Itoa(e.code) }
func (e codedError) ErrorCode() int { return e.code }

// randomErrors returns errors of every kind a handler may return, with codes
// inside and outside the protocol's range.
func randomErrors(rng *rand.Rand, n int) []error {
	codes := []int{-1, 0, 42, 99, 100, 204, 400, 404, 429, 500, 503, 504, 999, 1000}
	cause := errors.New("secret cause")
	kinds := []func(code int) error{
		func(code int) error { return &natsmux.Error{Code: code, Description: "described"} },
		func(code int) error { return &natsmux.Error{Code: code} },
		func(code int) error { return natsmux.Errorf(code, "formatted %d: %w", code, cause) },
		func(code int) error { return natsmux.Wrap(cause, code, "wrapped") },
		func(code int) error { return codedError{code} },
		func(code int) error { return fmt.Errorf("context: %w", codedError{code}) },
		func(int) error { return natsmux.ErrNotFound },
		func(int) error { return fmt.Errorf("deep: %w", natsmux.ErrConflict) },
		func(int) error { return context.DeadlineExceeded },
		func(int) error { return fmt.Errorf("call: %w", context.Canceled) },
		func(int) error { return io.EOF },
	}
	out := make([]error, n)
	for i := range out {
		out[i] = kinds[rng.IntN(len(kinds))](codes[rng.IntN(len(codes))])
	}
	return out
}

// TestErrorCodeIsOneDecision: for errors of every kind, the code that a
// middleware sees (CodeOf), the code of the reply over NATS, the code of the
// reply in memory and the code in the endpoint's last_error are the same,
// and the descriptions over NATS and in memory agree.
func TestErrorCodeIsOneDecision(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	errs := randomErrors(rand.New(rand.NewPCG(7, 7)), 200)
	var mu sync.Mutex
	observed := map[string]int{}
	observe := func(next natsmux.Handler) natsmux.Handler {
		return natsmux.HandlerFunc(func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			resp, err := next.ServeNATS(ctx, req)
			mu.Lock()
			observed[string(req.Data)+" "+req.Endpoint.Service] = natsmux.CodeOf(err)
			mu.Unlock()
			return resp, err
		})
	}
	r := natsmux.NewRouter()
	r.Use(observe)
	r.HandleFunc("fail", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		i, _ := strconv.Atoi(string(req.Data))
		return nil, errs[i]
	})
	svc := mountService(t, nc, micro.Config{Name: "errs", Version: "1.0.0"}, r)

	for i, err := range errs {
		key := strconv.Itoa(i)
		reply := microtest.Request(t, nc, "fail", []byte(key))
		var wire *micro.ServiceError
		if !errors.As(micro.ResponseError(reply), &wire) {
			t.Fatalf("%v: reply is no error reply: %v", err, reply.Header)
		}
		_, memErr := r.ServeNATS(context.Background(), natsmux.NewRequest("fail", []byte(key)))
		var mem *natsmux.Error
		if !errors.As(memErr, &mem) {
			t.Fatalf("%v: in memory %v, want an *Error", err, memErr)
		}
		last := microtest.SettledStats(t, svc, i+1).Endpoints[0].LastError
		mu.Lock()
		seenWire, seenMem := observed[key+" errs"], observed[key+" "]
		mu.Unlock()
		if wire.Code != mem.Code || wire.Code != seenWire || wire.Code != seenMem || !strings.HasPrefix(last, strconv.Itoa(wire.Code)+":") {
			t.Errorf("%#v: wire %d, memory %d, middleware %d/%d, last_error %q", err, wire.Code, mem.Code, seenWire, seenMem, last)
		}
		if wire.Code < 100 || wire.Code > 999 || wire.Description == "" || wire.Description != mem.Description {
			t.Errorf("%#v: wire %d %q, memory %q", err, wire.Code, wire.Description, mem.Description)
		}
		if strings.Contains(wire.Description, "secret") {
			t.Errorf("%#v: the cause reached the caller: %q", err, wire.Description)
		}
	}
}

// TestErrorHandlerSeenByMiddleware: what a custom ErrorHandler makes of a
// handler's error is what the middleware around the handler see, and what
// the caller gets.
func TestErrorHandlerSeenByMiddleware(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	seen := make(chan int, 2)
	r := natsmux.NewRouter()
	r.Use(func(next natsmux.Handler) natsmux.Handler {
		return natsmux.HandlerFunc(func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			resp, err := next.ServeNATS(ctx, req)
			seen <- natsmux.CodeOf(err)
			return resp, err
		})
	})
	r.HandleFunc("get", func(context.Context, *natsmux.Request) (*natsmux.Response, error) { return nil, io.EOF })
	notFound := natsmux.WithErrorHandler(func(ctx context.Context, req *natsmux.Request, err error) *natsmux.Error {
		if errors.Is(err, io.EOF) {
			return natsmux.Wrap(err, 404, "no such order")
		}
		return natsmux.DefaultErrorHandler(ctx, req, err)
	})
	mountService(t, nc, micro.Config{Name: "eh", Version: "1.0.0"}, r, notFound)
	reply := microtest.Request(t, nc, "get", nil)
	if code := reply.Header.Get(micro.ErrorCodeHeader); code != "404" || <-seen != 404 {
		t.Errorf("reply %q %v", code, reply.Header)
	}
	_, err := natsmux.InMemory(r, notFound).ServeNATS(context.Background(), natsmux.NewRequest("get", nil))
	if natsmux.CodeOf(err) != 404 || <-seen != 404 {
		t.Errorf("in memory: %v", err)
	}
}

// TestErrorReplyTooLarge: an error reply whose payload the server refuses
// for its size becomes 500 "reply too large", as a reply does, so that the
// caller learns at once instead of timing out; it carries the headers meant
// for error replies.
func TestErrorReplyTooLarge(t *testing.T) {
	srv := microtest.NewServer(t, microtest.WithOptions(func(o *server.Options) { o.MaxPayload = 4096 }))
	nc := srv.Connect(t)
	big := []byte(strings.Repeat("x", 8192))
	r := natsmux.NewRouter()
	r.Use(func(next natsmux.Handler) natsmux.Handler {
		return natsmux.HandlerFunc(func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			req.SetErrorReplyHeader("Request-Id", "r-1")
			return next.ServeNATS(ctx, req)
		})
	})
	r.HandleFunc("fail", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
		return nil, &natsmux.Error{Code: 400, Description: "invalid", Data: big}
	})
	r.HandleFunc("big", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
		return natsmux.Reply(big), nil
	})
	svc := mountService(t, nc, micro.Config{Name: "big", Version: "1.0.0"}, r)
	for _, subject := range []string{"fail", "big"} {
		reply := microtest.RequestMsg(t, nc, &nats.Msg{Subject: subject})
		if reply.Header.Get(micro.ErrorCodeHeader) != "500" || reply.Header.Get(micro.ErrorHeader) != "reply too large" ||
			reply.Header.Get("Request-Id") != "r-1" {
			t.Errorf("%s: reply %v, want 500 reply too large with the error reply headers", subject, reply.Header)
		}
	}
	for _, e := range microtest.SettledStats(t, svc, 2).Endpoints {
		if e.LastError != "500:reply too large" {
			t.Errorf("%s: last_error %q", e.Name, e.LastError)
		}
	}
}

func TestErrorf(t *testing.T) {
	cause := errors.New("dial tcp: connection refused")
	tests := []struct {
		format string
		args   []any
		want   string
	}{
		{"upstream failed: %w", []any{cause}, "upstream failed"},
		{"order %s: %w", []any{"42", cause}, "order 42"},
		{"lookup failed (%w)", []any{cause}, "lookup failed"},
		{"%w", []any{cause}, ""},
		{"%[2]s failed: %[1]w", []any{cause, "inventory"}, "inventory failed"},
		{"%*d items: %w", []any{3, 7, cause}, "  7 items"},
		{"no cause %d%%", []any{5}, "no cause 5%"},
		{"call f() failed: %v", []any{"x"}, "call f() failed: x"},
	}
	for _, tt := range tests {
		e := natsmux.Errorf(502, tt.format, tt.args...)
		if e.Description != tt.want {
			t.Errorf("Errorf(%q): description %q, want %q", tt.format, e.Description, tt.want)
		}
		if strings.Contains(e.Description, "refused") {
			t.Errorf("Errorf(%q) sends the cause: %q", tt.format, e.Description)
		}
	}
	if e := natsmux.Errorf(502, "upstream failed: %w", cause); !errors.Is(e, cause) {
		t.Error("the %w operand is not the cause")
	}
}
