package micro

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// simulation drives a dispatcher's mode statistics with calls on a
// simulated clock: no goroutines, no timing, the same result every run.
type simulation struct {
	d     *dispatcher
	clock time.Time
}

func newSimulation() *simulation {
	return &simulation{d: &dispatcher{max: 256}, clock: epoch.Add(time.Hour)}
}

// run feeds calls that start every interval and take work(i) each.
func (s *simulation) run(calls int, interval time.Duration, work func(i int) time.Duration) {
	for i := range calls {
		s.d.observe(s.clock, work(i))
		s.clock = s.clock.Add(interval)
	}
}

func fast(int) time.Duration { return 5 * time.Microsecond }

func oneIn(n int, slow time.Duration) func(int) time.Duration {
	return func(i int) time.Duration {
		if i%n == n-1 {
			return slow
		}
		return fast(i)
	}
}

func heavyTail(seed uint64) func(int) time.Duration {
	rng := rand.New(rand.NewPCG(seed, seed))
	return func(int) time.Duration {
		return time.Duration(min(20e3/math.Pow(1-rng.Float64(), 1/1.1), float64(50*time.Millisecond)))
	}
}

// TestModeFollowsTheMix: the endpoint spreads when calls that block would
// stall it for a meaningful share of the time, or when handlers are slow on
// average, and stays inline for fast calls and rare slow ones.
func TestModeFollowsTheMix(t *testing.T) {
	const rate = 20 * time.Microsecond // 50k calls a second
	tests := []struct {
		name   string
		work   func(int) time.Duration
		spread bool
	}{
		{"echo", fast, false},
		{"1 in 1000 takes 50ms", oneIn(1000, 50*time.Millisecond), false},
		{"1 in 100 takes 5ms", oneIn(100, 5*time.Millisecond), true},
		{"1 in 20 takes 5ms", oneIn(20, 5*time.Millisecond), true},
		{"1 in 10 takes 1ms", oneIn(10, time.Millisecond), true},
		{"1 in 5 takes 200us", oneIn(5, 200*time.Microsecond), true},
		{"1 in 2 takes 1ms", oneIn(2, time.Millisecond), true},
		{"heavy tail", heavyTail(1), true},
		{"every call 1ms", func(int) time.Duration { return time.Millisecond }, true},
		{"every call computes 60us", func(int) time.Duration { return 60 * time.Microsecond }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSimulation()
			s.run(50000, rate, tt.work) // a simulated second
			if got := s.d.spread.Load(); got != tt.spread {
				t.Errorf("spread %v, want %v (stall share %d/1024, average %s)", got, tt.spread,
					s.d.stallShare.Load(), time.Duration(s.d.avgNanos.Load()))
			}
			if changes := s.d.modeChanges.Load(); changes > 1 {
				t.Errorf("the mode changed %d times under a steady mix", changes)
			}
		})
	}
}

// TestModeReturnsInline: once the mix turns fast again, the endpoint goes
// back inline within a few windows, and a short burst of slow calls does
// not make it flap.
func TestModeReturnsInline(t *testing.T) {
	const rate = 20 * time.Microsecond
	s := newSimulation()
	s.run(25000, rate, oneIn(20, 5*time.Millisecond))
	if !s.d.spread.Load() {
		t.Fatal("the slow mix did not spread")
	}
	calls := 0
	for s.d.spread.Load() {
		s.run(1, rate, fast)
		if calls++; calls > 10000 { // 200ms of simulated time
			t.Fatalf("still spread after %d fast calls (stall share %d/1024)", calls, s.d.stallShare.Load())
		}
	}
	t.Logf("back inline after %d fast calls (%s)", calls, time.Duration(calls)*rate)

	s.run(25000, rate, fast)
	before := s.d.modeChanges.Load()
	s.run(3, rate, func(int) time.Duration { return 5 * time.Millisecond }) // a burst, then fast again
	s.run(25000, rate, fast)
	if s.d.spread.Load() || s.d.modeChanges.Load() != before {
		t.Errorf("three slow calls in a row flipped the mode %d times", s.d.modeChanges.Load()-before)
	}
}

// TestSurplusPace: a receiver whose call returned leaves only when more
// wait than its mode needs (spread: idleReceivers and as many as are busy;
// inline: none), and at most one leaves every shrinkEvery.
func TestSurplusPace(t *testing.T) {
	tests := []struct {
		name               string
		spread             bool
		receivers, waiting int32
		want               bool
	}{
		{"spread, many idle", true, 40, 30, true},
		{"spread, idleReceivers left", true, 40, idleReceivers - 1, false},
		{"spread, as many waiting as busy", true, 20, 10, false},
		{"inline, one waiting", false, 2, 1, true},
		{"inline, none waiting", false, 1, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &dispatcher{max: 256}
			d.receivers.Store(tt.receivers)
			d.waiting.Store(tt.waiting)
			d.lastLeft.Store(int64(time.Since(epoch) - shrinkEvery))
			if got := d.surplus(tt.spread); got != tt.want {
				t.Fatalf("surplus = %v, want %v", got, tt.want)
			}
			if tt.want && d.surplus(tt.spread) {
				t.Errorf("a second receiver left within shrinkEvery of the first")
			}
		})
	}
}

// TestReceiversFollowTheLoad: in spread mode a burst of calls that block
// gets a receiver each, never more than the endpoint's limit, while fast
// calls go on being served beside them; once the burst is over, the
// receivers left over leave, down to a few, and to one when fast traffic
// has brought the endpoint back inline.
func TestReceiversFollowTheLoad(t *testing.T) {
	ns := startServer(t)
	nc := connect(t, ns)
	svc, err := AddService(nc, Config{Name: "burst", Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop(); <-svc.Done() })
	const limit, burst = 40, 60
	release := make(chan struct{})
	blocked := make(chan struct{}, burst)
	err = svc.AddEndpoint("e", HandlerFunc(func(r Request) {
		if string(r.Data()) == "block" {
			blocked <- struct{}{}
			<-release
		}
		_ = r.Respond(r.Data())
	}), WithEndpointMaxConcurrency(limit))
	if err != nil {
		t.Fatal(err)
	}
	d := svc.(*service).watchdog.dispatchers[0]
	d.spread.Store(true) // as a mix of slow calls would make it

	caller := connect(t, ns)
	for range burst {
		if err := caller.PublishRequest("e", nats.NewInbox(), []byte("block")); err != nil {
			t.Fatal(err)
		}
	}
	for range limit - 1 { // one receiver stays free while it can
		<-blocked
	}
	if n := d.receivers.Load(); n != limit {
		t.Errorf("%d receivers for %d blocked calls, want the limit %d", n, limit-1, limit)
	}
	// At the limit the rest of the burst waits in the subscription.
	release <- struct{}{}
	<-blocked
	if got := d.receivers.Load(); got > limit {
		t.Errorf("%d receivers, above the limit %d", got, limit)
	}
	close(release)
	for range burst - limit {
		<-blocked
	}
	// Fast traffic afterwards: the surplus leaves, one every shrinkEvery.
	deadline := time.Now().Add(10 * time.Second)
	for d.receivers.Load() > 2*idleReceivers {
		if time.Now().After(deadline) {
			t.Fatalf("still %d receivers after the burst", d.receivers.Load())
		}
		if _, err := caller.Request("e", []byte("fast"), 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	for d.spread.Load() || d.receivers.Load() > 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d receivers, spread %v, after the burst; want one, inline", d.receivers.Load(), d.spread.Load())
		}
		if _, err := caller.Request("e", []byte("fast"), 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
}
