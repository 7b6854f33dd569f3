package scaletest

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// refusal is how long a test waits for the reply to a request that must
// not be answered.
const refusal = 250 * time.Millisecond

// TestAuthMethods connects a service and a caller with each kind of
// credentials, and checks that a client without them is refused with an
// error that says why.
func TestAuthMethods(t *testing.T) {
	pki := microtest.NewPKI(t)
	user, stranger := microtest.NewNKeyUser(t), microtest.NewNKeyUser(t)

	tests := []struct {
		name   string
		server []microtest.Option // service and caller connect with what these imply
		bad    []nats.Option      // what a refused client connects with
		refuse []string           // the refused client's error has one of these
	}{
		{
			name:   "user and password",
			server: []microtest.Option{microtest.WithUserPassword("svc", "s3cret")},
			bad:    []nats.Option{nats.UserInfo("svc", "guess")},
			refuse: []string{"nats: Authorization Violation"},
		},
		{
			name:   "nkey",
			server: []microtest.Option{microtest.WithNKeyUsers(user)},
			bad:    []nats.Option{stranger.Option()},
			refuse: []string{"nats: Authorization Violation"},
		},
		{
			name:   "TLS",
			server: []microtest.Option{microtest.WithTLS(pki, false)},
			bad:    []nats.Option{nats.Secure(&tls.Config{MinVersion: tls.VersionTLS12})},
			refuse: []string{"x509: certificate signed by unknown authority"},
		},
		{
			name:   "mutual TLS",
			server: []microtest.Option{microtest.WithTLS(pki, true)},
			bad:    []nats.Option{nats.Secure(pki.ClientTLS(false))},
			// With TLS 1.3 the client may finish its handshake before the
			// server checks its certificate and only see the connection
			// close when it writes.
			refuse: []string{"remote error: tls: certificate required", "nats: tls error: connection closed by remote after TLS handshake"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := microtest.NewServer(t, tt.server...)
			svc := mount(t, srv.Connect(t), micro.Config{Name: "secure", Version: "1.0.0"}, echoRouter(echoSubject))
			caller := srv.Connect(t)
			if reply := microtest.Request(t, caller, echoSubject, []byte("hi")); string(reply.Data) != "hi" {
				t.Errorf("reply %q", reply.Data)
			}
			ctx, cancel := context.WithTimeout(context.Background(), microtest.DefaultTimeout)
			defer cancel()
			pings, err := micro.DiscoverPing(ctx, caller, micro.WithDiscoveryService("secure"), micro.WithDiscoveryMax(1))
			if err != nil || len(pings) != 1 || pings[0].ID != svc.Info().ID {
				t.Errorf("PING: %v, %v", pings, err)
			}

			nc, err := nats.Connect(srv.URL, append(tt.bad, nats.NoReconnect())...)
			if err == nil {
				nc.Close()
				t.Fatal("a client without the right credentials connected")
			}
			t.Logf("refused: %v", err)
			if !slices.ContainsFunc(tt.refuse, func(want string) bool { return strings.Contains(err.Error(), want) }) {
				t.Errorf("refused with %q, want one of %q", err, tt.refuse)
			}
		})
	}
}

// permissionsFromDocs loads the nats-server configuration block of
// docs/security.md that follows the marker naming this test, so that the
// documentation shows exactly what is tested.
func permissionsFromDocs(t *testing.T) *server.Options {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "security.md"))
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)TestLeastPrivilege loads the next block\\. -->\n```\n(.*?)\n```").FindSubmatch(doc)
	if block == nil {
		t.Fatal("docs/security.md: no configuration block after the TestLeastPrivilege marker")
	}
	conf := filepath.Join(t.TempDir(), "permissions.conf")
	if err := os.WriteFile(conf, block[1], 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatalf("docs/security.md: the permissions block does not load: %v", err)
	}
	return opts
}

