package micro_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

var echo = micro.HandlerFunc(func(r micro.Request) { _ = r.Respond(r.Data()) })

func TestAddServiceValidation(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	tests := []struct {
		name    string
		cfg     micro.Config
		wantErr string // substring of the error; "" means valid
	}{
		{"valid", micro.Config{Name: "svc", Version: "1.0.0"}, ""},
		{"prerelease and build", micro.Config{Name: "a_b-C9", Version: "1.0.0-rc.1+b.5"}, ""},
		{"empty name", micro.Config{Version: "1.0.0"}, `service name "": name should not be empty`},
		{"dot in name", micro.Config{Name: "a.b", Version: "1.0.0"}, `service name "a.b"`},
		{"space in name", micro.Config{Name: "a b", Version: "1.0.0"}, `service name "a b"`},
		{"empty version", micro.Config{Name: "svc"}, `version "": version should not be empty`},
		{"two-part version", micro.Config{Name: "svc", Version: "1.0"}, `version "1.0"`},
		{"v prefix", micro.Config{Name: "svc", Version: "v1.0.0"}, `version "v1.0.0"`},
		{"leading zero", micro.Config{Name: "svc", Version: "01.0.0"}, `version "01.0.0"`},
		{"queue group with space", micro.Config{Name: "svc", Version: "1.0.0", QueueGroup: "a b"}, `queue group "a b" contains white space`},
		{"queue group with inner >", micro.Config{Name: "svc", Version: "1.0.0", QueueGroup: ">.abc"}, `has '>' before its end`},
		{"negative concurrency", micro.Config{Name: "svc", Version: "1.0.0", MaxConcurrency: -1}, "max concurrency must not be negative"},
		{"wildcard prefix", micro.Config{Name: "svc", Version: "1.0.0", APIPrefix: "$SRV.>"}, "API prefix: subject \"$SRV.>\" may not contain wildcards"},
		{"invalid default endpoint", micro.Config{Name: "svc", Version: "1.0.0", Endpoint: &micro.EndpointConfig{Subject: "a..b", Handler: echo}}, "empty token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, err := micro.AddService(nc, tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("AddService: %v", err)
				}
				_ = svc.Stop()
				<-svc.Done()
				return
			}
			if !errors.Is(err, micro.ErrConfigValidation) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("AddService: got %v, want a validation error containing %q", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "validation: ") {
				t.Errorf("error %q does not start with \"validation: \"", err)
			}
		})
	}
}

