// Package devserver embeds a nats-server in a program for development, so
// that a service runs on a machine with nothing installed. It is a package
// of its own so that only the programs that import it link nats-server:
// a service built on app.Main alone neither carries a server nor starts one.
//
// # Overview
//
// Fallback is the option that lets app.Run and app.Main start an embedded
// server when no server is configured (no --server, NATS_URL or natscli
// context) and none answers at the default URL, nats://127.0.0.1:4222. The
// examples and `micro run` use it; a production service should not, so that
// a missing NATS_URL is an error instead of a private server nobody reaches.
//
// Start runs a server with Options, as `micro server` does; StartAt runs
// one where a nats://host:port URL points.
//
// # Example
//
//	func main() {
//		app.New(devserver.Fallback()).Main(service())
//	}
package devserver

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/natsmux/natsmux/app"
)

// startTimeout bounds the wait for an embedded server to accept
// connections once its ports are known to be free.
const startTimeout = 10 * time.Second

// Options configures a development server. Ports follow nats-server's
// conventions: 0 is the default (4222 for clients, no monitoring), -1 a
// random free port.
type Options struct {
	Host        string // listen address; "" means 127.0.0.1, loopback only
	Port        int    // client port
	MonitorPort int    // HTTP monitoring port (/varz, /connz, ...)
}

// Start starts an in-process nats-server for development: no
// authentication, no JetStream, no clustering, its own logging off. It
// returns once the server accepts connections; Shutdown stops it.
func Start(o Options) (*server.Server, error) {
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
	if !ns.ReadyForConnections(startTimeout) {
		ns.Shutdown()
		return nil, fmt.Errorf("the embedded NATS server did not accept connections within %s", startTimeout)
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

// StartAt starts a development server listening where rawURL, a
// nats://host:port URL, points, and returns a function that shuts it down
// and waits until it has stopped. It is an app.DevServer.
func StartAt(rawURL string) (stop func(), err error) {
	o, err := optionsFor(rawURL)
	if err != nil {
		return nil, err
	}
	srv, err := Start(o)
	if err != nil {
		return nil, err
	}
	return func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	}, nil
}

// Fallback is the option for app.New and app.Run that starts an embedded
// server with StartAt when no server is configured and none answers at the
// default URL (see app.WithDevServer).
func Fallback() app.Option {
	return app.WithDevServer(StartAt)
}

// optionsFor returns the options of a server listening where a
// nats://host:port URL points.
func optionsFor(rawURL string) (Options, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "nats" || u.Hostname() == "" || u.User != nil {
		return Options{}, fmt.Errorf("cannot start a NATS server at %s: need a nats://host:port URL", app.RedactURLs(rawURL))
	}
	port := server.DEFAULT_PORT
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return Options{}, fmt.Errorf("cannot start a NATS server at %s: bad port", app.RedactURLs(rawURL))
		}
	}
	return Options{Host: u.Hostname(), Port: port}, nil
}