// TestLeastPrivilege runs the service and the caller of docs/security.md
// with exactly the permissions shown there.
func TestLeastPrivilege(t *testing.T) {
	conf := permissionsFromDocs(t)
	srv := microtest.NewServer(t, microtest.WithOptions(func(o *server.Options) { o.Users = conf.Users }))

	svcErrs, callerErrs := make(chan error, 8), make(chan error, 8)
	svcConn := srv.Connect(t, nats.UserInfo("orders-svc", "svc-secret"), asyncErrorsTo(svcErrs))
	r := natsmux.NewRouter()
	r.Route("orders", func(r *natsmux.Router) {
		r.HandleFunc("get", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			return natsmux.Reply([]byte("order " + req.Param("id"))), nil
		}, natsmux.WithSubject("{id}.get"))
		r.HandleFunc("create", echo)
		r.HandleFunc("purge", echo, natsmux.WithSubject("admin.purge"))
	})
	svc := mount(t, svcConn, micro.Config{Name: "orders", Version: "1.0.0"}, r)
	caller := srv.Connect(t, nats.UserInfo("orders-caller", "caller-secret"),
		nats.CustomInboxPrefix("_INBOX_orders_caller"), asyncErrorsTo(callerErrs))

	t.Run("the caller calls what it may", func(t *testing.T) {
		if reply := microtest.Request(t, caller, "orders.42.get", nil); string(reply.Data) != "order 42" {
			t.Errorf("orders.42.get: %q", reply.Data)
		}
		if reply := microtest.Request(t, caller, "orders.create", []byte("new")); string(reply.Data) != "new" {
			t.Errorf("orders.create: %q", reply.Data)
		}
	})

	t.Run("discovery", func(t *testing.T) {
		id := svc.Info().ID
		for _, opts := range [][]micro.DiscoveryOpt{
			nil,
			{micro.WithDiscoveryService("orders")},
			{micro.WithDiscoveryInstance("orders", id)},
		} {
			for _, verb := range []micro.Verb{micro.PingVerb, micro.InfoVerb, micro.StatsVerb} {
				ctx, cancel := context.WithTimeout(context.Background(), microtest.DefaultTimeout)
				docs, err := micro.Discover(ctx, caller, verb, append(opts, micro.WithDiscoveryMax(1))...)
				cancel()
				var got struct{ ID string }
				if err != nil || len(docs) != 1 || json.Unmarshal(docs[0], &got) != nil || got.ID != id {
					t.Errorf("%s with %d options: %d replies, %v", verb, len(opts), len(docs), err)
				}
			}
		}
	})

	t.Run("the caller may not purge", func(t *testing.T) {
		_, err := caller.Request("orders.admin.purge", nil, refusal)
		if !errors.Is(err, nats.ErrTimeout) {
			t.Errorf("request: %v, want a timeout", err)
		}
		refused := testutil.Receive(t, callerErrs, microtest.DefaultTimeout)
		t.Logf("caller's error handler: %v", refused)
		if !errors.Is(refused, nats.ErrPermissionViolation) || !strings.Contains(refused.Error(), `Publish to "orders.admin.purge"`) {
			t.Errorf("caller's error: %v, want a publish permissions violation", refused)
		}
		if n := svc.Stats().Endpoints[2].NumRequests; n != 0 {
			t.Errorf("purge served %d requests", n)
		}
	})

	t.Run("the service may only reply", func(t *testing.T) {
		if err := svcConn.Publish("orders.create", []byte("from the service")); err != nil {
			t.Fatal(err)
		}
		refused := testutil.Receive(t, svcErrs, microtest.DefaultTimeout)
		if !errors.Is(refused, nats.ErrPermissionViolation) || !strings.Contains(refused.Error(), `Publish to "orders.create"`) {
			t.Errorf("service's error: %v, want a publish permissions violation", refused)
		}
	})
	select {
	case err := <-svcErrs:
		t.Errorf("the service met an unexpected error: %v", err)
	default:
	}
}