func TestAddEndpointValidation(t *testing.T) {
	srv := microtest.NewServer(t)
	svc := microtest.AddService(t, srv.Connect(t), micro.Config{Name: "svc", Version: "1.0.0"})
	tests := []struct {
		name     string
		endpoint string
		opts     []micro.EndpointOpt
		handler  micro.Handler
		group    string
		wantErr  string
	}{
		{"plain", "e1", nil, echo, "", ""},
		{"wildcards", "e2", []micro.EndpointOpt{micro.WithEndpointSubject("a.*.c.>")}, echo, "", ""},
		{"tail wildcard", "e3", []micro.EndpointOpt{micro.WithEndpointSubject("tail.>")}, echo, "", ""},
		{"full wildcard", "e", []micro.EndpointOpt{micro.WithEndpointSubject(">")}, echo, "", "overlaps the discovery subject $SRV.PING"},
		{"every PING", "e", []micro.EndpointOpt{micro.WithEndpointSubject("*.PING")}, echo, "", "overlaps the discovery subject $SRV.PING"},
		{"every STATS by id", "e", []micro.EndpointOpt{micro.WithEndpointSubject("*.STATS.*.*")}, echo, "", "overlaps the discovery subject $SRV.STATS.*.*"},
		{"same queue group, overlapping", "e", []micro.EndpointOpt{micro.WithEndpointSubject("a.x.c.d")}, echo, "", `subject "a.x.c.d" overlaps "a.*.c.>" of endpoint "e2" in the same queue group "q"`},
		{"other queue group, overlapping", "e4", []micro.EndpointOpt{micro.WithEndpointSubject("a.y.c.d"), micro.WithEndpointQueueGroup("fanout")}, echo, "", ""},
		{"no queue group, overlapping", "e5", []micro.EndpointOpt{micro.WithEndpointSubject("a.z.c.d"), micro.WithEndpointQueueGroupDisabled()}, echo, "", ""},
		{"dot in name", "e.x", nil, echo, "", `invalid endpoint name "e.x"`},
		{"empty name", "", nil, echo, "", `invalid endpoint name ""`},
		{"space in subject", "e", []micro.EndpointOpt{micro.WithEndpointSubject("a b")}, echo, "", "contains white space"},
		{"> not last", "e", []micro.EndpointOpt{micro.WithEndpointSubject("a.>.b")}, echo, "", "'>' before its last token"},
		{"double dot", "e", []micro.EndpointOpt{micro.WithEndpointSubject("a..b")}, echo, "", "empty token"},
		{"trailing dot", "e", []micro.EndpointOpt{micro.WithEndpointSubject("a.")}, echo, "", "empty token"},
		{"wildcard inside token", "e", []micro.EndpointOpt{micro.WithEndpointSubject("a.b*")}, echo, "", "must stand alone"},
		{"discovery prefix", "e", []micro.EndpointOpt{micro.WithEndpointSubject("$SRV.PING")}, echo, "", "reserved for discovery"},
		{"group with >", "e", nil, echo, "g.>", "'>' before its last token"},
		{"queue group with space", "e", []micro.EndpointOpt{micro.WithEndpointQueueGroup("a b")}, echo, "", `invalid queue group: queue group "a b" contains white space`},
		{"zero pending limits", "e", []micro.EndpointOpt{micro.WithEndpointPendingLimits(0, 0)}, echo, "", "at least one of the message and byte limits"},
		{"zero concurrency", "e", []micro.EndpointOpt{micro.WithEndpointMaxConcurrency(0)}, echo, "", "max concurrency must be at least 1"},
		{"nil handler", "e", nil, nil, "", `endpoint "e" has no handler`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.group != "" {
				err = svc.AddGroup(tt.group).AddEndpoint(tt.endpoint, tt.handler, tt.opts...)
			} else {
				err = svc.AddEndpoint(tt.endpoint, tt.handler, tt.opts...)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("AddEndpoint: %v", err)
				}
				return
			}
			if !errors.Is(err, micro.ErrConfigValidation) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("AddEndpoint: got %v, want a validation error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestQueueGroupResolution is the inheritance matrix of ADR-32: endpoint,
// then group (and its parents), then service, then "q"; an explicit disable
// wins, an explicit name beats a disabled parent.
func TestQueueGroupResolution(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)

	svc := microtest.AddService(t, nc, micro.Config{Name: "qg", Version: "1.0.0", QueueGroup: "q-config",
		Endpoint: &micro.EndpointConfig{Subject: "default", Handler: echo, QueueGroup: "q-default"}})
	mustAdd(t, svc.AddEndpoint("service-level", echo))
	g1 := svc.AddGroup("g1", micro.WithGroupQueueGroup("q-g1"))
	g2 := g1.AddGroup("g2")
	mustAdd(t, g2.AddEndpoint("inherits-g1", echo))
	g3 := g2.AddGroup("g3", micro.WithGroupQueueGroup("q-g3"))
	mustAdd(t, g3.AddEndpoint("own-group", echo))
	g4 := g3.AddGroup("g4", micro.WithGroupQueueGroupDisabled())
	mustAdd(t, g4.AddEndpoint("disabled-group", echo))
	mustAdd(t, g4.AddEndpoint("named-in-disabled", echo, micro.WithEndpointQueueGroup("q-own")))
	mustAdd(t, g1.AddEndpoint("disabled-endpoint", echo, micro.WithEndpointQueueGroupDisabled(), micro.WithEndpointQueueGroup("ignored")))

	off := microtest.AddService(t, nc, micro.Config{Name: "qg-off", Version: "1.0.0", QueueGroupDisabled: true})
	mustAdd(t, off.AddEndpoint("plain", echo))
	mustAdd(t, off.AddEndpoint("named", echo, micro.WithEndpointQueueGroup("q-qux")))
	mustAdd(t, off.AddGroup("g").AddEndpoint("in-group", echo))
	mustAdd(t, off.AddGroup("h", micro.WithGroupQueueGroup("q-h")).AddEndpoint("group-named", echo))

	plain := microtest.AddService(t, nc, micro.Config{Name: "qg-default", Version: "1.0.0"})
	mustAdd(t, plain.AddEndpoint("default-q", echo))

	got := map[string]string{}
	for _, s := range []micro.Service{svc, off, plain} {
		for _, e := range s.Info().Endpoints {
			got[e.Subject] = e.QueueGroup
		}
	}
	want := map[string]string{
		"default":                       "q-default",
		"service-level":                 "q-config",
		"g1.g2.inherits-g1":             "q-g1",
		"g1.g2.g3.own-group":            "q-g3",
		"g1.g2.g3.g4.disabled-group":    "",
		"g1.g2.g3.g4.named-in-disabled": "q-own",
		"g1.disabled-endpoint":          "",
		"plain":                         "",
		"named":                         "q-qux",
		"g.in-group":                    "",
		"h.group-named":                 "q-h",
		"default-q":                     "q",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("queue groups by subject (-want +got):\n%s", diff)
	}

	// A disabled queue group is a plain subscription: two instances both
	// answer; a queue group makes them share.
	other := microtest.AddService(t, srv.Connect(t), micro.Config{Name: "qg-off", Version: "1.0.0", QueueGroupDisabled: true})
	mustAdd(t, other.AddEndpoint("plain", echo))
	if n := countReplies(t, nc, "plain"); n != 2 {
		t.Errorf("plain endpoint on two instances: %d replies, want 2", n)
	}
}

func mustAdd(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("AddEndpoint: %v", err)
	}
}

// countReplies sends one request and counts the replies that arrive until
// 200ms pass without one.
func countReplies(t *testing.T, nc *nats.Conn, subject string) int {
	t.Helper()
	inbox := nats.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.PublishRequest(subject, inbox, []byte("x")); err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		if _, err := sub.NextMsg(200 * time.Millisecond); err != nil {
			return n
		}
		n++
	}
}

