package main

import (
	"context"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var (
	spreadPattern   = regexp.MustCompile(`requests: 10 through each node, answered by (.*): the queue group`)
	failoverPattern = regexp.MustCompile(`failover: instance on node-1 stopped; discovery through it sees node-2, node-3; 10 requests through it answered by (.*)\n`)
	countPattern    = regexp.MustCompile(`^(node-\d) (\d+)$`)
)

// TestRun runs the example and checks what it prints: the cluster, every
// node discovering all three instances, every request answered by some
// instance, and none by the stopped one.
func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), &out, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, &out)
	}
	got := out.String()
	for i := 1; i <= 3; i++ {
		want := "discovery through node-" + strconv.Itoa(i) + ": 3 instances of whoami, on node-1, node-2, node-3\n"
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if !strings.HasPrefix(got, "cluster: 3 nodes routed on 127.0.0.1: node-1 nats://127.0.0.1:") {
		t.Errorf("output does not start with the cluster:\n%s", got)
	}

	spread := spreadPattern.FindStringSubmatch(got)
	if spread == nil {
		t.Fatalf("no spread line:\n%s", got)
	}
	if counts := answers(t, spread[1]); sum(counts) != 30 || len(counts) < 2 {
		t.Errorf("requests answered by %v, want 30 over several nodes", counts)
	}

	failover := failoverPattern.FindStringSubmatch(got)
	if failover == nil {
		t.Fatalf("no failover line:\n%s", got)
	}
	if counts := answers(t, failover[1]); sum(counts) != 10 || counts["node-1"] != 0 {
		t.Errorf("after failover, requests answered by %v, want 10, none by node-1", counts)
	}
}

// answers parses "node-1 4, node-3 6".
func answers(t *testing.T, list string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for part := range strings.SplitSeq(list, ", ") {
		m := countPattern.FindStringSubmatch(part)
		if m == nil {
			t.Fatalf("bad count %q in %q", part, list)
		}
		counts[m[1]] = atoi(t, m[2])
	}
	return counts
}

func sum(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
