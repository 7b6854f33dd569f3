package main

import (
	"cmp"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

func TestMain(m *testing.M) {
	// The connection variables and natscli contexts of the machine running
	// the tests must not change what the commands connect to.
	for _, name := range []string{"NATS_URL", "NATS_CREDS", "NATS_NKEY", "NATS_USER", "NATS_PASSWORD", "NATS_TOKEN", "NATS_CERT",
		"NATS_KEY", "NATS_CA", "NATS_CONTEXT", app.LogFormatEnv} {
		_ = os.Unsetenv(name)
	}
	_ = os.Setenv("XDG_CONFIG_HOME", filepath.Join(os.TempDir(), "micro-test-no-config"))
	goleak.VerifyTestMain(m)
}

// invocation is how a test runs the command: its input, whether stdin and
// stdout count as terminals, where signals come from, how long it may take
// (microtest.DefaultTimeout unless set).
type invocation struct {
	stdin      string
	terminal   bool
	defaultURL string
	signals    chan os.Signal
	timeout    time.Duration
}

// process is a command running in the test process.
type process struct {
	stdout, stderr testutil.Buffer
	done           chan int // receives the exit code
	timeout        time.Duration
}

func (in invocation) start(t *testing.T, args ...string) *process {
	t.Helper()
	p := &process{done: make(chan int, 1), timeout: cmp.Or(in.timeout, microtest.DefaultTimeout)}
	c := newCLI(strings.NewReader(in.stdin), &p.stdout, &p.stderr)
	c.isTerminal = func(any) bool { return in.terminal }
	if in.defaultURL != "" {
		c.defaultURL = in.defaultURL
	}
	if in.signals != nil {
		c.signals = func() (<-chan os.Signal, func()) { return in.signals, func() {} }
	}
	go func() { p.done <- c.execute(context.Background(), args) }()
	return p
}

// wait returns the exit code.
func (p *process) wait(t *testing.T) int {
	t.Helper()
	return testutil.Receive(t, p.done, p.timeout)
}

// result is what a finished command printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

func (in invocation) run(t *testing.T, args ...string) result {
	t.Helper()
	p := in.start(t, args...)
	code := p.wait(t)
	return result{p.stdout.String(), p.stderr.String(), code}
}

// check fails the test unless r has the exit code and its outputs contain
// the given texts.
func (r result) check(t *testing.T, code int, stdout, stderr string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.stdout, stdout) || !strings.Contains(r.stderr, stderr) {
		t.Errorf("exit code %d, want %d\nstdout (want %q):\n%s\nstderr (want %q):\n%s", r.code, code, stdout, r.stdout, stderr, r.stderr)
	}
}

// fixture is a server with the services the tests call: the seed's demo
// service and an orders service with groups, parameters, metadata and
// errors.
type fixture struct {
	srv *microtest.Server
	nc  *nats.Conn
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)

	demo := natsmux.NewRouter()
	demo.Route("demo", func(r *natsmux.Router) {
		r.HandleFunc("echo", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			return natsmux.Reply(req.Data), nil
		}, natsmux.WithSubject("ECHO"))
	})
	addService(t, nc, micro.Config{Name: "demo-service", Version: "1.0.0", Description: "Demo service"}, demo)

	orders := natsmux.NewRouter()
	orders.Route("orders", func(r *natsmux.Router) {
		r.HandleFunc("get", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			if id := req.Param("id"); id != "1" {
				return nil, &natsmux.Error{Code: 404, Description: "no order " + id, Data: []byte(`{"id":"` + id + `"}`)}
			}
			return natsmux.Reply([]byte(`{"id":"1","items":{"apple":2}}`)), nil
		}, natsmux.WithSubject("{id}.get"), natsmux.WithMetadata(map[string]string{"returns": "order"}))
		r.HandleFunc("headers", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			return natsmux.ReplyJSON(req.Header)
		})
		r.HandleFunc("silent", func(ctx context.Context, _ *natsmux.Request) (*natsmux.Response, error) {
			<-ctx.Done() // the caller's timeout, from the request's header
			panic(natsmux.ErrAbortHandler)
		}, natsmux.WithoutQueueGroup())
	}, natsmux.WithMetadata(map[string]string{"domain": "orders"}))
	addService(t, nc, micro.Config{Name: "orders", Version: "2.1.0", Description: "Orders, with groups and parameters",
		Metadata: map[string]string{"team": "sales"}}, orders)
	return &fixture{srv: srv, nc: nc}
}

func addService(t *testing.T, nc *nats.Conn, cfg micro.Config, r *natsmux.Router) {
	t.Helper()
	svc := microtest.AddService(t, nc, cfg)
	if err := natsmux.Mount(svc, r); err != nil {
		t.Fatal(err)
	}
}

