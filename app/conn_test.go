package app_test

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
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
	"github.com/spf13/pflag"

	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/microtest"
)

var connEnv = []string{"NATS_URL", "NATS_CREDS", "NATS_NKEY", "NATS_USER", "NATS_PASSWORD", "NATS_TOKEN", "NATS_CERT", "NATS_KEY", "NATS_CA"}

// clearConnEnv empties the connection variables for the test, so that the
// machine's own settings cannot leak in.
func clearConnEnv(t *testing.T) {
	for _, name := range connEnv {
		t.Setenv(name, "")
	}
}

func TestConnOptionsFlagsWinOverEnvironment(t *testing.T) {
	clearConnEnv(t)
	t.Setenv("NATS_URL", "nats://env:4222")
	t.Setenv("NATS_USER", "env-user")
	t.Setenv("NATS_CA", "/env/ca.pem")

	var o app.ConnOptions
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse([]string{"-s", "nats://flag:4222", "--user", "flag-user", "--tlscert", "c.pem", "--connection-name", "n"}); err != nil {
		t.Fatal(err)
	}
	o.LoadEnv()
	want := app.ConnOptions{URL: "nats://flag:4222", User: "flag-user", TLSCert: "c.pem", TLSCA: "/env/ca.pem", Name: "n"}
	if diff := cmp.Diff(want, o); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
	wantEnv := []string{"NATS_URL=nats://flag:4222", "NATS_USER=flag-user", "NATS_CERT=c.pem", "NATS_CA=/env/ca.pem"}
	if diff := cmp.Diff(wantEnv, o.Environ()); diff != "" {
		t.Errorf("Environ (-want +got):\n%s", diff)
	}
}

func TestConnOptionsFlagNames(t *testing.T) {
	var o app.ConnOptions
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	o.AddFlags(fs)
	var names []string
	fs.VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	want := []string{"connection-name", "creds", "nkey", "password", "server", "tlsca", "tlscert", "tlskey", "token", "user"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("flags (-want +got):\n%s", diff)
	}
	if fs.ShorthandLookup("s").Name != "server" {
		t.Error("-s is not --server")
	}
	if usage := fs.FlagUsages(); !strings.Contains(usage, "[$NATS_PASSWORD]") || strings.Contains(usage, "default \"") {
		t.Errorf("usage should name variables and show no defaults:\n%s", usage)
	}
}

func TestConnOptionsErrors(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "exists", "x")
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		name string
		o    app.ConnOptions
		want string
	}{
		{"password without user", app.ConnOptions{Password: "p"}, "a password needs a user"},
		{"two methods", app.ConnOptions{User: "u", Token: "t"}, "choose one way to authenticate, not --user and --token"},
		{"three methods", app.ConnOptions{Token: "t", Creds: file, NKey: writeSeed(t, dir)}, "not --token and --creds and --nkey"},
		{"missing creds", app.ConnOptions{Creds: missing}, "credentials file: stat " + missing},
		{"missing nkey", app.ConnOptions{NKey: missing}, "nkey seed file:"},
		{"bad nkey", app.ConnOptions{NKey: file}, "nkey seed file:"},
		{"cert without key", app.ConnOptions{TLSCert: file}, "needs both --tlscert and --tlskey"},
		{"key without cert", app.ConnOptions{TLSKey: file}, "needs both --tlscert and --tlskey"},
		{"missing cert", app.ConnOptions{TLSCert: missing, TLSKey: file}, "TLS certificate file: stat"},
		{"missing CA", app.ConnOptions{TLSCA: missing}, "TLS certificate authority file: stat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.o.NATSOptions()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if _, err := tt.o.Connect(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Connect error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestConnectAuthenticates connects to servers that require each kind of
// authentication, with the right and a wrong secret.
func TestConnectAuthenticates(t *testing.T) {
	dir := t.TempDir()
	seedFile, pub := writeSeed(t, dir), ""
	if kp, err := nkeys.FromSeed(mustRead(t, seedFile)); err != nil {
		t.Fatal(err)
	} else if pub, err = kp.PublicKey(); err != nil {
		t.Fatal(err)
	}
	pki := newPKI(t, dir)

	tests := []struct {
		name        string
		server      microtest.Option
		good, wrong app.ConnOptions
	}{
		{"user and password", microtest.WithUserPassword("alice", "s3cret"),
			app.ConnOptions{User: "alice", Password: "s3cret"}, app.ConnOptions{User: "alice", Password: "nope"}},
		{"token", microtest.WithToken("t0ken"), app.ConnOptions{Token: "t0ken"}, app.ConnOptions{Token: "nope"}},
		{"nkey", microtest.WithOptions(func(o *server.Options) { o.Nkeys = []*server.NkeyUser{{Nkey: pub}} }),
			app.ConnOptions{NKey: seedFile}, app.ConnOptions{}},
		{"mutual TLS", microtest.WithOptions(pki.serverOptions),
			app.ConnOptions{TLSCert: pki.clientCert, TLSKey: pki.clientKey, TLSCA: pki.ca}, app.ConnOptions{TLSCA: pki.ca}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := microtest.NewServer(t, tt.server)
			tt.good.URL, tt.wrong.URL, tt.good.Name = srv.URL, srv.URL, "good"
			nc, err := tt.good.Connect()
			if err != nil {
				t.Fatalf("right credentials: %v", err)
			}
			defer nc.Close()
			if nc.Opts.Name != "good" {
				t.Errorf("connection name %q", nc.Opts.Name)
			}
			if bad, err := tt.wrong.Connect(); err == nil {
				bad.Close()
				t.Error("wrong credentials connected")
			} else if !strings.Contains(err.Error(), "connecting to NATS at "+srv.URL) {
				t.Errorf("error %q does not say where", err)
			}
		})
	}
}

func TestConnectErrorHidesPassword(t *testing.T) {
	o := app.ConnOptions{URL: "nats://bob:hunter2@127.0.0.1:1, nats://127.0.0.1:2"}
	_, err := o.Connect()
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "bob:xxxxx@127.0.0.1:1,nats://127.0.0.1:2") {
		t.Errorf("error %v", err)
	}
}

