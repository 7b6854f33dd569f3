package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
	"github.com/natsmux/natsmux/middleware"
)

func statsOf(name, id string, endpoints ...*micro.EndpointStats) micro.Stats {
	return micro.Stats{ServiceIdentity: micro.ServiceIdentity{Name: name, ID: id}, Endpoints: endpoints}
}

func TestTopTracker(t *testing.T) {
	tr := newTopTracker()
	t0 := time.Unix(1000, 0)
	ep := func(name string, requests, errs int) *micro.EndpointStats {
		return &micro.EndpointStats{Name: name, NumRequests: requests, NumErrors: errs}
	}
	first := tr.update([]micro.Stats{statsOf("svc", "A", ep("get", 10, 0))}, t0)
	if len(first) != 1 || !math.IsNaN(first[0].rate) || !math.IsNaN(first[0].errPct) || len(first[0].trend) != 0 {
		t.Fatalf("first look: %+v, want no rate yet", first)
	}
	second := tr.update([]micro.Stats{statsOf("svc", "A", ep("get", 30, 5)), statsOf("svc", "B", ep("get", 7, 0))}, t0.Add(2*time.Second))
	if r := second[0]; r.rate != 10 || r.errPct != 25 || len(r.trend) != 1 {
		t.Errorf("20 requests, 5 errors in 2s: rate %v, errors %v%%, trend %v", r.rate, r.errPct, r.trend)
	}
	if r := second[1]; !math.IsNaN(r.rate) {
		t.Errorf("a new instance has a rate at once: %v", r.rate)
	}
	// A reset counts from zero; a vanished instance is forgotten.
	third := tr.update([]micro.Stats{statsOf("svc", "A", ep("get", 4, 0))}, t0.Add(3*time.Second))
	if len(third) != 1 || third[0].rate != 4 || third[0].errPct != 0 || len(tr.prev) != 1 || len(tr.trend) != 1 {
		t.Errorf("after a reset: %+v (tracking %d)", third, len(tr.prev))
	}
	// The trend is bounded.
	for i := range 3 * topTrendLength {
		tr.update([]micro.Stats{statsOf("svc", "A", ep("get", 4+i, 0))}, t0.Add(time.Duration(4+i)*time.Second))
	}
	if got := tr.trend[topKey{"svc", "A", "get"}]; len(got) != topTrendLength {
		t.Errorf("trend holds %d samples, want %d", len(got), topTrendLength)
	}
}

