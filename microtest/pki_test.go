package microtest_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/microtest"
)

// connInfo returns what srv knows of the connection named name, with its
// user and peer certificates.
func connInfo(t *testing.T, srv *microtest.Server, name string) *server.ConnInfo {
	t.Helper()
	connz, err := srv.Connz(&server.ConnzOptions{Username: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range connz.Conns {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("the server has no connection named %q", name)
	return nil
}

// refused fails the test unless connecting to url with opts fails with an
// error that contains one of want.
func refused(t *testing.T, url string, opts []nats.Option, want ...string) {
	t.Helper()
	nc, err := nats.Connect(url, append(opts, nats.NoReconnect())...)
	if err == nil {
		nc.Close()
		t.Fatal("connected without the right material")
	}
	t.Logf("refused: %v", err)
	if !slices.ContainsFunc(want, func(w string) bool { return strings.Contains(err.Error(), w) }) {
		t.Errorf("refused with %q, want one of %q", err, want)
	}
}

// The server rejects a client certificate during the handshake; with TLS
// 1.3 the client may have finished its side already and only see the
// connection close.
var clientCertRejected = []string{"tls: certificate required", "tls: unknown certificate authority", "tls: bad certificate",
	"connection closed by remote after TLS handshake"}

func TestWithTLS(t *testing.T) {
	pki, other := microtest.NewPKI(t), microtest.NewPKI(t)
	const unknownCA = "x509: certificate signed by unknown authority"
	tests := []struct {
		name          string
		verifyClients bool
		localhost     bool          // connect by name, not by address
		opts          []nats.Option // nil: Server.Connect with what the option implies
		refused       []string      // the error has one of these; empty: connects
	}{
		{name: "TLS with Server.Connect"},
		{name: "TLS with the CA file", opts: []nats.Option{nats.RootCAs(pki.CAFile)}},
		{name: "TLS to localhost", localhost: true, opts: []nats.Option{nats.RootCAs(pki.CAFile)}},
		{name: "TLS with the client config", opts: []nats.Option{nats.Secure(pki.ClientTLS(false))}},
		{name: "TLS without trusting the CA", opts: []nats.Option{nats.Name("plain")}, refused: []string{unknownCA}},
		{name: "TLS trusting another CA", opts: []nats.Option{nats.RootCAs(other.CAFile)}, refused: []string{unknownCA}},
		{name: "mutual TLS with Server.Connect", verifyClients: true},
		{name: "mutual TLS with the files", verifyClients: true,
			opts: []nats.Option{nats.RootCAs(pki.CAFile), nats.ClientCert(pki.CertFile, pki.KeyFile)}},
		{name: "mutual TLS with the client config", verifyClients: true, opts: []nats.Option{nats.Secure(pki.ClientTLS(true))}},
		{name: "mutual TLS without a client certificate", verifyClients: true,
			opts: []nats.Option{nats.Secure(pki.ClientTLS(false))}, refused: clientCertRejected},
		{name: "mutual TLS with another CA's client certificate", verifyClients: true,
			opts: []nats.Option{nats.RootCAs(pki.CAFile), nats.ClientCert(other.CertFile, other.KeyFile)}, refused: clientCertRejected},
	}
	servers := map[bool]*microtest.Server{
		false: microtest.NewServer(t, microtest.WithTLS(pki, false)),
		true:  microtest.NewServer(t, microtest.WithTLS(pki, true)),
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := servers[tt.verifyClients]
			url := srv.URL
			if tt.localhost {
				url = strings.Replace(url, "127.0.0.1", "localhost", 1)
			}
			if len(tt.refused) > 0 {
				refused(t, url, tt.opts, tt.refused...)
				return
			}
			var nc *nats.Conn
			if tt.opts == nil {
				nc = srv.Connect(t)
			} else {
				nc = microtest.Connect(t, url, append(tt.opts, nats.Name(t.Name()))...)
			}
			if state, err := nc.TLSConnectionState(); err != nil || !state.HandshakeComplete {
				t.Fatalf("not on TLS: %v", err)
			}
			certs := connInfo(t, srv, t.Name()).TLSPeerCerts
			if presented := len(certs) > 0; presented != tt.verifyClients || presented && certs[0].Subject != "CN=microtest client" {
				t.Errorf("client certificates seen by the server: %+v", certs)
			}
		})
	}
}

func TestNewPKIFiles(t *testing.T) {
	pki := microtest.NewPKI(t)
	tests := []struct {
		path, begins string
	}{
		{pki.CAFile, "-----BEGIN CERTIFICATE-----"},
		{pki.CertFile, "-----BEGIN CERTIFICATE-----"},
		{pki.KeyFile, "-----BEGIN PRIVATE KEY-----"},
	}
	for _, tt := range tests {
		content, err := os.ReadFile(tt.path)
		if err != nil || !strings.HasPrefix(string(content), tt.begins) {
			t.Errorf("%s: %v, want a file beginning with %s:\n%s", tt.path, err, tt.begins, content)
		}
	}
	if other := microtest.NewPKI(t); other.CAFile == pki.CAFile {
		t.Errorf("two PKIs share %s", pki.CAFile)
	}
}

func TestWithNKeyUsers(t *testing.T) {
	alice, bob, stranger := microtest.NewNKeyUser(t), microtest.NewNKeyUser(t), microtest.NewNKeyUser(t)
	seedOption := func(u microtest.NKeyUser) nats.Option {
		opt, err := nats.NkeyOptionFromSeed(u.SeedFile)
		if err != nil {
			t.Fatal(err)
		}
		return opt
	}
	srv := microtest.NewServer(t, microtest.WithNKeyUsers(alice, bob))
	const violation = "nats: Authorization Violation"
	tests := []struct {
		name    string
		opts    []nats.Option // nil: Server.Connect with what the option implies
		user    string        // the public key the server sees
		refused string
	}{
		{name: "Server.Connect", user: alice.PublicKey},
		{name: "the other user's option", opts: []nats.Option{bob.Option()}, user: bob.PublicKey},
		{name: "the other user's seed file", opts: []nats.Option{seedOption(bob)}, user: bob.PublicKey},
		{name: "an unknown user", opts: []nats.Option{stranger.Option()}, refused: violation},
		{name: "an unknown user's seed file", opts: []nats.Option{seedOption(stranger)}, refused: violation},
		{name: "no nkey", opts: []nats.Option{nats.Name("anonymous")}, refused: violation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.refused != "" {
				refused(t, srv.URL, tt.opts, tt.refused)
				return
			}
			if tt.opts == nil {
				srv.Connect(t)
			} else {
				microtest.Connect(t, srv.URL, append(tt.opts, nats.Name(t.Name()))...)
			}
			if got := connInfo(t, srv, t.Name()).AuthorizedUser; got != tt.user {
				t.Errorf("authenticated as %q, want %q", got, tt.user)
			}
		})
	}
}

func TestNewNKeyUser(t *testing.T) {
	u := microtest.NewNKeyUser(t)
	seed, err := os.ReadFile(u.SeedFile)
	if err != nil || string(seed) != u.Seed {
		t.Errorf("seed file %q (%v), want %q", seed, err, u.Seed)
	}
	if !strings.HasPrefix(u.PublicKey, "U") || !strings.HasPrefix(u.Seed, "SU") {
		t.Errorf("public key %q, seed %q: not a user nkey", u.PublicKey, u.Seed)
	}
	if other := microtest.NewNKeyUser(t); other.PublicKey == u.PublicKey || other.SeedFile == u.SeedFile {
		t.Errorf("two users share a key or file: %s, %s", u.SeedFile, other.SeedFile)
	}
}
