package natsmux

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
)

// recordingRequest is a micro.Request that records what is sent, and can
// hold an error reply until released.
type recordingRequest struct {
	fakeRequest
	hold    chan struct{} // when set, Error waits for it to close
	holding chan struct{} // closed when Error starts waiting

	mu    sync.Mutex
	sent  []string
	heads []nats.Header
}

func (r *recordingRequest) record(what string, h nats.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, what)
	r.heads = append(r.heads, h)
}

func (r *recordingRequest) Respond(data []byte, _ ...micro.RespondOpt) error {
	r.record("reply "+string(data), nil)
	return nil
}

func (r *recordingRequest) RespondMsg(m *nats.Msg) error {
	r.record("reply "+string(m.Data), m.Header)
	return nil
}

func (r *recordingRequest) Error(code, description string, _ []byte, opts ...micro.RespondOpt) error {
	if r.hold != nil {
		close(r.holding)
		<-r.hold
	}
	m := &nats.Msg{}
	for _, opt := range opts {
		opt(m)
	}
	r.record("error "+code+" "+description, m.Header)
	return nil
}

func (r *recordingRequest) replies() ([]string, []nats.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sent, r.heads
}

// TestFirstReplyWins: a request gets one reply, the first one sent; what
// comes later, early or from the chain, is dropped, and the reply carries
// the headers of the request it was sent through (a clone's after its
// parent's).
func TestFirstReplyWins(t *testing.T) {
	stamp := func(key, value string) Middleware {
		return func(next Handler) Handler {
			return HandlerFunc(func(ctx context.Context, req *Request) (*Response, error) {
				req.ReplyHeader().Set(key, value)
				req.SetErrorReplyHeader(key+"-Error", value)
				return next.ServeNATS(ctx, req)
			})
		}
	}
	tests := []struct {
		name    string
		handler HandlerFunc
		want    string
		headers nats.Header // "" for a header the reply must not have
	}{
		{"early reply", func(_ context.Context, req *Request) (*Response, error) {
			if !req.exchange.reply(req, Reply([]byte("accepted")), nil) || req.exchange.reply(req, Reply([]byte("twice")), nil) {
				t.Error("the first reply did not win")
			}
			return Reply([]byte("dropped")), nil
		}, "reply accepted", nats.Header{"Stamp": {"outer"}, "Stamp-Error": {""}}},
		{"early error", func(_ context.Context, req *Request) (*Response, error) {
			req.exchange.reply(req, nil, ErrConflict)
			return Reply([]byte("dropped")), nil
		}, "error 409 conflict", nats.Header{"Stamp": {"outer"}, "Stamp-Error": {"outer"}}},
		{"error through a child", func(_ context.Context, req *Request) (*Response, error) {
			c := req.child()
			c.SetErrorReplyHeader("Stamp-Error", "clone")
			c.SetErrorReplyHeader("Own-Error", "1")
			c.exchange.reply(&c, nil, ErrConflict)
			return nil, nil
		}, "error 409 conflict", nats.Header{"Stamp": {"outer"}, "Stamp-Error": {"clone"}, "Own-Error": {"1"}}},
		{"through a child", func(_ context.Context, req *Request) (*Response, error) {
			c := req.child()
			c.ReplyHeader().Set("Stamp", "clone")
			c.ReplyHeader().Set("Own", "1")
			done := make(chan bool)
			go func() { done <- c.exchange.reply(&c, Reply([]byte("from a goroutine")), nil) }()
			if !<-done {
				t.Error("the child's reply was not sent")
			}
			if req.ReplyHeader().Get("Own") != "" {
				t.Error("the child's reply headers reached the original")
			}
			return nil, nil
		}, "reply from a goroutine", nats.Header{"Stamp": {"clone"}, "Own": {"1"}, "Stamp-Error": {""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRouter()
			r.Use(stamp("Stamp", "outer"))
			r.Handle("ep", tt.handler)
			mr := &recordingRequest{fakeRequest: fakeRequest{subject: "ep"}}
			(*adapter)(r.tree.routes[0].bind(micro.Config{Name: "t"}, newServeConfig(nil))).Handle(mr)
			sent, heads := mr.replies()
			if len(sent) != 1 || sent[0] != tt.want {
				t.Fatalf("sent %q, want only %q", sent, tt.want)
			}
			for k, v := range tt.headers {
				if got := heads[0].Get(k); got != v[0] {
					t.Errorf("header %s = %q, want %q (all: %v)", k, got, v[0], heads[0])
				}
			}
		})
	}
}

// TestEarlyReplyFinishesBeforeStats: when an early reply is still being sent
// on another goroutine as the chain returns, the adapter does not return, so
// micro does not count the request, until that reply is out and its error
// recorded.
func TestEarlyReplyFinishesBeforeStats(t *testing.T) {
	mr := &recordingRequest{fakeRequest: fakeRequest{subject: "early"}, hold: make(chan struct{}), holding: make(chan struct{})}
	r := NewRouter()
	r.HandleFunc("early", func(_ context.Context, req *Request) (*Response, error) {
		go req.exchange.reply(req, nil, ErrConflict)
		<-mr.holding // the early reply is being sent
		return Reply([]byte("dropped")), nil
	})
	handled := make(chan struct{})
	go func() {
		(*adapter)(r.tree.routes[0].bind(micro.Config{Name: "t"}, newServeConfig(nil))).Handle(mr)
		close(handled)
	}()
	testutil.Closed(t, mr.holding, testutil.DefaultTimeout, "the early reply")
	select {
	case <-handled:
		t.Fatal("the adapter returned while the early reply was being sent")
	case <-time.After(20 * time.Millisecond): // a wrong return would come at once
	}
	close(mr.hold)
	testutil.Closed(t, handled, testutil.DefaultTimeout, "the adapter")
	if sent, _ := mr.replies(); len(sent) != 1 || sent[0] != "error 409 conflict" {
		t.Errorf("sent %q", sent)
	}
}

func TestAdoptReplyHeader(t *testing.T) {
	orig := NewRequest("x", nil)
	orig.ReplyHeader().Set("A", "orig")
	orig.SetErrorReplyHeader("A-Error", "orig")
	clone := orig.child()
	if allocs := testing.AllocsPerRun(10, func() { orig.adoptReplyHeader(&clone) }); allocs != 0 {
		t.Errorf("adopting no headers allocates %v times", allocs)
	}
	clone.ReplyHeader().Set("B", "clone")
	clone.SetErrorReplyHeader("B-Error", "clone")
	clone.SetErrorReplyHeader("C-Error", "clone")
	orig.adoptReplyHeader(&clone)
	if orig.ReplyHeader().Get("A") != "orig" || orig.ReplyHeader().Get("B") != "clone" || clone.ReplyHeader().Get("A") != "" {
		t.Errorf("adopted reply headers: original %v, clone %v", orig.ReplyHeader(), clone.ReplyHeader())
	}
	want := nats.Header{"A": {"orig"}, "B": {"clone"}, "A-Error": {"orig"}, "B-Error": {"clone"}, "C-Error": {"clone"}}
	if got := orig.replyHeaders(true); !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("error reply headers after adopting %v, want %v", got, want)
	}
}

// TestErrorReplyHeaderAllocs: one header for error replies, as RequestID
// sets on every request, costs a successful request no allocation.
func TestErrorReplyHeaderAllocs(t *testing.T) {
	id := []string{"r-1"}
	req := NewRequest("x", nil)
	if allocs := testing.AllocsPerRun(100, func() {
		req.SetErrorReplyHeader("Request-Id", id...)
		_ = req.replyHeaders(false)
	}); allocs != 0 {
		t.Errorf("%v allocations", allocs)
	}
}
