package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/microtest"
)

// The tests of micro run build real programs with go build: about a second
// each with a warm build cache, far more on a busy machine.
const buildTimeout = 2 * time.Minute

func skipInShortMode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs with go build")
	}
}

func TestRunPassesArgumentsAndExitCodes(t *testing.T) {
	skipInShortMode(t)
	srv := microtest.NewServer(t)
	tests := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
		env            string // NATSMUX_LOG_FORMAT
	}{
		{"exit code and arguments", []string{"-s", srv.URL, "./testdata/exitcode", "7", "--server", "x"}, 7,
			`args=["7" "--server" "x"] NATS_URL=` + srv.URL + " NATSMUX_LOG_FORMAT=text\n", "", ""},
		{"a directory without ./", []string{"-s", srv.URL, "testdata/exitcode", "3"}, 3, `args=["3"]`, "", ""},
		{"a file", []string{"-s", srv.URL, "./testdata/exitcode/main.go", "4"}, 4, `args=["4"]`, "", ""},
		{"the log format", []string{"-s", srv.URL, "--log-format", "JSON", "./testdata/exitcode", "0"}, 0, "NATSMUX_LOG_FORMAT=JSON\n", "", ""},
		{"the log format from the environment", []string{"-s", srv.URL, "./testdata/exitcode", "0"}, 0, "NATSMUX_LOG_FORMAT=json\n", "", "json"},
		{"micro run's own log in the format", []string{"--log-format", "json", "./testdata/exitcode", "0"}, 0, "NATSMUX_LOG_FORMAT=json\n",
			`"level":"WARN","msg":"no NATS server configured or running; started an embedded nats-server`, ""},
		{"build error", []string{"./testdata/broken"}, 1, "", "micro: building ./testdata/broken: exit status 1\n", ""},
		{"no such package", []string{"./testdata/none"}, 1, "", "micro: building ./testdata/none:", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(app.LogFormatEnv, tt.env)
			r := invocation{timeout: buildTimeout, defaultURL: "nats://127.0.0.1:" + strconv.Itoa(testutil.FreePort(t))}.
				run(t, append([]string{"run"}, tt.args...)...)
			r.check(t, tt.code, tt.stdout, tt.stderr)
		})
	}
}

// TestRunForwardsSignals: a signal micro run receives reaches the program;
// one that the program does not handle ends it, and micro run exits as a
// shell reports it, 128+N.
func TestRunForwardsSignals(t *testing.T) {
	skipInShortMode(t)
	srv := microtest.NewServer(t)
	in := invocation{signals: make(chan os.Signal, 1), timeout: buildTimeout}
	p := in.start(t, "run", "-s", srv.URL, "./testdata/exitcode")
	testutil.Eventually(t, buildTimeout, func() bool { return strings.Contains(p.stdout.String(), "args=[]") },
		"the program's start; stderr so far: %s", &p.stderr)
	in.signals <- syscall.SIGTERM
	if code := p.wait(t); code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit code %d, want %d; stderr: %s", code, 128+int(syscall.SIGTERM), &p.stderr)
	}
}

// TestRunMinimalExample is the walkthrough on a machine without a NATS
// server: micro run starts one, the example serves on it, micro request,
// info and stats reach it, and Ctrl-C stops it all gracefully.
func TestRunMinimalExample(t *testing.T) {
	skipInShortMode(t)
	url := "nats://127.0.0.1:" + strconv.Itoa(testutil.FreePort(t))

	in := invocation{signals: make(chan os.Signal, 1), defaultURL: url, timeout: buildTimeout}
	p := in.start(t, "run", "../../examples/minimal")
	testutil.Eventually(t, buildTimeout, func() bool {
		return strings.Contains(p.stderr.String(), "started an embedded nats-server")
	}, "the embedded server's start; stderr so far: %s", &p.stderr)

	s := []string{"-s", url}
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		return invocation{}.run(t, append([]string{"request", "demo.ECHO", "Hello, world!"}, s...)...).code == 0
	}, "demo.ECHO answers; micro run's stderr so far: %s", &p.stderr)
	invocation{}.run(t, append([]string{"request", "demo.ECHO", "Hello, world!"}, s...)...).check(t, 0, "Hello, world!", "")
	invocation{}.run(t, append([]string{"info", "demo-service", "-o", "table"}, s...)...).
		check(t, 0, "echo      demo.ECHO  q            -\n", "")
	stats := decodeJSON[[]struct {
		Endpoints []struct {
			NumRequests int `json:"num_requests"`
		} `json:"endpoints"`
	}](t, invocation{}.run(t, append([]string{"stats", "demo-service"}, s...)...).stdout)
	if len(stats) != 1 || stats[0].Endpoints[0].NumRequests != 2 {
		t.Errorf("stats: %+v, want one instance with 2 requests", stats)
	}

	in.signals <- os.Interrupt
	if code := p.wait(t); code != 0 {
		t.Errorf("exit code %d; stderr: %s", code, &p.stderr)
	}
	// micro run's lines and the service's share one format.
	for _, want := range []string{`level=WARN msg="no NATS server configured or running; started an embedded nats-server`,
		`level=INFO msg="service ready" service=demo-service`, `level=INFO msg="services stopped"`} {
		if !strings.Contains(p.stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, &p.stderr)
		}
	}
	if nc, err := nats.Connect(url, nats.NoReconnect()); err == nil {
		nc.Close()
		t.Error("the embedded server runs on after micro run")
	}
}

// TestRunChecksThePackageFirst: a package that is not one main package is
// a usage error, found before a server starts or anything is built.
func TestRunChecksThePackageFirst(t *testing.T) {
	url := "nats://127.0.0.1:" + strconv.Itoa(testutil.FreePort(t))
	tests := []struct {
		name, pkg, stderr string
	}{
		{"a library", "../../binding", "micro: ../../binding is package binding, not a main package: micro run builds and runs programs\n" +
			"Run 'micro run --help' for usage.\n"},
		{"several packages", "../../examples/...", "micro: ../../examples/... names 7 packages; micro run runs one main package\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := invocation{defaultURL: url, timeout: buildTimeout}.run(t, "run", tt.pkg)
			r.check(t, exitUsage, "", tt.stderr)
			if strings.Contains(r.stderr, "embedded") {
				t.Errorf("started a server first:\n%s", r.stderr)
			}
			if nc, err := nats.Connect(url, nats.NoReconnect()); err == nil {
				nc.Close()
				t.Error("a server runs at the default URL")
			}
		})
	}
}

func TestProgramName(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]string{
		"./examples/minimal":  "minimal",
		"./examples/minimal/": "minimal",
		"main.go":             "main",
		".":                   "micro",
		"github.com/a/b/cmd":  "cmd",
	}
	for pkg, want := range tests {
		if got := programName(pkg); got != want {
			t.Errorf("programName(%q) = %q, want %q (in %s)", pkg, got, want, wd)
		}
	}
}