func TestGroupsAndSubjects(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	svc := microtest.AddService(t, nc, micro.Config{Name: "groups", Version: "1.0.0"})
	g1 := svc.AddGroup("g1")
	mustAdd(t, g1.AddEndpoint("foo", echo))
	mustAdd(t, g1.AddGroup("g2").AddGroup("g3").AddEndpoint("foo", echo))
	mustAdd(t, g1.AddEndpoint("custom", echo, micro.WithEndpointSubject("parent.queue")))
	mustAdd(t, svc.AddGroup("").AddGroup("g4").AddGroup("").AddEndpoint("bar", echo))
	mustAdd(t, svc.AddGroup("").AddEndpoint("root", echo))
	mustAdd(t, svc.AddEndpoint("same-name", echo, micro.WithEndpointSubject("shared")))
	mustAdd(t, svc.AddEndpoint("same-name", echo, micro.WithEndpointSubject("shared2")))

	var subjects []string
	for _, e := range svc.Info().Endpoints {
		subjects = append(subjects, e.Subject)
	}
	want := []string{"g1.foo", "g1.g2.g3.foo", "g1.parent.queue", "g4.bar", "root", "shared", "shared2"}
	if diff := cmp.Diff(want, subjects); diff != "" {
		t.Errorf("subjects (-want +got):\n%s", diff)
	}
	for _, subject := range want {
		if reply := microtest.Request(t, nc, subject, []byte(subject)); string(reply.Data) != subject {
			t.Errorf("%s: reply %q", subject, reply.Data)
		}
	}
}

