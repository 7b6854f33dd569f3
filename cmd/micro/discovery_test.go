package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var (
	nuidPattern     = regexp.MustCompile(`\b[0-9A-Za-z]{22}\b`)
	startedPattern  = regexp.MustCompile(`"started": "[^"]*"`)
	nanosPattern    = regexp.MustCompile(`"((average_)?processing_time|p50|p90|p99|p999|max)": \d+`)
	durationPattern = regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|ms|s)\b`)
	spacesPattern   = regexp.MustCompile(` {2,}`)
)

// normalize replaces what changes from run to run (instance ids, start
// times, processing times) with placeholders. Durations vary in width, so
// a table that has them is aligned again after the replacement.
func normalize(out string) string {
	out = nuidPattern.ReplaceAllString(out, "<instance-id.........>") // as long as an id, for alignment
	out = startedPattern.ReplaceAllString(out, `"started": "<time>"`)
	out = nanosPattern.ReplaceAllString(out, `"$1": <ns>`)
	if strings.HasPrefix(out, "[") || !durationPattern.MatchString(out) {
		return out
	}
	lines := strings.Split(strings.TrimSuffix(durationPattern.ReplaceAllString(out, "<duration>"), "\n"), "\n")
	var b strings.Builder
	header := spacesPattern.Split(lines[0], -1)
	t := newTable(&b, header...)
	for _, line := range lines[1:] {
		cells := make([]string, len(header)) // a row's empty last cells are gone
		copy(cells, spacesPattern.Split(line, -1))
		t.row(cells...)
	}
	if err := t.flush(); err != nil {
		panic(err)
	}
	return b.String()
}

// golden compares got with testdata/name.golden, or rewrites the file
// under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// TestDiscoveryGolden runs every discovery command, as a table and as
// JSON, against the fixture after a known set of requests.
func TestDiscoveryGolden(t *testing.T) {
	f := newFixture(t)
	for _, subject := range []string{"demo.ECHO", "demo.ECHO", "orders.1.get", "orders.2.get"} {
		microtest.Request(t, f.nc, subject, []byte("x"))
	}
	demoID := instanceIDs(t, f.nc, "demo-service", "orders")["demo-service"]
	tests := []struct {
		golden string
		args   []string
	}{
		{"ping", []string{"ping"}},
		{"ping-name", []string{"ping", "orders"}},
		{"ls", []string{"ls"}},
		{"info", []string{"info"}},
		{"info-instance", []string{"info", "demo-service", demoID}},
		{"stats", []string{"stats"}},
		{"stats-name", []string{"stats", "orders"}},
	}
	for _, tt := range tests {
		for _, format := range []string{"table", "json"} {
			t.Run(tt.golden+"."+format, func(t *testing.T) {
				r := invocation{}.run(t, append(tt.args, "-s", f.srv.URL, "-o", format)...)
				r.check(t, 0, "", "")
				if r.stderr != "" {
					t.Errorf("stderr: %s", r.stderr)
				}
				golden(t, tt.golden+"."+format, normalize(r.stdout))
			})
		}
	}
}

// TestDiscoveryOutputFollowsTheTerminal: auto is a table on a terminal and
// JSON elsewhere.
func TestDiscoveryOutputFollowsTheTerminal(t *testing.T) {
	f := newFixture(t)
	piped := invocation{}.run(t, "ping", "demo-service", "-s", f.srv.URL)
	if pings := decodeJSON[[]micro.Ping](t, piped.stdout); len(pings) != 1 || pings[0].Name != "demo-service" {
		t.Errorf("piped output: %s", piped.stdout)
	}
	onTerminal := invocation{terminal: true}.run(t, "ping", "demo-service", "-s", f.srv.URL, "-o", "AUTO")
	if !strings.HasPrefix(onTerminal.stdout, "NAME ") {
		t.Errorf("terminal output: %s", onTerminal.stdout)
	}
}

func TestDiscoveryFindsNothing(t *testing.T) {
	f := newFixture(t)
	empty := microtest.NewServer(t)
	tests := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"no services as JSON", []string{"ls", "-s", empty.URL}, 0, "[]\n", ""},
		{"no services as a table", []string{"stats", "-s", empty.URL, "-o", "table"}, 0, "No services found.\n", ""},
		{"unknown service", []string{"info", "nope", "-s", f.srv.URL}, 1, "", "micro: no instance of service nope answered\n"},
		{"unknown instance", []string{"stats", "demo-service", "NOTANID", "-s", f.srv.URL}, 1, "", "micro: no instance NOTANID of service demo-service answered\n"},
		{"invalid name", []string{"ping", "a.b", "-s", f.srv.URL}, 1, "", `micro: discovery: invalid service name "a.b"`},
		{"invalid id", []string{"info", "demo-service", "a*", "-s", f.srv.URL}, 1, "", `micro: discovery: invalid instance id "a*"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := invocation{}.run(t, tt.args...)
			r.check(t, tt.code, tt.stdout, tt.stderr)
			if r.stdout != tt.stdout {
				t.Errorf("stdout %q, want %q", r.stdout, tt.stdout)
			}
		})
	}
}

