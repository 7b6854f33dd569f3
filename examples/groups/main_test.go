package main

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/client"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// startService serves the service, as main does, on a test server, and
// returns a client connection.
func startService(t *testing.T) *nats.Conn {
	t.Helper()
	nc := microtest.NewServer(t).Connect(t)
	microtest.Serve(t, nc, service(newStore()))
	return nc
}

// TestUnknownOrder is the test of an error reply that docs/testing.md
// shows.
func TestUnknownOrder(t *testing.T) {
	nc := microtest.NewServer(t).Connect(t)
	microtest.Serve(t, nc, service(newStore()))

	reply := microtest.Request(t, nc, "orders.9.get", nil)
	var e *natsmux.Error
	if err := client.ResponseError(reply); !errors.As(err, &e) || e.Code != 404 {
		t.Fatalf("got %v, want a 404", err)
	}
}

func TestRequests(t *testing.T) {
	nc := startService(t)
	tests := []struct {
		name, subject, payload string
		want                   string // reply payload, or error description
		code                   int    // error code; 0 for a success
	}{
		{"get", "orders.1.get", "", `{"id":"1","items":{"apple":2,"pear":1}}`, 0},
		{"item", "orders.1.items.apple", "", `{"item":"apple","quantity":2}`, 0},
		{"no such order", "orders.9.get", "", "no order 9", 404},
		{"no such item", "orders.1.items.plum", "", "order 1 has no plum", 404},
		{"item of no order", "orders.9.items.apple", "", "no order 9", 404},
		{"create", "orders.create", `{"items":{"pear":3}}`, `{"id":"2","items":{"pear":3}}`, 0},
		{"created is there", "orders.2.items.pear", "", `{"item":"pear","quantity":3}`, 0},
		{"count", "admin.count", "", `{"orders":2}`, 0},
		{"malformed", "orders.create", "oops", "the payload is not an order: invalid character 'o' looking for beginning of value", 400},
		{"empty", "orders.create", `{"items":{}}`, "an order needs at least one item", 400},
		{"bad quantity", "orders.create", `{"items":{"fig":0}}`, "the quantity of fig must be positive, not 0", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply := microtest.Request(t, nc, tt.subject, []byte(tt.payload))
			err := micro.ResponseError(reply)
			switch {
			case tt.code == 0 && err != nil:
				t.Fatalf("error %v, want %s", err, tt.want)
			case tt.code == 0 && string(reply.Data) != tt.want:
				t.Errorf("reply %s, want %s", reply.Data, tt.want)
			case tt.code != 0:
				var se *micro.ServiceError
				if !errors.As(err, &se) || se.Code != tt.code || se.Description != tt.want {
					t.Errorf("error %v, want %d %s", err, tt.code, tt.want)
				}
			}
		})
	}
}

func TestInfo(t *testing.T) {
	nc := startService(t)
	infos, err := micro.DiscoverInfo(context.Background(), nc)
	if err != nil || len(infos) != 1 {
		t.Fatalf("INFO: %v, %v", infos, err)
	}
	sales := func(extra ...string) map[string]string {
		md := map[string]string{"domain": "sales"}
		for i := 0; i < len(extra); i += 2 {
			md[extra[i]] = extra[i+1]
		}
		return md
	}
	want := []micro.EndpointInfo{
		{Name: "create", Subject: "orders.create", QueueGroup: "q", Metadata: sales("request", `{"items":{"<item>":<quantity>}}`)},
		{Name: "get", Subject: "orders.*.get", QueueGroup: "q", Metadata: sales("natsmux.subject_template", "orders.{id}.get")},
		{Name: "item", Subject: "orders.*.items.*", QueueGroup: "q", Metadata: sales("natsmux.subject_template", "orders.{id}.items.{item}")},
		{Name: "count", Subject: "admin.count", QueueGroup: "admin"},
	}
	if diff := cmp.Diff(want, infos[0].Endpoints); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
	if got := infos[0].Metadata["example"]; got != "groups" {
		t.Errorf("service metadata %v", infos[0].Metadata)
	}
}

// TestConcurrentCreates: ids stay unique under concurrent requests.
func TestConcurrentCreates(t *testing.T) {
	nc := startService(t)
	const n = 20
	replies := make(chan string, n)
	for range n {
		go func() {
			reply, err := nc.Request("orders.create", []byte(`{"items":{"fig":1}}`), microtest.DefaultTimeout)
			if err != nil {
				replies <- err.Error()
				return
			}
			replies <- string(reply.Data)
		}()
	}
	seen := map[string]bool{}
	for range n {
		seen[testutil.Receive(t, replies, microtest.DefaultTimeout)] = true
	}
	for i := 2; i <= n+1; i++ {
		if want := `{"id":"` + strconv.Itoa(i) + `","items":{"fig":1}}`; !seen[want] {
			t.Errorf("no reply %s among %v", want, seen)
		}
	}
}