func TestMetadataImmutable(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	serviceMeta := map[string]string{"a": "1"}
	endpointMeta := map[string]string{"b": "2"}
	svc := microtest.AddService(t, nc, micro.Config{Name: "meta", Version: "1.0.0", Metadata: serviceMeta})
	mustAdd(t, svc.AddEndpoint("with", echo, micro.WithEndpointMetadata(endpointMeta)))
	mustAdd(t, svc.AddEndpoint("key", echo, micro.WithEndpointMetadataKey("k", "v")))
	mustAdd(t, svc.AddEndpoint("without", echo))

	serviceMeta["a"] = "changed"
	endpointMeta["b"] = "changed"
	info := svc.Info()
	info.Metadata["a"] = "changed through Info"
	info.Endpoints[0].Metadata["b"] = "changed through Info"

	info = svc.Info()
	if info.Metadata["a"] != "1" || info.Endpoints[0].Metadata["b"] != "2" || info.Endpoints[1].Metadata["k"] != "v" {
		t.Errorf("metadata changed after creation: %v %v", info.Metadata, info.Endpoints)
	}
	// Wire form: service metadata is always an object; endpoint metadata is
	// null when unset, as nats.go sends it.
	raw := string(microtest.Request(t, nc, "$SRV.INFO.meta", nil).Data)
	if !strings.Contains(raw, `"name":"without","subject":"without","queue_group":"q","metadata":null`) {
		t.Errorf("endpoint without metadata: %s", raw)
	}
	empty := microtest.AddService(t, nc, micro.Config{Name: "nometa", Version: "1.0.0"})
	if raw := string(microtest.Request(t, nc, "$SRV.PING.nometa", nil).Data); !strings.Contains(raw, `"metadata":{}`) {
		t.Errorf("service without metadata: %s", raw)
	}
	_ = empty
}

func TestDiscoverySubjects(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	before := srv.NumSubscriptions()
	svc := microtest.AddService(t, nc, micro.Config{Name: "disc", Version: "1.0.0", Description: "d"})
	if n := srv.NumSubscriptions() - before; n != 9 {
		t.Errorf("discovery subscriptions: %d, want 9", n)
	}
	id := svc.Info().ID
	for _, verb := range []micro.Verb{micro.PingVerb, micro.InfoVerb, micro.StatsVerb} {
		for _, target := range [][2]string{{"", ""}, {"disc", ""}, {"disc", id}} {
			subject, err := micro.ControlSubject(verb, target[0], target[1])
			if err != nil {
				t.Fatal(err)
			}
			reply := microtest.Request(t, nc, subject, []byte("ignored payload"))
			validateSchema(t, reply.Data)
			var doc map[string]any
			_ = json.Unmarshal(reply.Data, &doc)
			if doc["id"] != id || doc["name"] != "disc" {
				t.Errorf("%s: %s", subject, reply.Data)
			}
		}
	}
	// Two instances of one name both answer: no queue group on $SRV.
	microtest.AddService(t, srv.Connect(t), micro.Config{Name: "disc", Version: "1.0.0"})
	if n := countReplies(t, nc, "$SRV.PING.disc"); n != 2 {
		t.Errorf("PING to two instances: %d replies, want 2", n)
	}
}

