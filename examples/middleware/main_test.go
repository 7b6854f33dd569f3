package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
	"github.com/natsmux/natsmux/middleware"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// logBuffer holds the service's JSON log lines; handlers write them on
// their goroutines while the test reads.
type logBuffer struct{ testutil.Buffer }

// record returns the request record with the given request id, waiting for
// Logger to write it.
func (b *logBuffer) record(t *testing.T, requestID string) map[string]any {
	t.Helper()
	var found map[string]any
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		found = b.find(t, requestID)
		return found != nil
	}, "a log record for request %s", requestID)
	return found
}

func (b *logBuffer) find(t *testing.T, requestID string) map[string]any {
	t.Helper()
	lines := bufio.NewScanner(strings.NewReader(b.String()))
	for lines.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(lines.Bytes(), &rec); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, lines.Bytes())
		}
		if rec["msg"] == "nats request" && rec["request_id"] == requestID {
			return rec
		}
	}
	return nil
}

// startService runs the service as main does, against a test server, with
// its logs in a buffer, and returns a client connection and the buffer.
func startService(t *testing.T) (*nats.Conn, *logBuffer) {
	t.Helper()
	nc := microtest.NewServer(t).Connect(t)
	logs := &logBuffer{}
	microtest.Serve(t, nc, service(slog.New(slog.NewJSONHandler(logs, nil))))
	return nc, logs
}

// codeOf returns the reply's error code and description, or 0 and its
// payload for a successful reply.
func codeOf(reply *nats.Msg) (int, string) {
	var se *micro.ServiceError
	if errors.As(micro.ResponseError(reply), &se) {
		return se.Code, se.Description
	}
	return 0, string(reply.Data)
}

// TestRequests sends each request with an id of its own and checks the
// reply, the id echoed on an error reply, and the request's log record.
func TestRequests(t *testing.T) {
	nc, logs := startService(t)
	tests := []struct {
		name, subject, payload string
		code                   int    // 0 for a success
		want                   string // reply payload, or error description
		level                  string
		logged                 map[string]any // more attributes of the record, as decoded from JSON
	}{
		{"hello", "hello", "Ann", 0, "hello, Ann", "INFO", map[string]any{"name": "Ann", "endpoint": "hello"}},
		{"no name", "hello", "", 400, "send a name to greet", "WARN", map[string]any{"error": "send a name to greet"}},
		{"panic", "crash", "", 500, "internal error", "ERROR", map[string]any{"panic": "the crash endpoint crashes, as asked"}},
		{"serves after a panic", "hello", "Bo", 0, "hello, Bo", "INFO", map[string]any{"name": "Bo"}},
		{"error", "fail", "", 500, "internal error", "ERROR", map[string]any{"error": "internal error: booking the payment: ledger offline"}},
		{"short job", "jobs.run", "10ms", 0, "done after 10ms", "INFO", map[string]any{"job": float64(10 * time.Millisecond), "subject": "jobs.run"}},
		{"bad job", "jobs.run", "soon", 400, `send how long the job takes, such as 250ms, not "soon"`, "WARN", nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "req-" + strconv.Itoa(i)
			reply := microtest.RequestMsg(t, nc, &nats.Msg{Subject: tt.subject, Data: []byte(tt.payload),
				Header: nats.Header{middleware.DefaultRequestIDHeader: {id}}})
			if code, got := codeOf(reply); code != tt.code || got != tt.want {
				t.Errorf("reply %d %q, want %d %q", code, got, tt.code, tt.want)
			}
			wantID := id
			if tt.code == 0 {
				wantID = "" // a successful reply has no headers to pay for
			}
			if got := reply.Header.Get(middleware.DefaultRequestIDHeader); got != wantID {
				t.Errorf("reply's request id %q, want %q", got, wantID)
			}

			rec := logs.record(t, id)
			if rec["level"] != tt.level || rec["code"] != float64(tt.code) {
				t.Errorf("record at %v with code %v, want %s with %d: %v", rec["level"], rec["code"], tt.level, tt.code, rec)
			}
			for key, want := range tt.logged {
				if got := rec[key]; got != want {
					t.Errorf("record's %s is %v, want %v: %v", key, got, want, rec)
				}
			}
			if _, hasStack := rec["stack"]; hasStack != (tt.subject == "crash") {
				t.Errorf("record has a stack: %t, want it for a panic only: %v", hasStack, rec)
			}
		})
	}
}

// TestGeneratedRequestID: a request without an id gets a new one, on the
// error reply and in the log.
func TestGeneratedRequestID(t *testing.T) {
	nc, logs := startService(t)
	reply := microtest.Request(t, nc, "crash", nil)
	id := reply.Header.Get(middleware.DefaultRequestIDHeader)
	if len(id) != 22 {
		t.Fatalf("reply's request id %q, want a new 22-character id", id)
	}
	if rec := logs.record(t, id); rec["panic"] != "the crash endpoint crashes, as asked" {
		t.Errorf("record for %s: %v", id, rec)
	}
}

// TestLimitAndTimeout sends one job more than the group's limit, each
// longer than the timeout: one is turned away at once with 429, the other
// two get 504 when the timeout passes, and the stats count three errors.
func TestLimitAndTimeout(t *testing.T) {
	nc, logs := startService(t)
	replies := make(chan *nats.Msg, maxJobs+1)
	inbox := nats.NewInbox()
	sub, err := nc.ChanSubscribe(inbox+".*", replies)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	for i := range maxJobs + 1 {
		msg := &nats.Msg{Subject: "jobs.run", Reply: inbox + "." + strconv.Itoa(i), Data: []byte("1m"),
			Header: nats.Header{middleware.DefaultRequestIDHeader: {"job-" + strconv.Itoa(i)}}}
		if err := nc.PublishMsg(msg); err != nil {
			t.Fatal(err)
		}
	}

	want := []struct {
		code        int
		description string
		level       string
	}{{429, "too many requests", "WARN"}, {504, "timeout", "ERROR"}, {504, "timeout", "ERROR"}}
	for _, w := range want {
		reply := testutil.Receive(t, replies, microtest.DefaultTimeout)
		if code, desc := codeOf(reply); code != w.code || desc != w.description {
			t.Errorf("reply %d %q, want %d %q", code, desc, w.code, w.description)
		}
		rec := logs.record(t, reply.Header.Get(middleware.DefaultRequestIDHeader))
		if rec["level"] != w.level || rec["code"] != float64(w.code) {
			t.Errorf("record %v, want %s with code %d", rec, w.level, w.code)
		}
	}

	var last *micro.EndpointStats
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		stats, _ := micro.DiscoverStats(context.Background(), nc, micro.WithDiscoveryMax(1))
		for _, s := range stats {
			for _, ep := range s.Endpoints {
				if ep.Name == "run" {
					last = ep
					return ep.NumRequests == maxJobs+1 && ep.NumErrors == maxJobs+1
				}
			}
		}
		return false
	}, "stats count %d jobs, all errors; last seen %+v", maxJobs+1, lastSeen{&last})
}

// lastSeen prints the stats an Eventually saw last, when it fails.
type lastSeen struct{ p **micro.EndpointStats }

func (l lastSeen) String() string { return fmt.Sprintf("%+v", *l.p) }
