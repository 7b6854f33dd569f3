package microtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// PKI is a certificate authority made for one test: an ECDSA CA, a server
// certificate for 127.0.0.1 and localhost, and a client certificate, both
// signed by the CA. The CA certificate and the client's certificate and key
// are also PEM files, for code that takes file names (--tlsca, --tlscert,
// --tlskey, NATS_CA, NATS_CERT, NATS_KEY).
type PKI struct {
	CAFile   string // the CA certificate
	CertFile string // the client certificate
	KeyFile  string // the client's private key, PKCS #8

	roots          *x509.CertPool
	server, client tls.Certificate
}

// NewPKI makes a new CA and its server and client certificates, valid for a
// day, and writes the PEM files to tb.TempDir(). Nothing is checked in: every
// call makes new keys. It fails the test if a key or certificate cannot be
// made or written.
func NewPKI(tb testing.TB) *PKI {
	tb.Helper()
	ca := issue(tb, &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "microtest CA"},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}, nil)
	p := &PKI{
		roots: x509.NewCertPool(),
		server: issue(tb, &x509.Certificate{
			SerialNumber: big.NewInt(2),
			Subject:      pkix.Name{CommonName: "microtest server"},
			IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
			DNSNames:     []string{"localhost"},
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}, &ca),
		client: issue(tb, &x509.Certificate{
			SerialNumber: big.NewInt(3),
			Subject:      pkix.Name{CommonName: "microtest client"},
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}, &ca),
	}
	p.roots.AddCert(ca.Leaf)
	key, err := x509.MarshalPKCS8PrivateKey(p.client.PrivateKey)
	if err != nil {
		tb.Fatalf("microtest: encoding the client key: %v", err)
	}
	dir := tb.TempDir()
	p.CAFile = writePEM(tb, dir, "ca.pem", "CERTIFICATE", ca.Certificate[0])
	p.CertFile = writePEM(tb, dir, "client-cert.pem", "CERTIFICATE", p.client.Certificate[0])
	p.KeyFile = writePEM(tb, dir, "client-key.pem", "PRIVATE KEY", key)
	return p
}

// issue makes a P-256 key and a certificate from tmpl for it, signed by
// parent, or by itself when parent is nil.
func issue(tb testing.TB, tmpl *x509.Certificate, parent *tls.Certificate) tls.Certificate {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatalf("microtest: generating a key: %v", err)
	}
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	signer, signerKey := tmpl, any(key)
	if parent != nil {
		signer, signerKey = parent.Leaf, parent.PrivateKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		tb.Fatalf("microtest: creating the certificate of %q: %v", tmpl.Subject.CommonName, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatalf("microtest: parsing the certificate of %q: %v", tmpl.Subject.CommonName, err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

func writePEM(tb testing.TB, dir, name, blockType string, der []byte) string {
	tb.Helper()
	return writeFile(tb, dir, name, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}))
}

func writeFile(tb testing.TB, dir, name string, content []byte) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, content, 0o600); err != nil {
		tb.Fatalf("microtest: %v", err)
	}
	return path
}

// ClientTLS returns a client configuration that trusts the CA and, with
// withCert, presents the client certificate. Each call returns a new
// configuration, which the caller may change.
func (p *PKI) ClientTLS(withCert bool) *tls.Config {
	cfg := &tls.Config{RootCAs: p.roots, MinVersion: tls.VersionTLS12}
	if withCert {
		cfg.Certificates = []tls.Certificate{p.client}
	}
	return cfg
}

func (p *PKI) serverTLS(verifyClients bool) *tls.Config {
	cfg := &tls.Config{Certificates: []tls.Certificate{p.server}, MinVersion: tls.VersionTLS12}
	if verifyClients {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = p.roots
	}
	return cfg
}

// WithTLS requires TLS with pki's server certificate and, with
// verifyClients, a client certificate signed by pki's CA (mutual TLS).
// Connections made with Server.Connect trust the CA and present the client
// certificate when the server verifies clients.
func WithTLS(pki *PKI, verifyClients bool) Option {
	return func(c *config) {
		c.opts.TLS = true
		c.opts.TLSVerify = verifyClients
		c.opts.TLSConfig = pki.serverTLS(verifyClients)
		// The default of 2s can pass before a handshake completes on a
		// loaded machine under -race; the bound only matters to broken tests.
		c.opts.TLSTimeout = startTimeout.Seconds()
		c.client = append(c.client, nats.Secure(pki.ClientTLS(verifyClients)))
	}
}

// NKeyUser is a user nkey made for one test: the public key that a server
// authorizes (WithNKeyUsers) and the seed, also written to a file for code
// that takes one (--nkey, NATS_NKEY).
type NKeyUser struct {
	PublicKey string // the user's public key, starting with "U"
	Seed      string // the private seed, starting with "SU"
	SeedFile  string // a file holding Seed

	keys nkeys.KeyPair
}

// NewNKeyUser makes a new user nkey and writes its seed to a file in
// tb.TempDir(). It fails the test if the key cannot be made or written.
func NewNKeyUser(tb testing.TB) NKeyUser {
	tb.Helper()
	keys, err := nkeys.CreateUser()
	if err != nil {
		tb.Fatalf("microtest: creating a user nkey: %v", err)
	}
	seed, err := keys.Seed()
	if err != nil {
		tb.Fatalf("microtest: user nkey seed: %v", err)
	}
	pub, err := keys.PublicKey()
	if err != nil {
		tb.Fatalf("microtest: user nkey public key: %v", err)
	}
	return NKeyUser{
		PublicKey: pub,
		Seed:      string(seed),
		SeedFile:  writeFile(tb, tb.TempDir(), "user.nk", seed),
		keys:      keys,
	}
}

// Option returns the client option that authenticates as u, signing the
// server's nonce with u's key.
func (u NKeyUser) Option() nats.Option {
	return nats.Nkey(u.PublicKey, u.keys.Sign)
}

// WithNKeyUsers requires nkey authentication and authorizes user and more.
// Connections made with Server.Connect authenticate as user.
func WithNKeyUsers(user NKeyUser, more ...NKeyUser) Option {
	return func(c *config) {
		for _, u := range append([]NKeyUser{user}, more...) {
			c.opts.Nkeys = append(c.opts.Nkeys, &server.NkeyUser{Nkey: u.PublicKey})
		}
		c.client = append(c.client, user.Option())
	}
}