// TestConfusedDeputy: with the permissions of docs/security.md, a caller
// that may not call orders.admin.purge publishes to orders.create with
// orders.admin.purge as its reply subject. allow_responses lets the service
// publish its reply there, so the purge endpoint runs on a payload the
// caller chose. micro.Config.ReplyPrefixes stops that: the service refuses
// requests whose reply subject is not a caller's inbox.
func TestConfusedDeputy(t *testing.T) {
	conf := permissionsFromDocs(t)
	srv := microtest.NewServer(t, microtest.WithOptions(func(o *server.Options) { o.Users = conf.Users }))
	caller := srv.Connect(t, nats.UserInfo("orders-caller", "caller-secret"), nats.CustomInboxPrefix("_INBOX_orders_caller"))
	tests := []struct {
		name        string
		prefixes    []string
		purgesAfter int
	}{
		{"without ReplyPrefixes the purge runs", nil, 1},
		{"with ReplyPrefixes it does not", []string{"_INBOX_orders_caller"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			purged := make(chan string, 4)
			r := natsmux.NewRouter()
			r.Route("orders", func(r *natsmux.Router) {
				r.HandleFunc("create", echo)
				r.HandleFunc("purge", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
					purged <- string(req.Data)
					return nil, nil
				}, natsmux.WithSubject("admin.purge"))
			})
			svcConn := srv.Connect(t, nats.UserInfo("orders-svc", "svc-secret"))
			svc := microtest.AddService(t, svcConn, micro.Config{Name: "orders", Version: "1.0.0", ReplyPrefixes: tt.prefixes})
			if err := natsmux.Mount(svc, r); err != nil {
				t.Fatal(err)
			}
			if reply := microtest.Request(t, caller, "orders.create", []byte("legit")); string(reply.Data) != "legit" {
				t.Fatalf("a legitimate request: %q", reply.Data)
			}
			if err := caller.PublishRequest("orders.create", "orders.admin.purge", []byte("purge everything")); err != nil {
				t.Fatal(err)
			}
			stats := microtest.SettledStats(t, svc, 2+tt.purgesAfter)
			if tt.purgesAfter > 0 {
				if got := testutil.Receive(t, purged, microtest.DefaultTimeout); got != "purge everything" {
					t.Errorf("the purge ran with %q", got)
				}
				return
			}
			if e := stats.Endpoints[0]; e.NumErrors != 1 || !strings.Contains(e.LastError, `refused: reply subject "orders.admin.purge"`) {
				t.Errorf("create's stats: %+v", e)
			}
			if len(purged) != 0 || stats.Endpoints[1].NumRequests != 0 {
				t.Errorf("the purge ran")
			}
			if err := svc.Stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// asyncErrorsTo sends a connection's asynchronous errors to ch.
func asyncErrorsTo(ch chan<- error) nats.Option {
	return nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case ch <- err:
		default:
		}
	})
}

// errorRouter serves, under prefix, handlers that fail in each way there is,
// with a secret in the error where they can.
func errorRouter(prefix, secret string) *natsmux.Router {
	r := natsmux.NewRouter()
	r.Route(prefix, func(r *natsmux.Router) {
		r.HandleFunc("plain", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
			return nil, fmt.Errorf("db: login with %s refused", secret)
		})
		r.HandleFunc("wrapped", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
			return nil, natsmux.Wrap(fmt.Errorf("dial %s", secret), 502, "upstream failed")
		})
		r.HandleFunc("coded", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
			return nil, natsmux.Errorf(409, "order %s exists", "7")
		})
		r.HandleFunc("sentinel", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
			return nil, fmt.Errorf("looking up %s: %w", secret, natsmux.ErrNotFound)
		})
		r.HandleFunc("panic", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
			panic("crashed with " + secret)
		})
		r.HandleFunc("deadline", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
			return nil, fmt.Errorf("%s: %w", secret, context.DeadlineExceeded)
		})
	})
	return r
}

