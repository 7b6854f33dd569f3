// Package app runs natsmux routers as services from a program's main
// function: it connects to NATS the way natscli does, serves until
// interrupted and shuts down gracefully.
//
// # Overview
//
// Main is all a service's main needs: it reads the connection flags and
// environment variables (the names natscli uses: --server/NATS_URL, --creds/
// NATS_CREDS, --nkey/NATS_NKEY, --user/NATS_USER, --password/NATS_PASSWORD,
// --token/NATS_TOKEN, --tlscert/NATS_CERT, --tlskey/NATS_KEY, --tlsca/
// NATS_CA, --context/NATS_CONTEXT) and natscli's selected context, runs the
// services until SIGINT or SIGTERM and exits with a code that says how it
// went. New(options).Main does the same with Run's options.
//
// Run does the same inside a context, for programs with flags of their own
// and for tests. Every service shares one connection, which reconnects
// forever and logs its disconnections and reconnections with log/slog. On
// shutdown each service drains its subscriptions and waits for in-flight
// requests (natsmux.Serve), then the connection closes.
//
// When no server is configured, Run connects to nats://127.0.0.1:4222. If
// nothing answers there, it fails, unless the program opted in to a
// development server: with devserver.Fallback() it starts an embedded
// nats-server on that address, says so in its log, and stops it on exit,
// so that a service runs on a fresh machine with nothing installed. The
// examples opt in; a service that does not neither links nats-server nor
// starts a private server in production. ConnectOrStart gives the same to
// other tools, such as the micro CLI.
//
// # Example
//
//	func main() {
//		r := natsmux.NewRouter()
//		r.Route("demo", func(r *natsmux.Router) {
//			r.HandleFunc("echo", func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
//				return natsmux.Reply(req.Data), nil
//			}, natsmux.WithSubject("ECHO"))
//		})
//		app.New(devserver.Fallback()).Main(app.Service{
//			Config: micro.Config{Name: "demo-service", Version: "1.0.0", Description: "Demo service"},
//			Router: r,
//		})
//	}
package app