// instanceIDs returns the instance ids of the services on nc's server by
// name; there must be one instance of each of the named services.
func instanceIDs(t *testing.T, nc *nats.Conn, names ...string) map[string]string {
	t.Helper()
	pings, err := micro.DiscoverPing(t.Context(), nc)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, p := range pings {
		ids[p.Name] = p.ID
	}
	if got := slices.Sorted(maps.Keys(ids)); len(pings) != len(names) || !slices.Equal(got, names) {
		t.Fatalf("%d instances of %v, want one of each of %v", len(pings), got, names)
	}
	return ids
}

func TestRequest(t *testing.T) {
	f := newFixture(t)
	s := []string{"-s", f.srv.URL}
	tests := []struct {
		name             string
		in               invocation
		args             []string
		code             int
		stdout, stderr   string
		exactStdout      bool
		notInStdout      string
		headerTimeoutVal string
	}{
		{name: "echo", args: []string{"demo.ECHO", "Hello, world!"}, stdout: "Hello, world!", exactStdout: true},
		{name: "newline on a terminal", in: invocation{terminal: true}, args: []string{"demo.ECHO", "Hello, world!"},
			stdout: "Hello, world!\n", exactStdout: true},
		{name: "payload from stdin", in: invocation{stdin: "piped\n"}, args: []string{"demo.ECHO"}, stdout: "piped\n", exactStdout: true},
		{name: "dash reads stdin", in: invocation{stdin: "dash"}, args: []string{"demo.ECHO", "-"}, stdout: "dash", exactStdout: true},
		{name: "terminal stdin is not read", in: invocation{stdin: "typed", terminal: true}, args: []string{"demo.ECHO"}, exactStdout: true},
		{name: "JSON reply", args: []string{"orders.1.get"}, stdout: `{"id":"1","items":{"apple":2}}`, exactStdout: true},
		{name: "service error", args: []string{"orders.7.get"}, code: 3, stdout: `{"id":"7"}`, exactStdout: true,
			stderr: "micro: service error 404: no order 7\n"},
		{name: "no responders", args: []string{"nobody.home"}, code: 1, stderr: `micro: no service listens on "nobody.home" (no responders)`},
		{name: "timeout", args: []string{"--timeout", "200ms", "orders.silent"}, code: 1, stderr: `micro: no reply on "orders.silent" within 200ms`},
		{name: "headers", args: []string{"-H", "X-Trace: a b", "-H", "X-Trace:c", "--header", "Accept:text/plain", "orders.headers"},
			stdout: `"Accept":["text/plain"],"Nats-Service-Timeout":["5s"],"X-Trace":["a b","c"]`},
		{name: "own timeout header", args: []string{"-H", "Nats-Service-Timeout:1500ms", "orders.headers"}, stdout: `"Nats-Service-Timeout":["1500ms"]`},
		{name: "bad header", args: []string{"-H", "novalue", "demo.ECHO"}, code: 2,
			stderr: "micro: header \"novalue\": want KEY:VALUE\nRun 'micro request --help' for usage."},
		{name: "bad timeout", args: []string{"--timeout", "0s", "demo.ECHO"}, code: 2, stderr: "--timeout must be positive"},
		{name: "unparsable timeout", args: []string{"--timeout", "soon", "demo.ECHO"}, code: 2, stderr: `invalid argument "soon" for "--timeout"`},
		{name: "no subject", args: nil, code: 2, stderr: "accepts between 1 and 2 arg(s), received 0"},
		{name: "too many arguments", args: []string{"a", "b", "c"}, code: 2, stderr: "accepts between 1 and 2 arg(s), received 3"},
		{name: "white space in the subject", args: []string{"bad subject"}, code: 2,
			stderr: "micro: invalid subject: subject \"bad subject\" contains white space at offset 3\nRun 'micro request --help' for usage.\n"},
		{name: "empty token", args: []string{"demo..x", "hi"}, code: 2, stderr: `micro: invalid subject: subject "demo..x" has an empty token`},
		{name: "wildcard", args: []string{"demo.*", "hi"}, code: 2, stderr: `micro: invalid subject: subject "demo.*" may not contain wildcards`},
		{name: "full wildcard", args: []string{"orders.>", "hi"}, code: 2, stderr: `micro: invalid subject: subject "orders.>" may not contain wildcards`},
		{name: "empty subject", args: []string{"", "hi"}, code: 2, stderr: "micro: invalid subject: subject is empty"},
		{name: "reply headers", args: []string{"--reply-headers", "orders.7.get"}, code: 3, stdout: `{"id":"7"}`, exactStdout: true,
			stderr: "Nats-Service-Error: no order 7\nNats-Service-Error-Code: 404\nmicro: service error 404: no order 7\n"},
		{name: "no reply headers", args: []string{"--reply-headers", "demo.ECHO", "hi"}, stdout: "hi", exactStdout: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.in.run(t, append([]string{"request"}, append(s, tt.args...)...)...)
			r.check(t, tt.code, tt.stdout, tt.stderr)
			if tt.exactStdout && r.stdout != tt.stdout {
				t.Errorf("stdout %q, want %q", r.stdout, tt.stdout)
			}
			if tt.code == exitUsage && strings.Contains(r.stderr, "no responders") {
				t.Errorf("a usage error went out as a request: %s", r.stderr)
			}
		})
	}
}

