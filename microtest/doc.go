// Package microtest is to natsmux what net/http/httptest is to net/http: an
// in-process NATS server for tests, and helpers that wait for things instead
// of sleeping.
//
// # Overview
//
// NewServer starts a real nats-server (github.com/nats-io/nats-server/v2)
// inside the test process, on 127.0.0.1 with a random port, and shuts it
// down through t.Cleanup. Options add authentication or JetStream; servers
// have neither by default. Server.Connect returns a client closed by the
// test's cleanup. Nothing needs to be installed: `go test ./...` is enough.
// NewPKI and NewNKeyUser make throwaway certificates and nkeys, with their
// files, for WithTLS (TLS and mutual TLS) and WithNKeyUsers.
//
// NewCluster starts nodes joined by routes, which can be shut down and
// restarted; NewSupercluster joins clusters with gateways, and AddLeaf adds
// leaf nodes to one, the topology of a deployment across regions.
//
// Serve runs an app.Service, what a program's main hands to app.Main, until
// the test ends, and returns once its endpoints are live. Request and
// RequestMsg send a request and fail the test on transport errors;
// SettledStats waits until a service has counted its requests, and
// DiscoverSettledStats does the same over the wire, for all instances of a
// service.
//
// # Example
//
//	func TestEcho(t *testing.T) {
//		nc := microtest.NewServer(t).Connect(t)
//		microtest.Serve(t, nc, service())
//
//		reply := microtest.Request(t, nc, "demo.ECHO", []byte("Hello, world!"))
//		if string(reply.Data) != "Hello, world!" {
//			t.Fatalf("got %q", reply.Data)
//		}
//	}
package microtest