// TestErrorTextExposure sends errors that carry a secret end to end and
// looks for the secret in every header and the payload of the reply.
func TestErrorTextExposure(t *testing.T) {
	const secret = "password=hunter2"
	countPanicLogs(t)
	srv := microtest.NewServer(t)
	caller := srv.Connect(t)
	tests := []struct {
		endpoint string
		want     string // "code description" with DefaultErrorHandler
		exposed  string // with ExposingErrorHandler, when it differs
	}{
		{"plain", "500 internal error", "500 db: login with " + secret + " refused"},
		{"wrapped", "502 upstream failed", ""},
		{"coded", "409 order 7 exists", ""},
		{"sentinel", "404 not found", ""},
		{"panic", "500 internal error", ""},
		{"deadline", "504 timeout", ""},
	}
	for _, handler := range []struct {
		name   string
		expose bool
		opts   []natsmux.ServeOption
	}{
		{"DefaultErrorHandler", false, nil},
		{"ExposingErrorHandler", true, []natsmux.ServeOption{natsmux.WithErrorHandler(natsmux.ExposingErrorHandler)}},
	} {
		t.Run(handler.name, func(t *testing.T) {
			cfg := micro.Config{Name: "errors", Version: "1.0.0"}
			mount(t, srv.Connect(t), cfg, errorRouter(handler.name, secret), handler.opts...)
			for _, tt := range tests {
				reply := microtest.Request(t, caller, handler.name+"."+tt.endpoint, nil)
				want := tt.want
				if handler.expose && tt.exposed != "" {
					want = tt.exposed
				}
				var serr *micro.ServiceError
				if !errors.As(micro.ResponseError(reply), &serr) {
					t.Fatalf("%s: not an error reply: %v", tt.endpoint, reply.Header)
				}
				if got := fmt.Sprintf("%d %s", serr.Code, serr.Description); got != want {
					t.Errorf("%s: %q, want %q", tt.endpoint, got, want)
				}
				leaked := strings.Contains(fmt.Sprint(reply.Header), secret) || strings.Contains(string(reply.Data), secret)
				if leaked != strings.Contains(want, secret) {
					t.Errorf("%s: secret in the reply: %v (headers %v, data %q)", tt.endpoint, leaked, reply.Header, reply.Data)
				}
			}
		})
	}
}

// TestPayloadLimits: a server's max_payload bounds requests and replies,
// with the errors docs/security.md lists.
func TestPayloadLimits(t *testing.T) {
	const limit = 1024
	srv := microtest.NewServer(t, microtest.WithOptions(func(o *server.Options) { o.MaxPayload = limit }))
	r := natsmux.NewRouter()
	r.HandleFunc("echo", echo, natsmux.WithSubject("limits.echo"))
	r.HandleFunc("big", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
		return natsmux.Reply(make([]byte, 2*limit)), nil
	}, natsmux.WithSubject("limits.big"))
	svc := mount(t, srv.Connect(t), micro.Config{Name: "limits", Version: "1.0.0"}, r)
	caller := srv.Connect(t)

	t.Run("request above the limit", func(t *testing.T) {
		_, err := caller.Request("limits.echo", make([]byte, limit+1), microtest.DefaultTimeout)
		if !errors.Is(err, nats.ErrMaxPayload) {
			t.Errorf("request of %d bytes: %v, want %v", limit+1, err, nats.ErrMaxPayload)
		}
		if reply := microtest.Request(t, caller, "limits.echo", make([]byte, limit-100)); len(reply.Data) != limit-100 {
			t.Errorf("request within the limit: %d bytes back", len(reply.Data))
		}
	})

	t.Run("reply above the limit", func(t *testing.T) {
		reply := microtest.Request(t, caller, "limits.big", nil)
		var se *micro.ServiceError
		if err := micro.ResponseError(reply); !errors.As(err, &se) || se.Code != 500 || se.Description != "reply too large" {
			t.Errorf("reply to an oversized answer: %v, want 500 reply too large", err)
		}
		testutil.Eventually(t, microtest.DefaultTimeout, func() bool { return svc.Stats().Endpoints[1].NumErrors == 1 },
			"the failed reply counted")
		if last := svc.Stats().Endpoints[1].LastError; last != "500:reply too large" {
			t.Errorf("last_error %q", last)
		}
	})

	t.Run("a client that ignores the limit", func(t *testing.T) {
		conn, lines := rawClient(t, srv)
		fmt.Fprintf(conn, "PUB limits.echo %d\r\n%s\r\n", limit+1, strings.Repeat("x", limit+1))
		if got := expectLine(t, lines, "-ERR"); !strings.Contains(got, "Maximum Payload Violation") {
			t.Errorf("server said %q", got)
		}
		closed := make(chan struct{})
		go func() {
			for range lines {
			}
			close(closed)
		}()
		testutil.Closed(t, closed, microtest.DefaultTimeout, "the server closing the connection")
	})
}

