package micro_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/jsm.go/registry"
	"github.com/nats-io/nats.go"
	refmicro "github.com/nats-io/nats.go/micro"
	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/natsmux/natsmux/internal/compat"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// conformer is what the differential test needs of a service, whichever
// implementation built it.
type conformer struct {
	id    string
	stop  func() error
	reset func()
	info  func() any
}

// buildReference builds compat.Canonical with nats.go's micro, the reference
// implementation, as compat.Build does with ours.
func buildReference(t *testing.T, nc *nats.Conn, cfg compat.ServiceConfig) conformer {
	t.Helper()
	svc, err := refmicro.AddService(nc, refmicro.Config{
		Name: cfg.Name, Version: cfg.Version, Description: cfg.Description, Metadata: cfg.Metadata,
		StatsHandler: func(e *refmicro.Endpoint) any { return map[string]string{"endpoint": e.Name} },
	})
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string]refmicro.Group{}
	for _, g := range cfg.Groups {
		var opts []refmicro.GroupOpt
		if g.QueueGroup != "" {
			opts = append(opts, refmicro.WithGroupQueueGroup(g.QueueGroup))
		}
		groups[g.Name] = svc.AddGroup(g.Name, opts...)
	}
	for _, e := range cfg.Endpoints {
		opts := []refmicro.EndpointOpt{refmicro.WithEndpointSubject(e.Subject)}
		if e.Metadata != nil {
			opts = append(opts, refmicro.WithEndpointMetadata(e.Metadata))
		}
		if e.QueueGroup != "" {
			opts = append(opts, refmicro.WithEndpointQueueGroup(e.QueueGroup))
		}
		handler := refmicro.HandlerFunc(func(r refmicro.Request) { _ = r.Respond(r.Data()) })
		if e.Name == compat.FaultyEndpoint {
			handler = func(r refmicro.Request) { _ = r.Error("500", "handler error", nil) }
		}
		if e.Group != "" {
			err = groups[e.Group].AddEndpoint(e.Name, handler, opts...)
		} else {
			err = svc.AddEndpoint(e.Name, handler, opts...)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// nats.go's micro does not flush its subscriptions; ours does.
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return conformer{id: svc.Info().ID, stop: svc.Stop, reset: svc.Reset, info: func() any { return svc.Info() }}
}

func buildOurs(t *testing.T, nc *nats.Conn, cfg compat.ServiceConfig) conformer {
	t.Helper()
	svc, err := compat.Build(nc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return conformer{id: svc.Info().ID, stop: svc.Stop, reset: svc.Reset, info: func() any { return svc.Info() }}
}

// observation is everything a client can see of one implementation over the
// differential script, with the fields that legitimately differ removed.
type observation map[string]any

// observe runs the script against a service and records what it saw. The two
// implementations run one after the other on the same server, so that the
// queue groups of one never take the other's requests.
func observe(t *testing.T, nc *nats.Conn, svc conformer) observation {
	t.Helper()
	obs := observation{}
	doc := func(label string, verb micro.Verb) {
		subject, _ := micro.ControlSubject(verb, "demo", svc.id)
		reply := microtest.Request(t, nc, subject, nil)
		validateSchema(t, reply.Data)
		obs[label] = normalize(t, reply.Data)
	}
	doc("ping", micro.PingVerb)
	doc("info", micro.InfoVerb)
	doc("stats/initial", micro.StatsVerb)
	obs["local info"] = normalize(t, mustJSON(t, svc.info()))

	for _, subject := range []string{"demo.default", "g1.parent.queue", "g1.custom.queue", "g2.parent.queue", "g2.custom.queue", "faulty"} {
		reply := microtest.Request(t, nc, subject, []byte("payload of "+subject))
		obs["reply "+subject] = fmt.Sprintf("%q %v", reply.Data, reply.Header)
	}
	// demo.default reaches two endpoints: wait for both to count it.
	waitRequests(t, nc, svc.id, 7)
	doc("stats/after requests", micro.StatsVerb)

	for _, subject := range []string{"g1.parent.queue", "faulty"} {
		if err := nc.Publish(subject, []byte("no reply wanted")); err != nil {
			t.Fatal(err)
		}
	}
	waitRequests(t, nc, svc.id, 9)
	doc("stats/after publish", micro.StatsVerb)

	svc.reset()
	doc("stats/after reset", micro.StatsVerb)

	if err := svc.stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	obs["info after stop"] = normalize(t, mustJSON(t, svc.info()))
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		_, err := nc.Request("$SRV.PING.demo", nil, time.Second)
		return errors.Is(err, nats.ErrNoResponders)
	}, "PING has no responders after Stop")
	for _, subject := range []string{"demo.default", "faulty"} {
		_, err := nc.Request(subject, nil, time.Second)
		obs["after stop "+subject] = fmt.Sprint(err)
	}
	return obs
}

