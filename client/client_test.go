package client_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/client"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

func TestCall(t *testing.T) {
	r := natsmux.NewRouter()
	r.Handle("quote", binding.JSON(quote))
	r.Handle("nothing", binding.JSON(func(context.Context, *Quote) (*Price, error) { return nil, nil }))
	e := newEnv(t, r, micro.Config{Name: "shop", Version: "1.0.0"})
	c := e.client(t)
	ctx := context.Background()

	got, err := client.Call[Quote, Price](ctx, c, "quote", &Quote{SKU: "tea", Qty: 3})
	if err != nil || *got != (Price{SKU: "tea", Cents: 750}) {
		t.Errorf("Call: %+v, %v", got, err)
	}
	// A nil input is an empty payload, which the service reads as {}.
	_, err = client.Call[Quote, Price](ctx, c, "quote", nil)
	if fe := binding.FieldErrors(err); len(fe) != 2 || fe[0].Field != "sku" || fe[1].Field != "qty" {
		t.Errorf("nil input: %v, field errors %+v", err, fe)
	}
	// An empty reply is Out's zero value.
	got, err = client.Call[Quote, Price](ctx, c, "nothing", &Quote{SKU: "tea", Qty: 1})
	if err != nil || got == nil || *got != (Price{}) {
		t.Errorf("empty reply: %+v, %v", got, err)
	}
}

// xmlCodec is a second codec, to show that the client's codec travels in
// Content-Type and the service answers in it.
type xmlCodec struct{}

func (xmlCodec) ContentType() string                { return "application/xml" }
func (xmlCodec) Marshal(v any) ([]byte, error)      { return xml.Marshal(v) }
func (xmlCodec) Unmarshal(data []byte, v any) error { return xml.Unmarshal(data, v) }

func TestCallWithCodec(t *testing.T) {
	r := natsmux.NewRouter()
	r.Handle("quote", binding.JSON(quote, binding.WithCodec(xmlCodec{})))
	r.Handle("json-only", binding.JSON(quote))
	e := newEnv(t, r, micro.Config{Name: "shop", Version: "1.0.0"})
	c := e.client(t, client.WithCodec(xmlCodec{}))

	got, err := client.Call[Quote, Price](context.Background(), c, "quote", &Quote{SKU: "tea", Qty: 2})
	if err != nil || *got != (Price{SKU: "tea", Cents: 500}) {
		t.Errorf("XML call: %+v, %v", got, err)
	}
	_, err = client.Call[Quote, Price](context.Background(), c, "json-only", &Quote{SKU: "tea", Qty: 2})
	if natsmux.CodeOf(err) != 415 {
		t.Errorf("XML to a JSON-only endpoint: %v", err)
	}
}