// TestRequestConnectionErrors: no server, and bad connection settings.
func TestRequestConnectionErrors(t *testing.T) {
	srv := microtest.NewServer(t, microtest.WithToken("secret"))
	url := srv.URL
	srv.Shutdown()
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		stderr string
	}{
		{"server down", nil, []string{"-s", url}, "micro: connecting to NATS at " + url + ": nats: no servers available for connection\n"},
		{"server from the environment", map[string]string{"NATS_URL": url}, nil, "connecting to NATS at " + url},
		{"flag wins over environment", map[string]string{"NATS_URL": "nats://127.0.0.1:1"}, []string{"--server", url}, "connecting to NATS at " + url},
		{"half a TLS pair", map[string]string{"NATS_CERT": "cert.pem"}, []string{"-s", url}, "needs both --tlscert and --tlskey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			r := invocation{}.run(t, append(append([]string{"request"}, tt.args...), "demo.ECHO", "x")...)
			r.check(t, 1, "", tt.stderr)
		})
	}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "micro runs NATS services written with natsmux"},
		{[]string{"--help"}, "Exit codes: 0 success, 1 failure, 2 bad command line, 3 the service replied"},
		{[]string{"help", "request"}, "micro request SUBJECT [DATA] [flags]"},
		{[]string{"request", "--help"}, "-H, --header stringArray"},
		{[]string{"run", "--help"}, "micro run [flags] PACKAGE [ARGS...]"},
		{[]string{"server", "-h"}, "--monitor int"},
		{[]string{"ping", "--help"}, "-o, --output format"},
		{[]string{"ls", "--help"}, "--server string"},
		{[]string{"info", "--help"}, "[$NATS_URL]"},
		{[]string{"stats", "--help"}, "micro stats [NAME [ID]] [flags]"},
		{[]string{"request", "--help"}, "--reply-headers"},
		{[]string{"request", "--help"}, "--context string"},
		{[]string{"run", "--help"}, "--log-format string"},
		{[]string{"--help"}, "the natscli context that\n--context or NATS_CONTEXT names, or the selected one"},
		{[]string{"completion", "bash"}, "# bash completion V2 for micro"},
		{[]string{"completion", "zsh"}, "#compdef micro"},
		{[]string{"completion", "fish"}, "complete -c micro "},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			invocation{}.run(t, tt.args...).check(t, 0, tt.want, "")
		})
	}
}

// TestVersion: the module version (devel in a test binary), the commit
// when the build knew it, and the Go release.
func TestVersion(t *testing.T) {
	r := invocation{}.run(t, "--version")
	pattern := regexp.MustCompile(`^micro version (\(devel\)|v\S+)(, commit [0-9a-f]+(\+modified)?)?, go\S+\n$`)
	if r.code != 0 || !pattern.MatchString(r.stdout) {
		t.Errorf("exit code %d, stdout %q", r.code, r.stdout)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args   []string
		stderr string
	}{
		{[]string{"pnig"}, "micro: unknown command \"pnig\"; did you mean ping?\nRun 'micro --help' for usage.\n"},
		{[]string{"--nope"}, "micro: unknown flag: --nope\nRun 'micro --help' for usage.\n"},
		{[]string{"ping", "a", "b"}, "micro: accepts between 0 and 1 arg(s), received 2\nRun 'micro ping --help' for usage.\n"},
		{[]string{"ls", "x"}, "micro: unknown command \"x\" for \"micro ls\""},
		{[]string{"info", "-o", "yaml"}, `invalid argument "yaml" for "-o, --output" flag: unknown output format "yaml": want auto, table, json`},
		{[]string{"stats", "--timeout", "-1s"}, "--timeout must be positive, got -1s"},
		{[]string{"server", "extra"}, "Run 'micro server --help' for usage."},
		{[]string{"run"}, "micro: requires at least 1 arg(s), only received 0"},
		{[]string{"run", "--log-format", "yaml", "./testdata/exitcode"}, `micro: unknown log format "yaml": want text or json`},
		{[]string{"completion", "tcsh"}, "micro: unknown command \"tcsh\" for \"micro completion\"\nRun 'micro completion --help' for usage.\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			invocation{}.run(t, tt.args...).check(t, 2, "", tt.stderr)
		})
	}
}

// decodeJSON decodes a command's JSON output.
func decodeJSON[T any](t *testing.T, out string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	return v
}
