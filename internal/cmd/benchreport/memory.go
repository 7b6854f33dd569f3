package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/internal/loadgen"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/middleware"
)

// middlewareCase is one middleware, or a set, measured alone in memory.
type middlewareCase struct {
	name string
	mws  func() []natsmux.Middleware
}

var middlewareCases = []middlewareCase{
	{"none (the router in memory)", func() []natsmux.Middleware { return nil }},
	{"Recover", func() []natsmux.Middleware { return []natsmux.Middleware{middleware.Recover()} }},
	{"RequestID", func() []natsmux.Middleware { return []natsmux.Middleware{middleware.RequestID()} }},
	{"Logger, JSON formatted", func() []natsmux.Middleware { return []natsmux.Middleware{middleware.Logger()} }},
	{"Tracing, 1 in 10 sampled", func() []natsmux.Middleware { return []natsmux.Middleware{middleware.Tracing()} }},
	{"Metrics", func() []natsmux.Middleware { return []natsmux.Middleware{middleware.Metrics()} }},
	{"Timeout", func() []natsmux.Middleware { return []natsmux.Middleware{middleware.Timeout(5 * time.Second)} }},
	{"Limit", func() []natsmux.Middleware { return []natsmux.Middleware{middleware.Limit(64)} }},
	{"Recommended + Timeout", func() []natsmux.Middleware {
		return append(middleware.Recommended(), middleware.Timeout(5*time.Second))
	}},
}

// middlewareResult is a case's time and allocations per request in memory,
// and its time in a service.
type middlewareResult struct {
	name      string
	ns        float64
	allocs    int64
	inService time.Duration
}

// measureMiddleware serves an echo in memory (Router.ServeNATS, the request
// path of a mounted router minus NATS) behind each case, with the global
// telemetry of productionTelemetry.
func measureMiddleware() []middlewareResult {
	var out []middlewareResult
	for _, tc := range middlewareCases {
		r := natsmux.NewRouter()
		r.Use(tc.mws()...)
		r.HandleFunc("get", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			return natsmux.Reply(req.Data), nil
		}, natsmux.WithSubject("orders.get"))
		res := testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.ServeNATS(context.Background(), natsmux.NewRequest("orders.get", payload)); err != nil {
					b.Fatal(err)
				}
			}
		})
		out = append(out, middlewareResult{name: tc.name, ns: float64(res.NsPerOp()), allocs: res.AllocsPerOp()})
	}
	return out
}

// measureInService serves an echo behind each case on one service, to 1
// caller, the cases in alternating rounds, and sets each result's inService
// to the time the service spent in the case's endpoint (its stats' average
// processing time): what a middleware costs amid the server's and the
// caller's work, with cold caches, rather than in a loop of its own.
func measureInService(connect func() (*nats.Conn, error), mws []middlewareResult, rounds int, round time.Duration) error {
	var c cleanups
	defer c.run()
	r := natsmux.NewRouter()
	targets := make([]loadgen.Target, len(middlewareCases))
	client := c.conn(connect)
	for i, tc := range middlewareCases {
		name := fmt.Sprintf("case-%d", i)
		r.HandleFunc(name, func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			return natsmux.Reply(req.Data), nil
		}, natsmux.WithSubject("inservice."+name), natsmux.WithMiddleware(tc.mws()...))
		targets[i] = loadgen.Target{Name: tc.name, Subject: "inservice." + name, Conn: client}
	}
	svc := c.service(connect, micro.Config{Name: "inservice", Version: "1.0.0"})
	if err := natsmux.Mount(svc, r); err != nil {
		return err
	}
	res := loadgen.Compare(targets, loadgen.Load{Requesters: 1, Payload: payload}, rounds, round)
	if err := checkResults("middleware in the service", names(targets), res); err != nil {
		return err
	}
	for _, e := range svc.Stats().Endpoints {
		var i int
		if _, err := fmt.Sscanf(e.Name, "case-%d", &i); err != nil {
			return fmt.Errorf("middleware in the service: endpoint %q: %w", e.Name, err)
		}
		mws[i].inService = e.AverageProcessingTime
	}
	return nil
}

func names(targets []loadgen.Target) []string {
	out := make([]string, len(targets))
	for i, t := range targets {
		out[i] = t.Name
	}
	return out
}

// profileChain serves the recommended chain to 1 caller for a few seconds
// under the CPU profiler and returns pprof's top lines.
func profileChain(connect func() (*nats.Conn, error)) (string, error) {
	var c cleanups
	defer c.run()
	full := natsmux.NewRouter()
	recommended(full, "profile.full", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		return natsmux.Reply(req.Data), nil
	})
	c.mount(connect, "profiled", full)
	client := c.conn(connect)
	f, err := os.CreateTemp("", "benchreport-*.pprof")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	if err := pprof.StartCPUProfile(f); err != nil {
		return "", err
	}
	loadgen.Run(client, "profile.full", loadgen.Load{Requesters: 1, Payload: payload}, 3*time.Second)
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		return "", err
	}
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	var top bytes.Buffer
	cmd := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=40", exe, f.Name())
	cmd.Stdout, cmd.Stderr = &top, io.Discard
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go tool pprof: %w", err)
	}
	return interesting(top.String()), nil
}

// interesting keeps pprof's header and the lines of natsmux's code, of the
// libraries the chain calls and of the garbage collector, the rest being
// NATS and the scheduler.
func interesting(top string) string {
	keep := []string{"Duration", "flat%", "natsmux/natsmux", "log/slog.(*Logger)", "otel/sdk/trace.(*tracer).Start",
		"otel/sdk/metric.(*float64Inst).Record", "runtime.gcBgMarkWorker", "runtime.mallocgc", "runtime.gcAssistAlloc"}
	var b strings.Builder
	for line := range strings.Lines(top) {
		name := strings.TrimSpace(line)
		if i := strings.LastIndexByte(name, ' '); i >= 0 {
			name = name[i+1:]
		}
		for _, k := range keep {
			if strings.Contains(line, k) && (strings.HasPrefix(k, "runtime.") == (name == k) || !strings.HasPrefix(k, "runtime.")) {
				b.WriteString(line)
				break
			}
		}
	}
	return b.String()
}
