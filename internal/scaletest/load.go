package scaletest

import (
	"errors"
	"fmt"
	"maps"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/micro"
)

// Outcome kinds that Classify returns besides "error <code>".
const (
	OK           = "ok"
	Timeout      = "timeout"
	NoResponders = "no responders"
)

// Load describes steady request traffic: closed-loop requesters, each
// sending its next request when the previous one is answered or has failed.
type Load struct {
	// Conns carry the requests; requester i uses Conns[i%len(Conns)].
	Conns []*nats.Conn
	// Requesters is how many requests are in flight at once; default
	// len(Conns).
	Requesters int
	// Message returns the n-th request of a requester. It must return a new
	// message each time.
	Message func(requester, n int) *nats.Msg
	// Call, instead of Conns and Message, sends the n-th request of a
	// requester itself, through a client.Client for instance, and returns
	// the reply or the error. It bounds its own wait (Timeout does not
	// apply); its error replies are errors (*natsmux.Error).
	Call func(requester, n int) (*nats.Msg, error)
	// Timeout bounds each request; default 2s.
	Timeout time.Duration
	// Backoff is how long a requester pauses after a request without a
	// reply, as a real client backs off before trying again; without it a
	// request that fails at once ("no responders") would spin. Default 10ms.
	Backoff time.Duration
}

// Run is load in progress.
type Run struct {
	stop      atomic.Bool
	wg        sync.WaitGroup
	start     time.Time
	tallies   []*Tally
	succeeded atomic.Int64

	gapMu       sync.Mutex
	lastSuccess time.Time
	longestGap  time.Duration
	stoppedAt   time.Time // zero until Stop
}

// Start starts the requesters.
func (l Load) Start() *Run {
	if l.Call == nil && (len(l.Conns) == 0 || l.Message == nil) {
		panic("scaletest: Load needs Conns and Message, or Call")
	}
	requesters := orDefault(l.Requesters, max(len(l.Conns), 1))
	timeout := orDefault(l.Timeout, 2*time.Second)
	backoff := orDefault(l.Backoff, 10*time.Millisecond)
	r := &Run{start: time.Now(), tallies: make([]*Tally, requesters)}
	r.lastSuccess = r.start
	for i := range requesters {
		tally := newTally()
		tally.lastOK = r.start
		r.tallies[i] = tally
		call := l.Call
		if call == nil {
			nc := l.Conns[i%len(l.Conns)]
			call = func(requester, n int) (*nats.Msg, error) { return nc.RequestMsg(l.Message(requester, n), timeout) }
		}
		r.wg.Go(func() {
			for n := 0; !r.stop.Load(); n++ {
				t0 := time.Now()
				reply, err := call(i, n)
				elapsed := time.Since(t0)
				kind := Classify(reply, err)
				tally.add(kind, elapsed, err == nil)
				switch {
				case kind == OK:
					r.succeeded.Add(1)
					r.success(tally.waitEnded(t0.Add(elapsed)))
				case err != nil:
					time.Sleep(backoff)
				}
			}
			// A requester whose last request failed has waited until now.
			tally.waitEnded(time.Now())
		})
	}
	return r
}

func orDefault[T int | time.Duration](v, fallback T) T {
	if v > 0 {
		return v
	}
	return fallback
}

// success records a successful reply at t for the longest gap. Replies
// after Stop do not count: the other requesters have stopped by then.
func (r *Run) success(t time.Time) {
	r.gapMu.Lock()
	defer r.gapMu.Unlock()
	if !r.stoppedAt.IsZero() && t.After(r.stoppedAt) {
		return
	}
	if t.After(r.lastSuccess) {
		r.longestGap = max(r.longestGap, t.Sub(r.lastSuccess))
		r.lastSuccess = t
	}
}

// Succeeded returns how many requests have succeeded so far, for waiting
// until traffic flows again.
func (r *Run) Succeeded() int64 {
	return r.succeeded.Load()
}

// Stop lets every requester finish its request in flight, then returns the
// tally of the whole run. Gaps end when Stop is called, so that a request
// that is still waiting for its timeout does not stretch them.
func (r *Run) Stop() Tally {
	stoppedAt := time.Now()
	r.success(stoppedAt)
	r.gapMu.Lock()
	r.stoppedAt = stoppedAt
	r.gapMu.Unlock()
	r.stop.Store(true)
	r.wg.Wait()
	total := newTally()
	for _, t := range r.tallies {
		total.merge(t)
	}
	total.Elapsed = time.Since(r.start)
	total.LongestGap = r.longestGap
	return *total
}