// TestCallErrors: every way a call fails gives an error a caller can
// test for, with the code natsmux.CodeOf reads.
func TestCallErrors(t *testing.T) {
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	r := natsmux.NewRouter()
	r.Handle("quote", binding.JSON(quote))
	r.HandleFunc("conflict", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
		return nil, &natsmux.Error{Code: 409, Description: "version conflict", Data: []byte(`{"current":7}`), Header: nats.Header{"X-Version": {"7"}}}
	})
	// block never answers before the test ends, so that the timeouts seen
	// are the client's own and not a 504 the service sends at its deadline.
	r.HandleFunc("block", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
		started <- struct{}{}
		<-release
		return nil, nil
	})
	e := newEnv(t, r, micro.Config{Name: "shop", Version: "1.0.0"})
	t.Cleanup(func() { close(release) }) // before the service's shutdown, which waits for handlers
	// A responder that answers in a codec the client does not use, and one
	// that answers with something that does not decode.
	raw := e.srv.Connect(t)
	for subject, reply := range map[string]*nats.Msg{
		"xml-reply": {Data: []byte("<price/>"), Header: nats.Header{"Content-Type": {"application/xml"}}},
		"bad-reply": {Data: []byte(`{"cents":"many"}`)},
	} {
		if _, err := raw.Subscribe(subject, func(m *nats.Msg) { _ = m.RespondMsg(reply) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := raw.Flush(); err != nil {
		t.Fatal(err)
	}

	short := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), 200*time.Millisecond)
	}
	tests := []struct {
		name    string
		client  []client.Option
		subject string
		ctx     func() (context.Context, context.CancelFunc)
		code    int
		is      []error
		text    string // in err.Error()
	}{
		{name: "service error", subject: "quote", code: 404, is: []error{natsmux.ErrNotFound}, text: "no product gone"},
		{name: "error with data and headers", subject: "conflict", code: 409, is: []error{natsmux.ErrConflict}, text: "version conflict"},
		{name: "no responders", subject: "nobody.home", code: 503,
			is: []error{nats.ErrNoResponders, natsmux.ErrServiceUnavailable}, text: `no service is listening on "nobody.home"`},
		{name: "deadline", subject: "block", ctx: short, code: 504,
			is: []error{context.DeadlineExceeded, nats.ErrTimeout, natsmux.ErrTimeout}, text: `request to "block": no reply within`},
		{name: "client timeout without deadline", client: []client.Option{client.WithTimeout(200 * time.Millisecond)}, subject: "block", code: 504,
			is: []error{context.DeadlineExceeded, nats.ErrTimeout}, text: "no reply within 200ms"},
		{name: "deadline passed before sending", subject: "quote", code: 504,
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
			},
			is: []error{context.DeadlineExceeded, nats.ErrTimeout}, text: "the deadline passed before sending"},
		{name: "reply in another codec", subject: "xml-reply", code: 500, text: `the reply from "xml-reply" is application/xml, not application/json`},
		{name: "reply that does not decode", subject: "bad-reply", code: 500,
			text: `decoding the reply from "bad-reply": field "cents": expected integer, got string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			defer cancel()
			_, err := client.Call[Quote, Price](ctx, e.client(t, tt.client...), tt.subject, &Quote{SKU: "gone", Qty: 1})
			if natsmux.CodeOf(err) != tt.code || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %v (code %d), want code %d and %q", err, natsmux.CodeOf(err), tt.code, tt.text)
			}
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("%v does not match %v", err, target)
				}
			}
			drain(started)
		})
	}

	// The error reply comes back whole, its protocol headers read into Code
	// and Description and not left in Header.
	_, err := client.Call[Quote, Price](context.Background(), e.client(t), "conflict", nil)
	var se *natsmux.Error
	if !errors.As(err, &se) || se.Code != 409 || se.Description != "version conflict" ||
		string(se.Data) != `{"current":7}` || se.Header.Get("X-Version") != "7" {
		t.Errorf("service error %#v", err)
	}
	if se != nil && (se.Header[micro.ErrorHeader] != nil || se.Header[micro.ErrorCodeHeader] != nil) {
		t.Errorf("the error's Header holds the ADR-32 error headers: %v", se.Header)
	}

	// Cancelling the context stops the wait.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := client.Call[Quote, Price](ctx, e.client(t), "block", nil)
		done <- err
	}()
	testutil.Receive(t, started, microtest.DefaultTimeout)
	cancel()
	if err := testutil.Receive(t, done, microtest.DefaultTimeout); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), `"block"`) {
		t.Errorf("cancelled call: %v", err)
	}
}

// drain empties the handler-started signal left by a test case.
func drain(ch chan struct{}) {
	select {
	case <-ch:
	default:
	}
}

// TestDeadlinePropagation: the handler's context ends when the caller
// stops waiting, whether the deadline comes from the caller's context or
// from the client's timeout.
func TestDeadlinePropagation(t *testing.T) {
	deadlines := make(chan time.Time, 1)
	r := natsmux.NewRouter()
	r.HandleFunc("deadline", func(ctx context.Context, _ *natsmux.Request) (*natsmux.Response, error) {
		d, ok := ctx.Deadline()
		if !ok {
			return nil, natsmux.NewError(500, "no deadline")
		}
		deadlines <- d
		return nil, nil
	})
	e := newEnv(t, r, micro.Config{Name: "shop", Version: "1.0.0"})

	tests := []struct {
		name    string
		timeout time.Duration // of the caller's context; 0: none
		client  time.Duration // the client's default
	}{
		{"caller's deadline", 3 * time.Second, time.Minute},
		{"client's timeout", 0, 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			want := time.Now().Add(tt.client)
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
				want, _ = ctx.Deadline()
			}
			if _, err := e.client(t, client.WithTimeout(tt.client)).Request(ctx, "deadline", nil, nil); err != nil {
				t.Fatal(err)
			}
			got := testutil.Receive(t, deadlines, microtest.DefaultTimeout)
			// The service counts the time left from when it starts the
			// handler, so its deadline is later by the transit time.
			if diff := got.Sub(want); diff < -10*time.Millisecond || diff > 500*time.Millisecond {
				t.Errorf("the handler's deadline is %s from the caller's", diff)
			}
		})
	}
}

// TestTraceContext: with a propagator, the caller's span context reaches
// the service in the request headers; without one, nothing is sent.
func TestTraceContext(t *testing.T) {
	headers := make(chan nats.Header, 1)
	r := natsmux.NewRouter()
	r.HandleFunc("trace", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		headers <- req.Header
		return nil, nil
	})
	e := newEnv(t, r, micro.Config{Name: "shop", Version: "1.0.0"})

	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx, span := tp.Tracer("client_test").Start(context.Background(), "call")
	defer span.End()
	propagator := propagation.TraceContext{}

	tests := []struct {
		name string
		opts []client.Option
		want trace.SpanContext
	}{
		{"with a propagator", []client.Option{client.WithPropagator(propagator)}, span.SpanContext()},
		{"without", nil, trace.SpanContext{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := e.client(t, tt.opts...).Request(ctx, "trace", nil, nil); err != nil {
				t.Fatal(err)
			}
			h := testutil.Receive(t, headers, microtest.DefaultTimeout)
			got := trace.SpanContextFromContext(propagator.Extract(context.Background(), natsmux.HeaderCarrier(h)))
			if got.TraceID() != tt.want.TraceID() || got.SpanID() != tt.want.SpanID() || got.IsSampled() != tt.want.IsSampled() {
				t.Errorf("the service sees %v, want %v (headers %v)", got, tt.want, h)
			}
		})
	}
}

// TestRequest: raw requests carry the caller's headers, leave the
// caller's map alone and map errors as Call does.
func TestRequest(t *testing.T) {
	r := natsmux.NewRouter()
	r.HandleFunc("echo", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		return natsmux.Reply(req.Data).SetHeader("X-Echo", req.Header.Get("X-Trace-Me")), nil
	})
	r.HandleFunc("teapot", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
		return nil, natsmux.Errorf(418, "short and stout")
	})
	e := newEnv(t, r, micro.Config{Name: "shop", Version: "1.0.0"})
	c := e.client(t)

	header := nats.Header{"X-Trace-Me": {"yes"}}
	reply, err := c.Request(context.Background(), "echo", []byte("hi"), header)
	if err != nil || string(reply.Data) != "hi" || reply.Header.Get("X-Echo") != "yes" {
		t.Errorf("echo: %v, %v", reply, err)
	}
	if diff := cmp.Diff(nats.Header{"X-Trace-Me": {"yes"}}, header); diff != "" {
		t.Errorf("the caller's header changed (-before +after):\n%s", diff)
	}
	if _, err := c.Request(context.Background(), "teapot", nil, nil); natsmux.CodeOf(err) != 418 || err.Error() != "418 short and stout" {
		t.Errorf("error reply: %v", err)
	}
	if c.Conn() != e.nc {
		t.Error("Conn is not the client's connection")
	}
}

func TestNew(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	tests := []struct {
		name string
		nc   *nats.Conn
		opts []client.Option
		want string
	}{
		{"defaults", nc, nil, ""},
		{"nil connection", nil, nil, "client: nil connection"},
		{"zero timeout", nc, []client.Option{client.WithTimeout(0)}, "client: the timeout must be positive, got 0s"},
		{"nil codec", nc, []client.Option{client.WithCodec(nil)}, "client: nil codec"},
		{"negative schema refresh", nc, []client.Option{client.WithSchemaValidation(client.WithSchemaRefresh(-time.Second))},
			"client: the schema refresh interval must not be negative, got -1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := client.New(tt.nc, tt.opts...)
			if tt.want == "" && (err != nil || c == nil) || tt.want != "" && (err == nil || err.Error() != tt.want) {
				t.Errorf("New: %v, %v; want error %q", c, err, tt.want)
			}
		})
	}
}

func TestResponseError(t *testing.T) {
	tests := []struct {
		name string
		msg  *nats.Msg
		want *natsmux.Error
	}{
		{"nil", nil, nil},
		{"no headers", &nats.Msg{Data: []byte("ok")}, nil},
		{"other headers", &nats.Msg{Header: nats.Header{"X": {"y"}}}, nil},
		{"error", &nats.Msg{Data: []byte("d"), Header: nats.Header{micro.ErrorHeader: {"gone"}, micro.ErrorCodeHeader: {"410"}}},
			&natsmux.Error{Code: 410, Description: "gone", Data: []byte("d")}},
		{"error with headers of its own", &nats.Msg{Header: nats.Header{micro.ErrorHeader: {"busy"}, micro.ErrorCodeHeader: {"503"}, "Retry-After": {"2"}}},
			&natsmux.Error{Code: 503, Description: "busy", Header: nats.Header{"Retry-After": {"2"}}}},
		{"code that is not a number", &nats.Msg{Header: nats.Header{micro.ErrorHeader: {"odd"}, micro.ErrorCodeHeader: {"E42"}}},
			&natsmux.Error{Code: 500, Description: `odd (invalid error code "E42")`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := client.ResponseError(tt.msg)
			if tt.want == nil {
				if err != nil {
					t.Errorf("got %v, want nil", err)
				}
				return
			}
			var got *natsmux.Error
			if !errors.As(err, &got) || got.Code != tt.want.Code || got.Description != tt.want.Description ||
				!bytes.Equal(got.Data, tt.want.Data) || !cmp.Equal(got.Header, tt.want.Header) {
				t.Errorf("got %#v, want %#v", err, tt.want)
			}
		})
	}
}