func TestServerURLDefault(t *testing.T) {
	if got := (app.ConnOptions{}).ServerURL(); got != "nats://127.0.0.1:4222" {
		t.Errorf("default %q", got)
	}
	if got := (app.ConnOptions{URL: "nats://x:1"}).ServerURL(); got != "nats://x:1" {
		t.Errorf("set %q", got)
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeSeed writes a new user nkey seed and returns its file.
func writeSeed(t *testing.T, dir string) string {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, "user-"+strings.ToLower(string(seed[len(seed)-6:]))+".nk", string(seed))
}

// pki is a throwaway certificate authority with a server certificate for
// 127.0.0.1 and a client certificate, as PEM files.
type pki struct {
	ca, clientCert, clientKey string
	serverTLS                 *tls.Config
}

func newPKI(t *testing.T, dir string) *pki {
	t.Helper()
	caKey, caCert, caDER := issue(t, nil, nil, &x509.Certificate{
		Subject: pkix.Name{CommonName: "test CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	})
	serverKey, _, serverDER := issue(t, caKey, caCert, &x509.Certificate{
		Subject: pkix.Name{CommonName: "server"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	clientKey, _, clientDER := issue(t, caKey, caCert, &x509.Certificate{
		Subject: pkix.Name{CommonName: "client"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &pki{
		ca:         writeFile(t, dir, "ca.pem", pemBlock("CERTIFICATE", caDER)),
		clientCert: writeFile(t, dir, "client.pem", pemBlock("CERTIFICATE", clientDER)),
		clientKey:  writeFile(t, dir, "client-key.pem", pemBlock("EC PRIVATE KEY", marshalKey(t, clientKey))),
		serverTLS: &tls.Config{
			Certificates: []tls.Certificate{{Certificate: [][]byte{serverDER}, PrivateKey: serverKey}},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    pool,
			MinVersion:   tls.VersionTLS12,
		},
	}
}

func (p *pki) serverOptions(o *server.Options) {
	o.TLSConfig = p.serverTLS
	o.TLSVerify = true
	o.TLSTimeout = 2
}

// issue creates a key and a certificate for tmpl, signed by parent (self-signed when nil).
func issue(t *testing.T, parentKey *ecdsa.PrivateKey, parent, tmpl *x509.Certificate) (*ecdsa.PrivateKey, *x509.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert, der
}

func marshalKey(t *testing.T, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func pemBlock(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}