func TestControlSubject(t *testing.T) {
	tests := []struct {
		verb     micro.Verb
		name, id string
		want     string
		wantErr  error
	}{
		{micro.PingVerb, "", "", "$SRV.PING", nil},
		{micro.InfoVerb, "svc", "", "$SRV.INFO.svc", nil},
		{micro.StatsVerb, "svc", "id1", "$SRV.STATS.svc.id1", nil},
		{micro.PingVerb, "", "id1", "", micro.ErrServiceNameRequired},
		{micro.Verb(7), "svc", "", "", micro.ErrVerbNotSupported},
	}
	for _, tt := range tests {
		got, err := micro.ControlSubject(tt.verb, tt.name, tt.id)
		if got != tt.want || !errors.Is(err, tt.wantErr) {
			t.Errorf("ControlSubject(%v, %q, %q) = %q, %v; want %q, %v", tt.verb, tt.name, tt.id, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestAPIPrefix(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	microtest.AddService(t, nc, micro.Config{Name: "tenant", Version: "1.0.0", APIPrefix: "$SRV.tenant-a"})
	if _, err := nc.Request("$SRV.PING.tenant", nil, 500*time.Millisecond); !errors.Is(err, nats.ErrNoResponders) {
		t.Errorf("default prefix answered: %v", err)
	}
	pings, err := micro.DiscoverPing(context.Background(), nc, micro.WithDiscoveryPrefix("$SRV.tenant-a"))
	if err != nil || len(pings) != 1 || pings[0].Name != "tenant" {
		t.Fatalf("PING under the custom prefix: %v, %v", pings, err)
	}
}

func TestResetAndStarted(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	svc := microtest.AddService(t, nc, micro.Config{Name: "reset", Version: "1.0.0"})
	mustAdd(t, svc.AddEndpoint("ok", echo, micro.WithEndpointQueueGroup("custom")))
	mustAdd(t, svc.AddEndpoint("bad", micro.HandlerFunc(func(r micro.Request) { _ = r.Error("400", "bad", nil) })))
	microtest.Request(t, nc, "ok", nil)
	microtest.Request(t, nc, "bad", nil)

	before := microtest.SettledStats(t, svc, 2)
	if before.Endpoints[0].NumRequests != 1 || before.Endpoints[1].LastError != "400:bad" {
		t.Fatalf("stats before reset: %+v %+v", before.Endpoints[0], before.Endpoints[1])
	}
	testutil.Eventually(t, time.Second, func() bool { return time.Since(before.Started) > time.Millisecond }, "clock moves")
	svc.Reset()
	after := svc.Stats()
	if !after.Started.After(before.Started) || after.Started.Location() != time.UTC {
		t.Errorf("started after reset: %v (before %v)", after.Started, before.Started)
	}
	// Reset zeroes the load stats too.
	zeroLoad := json.RawMessage(`{"natsmux":{"latency":{"p50":0,"p90":0,"p99":0,"p999":0,"max":0},"in_flight":0,"shed":0,"timed_out":0,"max_concurrency":256}}`)
	want := []*micro.EndpointStats{
		{Name: "ok", Subject: "ok", QueueGroup: "custom", Data: zeroLoad},
		{Name: "bad", Subject: "bad", QueueGroup: "q", Data: zeroLoad},
	}
	if diff := cmp.Diff(want, after.Endpoints); diff != "" {
		t.Errorf("stats after reset (-want +got):\n%s", diff)
	}
	if after.ID != before.ID {
		t.Errorf("id changed on reset")
	}
}

func TestServicesShareConnection(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	a := microtest.AddService(t, nc, micro.Config{Name: "a", Version: "1.0.0"})
	b := microtest.AddService(t, nc, micro.Config{Name: "b", Version: "2.0.0"})
	mustAdd(t, a.AddEndpoint("a", echo))
	mustAdd(t, b.AddEndpoint("b", echo))
	if a.Info().ID == b.Info().ID {
		t.Fatal("two services share an id")
	}
	microtest.Request(t, nc, "a", nil)
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	testutil.Closed(t, a.Done(), microtest.DefaultTimeout, "service a")
	if reply := microtest.Request(t, nc, "b", []byte("still here")); string(reply.Data) != "still here" {
		t.Errorf("b after a stopped: %q", reply.Data)
	}
	if b.Stopped() || microtest.SettledStats(t, b, 1).Endpoints[0].NumRequests != 1 {
		t.Errorf("b was affected by a: stopped %v, stats %+v", b.Stopped(), b.Stats().Endpoints[0])
	}
}

func TestConnectionCloseStopsServices(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	done := make(chan micro.Service, 2)
	var services []micro.Service
	for _, name := range []string{"one", "two"} {
		svc, err := micro.AddService(nc, micro.Config{Name: name, Version: "1.0.0",
			DoneHandler: func(s micro.Service) { done <- s }})
		if err != nil {
			t.Fatal(err)
		}
		services = append(services, svc)
	}
	nc.Close()
	for range services {
		testutil.Receive(t, done, microtest.DefaultTimeout)
	}
	for _, s := range services {
		testutil.Closed(t, s.Done(), microtest.DefaultTimeout, "service")
		if !s.Stopped() {
			t.Error("service not stopped after its connection closed")
		}
	}
	testutil.Closed(t, closed, microtest.DefaultTimeout, "the connection's own closed handler")
}

func TestStop(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	doneCalls := make(chan struct{}, 2)
	svc, err := micro.AddService(nc, micro.Config{Name: "stop", Version: "1.0.0",
		DoneHandler: func(micro.Service) { doneCalls <- struct{}{} }})
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, svc.AddEndpoint("e", echo))
	if err := svc.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := svc.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if !svc.Stopped() {
		t.Error("Stopped() is false after Stop")
	}
	testutil.Closed(t, svc.Done(), microtest.DefaultTimeout, "service")
	if len(doneCalls) != 1 {
		t.Errorf("DoneHandler ran %d times, want 1", len(doneCalls))
	}
	if eps := svc.Info().Endpoints; eps == nil || len(eps) != 0 {
		t.Errorf("Info().Endpoints after Stop = %#v, want empty", eps)
	}
	err = svc.AddEndpoint("late", echo)
	if !errors.Is(err, micro.ErrServiceStopped) {
		t.Errorf("AddEndpoint after Stop: %v, want ErrServiceStopped", err)
	}
	if _, err := nc.Request("late", nil, 500*time.Millisecond); !errors.Is(err, nats.ErrNoResponders) {
		t.Errorf("endpoint added after Stop answered: %v", err)
	}
}

// TestStopUnsubscribesEndpointsFirst reads the protocol the service's
// connection writes: Stop unsubscribes every endpoint before discovery, as
// nats.go's micro does. The server applies one connection's unsubscriptions
// in order, so a client that gets "no responders" from discovery gets it
// from the endpoints too (TestDifferentialConformance relies on it).
func TestStopUnsubscribesEndpointsFirst(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(micro.Service) error
	}{
		{"Stop", micro.Service.Stop},
		{"Shutdown", func(s micro.Service) error { return s.Shutdown(t.Context()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := microtest.NewServer(t)
			wire := &wireRecorder{}
			nc := microtest.Connect(t, srv.URL, nats.SetCustomDialer(wire))
			svc, err := micro.AddService(nc, micro.Config{Name: "order", Version: "1.0.0"})
			if err != nil {
				t.Fatal(err)
			}
			mustAdd(t, svc.AddEndpoint("first", echo))
			mustAdd(t, svc.AddGroup("g").AddEndpoint("second", echo))
			if err := tc.stop(svc); err != nil {
				t.Fatal(err)
			}
			if err := nc.Flush(); err != nil {
				t.Fatal(err)
			}
			var order []string
			subjects := map[string]string{} // sid -> subject
			for line := range strings.Lines(wire.String()) {
				f := strings.Fields(line)
				switch {
				case len(f) >= 3 && f[0] == "SUB":
					subjects[f[len(f)-1]] = f[1]
				case len(f) >= 2 && f[0] == "UNSUB":
					order = append(order, subjects[f[1]])
				}
			}
			if len(order) != len(subjects) || len(subjects) != 2+9 {
				t.Fatalf("%d subscriptions, %d unsubscribed (%v), want 11 and all", len(subjects), len(order), order)
			}
			for i, subject := range order {
				discovery := strings.HasPrefix(subject, "$SRV.")
				if i < 2 == discovery {
					t.Fatalf("unsubscribed in the order %v, want the endpoints before $SRV", order)
				}
			}
		})
	}
}

// wireRecorder is a dialer that keeps everything the client writes.
type wireRecorder struct {
	mu      sync.Mutex
	written bytes.Buffer
}

func (w *wireRecorder) Dial(network, address string) (net.Conn, error) {
	c, err := net.Dial(network, address)
	if err != nil {
		return nil, err
	}
	return recordedConn{c, w}, nil
}

func (w *wireRecorder) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.written.String()
}

type recordedConn struct {
	net.Conn
	wire *wireRecorder
}

func (c recordedConn) Write(p []byte) (int, error) {
	c.wire.mu.Lock()
	c.wire.written.Write(p)
	c.wire.mu.Unlock()
	return c.Conn.Write(p)
}

// TestEndpointReachableAtOnce: AddEndpoint flushes, so a client on another
// connection reaches the endpoint the moment AddEndpoint returns.
func TestEndpointReachableAtOnce(t *testing.T) {
	srv := microtest.NewServer(t)
	client := srv.Connect(t)
	svc := microtest.AddService(t, srv.Connect(t), micro.Config{Name: "flush", Version: "1.0.0"})
	for i := range 20 {
		subject := "at-once-" + string(rune('a'+i))
		mustAdd(t, svc.AddEndpoint(subject, echo))
		if _, err := client.Request(subject, nil, time.Second); err != nil {
			t.Fatalf("request right after AddEndpoint(%s): %v", subject, err)
		}
	}
	// And so is discovery the moment AddService returns.
	for range 5 {
		svc := microtest.AddService(t, srv.Connect(t), micro.Config{Name: "fresh", Version: "1.0.0"})
		subject, _ := micro.ControlSubject(micro.PingVerb, "fresh", svc.Info().ID)
		if _, err := client.Request(subject, nil, time.Second); err != nil {
			t.Fatalf("PING right after AddService: %v", err)
		}
	}
}

func TestAddServiceClosedConnection(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	nc.Close()
	if _, err := micro.AddService(nc, micro.Config{Name: "x", Version: "1.0.0"}); !errors.Is(err, nats.ErrConnectionClosed) {
		t.Errorf("AddService on a closed connection: %v", err)
	}
}

// request sends an empty request and decodes the JSON reply.
func request[T any](t *testing.T, nc *nats.Conn, subject string) T {
	t.Helper()
	var v T
	reply := microtest.Request(t, nc, subject, nil)
	if err := json.Unmarshal(reply.Data, &v); err != nil {
		t.Fatalf("%s: %v in %s", subject, err, reply.Data)
	}
	return v
}

func TestConfigIsACopy(t *testing.T) {
	srv := microtest.NewServer(t)
	cfg := micro.Config{Name: "cfg", Version: "1.0.0", QueueGroup: "workers", MaxConcurrency: 8,
		Metadata: map[string]string{"k": "v"}, Endpoint: &micro.EndpointConfig{Subject: "x", Handler: echo, Metadata: map[string]string{"e": "1"}}}
	svc := microtest.AddService(t, srv.Connect(t), cfg)
	got := svc.Config()
	if got.Name != "cfg" || got.QueueGroup != "workers" || got.MaxConcurrency != 8 || got.Metadata["k"] != "v" {
		t.Errorf("Config() = %+v", got)
	}
	got.Metadata["k"] = "changed"
	got.Endpoint.Metadata["e"] = "changed"
	if again := svc.Config(); again.Metadata["k"] != "v" || again.Endpoint.Metadata["e"] != "1" {
		t.Errorf("Config() shares maps with the service: %+v", again)
	}
}