func TestSortRows(t *testing.T) {
	row := func(name string, rate float64, p99 time.Duration) topRow {
		r := topRow{topKey: topKey{service: name}, rate: rate, errPct: math.NaN()}
		r.load.Latency.P99 = p99
		return r
	}
	rows := []topRow{row("a", 1, 3), row("b", math.NaN(), 9), row("c", 5, 1), row("d", 5, 2)}
	names := func() string {
		var s string
		for _, r := range rows {
			s += r.service
		}
		return s
	}
	tests := []struct {
		by      topOrder
		reverse bool
		want    string
	}{
		{byRate, false, "cdab"}, // largest first, ties by name, unknown last
		{byRate, true, "badc"},
		{byP99, false, "badc"},
		{byName, false, "abcd"},
		{byErrors, false, "abcd"}, // all unknown: by name
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s reversed %v", topOrderNames[tt.by], tt.reverse), func(t *testing.T) {
			sortRows(rows, tt.by, tt.reverse)
			if got := names(); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestSparkline(t *testing.T) {
	tests := []struct {
		values []float64
		want   string
	}{
		{nil, ""},
		{[]float64{0, 0}, "▁▁"},
		{[]float64{0, 7, 14}, "▁▅█"},
		{[]float64{3, 3}, "██"},
	}
	for _, tt := range tests {
		if got := sparkline(tt.values); got != tt.want {
			t.Errorf("sparkline(%v) = %q, want %q", tt.values, got, tt.want)
		}
	}
}

// TestTopHostileService: a service that names itself with escape sequences
// reaches the table escaped.
func TestTopHostileService(t *testing.T) {
	f := newFixture(t)
	reply := `{"type":"io.nats.micro.v1.stats_response","name":"x\u001b[2J","id":"\u001b]0;pwned\u0007","version":"1.0.0","started":"2024-01-01T00:00:00Z","endpoints":[{"name":"e\r","subject":"e","num_requests":1,"num_errors":0,"last_error":"","processing_time":0,"average_processing_time":0}]}`
	sub, err := f.nc.Subscribe("$SRV.STATS", func(m *nats.Msg) { _ = m.Respond([]byte(reply)) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := f.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	r := invocation{}.run(t, "top", "--count", "1", "-s", f.srv.URL)
	r.check(t, 0, `x\x1b[2J`, "")
	if strings.ContainsAny(r.stdout, "\x1b\r\a") {
		t.Errorf("control characters reached the output: %q", r.stdout)
	}
}

// TestTopPlainGolden: without a terminal, top prints a table at each
// interval; the second one has the rates, zero since nothing was sent in
// between.
func TestTopPlainGolden(t *testing.T) {
	f := newFixture(t)
	for _, subject := range []string{"demo.ECHO", "orders.1.get", "orders.2.get"} {
		microtest.Request(t, f.nc, subject, []byte("x"))
	}
	ids := instanceIDs(t, f.nc, "demo-service", "orders")
	r := invocation{}.run(t, "top", "--count", "2", "--interval", "50ms", "-s", f.srv.URL)
	r.check(t, 0, "", "")
	out := r.stdout
	for _, id := range ids {
		out = strings.ReplaceAll(out, id[:topIDLength], "<id....>")
	}
	frames := strings.Split(out, "\n\n")
	if len(frames) != 2 {
		t.Fatalf("%d tables, want 2:\n%s", len(frames), r.stdout)
	}
	for i, frame := range frames {
		title, table, _ := strings.Cut(frame, "\n")
		frames[i] = title + "\n" + normalize(table)
	}
	golden(t, "top.plain", strings.Join(frames, "\n"))
}

func TestTopUsage(t *testing.T) {
	for _, args := range [][]string{
		{"top", "--interval", "1ms"},
		{"top", "--count", "-1"},
		{"top", "--sort", "size"},
		{"top", "a", "b"},
	} {
		r := invocation{}.run(t, args...)
		if r.code != exitUsage {
			t.Errorf("%q: exit %d, want %d; stderr %s", args, r.code, exitUsage, r.stderr)
		}
	}
}

// TestTopInTmux runs `micro top` as a person would, in a terminal (tmux),
// against a service under load, and reads the screen.
func TestTopInTmux(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		msg := "tmux is not installed (apt-get install tmux): the live view of micro top is not tested"
		if os.Getenv("NATSMUX_TMUX_TESTS") == "required" { // as CI sets it, having installed tmux
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	bin := filepath.Join(t.TempDir(), "micro")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building micro: %v\n%s", err, out)
	}

	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	r := natsmux.NewRouter()
	r.Use(middleware.Limit(2)) // 8 requesters against 2 slots: some are shed
	r.HandleFunc("work", func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		time.Sleep(2 * time.Millisecond) // the work
		return natsmux.Reply(nil), nil
	})
	addService(t, nc, micro.Config{Name: "busy", Version: "1.0.0"}, r)
	stopLoad := make(chan struct{})
	var load sync.WaitGroup
	for range 8 {
		load.Go(func() {
			for {
				select {
				case <-stopLoad:
					return
				default:
					_, _ = nc.Request("work", nil, time.Second)
				}
			}
		})
	}
	t.Cleanup(func() { close(stopLoad); load.Wait() })

	// A server of our own (-L) with remain-on-exit, so that the screen of
	// a command that failed can still be read.
	dir := t.TempDir()
	conf := filepath.Join(dir, "tmux.conf")
	if err := os.WriteFile(conf, []byte("set -g remain-on-exit on\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	socket := "natsmux-top-" + strconv.Itoa(os.Getpid())
	run := func(args ...string) (string, error) {
		out, err := exec.Command(tmux, append([]string{"-L", socket, "-f", conf}, args...)...).CombinedOutput()
		return string(out), err
	}
	// The shell records how top exited: tmux 3.3a, on a loaded machine,
	// sometimes never reaps a pane's process, and then never reports its
	// exit status.
	stderr, exited := filepath.Join(dir, "stderr"), filepath.Join(dir, "exit-status")
	command := bin + " top busy --interval 100ms -s " + srv.URL + " 2>" + stderr + "; echo $? >" + exited
	if out, err := run("new-session", "-d", "-s", "top", "-x", "160", "-y", "30", "env", "TERM=xterm-256color", "sh", "-c", command); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() { _, _ = run("kill-server") })
	screen := func() string {
		out, err := run("capture-pane", "-p", "-t", "top")
		if err != nil {
			t.Fatalf("tmux capture-pane: %v\n%s", err, out)
		}
		return out
	}
	waitScreen := func(what string, ok func(string) bool) string {
		t.Helper()
		var last string
		testutil.Eventually(t, 2*microtest.DefaultTimeout, func() bool {
			last = screen()
			return ok(last)
		}, "%s; the screen shows:\n%s", what, stringer(func() string { return last }))
		return last
	}

	loaded := waitScreen("a row for busy/work with a rate, requests shed and a trend", func(s string) bool {
		row := rowOf(s, "work")
		// SERVICE ID ENDPOINT RATE/S ERR% P50 P99 IN-FLIGHT SHED TREND
		if len(row) < 10 || !strings.Contains(s, "micro top: 1 instance, 1 endpoint, every 100ms, sorted by rate") {
			return false
		}
		rate, _ := strconv.ParseFloat(row[3], 64)
		shed, _ := strconv.Atoi(row[8])
		return row[0] == "busy" && rate > 0 && shed > 0 && strings.ContainsAny(row[9], "▁▂▃▄▅▆▇█")
	})
	t.Logf("the screen under load:\n%s", loaded)
	if _, err := run("send-keys", "-t", "top", "s"); err != nil {
		t.Fatal(err)
	}
	waitScreen("sorted by errors after s", func(s string) bool { return strings.Contains(s, "sorted by errors") })
	if _, err := run("send-keys", "-t", "top", "r"); err != nil {
		t.Fatal(err)
	}
	waitScreen("reversed after r", func(s string) bool { return strings.Contains(s, "sorted by errors, reversed") })
	if _, err := run("send-keys", "-t", "top", "q"); err != nil {
		t.Fatal(err)
	}
	var status []byte
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		status, _ = os.ReadFile(exited)
		return string(status) == "0\n"
	}, "micro top exits with status 0 on q; status %q, its stderr:\n%s", stringer(func() string { return string(status) }),
		stringer(func() string { b, _ := os.ReadFile(stderr); return string(b) }))
}

// rowOf returns the fields of the screen's first line that has the field
// name, if any.
func rowOf(screen, name string) []string {
	for line := range strings.Lines(screen) {
		fields := strings.Fields(line)
		if len(fields) > 2 && fields[2] == name {
			return fields
		}
	}
	return nil
}

type stringer func() string

func (f stringer) String() string { return f() }