func TestDifferentialConformance(t *testing.T) {
	srv := microtest.NewServer(t)
	client := srv.Connect(t)
	cfg := compat.Canonical()
	want := observe(t, client, buildReference(t, srv.Connect(t), cfg))
	got := observe(t, client, buildOurs(t, srv.Connect(t), cfg))

	// The one deliberate difference: a handler that fails a request sent
	// without a reply subject is recorded with its code and description,
	// which tell an operator what failed, where nats.go records that there
	// was nobody to tell (docs/conformance.md).
	lastFaulty := func(obs observation) map[string]any {
		stats := obs["stats/after publish"].(map[string]any)["endpoints"].([]any)
		return stats[len(stats)-1].(map[string]any)
	}
	ours, theirs := lastFaulty(got), lastFaulty(want)
	if ours["last_error"] != "500:handler error" || theirs["last_error"] != "nats: message does not have a reply" ||
		ours["num_errors"] != json.Number("2") {
		t.Errorf("faulty after a publish without reply: ours %v, nats.go's %v", ours, theirs)
	}
	ours["last_error"] = theirs["last_error"]
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("natsmux micro differs from nats.go micro (-nats.go +natsmux):\n%s", diff)
	}
}

func waitRequests(t *testing.T, nc *nats.Conn, id string, want int) {
	t.Helper()
	subject, _ := micro.ControlSubject(micro.StatsVerb, "demo", id)
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		var stats micro.Stats
		if err := json.Unmarshal(microtest.Request(t, nc, subject, nil).Data, &stats); err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, e := range stats.Endpoints {
			total += e.NumRequests
		}
		return total == want
	}, "%d requests counted", want)
}

// normalize decodes a discovery document and drops what differs between any
// two instances: the id, the start time and the measured durations.
func normalize(t *testing.T, data []byte) map[string]any {
	t.Helper()
	doc, ok := decodeNumbers(t, data).(map[string]any)
	if !ok {
		t.Fatalf("%s is not a JSON object", data)
	}
	delete(doc, "id")
	if started, ok := doc["started"].(string); ok {
		ts, err := time.Parse(time.RFC3339Nano, started)
		if err != nil || !strings.HasSuffix(started, "Z") || ts.IsZero() {
			t.Errorf("started %q is not an RFC 3339 UTC time", started)
		}
		delete(doc, "started")
	}
	if endpoints, ok := doc["endpoints"].([]any); ok {
		for _, e := range endpoints {
			delete(e.(map[string]any), "processing_time")
			delete(e.(map[string]any), "average_processing_time")
		}
	}
	return doc
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

var schemas = struct {
	sync.Mutex
	compiled map[string]*jsonschema.Schema
}{compiled: map[string]*jsonschema.Schema{}}

// validateSchema checks a raw discovery reply against the official JSON
// schema for its type, the one natscli validates with (jsm.go v0.5.0).
func validateSchema(t *testing.T, data []byte) {
	t.Helper()
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		t.Fatalf("decoding %s: %v", data, err)
	}
	schema := compiledSchema(t, head.Type)
	if err := schema.Validate(decodeNumbers(t, data)); err != nil {
		t.Errorf("%s does not match its schema: %v\n%s", head.Type, err, data)
	}
}

// decodeNumbers decodes JSON keeping numbers exact, as schema checks need.
func decodeNumbers(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %s: %v", data, err)
	}
	return v
}

func compiledSchema(t *testing.T, typ string) *jsonschema.Schema {
	t.Helper()
	schemas.Lock()
	defer schemas.Unlock()
	if s, ok := schemas.compiled[typ]; ok {
		return s
	}
	raw, err := registry.Schema(typ)
	if err != nil {
		t.Fatalf("no schema for %q: %v", typ, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat = true
	if err := c.AddResource(typ, bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(typ)
	if err != nil {
		t.Fatal(err)
	}
	schemas.compiled[typ] = s
	return s
}

// TestSchemaRejects proves the schema check can fail: documents that break
// the protocol in ways seen in the wild do not validate.
func TestSchemaRejects(t *testing.T) {
	tests := []struct {
		name, typ, doc string
	}{
		{"stats endpoint without last_error", micro.StatsResponseType,
			`{"type":"io.nats.micro.v1.stats_response","name":"a","id":"x","version":"1.0.0","started":"2024-01-01T00:00:00Z","endpoints":[{"name":"e","subject":"e","num_requests":0,"num_errors":0,"processing_time":0,"average_processing_time":0}]}`},
		{"two-part version", micro.PingResponseType,
			`{"type":"io.nats.micro.v1.ping_response","name":"a","id":"x","version":"1.0"}`},
		{"duration as a string", micro.StatsResponseType,
			`{"type":"io.nats.micro.v1.stats_response","name":"a","id":"x","version":"1.0.0","started":"2024-01-01T00:00:00Z","endpoints":[{"name":"e","subject":"e","num_requests":0,"num_errors":0,"last_error":"","processing_time":"1ms","average_processing_time":0}]}`},
		{"info without description", micro.InfoResponseType,
			`{"type":"io.nats.micro.v1.info_response","name":"a","id":"x","version":"1.0.0","endpoints":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := compiledSchema(t, tt.typ).Validate(decodeNumbers(t, []byte(tt.doc))); err == nil {
				t.Errorf("schema accepted %s", tt.doc)
			}
		})
	}
}
