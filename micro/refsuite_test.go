package micro_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestNatsGoMicroSuite runs nats.go's own tests of its micro package, and
// its examples, against this package: a program written against nats.go's
// micro compiles against ours once its import path changes, and passes the
// same behaviour checks. The files are taken from the module cache when the
// test runs, not copied into this repository; only their import of micro is
// rewritten, and their server helper (which needs a test service of
// Synadia's) is replaced by an in-process nats-server.
//
// Three tests are left out, on purpose: see deliberateDifferences.
func TestNatsGoMicroSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a separate module")
	}
	natsgo := goList(t, "-m", "-f", "{{.Dir}}", "github.com/nats-io/nats.go")
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sources, err := filepath.Glob(filepath.Join(natsgo, "micro", "example*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	sources = append(sources, filepath.Join(natsgo, "micro", "test", "service_test.go"))
	for _, src := range sources {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		data = []byte(strings.ReplaceAll(string(data), `"github.com/nats-io/nats.go/micro"`, `"github.com/natsmux/natsmux/micro"`))
		writeFile(t, filepath.Join(dir, filepath.Base(src)), string(data))
	}
	writeFile(t, filepath.Join(dir, "server_test.go"), suiteServerHelper)
	writeFile(t, filepath.Join(dir, "go.mod"), "module natsgo-micro-suite\n\ngo 1.26\n\nrequire (\n"+
		"\tgithub.com/natsmux/natsmux v0.0.0\n"+
		"\tgithub.com/nats-io/nats.go "+goList(t, "-m", "-f", "{{.Version}}", "github.com/nats-io/nats.go")+"\n"+
		"\tgithub.com/nats-io/nats-server/v2 "+goList(t, "-m", "-f", "{{.Version}}", "github.com/nats-io/nats-server/v2")+"\n"+
		")\n\nreplace github.com/natsmux/natsmux => "+repo+"\n")
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "go.sum"), string(sum))

	cmd := exec.Command("go", "test", "-count=1", "-mod=mod", "-v", "-skip", deliberateDifferences, ".")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("nats.go's micro tests fail against natsmux micro: %v\n%s", err, out)
	}
	passed := regexp.MustCompile(`(?m)^--- PASS: (\S+)`).FindAllStringSubmatch(string(out), -1)
	if len(passed) < 20 || strings.Contains(string(out), "--- SKIP") {
		t.Fatalf("only %d of nats.go's micro tests ran:\n%s", len(passed), out)
	}
	t.Logf("%d tests of nats.go's micro (and its examples) pass against natsmux micro; %s left out", len(passed), deliberateDifferences)
}

// deliberateDifferences are the tests of nats.go's suite that check
// behaviour natsmux changes on purpose (docs/micro.md):
//
//   - TestServiceSlowConsumerOnEndpoint counts slow-consumer episodes on an
//     endpoint with a pending limit of 1 whose handler blocks, expecting one:
//     with nats.go's serial handling every later message is dropped in the
//     same episode. Our endpoint goes on receiving while a handler blocks (a
//     new leader takes the next message), so the backlog clears and a second
//     burst of drops can be a second episode, counted and reported again
//     (concurrent handling).
//   - TestServiceStats and TestServiceResetKeepsEndpointIdentity compare an
//     endpoint's STATS data with exactly what the StatsHandler returned, or
//     with none: ours adds the load stats (latency and load in STATS).
const deliberateDifferences = "^(TestServiceSlowConsumerOnEndpoint|TestServiceStats|TestServiceResetKeepsEndpointIdentity)$"

// suiteServerHelper gives nats.go's tests the helper they expect.
const suiteServerHelper = `package micro_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

func withServer(t *testing.T, fn func(*testing.T, *nats.Conn)) {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	nc, err := nats.Connect(ns.ClientURL(), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	fn(t, nc)
}
`

func goList(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
