package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/natsmux/natsmux/microtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var (
	instanceID = regexp.MustCompile(`instance [0-9A-Za-z]{22}\n`)
	average    = regexp.MustCompile(`average [0-9.]+(µs|ms|s)\n`)
)

// TestRun runs the example against a test server, as NATS_URL says, and
// checks what it prints, with the instance id and the processing times
// replaced.
func TestRun(t *testing.T) {
	srv := microtest.NewServer(t)
	t.Setenv("NATS_URL", srv.URL)
	var out strings.Builder
	if err := run(context.Background(), &out); err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, &out)
	}
	got := instanceID.ReplaceAllString(out.String(), "instance <id>\n")
	got = average.ReplaceAllString(got, "average <duration>\n")
	want := `check 2 tea: 12 available, enough: true (request id check-42)
check 0 tea: 400 invalid request: qty must be at least 1
  field qty, rule min 1: qty must be at least 1
check 1 plum: code 404, "no item plum"; is ErrNotFound: true
recount with a 100ms deadline: code 504; is ErrTimeout: true
warehouse.check: code 503; is nats.ErrNoResponders: true
ping: inventory 1.0.0, instance <id>
info: inventory, "Stock levels"
  check on inventory.check, queue group q, idempotent true, takes {"$schema":"https://json-schema.org/draft/2020-12/schema","$ref":"#/$defs/Check","$defs":{"Check":{"properties":{"sku":{"type":"string","minLength":1},"qty":{"type":"integer","minimum":1}},"type":"object","required":["sku","qty"]}}}
  recount on inventory.recount, queue group q, idempotent false, takes {"$schema":"https://json-schema.org/draft/2020-12/schema","$ref":"#/$defs/Recount","$defs":{"Recount":{"properties":{"warehouse":{"type":"string","minLength":1}},"type":"object","required":["warehouse"]}}}
stats: inventory
  check: 3 requests, 2 errors (last "404:no item plum"), average <duration>
  recount: 1 request, 1 error (last "504:timeout"), average <duration>
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}
