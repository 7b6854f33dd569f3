package scaletest

import (
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// soakMix is the traffic of the soak: endpoint, share of the requests (in
// twentieths) and the outcome each request must have.
var soakMix = []struct {
	endpoint string
	weight   int
	outcome  string
}{
	{"ok", 14, OK},
	{"conflict", 1, "error 409"}, // a coded error
	{"fail", 1, "error 500"},     // an uncoded error, its text withheld
	{"panic", 2, "error 500"},    // a handler panic
	{"slow", 2, "error 504"},     // outlives the caller's timeout header
}

// soakRouter serves the endpoints of soakMix under "soak.".
func soakRouter() *natsmux.Router {
	r := natsmux.NewRouter()
	r.Route("soak", func(r *natsmux.Router) {
		r.HandleFunc("ok", echo)
		r.HandleFunc("conflict", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
			return nil, natsmux.ErrConflict
		})
		r.HandleFunc("fail", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
			return nil, errors.New("soak: the back end is down")
		})
		r.HandleFunc("panic", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
			panic("soak: handler panic")
		})
		r.HandleFunc("slow", func(ctx context.Context, _ *natsmux.Request) (*natsmux.Response, error) {
			<-ctx.Done() // the caller's Nats-Service-Timeout ends it
			return nil, ctx.Err()
		})
	})
	return r
}

// soakMessage returns the n-th request of a requester and the index of its
// kind in soakMix.
func soakMessage(requester, n int) (*nats.Msg, int) {
	slot := (requester + n) % 20
	for i, m := range soakMix {
		if slot < m.weight {
			msg := nats.NewMsg("soak." + m.endpoint)
			msg.Data = []byte("soak")
			if m.endpoint == "slow" {
				msg.Header.Set(micro.TimeoutHeader, "5ms")
			}
			return msg, i
		}
		slot -= m.weight
	}
	panic("soak: weights do not add up to 20")
}

// TestSoak keeps a service under steady mixed load for -soak (3s by
// default) and checks that every request gets the reply its kind calls for,
// that stats and logs account for all of them, and that once the service
// has stopped the goroutines are gone and the heap is back near where it
// started.
func TestSoak(t *testing.T) {
	panics := countPanicLogs(t)
	baseline := goleak.IgnoreCurrent()
	goroutinesBefore := runtime.NumGoroutine()
	heapBefore := liveHeap()

	var tally Tally
	var sentByKind [5]atomic.Int64 // indexed like soakMix
	var goroutinesDuring int
	t.Run("load", func(t *testing.T) {
		srv := microtest.NewServer(t)
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() {
			served <- natsmux.Serve(ctx, srv.Connect(t), micro.Config{Name: "soak", Version: "1.0.0"}, soakRouter())
		}()
		defer func() {
			cancel()
			if err := testutil.Receive(t, served, microtest.DefaultTimeout); err != nil {
				t.Errorf("Serve: %v", err)
			}
		}()
		caller := srv.Connect(t)
		testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
			for _, m := range soakMix {
				if !srv.GlobalAccount().SubscriptionInterest("soak." + m.endpoint) {
					return false
				}
			}
			return true
		}, "every soak endpoint subscribed")

		run := Load{
			Conns:      []*nats.Conn{caller, srv.Connect(t)},
			Requesters: 16,
			// Timeouts are the slow endpoint's business (504); a busy
			// machine's stall must not pass for one.
			Timeout: 10 * time.Second,
			Message: func(requester, n int) *nats.Msg {
				msg, kind := soakMessage(requester, n)
				sentByKind[kind].Add(1)
				return msg
			},
		}.Start()
		// The soak's duration is the point of the test: wait it out.
		time.Sleep(*soakFor)
		goroutinesDuring = runtime.NumGoroutine()
		tally = run.Stop()

		requests, errs := settledStats(t, caller, "soak", tally.Sent)
		t.Logf("STATS: %d requests, %d errors", requests, errs)
		if want := tally.Sent - tally.Kinds[OK]; requests != tally.Sent || errs != want {
			t.Errorf("STATS count %d requests and %d errors, want %d and %d", requests, errs, tally.Sent, want)
		}
	})

	want := map[string]int{}
	for i, m := range soakMix {
		want[m.outcome] += int(sentByKind[i].Load())
	}
	for kind, n := range tally.Kinds {
		if want[kind] != n {
			t.Errorf("%d requests had the outcome %q, want %d", n, kind, want[kind])
		}
	}
	if got, want := panics.Load(), sentByKind[3].Load(); got != want {
		t.Errorf("%d panics logged, want %d", got, want)
	}

	heapAfter := liveHeap()
	leakErr := goleak.Find(baseline)
	t.Logf("soak of %s: %s", *soakFor, tally)
	t.Logf("goroutines: %d before, %d under load, %d after; live heap: %.1f MiB before, %.1f MiB after",
		goroutinesBefore, goroutinesDuring, runtime.NumGoroutine(), mib(heapBefore), mib(heapAfter))
	if leakErr != nil {
		t.Errorf("goroutines left behind by the service:\n%v", leakErr)
	}
	if heapAfter > heapBefore+heapSlack {
		t.Errorf("live heap grew from %.1f MiB to %.1f MiB, more than the %.0f MiB allowed",
			mib(heapBefore), mib(heapAfter), mib(heapSlack))
	}
}

// heapSlack is how much the live heap may grow over a soak: caches and
// pools of the runtime and the libraries, never the traffic itself.
const heapSlack = 8 << 20

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// countPanicLogs routes the default slog logger, to which natsmux reports
// recovered panics, to a counter for the rest of the test, so that a soak
// does not print thousands of stack traces.
func countPanicLogs(t *testing.T) *atomic.Int64 {
	var n atomic.Int64
	prev, prevOut, prevFlags := slog.Default(), log.Writer(), log.Flags()
	slog.SetDefault(slog.New(&countingHandler{Handler: slog.NewTextHandler(io.Discard, nil), n: &n}))
	t.Cleanup(func() {
		slog.SetDefault(prev)
		// SetDefault redirected the log package; restoring slog's default
		// handler does not undo that.
		log.SetOutput(prevOut)
		log.SetFlags(prevFlags)
	})
	return &n
}

type countingHandler struct {
	slog.Handler
	n *atomic.Int64
}

func (h *countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "natsmux: recovered from a panic" {
		h.n.Add(1)
	}
	return h.Handler.Handle(ctx, r)
}

func TestSoakMessageMix(t *testing.T) {
	counts := make([]int, len(soakMix))
	for n := range 20 {
		_, kind := soakMessage(3, n)
		counts[kind]++
	}
	for i, m := range soakMix {
		if counts[i] != m.weight {
			t.Errorf("%s: %d of 20 requests, want %d", m.endpoint, counts[i], m.weight)
		}
	}
	msg, _ := soakMessage(0, 18) // slot 18: slow
	if got := msg.Header.Get(micro.TimeoutHeader); got != "5ms" || msg.Subject != "soak.slow" {
		t.Errorf("slot 18: %s with timeout %q", msg.Subject, got)
	}
}
