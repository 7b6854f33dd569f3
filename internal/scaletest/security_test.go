package scaletest

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
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
	"github.com/nats-io/nkeys"

	"github.com/natsmux/natsmux"
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
	pki := newPKI(t)
	userPub, userOpt := newNkeyUser(t)
	_, strangerOpt := newNkeyUser(t)

	tests := []struct {
		name   string
		server []microtest.Option
		good   []nats.Option // what service and caller connect with
		bad    []nats.Option // what a refused client connects with
		refuse []string      // the refused client's error has one of these
	}{
		{
			name:   "user and password",
			server: []microtest.Option{microtest.WithUserPassword("svc", "s3cret")},
			bad:    []nats.Option{nats.UserInfo("svc", "guess")},
			refuse: []string{"nats: Authorization Violation"},
		},
		{
			name: "nkey",
			server: []microtest.Option{microtest.WithOptions(func(o *server.Options) {
				o.Nkeys = []*server.NkeyUser{{Nkey: userPub}}
			})},
			good:   []nats.Option{userOpt},
			bad:    []nats.Option{strangerOpt},
			refuse: []string{"nats: Authorization Violation"},
		},
		{
			name:   "TLS",
			server: []microtest.Option{pki.serverTLS(false)},
			good:   []nats.Option{nats.Secure(pki.clientConfig(false))},
			bad:    []nats.Option{nats.Secure(&tls.Config{MinVersion: tls.VersionTLS12})},
			refuse: []string{"x509: certificate signed by unknown authority"},
		},
		{
			name:   "mutual TLS",
			server: []microtest.Option{pki.serverTLS(true)},
			good:   []nats.Option{nats.Secure(pki.clientConfig(true))},
			bad:    []nats.Option{nats.Secure(pki.clientConfig(false))},
			// With TLS 1.3 the client may finish its handshake before the
			// server checks its certificate and only see the connection
			// close when it writes.
			refuse: []string{"remote error: tls: certificate required", "nats: tls error: connection closed by remote after TLS handshake"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := microtest.NewServer(t, tt.server...)
			svc := mount(t, srv.Connect(t, tt.good...), micro.Config{Name: "secure", Version: "1.0.0"}, echoRouter(echoSubject))
			caller := srv.Connect(t, tt.good...)
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

// newNkeyUser returns the public key of a new user nkey and the option that
// authenticates with it, signing the server's nonce.
func newNkeyUser(t *testing.T) (string, nats.Option) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return pub, nats.Nkey(pub, kp.Sign)
}

// pki is a certificate authority made for one test, with a server
// certificate for 127.0.0.1 and a client certificate.
type pki struct {
	pool           *x509.CertPool
	server, client tls.Certificate
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "scaletest CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	p := &pki{pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	issue := func(serial int64, name string, usage x509.ExtKeyUsage, ips ...net.IP) tls.Certificate {
		key := newKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: name},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	}
	p.server = issue(2, "127.0.0.1", x509.ExtKeyUsageServerAuth, net.IPv4(127, 0, 0, 1))
	p.client = issue(3, "orders-svc", x509.ExtKeyUsageClientAuth)
	return p
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// serverTLS makes the server require TLS, and client certificates signed by
// the CA when mutual.
func (p *pki) serverTLS(mutual bool) microtest.Option {
	return microtest.WithOptions(func(o *server.Options) {
		o.TLS = true
		o.TLSTimeout = 2
		o.TLSConfig = &tls.Config{Certificates: []tls.Certificate{p.server}, MinVersion: tls.VersionTLS12}
		if mutual {
			o.TLSVerify = true
			o.TLSConfig.ClientAuth = tls.RequireAndVerifyClientCert
			o.TLSConfig.ClientCAs = p.pool
		}
	})
}

// clientConfig trusts the CA and presents the client certificate when
// withCert.
func (p *pki) clientConfig(withCert bool) *tls.Config {
	cfg := &tls.Config{RootCAs: p.pool, MinVersion: tls.VersionTLS12}
	if withCert {
		cfg.Certificates = []tls.Certificate{p.client}
	}
	return cfg
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
		refused := microtest.Receive(t, callerErrs, microtest.DefaultTimeout)
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
		refused := microtest.Receive(t, svcErrs, microtest.DefaultTimeout)
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
		microtest.Eventually(t, microtest.DefaultTimeout, func() bool { return svc.Stats().Endpoints[1].NumErrors == 1 },
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
		microtest.Closed(t, closed, microtest.DefaultTimeout, "the server closing the connection")
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
		line := microtest.Receive(t, lines, microtest.DefaultTimeout)
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
		report := microtest.Receive(t, asyncErrs, microtest.DefaultTimeout)
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
