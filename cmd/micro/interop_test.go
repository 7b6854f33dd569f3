//go:build interop

package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/microtest"
)

// natsCLI returns the natscli binary: $NATS_CLI, else nats on the PATH.
func natsCLI(t *testing.T) string {
	t.Helper()
	if path := os.Getenv("NATS_CLI"); path != "" {
		return path
	}
	path, err := exec.LookPath("nats")
	if err != nil {
		t.Fatal("natscli not found: set NATS_CLI or put nats on the PATH " +
			"(GOBIN=$PWD/bin go install github.com/nats-io/natscli/nats@v0.5.0)")
	}
	return path
}

// TestInteropNatsCLI: natscli, which validates every discovery reply
// against the ADR-32 JSON schemas, reads the services of the minimal and
// groups examples, built and run with micro run, and those of the CLI
// tests' fixture (parameters, metadata, no queue group, error stats).
func TestInteropNatsCLI(t *testing.T) {
	natsBin := natsCLI(t)

	examples := microtest.NewServer(t)
	for _, example := range []string{"../../examples/minimal", "../../examples/groups"} {
		in := invocation{signals: make(chan os.Signal, 1), timeout: buildTimeout}
		p := in.start(t, "run", "-s", examples.URL, example)
		t.Cleanup(func() {
			in.signals <- os.Interrupt
			if code := p.wait(t); code != 0 {
				t.Errorf("micro run %s: exit code %d; stderr:\n%s", example, code, &p.stderr)
			}
		})
	}
	examplesConn := examples.Connect(t)
	testutil.Eventually(t, buildTimeout, func() bool {
		_, err1 := examplesConn.Request("demo.ECHO", nil, microtest.DefaultTimeout)
		_, err2 := examplesConn.Request("admin.count", nil, microtest.DefaultTimeout)
		return err1 == nil && err2 == nil
	}, "both examples answer")
	fixture := newFixture(t)

	for name, target := range map[string]struct {
		url string
		nc  *nats.Conn
	}{"examples": {examples.URL, examplesConn}, "fixture": {fixture.srv.URL, fixture.nc}} {
		t.Run(name, func(t *testing.T) {
			for _, subject := range []string{"demo.ECHO", "orders.1.get", "orders.9.get"} {
				microtest.Request(t, target.nc, subject, []byte("x"))
			}
			ids := instanceIDs(t, target.nc, "demo-service", "orders")
			both := []string{"demo-service", "orders"}
			for _, c := range []struct {
				args  []string
				shows []string // services whose instance id the output must hold
			}{
				{[]string{"micro", "ls"}, both},
				{[]string{"micro", "ls", "--json"}, both},
				{[]string{"micro", "ping"}, both},
				{[]string{"micro", "info", "demo-service"}, both[:1]},
				{[]string{"micro", "info", "demo-service", ids["demo-service"]}, both[:1]},
				{[]string{"micro", "info", "orders"}, both[1:]},
				{[]string{"micro", "info", "orders", "--json"}, both[1:]},
				{[]string{"micro", "stats", "demo-service"}, both[:1]},
				{[]string{"micro", "stats", "orders"}, both[1:]},
				{[]string{"micro", "stats", "orders", "--json"}, both[1:]},
			} {
				// natscli skips replies that fail its schema validation, so
				// a missing instance is a failure as much as an error is.
				out, err := exec.CommandContext(t.Context(), natsBin, append(c.args, "-s", target.url)...).CombinedOutput()
				if err != nil || strings.Contains(strings.ToLower(string(out)), "validation") {
					t.Errorf("nats %s: %v\n%s", strings.Join(c.args, " "), err, out)
				}
				for _, name := range c.shows {
					if !strings.Contains(string(out), ids[name]) {
						t.Errorf("nats %s does not show %s (%s):\n%s", strings.Join(c.args, " "), name, ids[name], out)
					}
				}
			}
		})
	}
}