// TestDiscoverySkipsForeignReplies: replies that are not JSON or not of
// the asked type are left out, with a note on stderr.
func TestDiscoverySkipsForeignReplies(t *testing.T) {
	f := newFixture(t)
	for _, reply := range []string{"not json", `{"type":"io.nats.micro.v1.info_response","name":"liar","id":"x"}`} {
		sub, err := f.nc.Subscribe("$SRV.PING", func(m *nats.Msg) { _ = m.Respond([]byte(reply)) })
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
	}
	if err := f.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	r := invocation{}.run(t, "ping", "-s", f.srv.URL)
	r.check(t, 0, `"name": "demo-service"`, "micro: skipping a reply that is no io.nats.micro.v1.ping_response: not json\n")
	if strings.Contains(r.stdout, "liar") || strings.Count(r.stderr, "skipping") != 2 {
		t.Errorf("foreign replies shown or not reported:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
}

// TestStatsLoadColumns: the load stats columns appear when a service
// publishes load stats, with "-" for endpoints that do not, and not at all
// when none does.
func TestStatsLoadColumns(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	shed := natsmux.NewRouter()
	shed.HandleFunc("busy", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
		return nil, natsmux.ErrTooManyRequests
	})
	addService(t, nc, micro.Config{Name: "busy", Version: "1.0.0"}, shed)
	plain := natsmux.NewRouter()
	plain.HandleFunc("plain", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		return natsmux.Reply(req.Data), nil
	})
	addService(t, nc, micro.Config{Name: "plain", Version: "1.0.0", LoadStatsDisabled: true}, plain)
	for range 3 {
		microtest.Request(t, nc, "busy", nil)
	}
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		r := invocation{}.run(t, "stats", "busy", "-s", srv.URL, "-o", "json")
		return strings.Contains(r.stdout, `"shed": 3`)
	}, "3 requests shed")

	table := invocation{}.run(t, "stats", "-s", srv.URL, "-o", "table")
	rows := strings.Split(strings.TrimSpace(table.stdout), "\n")
	if len(rows) != 3 || !strings.Contains(rows[0], "P50") || !strings.Contains(rows[0], "IN FLIGHT  SHED") {
		t.Fatalf("table:\n%s", table.stdout)
	}
	busy, plainRow := strings.Fields(rows[1]), strings.Fields(rows[2])
	// SERVICE ID ENDPOINT SUBJECT REQUESTS ERRORS AVERAGE P50 P99 IN-FLIGHT SHED ...
	if busy[0] != "busy" || busy[9] != "0" || busy[10] != "3" {
		t.Errorf("busy row %q: want 0 in flight and 3 shed", busy)
	}
	if plainRow[0] != "plain" || strings.Join(plainRow[7:11], " ") != "- - - -" {
		t.Errorf("plain row %q: want - for the load columns", plainRow)
	}

	only := invocation{}.run(t, "stats", "plain", "-s", srv.URL, "-o", "table")
	if strings.Contains(only.stdout, "P50") {
		t.Errorf("load columns without load stats:\n%s", only.stdout)
	}
}
