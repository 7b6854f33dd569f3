package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// serverStartTimeout bounds the wait for an embedded server to accept
// connections once its ports are known to be free.
const serverStartTimeout = 10 * time.Second

// ServerOptions configures an embedded development server. Ports follow
// nats-server's conventions: 0 is the default (4222 for clients, no
// monitoring), -1 a random free port.
type ServerOptions struct {
	Host        string // listen address; "" means 127.0.0.1, loopback only
	Port        int    // client port
	MonitorPort int    // HTTP monitoring port (/varz, /connz, ...)
}

// StartServer starts an in-process nats-server for development: no
// authentication, no JetStream, no clustering, its own logging off. It
// returns once the server accepts connections; Shutdown stops it.
func StartServer(o ServerOptions) (*server.Server, error) {
	opts := &server.Options{
		Host:     o.Host,
		Port:     o.Port,
		HTTPHost: o.Host,
		HTTPPort: o.MonitorPort,
		NoLog:    true,
		NoSigs:   true,
	}
	if opts.Host == "" {
		opts.Host, opts.HTTPHost = "127.0.0.1", "127.0.0.1"
	}
	if opts.Port == 0 {
		opts.Port = server.DEFAULT_PORT
	}
	// nats-server reports a port in use only through its log, which is off,
	// so find out first.
	if err := errors.Join(checkPortFree(opts.Host, opts.Port), checkPortFree(opts.HTTPHost, opts.HTTPPort)); err != nil {
		return nil, err
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("configuring the embedded NATS server: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(serverStartTimeout) {
		ns.Shutdown()
		return nil, fmt.Errorf("the embedded NATS server did not accept connections within %s", serverStartTimeout)
	}
	return ns, nil
}

func checkPortFree(host string, port int) error {
	if port <= 0 {
		return nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("cannot start a NATS server: %w", err)
	}
	return ln.Close()
}

// ConnectOrStart connects as o says. When o names no server and nothing
// listens at fallback (a nats:// URL such as DefaultURL), it starts an
// embedded server on fallback's host and port, logs so, and connects to it;
// the caller shuts the server down after closing the connection. srv is nil
// when an existing server was used.
func ConnectOrStart(o ConnOptions, fallback string, logger *slog.Logger, extra ...nats.Option) (nc *nats.Conn, srv *server.Server, err error) {
	if o.URL != "" {
		nc, err = o.Connect(extra...)
		return nc, nil, err
	}
	o.URL = fallback
	nc, err = o.Connect(extra...)
	if !errors.Is(err, nats.ErrNoServers) {
		return nc, nil, err
	}
	so, err := serverOptionsFor(fallback)
	if err != nil {
		return nil, nil, err
	}
	if srv, err = StartServer(so); err != nil {
		return nil, nil, err
	}
	logger.Warn("no NATS server configured or running; started an embedded nats-server for development, "+
		"which stops with this process (set NATS_URL or --server to use another)", "url", srv.ClientURL())
	if nc, err = o.Connect(extra...); err != nil {
		srv.Shutdown()
		return nil, nil, err
	}
	return nc, srv, nil
}

// serverOptionsFor returns the options of a server listening where a
// nats://host:port URL points.
func serverOptionsFor(rawURL string) (ServerOptions, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "nats" || u.Hostname() == "" {
		return ServerOptions{}, fmt.Errorf("cannot start a NATS server at %q: need a nats://host:port URL", rawURL)
	}
	port := server.DEFAULT_PORT
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return ServerOptions{}, fmt.Errorf("cannot start a NATS server at %q: bad port", rawURL)
		}
	}
	return ServerOptions{Host: u.Hostname(), Port: port}, nil
}