// Classify names the outcome of a request: OK for a reply, "error <code>"
// for an ADR-32 error reply (or a client's *natsmux.Error for one),
// Timeout, NoResponders, or the text of another transport error.
func Classify(reply *nats.Msg, err error) string {
	var serr *micro.ServiceError
	var cerr *natsmux.Error
	switch {
	case err == nil && errors.As(micro.ResponseError(reply), &serr):
		return "error " + strconv.Itoa(serr.Code)
	case err == nil:
		return OK
	case errors.Is(err, nats.ErrTimeout):
		return Timeout
	case errors.Is(err, nats.ErrNoResponders):
		return NoResponders
	case errors.As(err, &cerr):
		return "error " + strconv.Itoa(cerr.Code)
	default:
		return err.Error()
	}
}

// Tally is what a run of load measured.
type Tally struct {
	// Sent counts requests; Answered those that got a reply, error replies
	// included; Failed those that did not (timeouts, no responders, ...).
	Sent, Answered, Failed int
	// Kinds counts requests by outcome (see Classify).
	Kinds map[string]int
	// Elapsed is the length of the run.
	Elapsed time.Duration
	// LongestGap is the longest time without any successful reply, whichever
	// requester got it: the service's outage as a whole. The start and the
	// end of the run count as successes.
	LongestGap time.Duration
	// LongestCallerGap is the longest time one requester went without a
	// successful reply, a request that failed at the end included: the
	// outage a single caller felt.
	LongestCallerGap time.Duration

	latency histogram // of answered requests
	lastOK  time.Time // one requester's last success
}

func newTally() *Tally {
	return &Tally{Kinds: map[string]int{}}
}

func (t *Tally) add(kind string, elapsed time.Duration, answered bool) {
	t.Sent++
	t.Kinds[kind]++
	if answered {
		t.Answered++
		t.latency.add(elapsed)
	} else {
		t.Failed++
	}
}

// waitEnded records that a requester stopped waiting for a success at when
// (it got one, or it stopped) and returns when.
func (t *Tally) waitEnded(when time.Time) time.Time {
	if when.After(t.lastOK) {
		t.LongestCallerGap = max(t.LongestCallerGap, when.Sub(t.lastOK))
		t.lastOK = when
	}
	return when
}

func (t *Tally) merge(o *Tally) {
	t.LongestCallerGap = max(t.LongestCallerGap, o.LongestCallerGap)
	t.Sent += o.Sent
	t.Answered += o.Answered
	t.Failed += o.Failed
	for k, n := range o.Kinds {
		t.Kinds[k] += n
	}
	t.latency.merge(&o.latency)
}

// Throughput is answered requests per second.
func (t Tally) Throughput() float64 {
	if t.Elapsed <= 0 {
		return 0
	}
	return float64(t.Answered) / t.Elapsed.Seconds()
}

// Percentile returns the latency below which the fraction p (0 to 1) of
// the answered requests completed, rounded up by at most an eighth.
func (t Tally) Percentile(p float64) time.Duration {
	return t.latency.percentile(p)
}

// String summarises the tally for a test log.
func (t Tally) String() string {
	kinds := make([]string, 0, len(t.Kinds))
	for _, k := range slices.Sorted(maps.Keys(t.Kinds)) {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, t.Kinds[k]))
	}
	return fmt.Sprintf("sent %d, answered %d, failed %d (%s) in %s: %.0f req/s, p50 %s, p99 %s, longest gap %s, longest gap of one caller %s",
		t.Sent, t.Answered, t.Failed, strings.Join(kinds, ", "), t.Elapsed.Round(time.Millisecond),
		t.Throughput(), t.Percentile(0.5), t.Percentile(0.99),
		t.LongestGap.Round(time.Microsecond), t.LongestCallerGap.Round(time.Microsecond))
}

// histogram counts durations in logarithmic buckets, eight per power of
// two, so that a long soak keeps its percentiles in constant memory.
type histogram struct {
	counts [61 * subBuckets]int64 // up to the largest time.Duration
	total  int64
}

const subBuckets = 8 // per power of two: a bucket spans at most 1/8 of its lower bound

func bucketOf(d time.Duration) int {
	ns := uint64(max(d, 0))
	if ns < 2*subBuckets {
		return int(ns) // exact below 16ns
	}
	exp := bits.Len64(ns) - 1
	shift := exp - 3
	return (exp-2)*subBuckets + int(ns>>shift&(subBuckets-1))
}

// upperBound is the largest duration in bucket i.
func upperBound(i int) time.Duration {
	if i < 2*subBuckets {
		return time.Duration(i)
	}
	exp := i/subBuckets + 2
	mant := uint64(i%subBuckets + subBuckets)
	return time.Duration((mant+1)<<(exp-3) - 1)
}

func (h *histogram) add(d time.Duration) {
	h.counts[bucketOf(d)]++
	h.total++
}

func (h *histogram) merge(o *histogram) {
	for i, n := range o.counts {
		h.counts[i] += n
	}
	h.total += o.total
}

func (h *histogram) percentile(p float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := max(1, int64(p*float64(h.total)+0.5))
	var seen int64
	for i, n := range h.counts {
		seen += n
		if seen >= rank {
			return upperBound(i)
		}
	}
	return upperBound(len(h.counts) - 1)
}
