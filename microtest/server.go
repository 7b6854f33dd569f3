package microtest

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/micro"
)

// startTimeout bounds how long a test waits for an in-process server to accept
// connections. It is generous because CI machines are small and shared.
const startTimeout = 10 * time.Second

// Server is an in-process nats-server listening on a random loopback port.
// It is shut down by the test's cleanup.
type Server struct {
	*server.Server

	// URL is the client URL, for example nats://127.0.0.1:41234.
	URL string

	opts   *server.Options
	tb     testing.TB
	client []nats.Option // connect options implied by the server's auth config
}

// Option configures a Server before it starts.
type Option func(*config)

type config struct {
	opts   *server.Options
	client []nats.Option
}

// WithJetStream enables JetStream with its store in a test-scoped temporary
// directory. Servers have no JetStream unless asked.
func WithJetStream() Option {
	return func(c *config) {
		c.opts.JetStream = true
		c.opts.StoreDir = ""
	}
}

// WithUserPassword requires user/password authentication. Connections made
// with Server.Connect authenticate as that user.
func WithUserPassword(user, password string) Option {
	return func(c *config) {
		c.opts.Username = user
		c.opts.Password = password
		c.client = append(c.client, nats.UserInfo(user, password))
	}
}

// WithToken requires token authentication. Connections made with
// Server.Connect present the token.
func WithToken(token string) Option {
	return func(c *config) {
		c.opts.Authorization = token
		c.client = append(c.client, nats.Token(token))
	}
}

// WithOptions gives direct access to the server options for anything the
// other options do not cover (accounts, permissions, limits, clustering).
func WithOptions(fn func(*server.Options)) Option {
	return func(c *config) { fn(c.opts) }
}

// WithPort listens on a fixed port instead of a random one; tests that restart
// a server on the same address use it with the port of the first server.
func WithPort(port int) Option {
	return func(c *config) { c.opts.Port = port }
}

// NewServer starts an in-process nats-server on 127.0.0.1 with a random port,
// waits until it accepts connections and registers its shutdown with
// t.Cleanup. It fails the test if the server cannot start.
func NewServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	c := &config{opts: &server.Options{
		Host:                  "127.0.0.1",
		Port:                  server.RANDOM_PORT,
		NoLog:                 true,
		NoSigs:                true,
		MaxControlLine:        4096,
		DisableShortFirstPing: true,
	}}
	for _, opt := range opts {
		opt(c)
	}
	if c.opts.JetStream && c.opts.StoreDir == "" {
		c.opts.StoreDir = tb.TempDir()
	}
	s := &Server{opts: c.opts, tb: tb, client: c.client}
	s.start()
	tb.Cleanup(s.Shutdown)
	return s
}

func (s *Server) start() {
	s.tb.Helper()
	ns, err := server.NewServer(s.opts)
	if err != nil {
		s.tb.Fatalf("microtest: configuring nats-server: %v", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(startTimeout) {
		ns.Shutdown()
		s.tb.Fatalf("microtest: nats-server did not accept connections within %s", startTimeout)
	}
	s.Server = ns
	s.URL = ns.ClientURL()
}

// Shutdown stops the server and waits until it has stopped. It is safe to call
// more than once; cleanup calls it too.
func (s *Server) Shutdown() {
	s.Server.Shutdown()
	s.WaitForShutdown()
}

// Restart shuts the server down and starts a new one on the same port with
// the same options, as a process restart would. Clients that were connected
// reconnect through their usual reconnect logic.
func (s *Server) Restart() {
	s.tb.Helper()
	_, port, err := net.SplitHostPort(s.Addr().String())
	if err != nil {
		s.tb.Fatalf("microtest: server address: %v", err)
	}
	s.Shutdown()
	opts := *s.opts
	opts.Port, _ = strconv.Atoi(port)
	s.opts = &opts
	s.start()
}

// Port returns the port the server listens on.
func (s *Server) Port() int {
	return s.Addr().(*net.TCPAddr).Port
}

// Connect returns a client connected to the server, closed by the test's
// cleanup. It fails the test if the connection cannot be made. Options given
// here come after the ones the server's auth config implies.
func (s *Server) Connect(tb testing.TB, opts ...nats.Option) *nats.Conn {
	tb.Helper()
	all := append(append([]nats.Option{nats.Name(tb.Name())}, s.client...), opts...)
	return Connect(tb, s.URL, all...)
}

// Connect returns a client connected to url, closed by the test's cleanup.
func Connect(tb testing.TB, url string, opts ...nats.Option) *nats.Conn {
	tb.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		tb.Fatalf("microtest: connecting to %s: %v", url, err)
	}
	tb.Cleanup(nc.Close)
	return nc
}

// AddService adds a micro service on nc and shuts it down gracefully in the
// test's cleanup, failing the test if it cannot start or does not drain
// within DefaultTimeout. Mount routers on it with natsmux.Mount.
func AddService(tb testing.TB, nc *nats.Conn, cfg micro.Config) micro.Service {
	tb.Helper()
	svc, err := micro.AddService(nc, cfg)
	if err != nil {
		tb.Fatalf("microtest: adding service %s: %v", cfg.Name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
		defer cancel()
		if err := svc.Shutdown(ctx); err != nil {
			tb.Errorf("microtest: shutting down service %s: %v", cfg.Name, err)
		}
	})
	return svc
}
