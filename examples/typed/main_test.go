package main

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/client"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

func TestMain(m *testing.M) {
	// As main does, before any request is validated.
	if err := registerRules(); err != nil {
		panic(err)
	}
	goleak.VerifyTestMain(m)
}

// startService serves the service, as main does, on a test server, and
// returns a client connection.
func startService(t *testing.T) *nats.Conn {
	t.Helper()
	nc := microtest.NewServer(t).Connect(t)
	microtest.Serve(t, nc, service())
	return nc
}

// booking is a valid booking with some fields replaced, as JSON.
func booking(t *testing.T, replace map[string]any) string {
	t.Helper()
	b := map[string]any{"guest": "Ann Lee", "email": "ann@example.com", "room": "204",
		"check_in": "2026-05-01", "check_out": "2026-05-04"}
	for key, value := range replace {
		if value == nil {
			delete(b, key)
		} else {
			b[key] = value
		}
	}
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestBook(t *testing.T) {
	nc := startService(t)
	tests := []struct {
		name    string
		payload string
		ok      bool     // a success, not a 400
		want    string   // the reply, or the error's description
		fields  []string // "field rule" of each field error
	}{
		{"good", booking(t, nil), true, `{"number":"B0001","room":"204","nights":3}`, nil},
		{"bad JSON", `{"guest":"Ann Lee",`, false, "invalid request: malformed JSON: unexpected end of input", nil},
		{"wrong type", booking(t, map[string]any{"room": 204}), false,
			`invalid request: field "room": expected string, got number (near offset 104)`, nil},
		{"unknown field", booking(t, map[string]any{"chek_in": "2026-05-01"}), false, `invalid request: unknown field "chek_in"`, nil},
		{"missing field", booking(t, map[string]any{"check_out": nil}), false, "invalid request: check_out is required",
			[]string{"check_out required"}},
		{"empty", "", false, "invalid request: guest is required; email is required; room is required; and 2 more",
			[]string{"guest required", "email required", "room required", "check_in required", "check_out required"}},
		{"rules", booking(t, map[string]any{"guest": "A", "email": "ann", "guests": 9}), false,
			"invalid request: guest must be at least 2 characters long; email must be a valid email address; guests must be at most 4",
			[]string{"guest min", "email email", "guests max"}},
		{"custom rule", booking(t, map[string]any{"room": "999"}), false, "invalid request: room must be a room number, from 100 to 599",
			[]string{"room room"}},
		{"Validate", booking(t, map[string]any{"check_out": "2026-04-30"}), false, "invalid request: check_out must be after check_in",
			[]string{"check_out after_check_in"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply := microtest.Request(t, nc, "hotel.book", []byte(tt.payload))
			err := client.ResponseError(reply)
			if tt.ok {
				if err != nil || string(reply.Data) != tt.want {
					t.Fatalf("reply %s, %v; want %s", reply.Data, err, tt.want)
				}
				return
			}
			var e *natsmux.Error
			if !errors.As(err, &e) || e.Code != 400 || e.Description != tt.want {
				t.Fatalf("error %v, want 400 %s", err, tt.want)
			}
			var fields []string
			for _, fe := range binding.FieldErrors(err) {
				if fe.Message == "" {
					t.Errorf("field error %+v has no message", fe)
				}
				fields = append(fields, fe.Field+" "+fe.Rule)
			}
			if diff := cmp.Diff(tt.fields, fields); diff != "" {
				t.Errorf("field errors (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSchemas: INFO shows the endpoint's request and reply schemas, and
// the request schema says what is required and that nothing else is
// allowed.
func TestSchemas(t *testing.T) {
	nc := startService(t)
	infos, err := micro.DiscoverInfo(context.Background(), nc, micro.WithDiscoveryService("hotel"))
	if err != nil || len(infos) != 1 {
		t.Fatalf("INFO: %v, %v", infos, err)
	}
	md := infos[0].Endpoints[0].Metadata
	var request, response struct {
		Defs map[string]struct {
			Properties           map[string]struct{ Type, Format string }
			Required             []string
			AdditionalProperties *bool
		} `json:"$defs"`
	}
	for key, schema := range map[string]any{binding.RequestSchemaKey: &request, binding.ResponseSchemaKey: &response} {
		if err := json.Unmarshal([]byte(md[key]), schema); err != nil {
			t.Fatalf("metadata %s: %v: %q", key, err, md[key])
		}
	}
	b := request.Defs["Booking"]
	if want := []string{"guest", "email", "room", "check_in", "check_out"}; !cmp.Equal(b.Required, want) {
		t.Errorf("required %v, want %v", b.Required, want)
	}
	if b.AdditionalProperties == nil || *b.AdditionalProperties {
		t.Errorf("request schema allows more properties: %s", md[binding.RequestSchemaKey])
	}
	if p := b.Properties["check_in"]; p.Type != "string" || p.Format != "date" {
		t.Errorf("check_in is %+v, want a string of format date", p)
	}
	if p := response.Defs["Confirmation"].Properties["nights"]; p.Type != "integer" {
		t.Errorf("reply schema: nights is %+v: %s", p, md[binding.ResponseSchemaKey])
	}
}