// rawClient connects to srv without a client library, as a client that
// writes the protocol itself, and returns the connection and its lines.
func rawClient(t *testing.T, srv *microtest.Server) (net.Conn, <-chan string) {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		scanner := bufio.NewScanner(conn)
		for scanner.Scan() {
			lines <- scanner.Text()
		}
	}()
	expectLine(t, lines, "INFO")
	fmt.Fprint(conn, "CONNECT {\"verbose\":false,\"headers\":true,\"protocol\":1}\r\nPING\r\n")
	expectLine(t, lines, "PONG")
	return conn, lines
}

// expectLine returns the next line from the server that starts with
// prefix, skipping others (such as INFO updates).
func expectLine(t *testing.T, lines <-chan string, prefix string) string {
	t.Helper()
	for {
		line := testutil.Receive(t, lines, microtest.DefaultTimeout)
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
}

// TestMalformedHeaders: nats.go keeps bad headers off the wire, and a
// header block that does not parse reaches the handler without headers,
// counted and reported, while the service keeps serving.
func TestMalformedHeaders(t *testing.T) {
	srv := microtest.NewServer(t)
	asyncErrs := make(chan *micro.NATSError, 8)
	cfg := micro.Config{Name: "headers", Version: "1.0.0", ErrorHandler: serviceErrorsTo(asyncErrs)}
	r := natsmux.NewRouter()
	r.HandleFunc("show", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		return natsmux.ReplyJSON(req.Header)
	}, natsmux.WithSubject("headers.show"))
	quiet := nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})
	svc := mount(t, srv.Connect(t, quiet), cfg, r)
	caller := srv.Connect(t)

	t.Run("invalid key", func(t *testing.T) {
		for _, key := range []string{"Bad Key", "Bad:Key"} {
			msg := nats.NewMsg("headers.show")
			msg.Header[key] = []string{"x"}
			if _, err := caller.RequestMsg(msg, microtest.DefaultTimeout); !errors.Is(err, nats.ErrBadHeaderMsg) {
				t.Errorf("key %q: %v, want %v", key, err, nats.ErrBadHeaderMsg)
			}
		}
	})

	t.Run("CR LF in a value", func(t *testing.T) {
		msg := nats.NewMsg("headers.show")
		msg.Header.Set("X-Note", "a\r\nNats-Service-Error: forged")
		reply := microtest.RequestMsg(t, caller, msg)
		var seen nats.Header
		if err := json.Unmarshal(reply.Data, &seen); err != nil {
			t.Fatal(err)
		}
		if len(seen) != 1 || seen.Get("X-Note") != "a  Nats-Service-Error: forged" {
			t.Errorf("the handler saw %v", seen)
		}
	})

	t.Run("header block that does not parse", func(t *testing.T) {
		replies, err := caller.SubscribeSync(nats.NewInbox())
		if err != nil {
			t.Fatal(err)
		}
		if err := caller.Flush(); err != nil {
			t.Fatal(err)
		}
		conn, lines := rawClient(t, srv)
		hdr, payload := "NATS/1.0\r\nNoColonHere\r\n\r\n", "hello"
		fmt.Fprintf(conn, "HPUB headers.show %s %d %d\r\n%s%s\r\nPING\r\n", replies.Subject, len(hdr), len(hdr)+len(payload), hdr, payload)
		expectLine(t, lines, "PONG")

		reply, err := replies.NextMsg(microtest.DefaultTimeout)
		if err != nil {
			t.Fatal(err)
		}
		if string(reply.Data) != "null" || micro.ResponseError(reply) != nil {
			t.Errorf("reply %q %v: want the handler's reply, without headers", reply.Data, reply.Header)
		}
		report := testutil.Receive(t, asyncErrs, microtest.DefaultTimeout)
		if report.Subject != "headers.show" || !errors.Is(report, nats.ErrBadHeaderMsg) {
			t.Errorf("ErrorHandler got %v", report)
		}
		stats := svc.Stats().Endpoints[0]
		if stats.NumErrors != 1 || stats.LastError != nats.ErrBadHeaderMsg.Error() {
			t.Errorf("stats: %d errors, last %q", stats.NumErrors, stats.LastError)
		}
		if reply := microtest.Request(t, caller, "headers.show", nil); micro.ResponseError(reply) != nil {
			t.Errorf("after the bad header: %v", reply.Header)
		}
	})
}
