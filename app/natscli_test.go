package app_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/jsm.go/natscontext"

	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/microtest"
)

// natscliHome gives the test an empty natscli configuration directory, as
// natscli finds it through XDG_CONFIG_HOME, and no NATS_* variables.
func natscliHome(t *testing.T) string {
	t.Helper()
	clearConnEnv(t)
	t.Setenv("NATS_CONTEXT", "")
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	return filepath.Join(dir, "nats")
}

// saveContext saves a context the way `nats context save` does, with
// jsm.go's natscontext, the library natscli uses.
func saveContext(t *testing.T, name string, opts ...natscontext.Option) {
	t.Helper()
	c, err := natscontext.New(name, false, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Save(name); err != nil {
		t.Fatal(err)
	}
}

// TestLoadReadsNatscliContexts: Load fills what flags and variables left
// empty from the named or the selected natscli context, the same values
// natscli's own library reads from it.
func TestLoadReadsNatscliContexts(t *testing.T) {
	natscliHome(t)
	t.Setenv("SECRETS", "/run/secrets")
	saveContext(t, "dev", natscontext.WithServerURL("nats://dev:4222"), natscontext.WithUser("ann"),
		natscontext.WithPassword("dev-pass"), natscontext.WithCA("$SECRETS/ca.pem"), natscontext.WithInboxPrefix("_INBOX_ann"),
		natscontext.WithCertificate("file:///run/cert.pem"), natscontext.WithKey("/run/key.pem"))
	saveContext(t, "prod", natscontext.WithServerURL("tls://a:4222,tls://b:4222"), natscontext.WithCreds("$SECRETS/prod.creds"),
		natscontext.WithDescription("production"), natscontext.WithJSDomain("hub"))
	saveContext(t, "tok", natscontext.WithToken("t0ken"), natscontext.WithNKey("/run/user.nk"))
	if err := natscontext.SelectContext("dev"); err != nil {
		t.Fatal(err)
	}

	dev := app.ConnOptions{URL: "nats://dev:4222", User: "ann", Password: "dev-pass", TLSCA: "/run/secrets/ca.pem",
		InboxPrefix: "_INBOX_ann", TLSCert: "/run/cert.pem", TLSKey: "/run/key.pem", Context: "dev"}
	prod := app.ConnOptions{URL: "tls://a:4222,tls://b:4222", Creds: "/run/secrets/prod.creds", Context: "prod"}
	tests := []struct {
		name  string
		given app.ConnOptions // as the flags set them
		env   map[string]string
		want  app.ConnOptions
	}{
		{"the selected context", app.ConnOptions{}, nil, dev},
		{"NATS_CONTEXT", app.ConnOptions{}, map[string]string{"NATS_CONTEXT": "prod"}, prod},
		{"--context wins over NATS_CONTEXT", app.ConnOptions{Context: "prod"}, map[string]string{"NATS_CONTEXT": "dev"}, prod},
		{"a flag wins over the context", app.ConnOptions{URL: "nats://flag:1", TLSCA: "flag-ca.pem"}, nil,
			app.ConnOptions{URL: "nats://flag:1", User: "ann", Password: "dev-pass", TLSCA: "flag-ca.pem",
				InboxPrefix: "_INBOX_ann", TLSCert: "/run/cert.pem", TLSKey: "/run/key.pem", Context: "dev"}},
		{"a variable wins over the context", app.ConnOptions{}, map[string]string{"NATS_URL": "nats://env:1"},
			app.ConnOptions{URL: "nats://env:1", User: "ann", Password: "dev-pass", TLSCA: "/run/secrets/ca.pem",
				InboxPrefix: "_INBOX_ann", TLSCert: "/run/cert.pem", TLSKey: "/run/key.pem", Context: "dev"}},
		{"authentication comes from one place", app.ConnOptions{Token: "flag-token"}, map[string]string{"NATS_CONTEXT": "prod"},
			app.ConnOptions{URL: "tls://a:4222,tls://b:4222", Token: "flag-token", Context: "prod"}},
		{"token and nkey (and the URL natscli saves by default)", app.ConnOptions{Context: "tok"}, nil, app.ConnOptions{URL: app.DefaultURL, Token: "t0ken", NKey: "/run/user.nk", Context: "tok"}},
		{"the client certificate comes as a pair", app.ConnOptions{TLSCert: "mine.pem"}, nil,
			app.ConnOptions{URL: "nats://dev:4222", User: "ann", Password: "dev-pass", TLSCA: "/run/secrets/ca.pem",
				InboxPrefix: "_INBOX_ann", TLSCert: "mine.pem", Context: "dev"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			got := tt.given
			if err := got.Load(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}

	// natscli's library reads the same from each context.
	for name, want := range map[string]app.ConnOptions{"dev": dev, "prod": prod} {
		c, err := natscontext.New(name, true)
		if err != nil {
			t.Fatal(err)
		}
		theirs := app.ConnOptions{URL: c.ServerURL(), User: c.User(), Password: c.Password(), Token: c.Token(), Creds: c.Creds(),
			NKey: c.NKey(), TLSCert: c.Certificate(), TLSKey: c.Key(), TLSCA: c.CA(), InboxPrefix: c.InboxPrefix(), Context: name}
		theirs.TLSCert = strings.TrimPrefix(theirs.TLSCert, "file://") // natscli strips it when it connects
		if diff := cmp.Diff(theirs, want); diff != "" {
			t.Errorf("context %s: natscontext (-) and Load (+) differ:\n%s", name, diff)
		}
	}
}

func TestLoadWithoutContexts(t *testing.T) {
	natscliHome(t)
	t.Setenv("NATS_URL", "nats://env:1")
	var o app.ConnOptions
	if err := o.Load(); err != nil {
		t.Fatal(err)
	}
	if o != (app.ConnOptions{URL: "nats://env:1"}) {
		t.Errorf("options %+v", o)
	}
}

func TestLoadContextErrors(t *testing.T) {
	dir := natscliHome(t)
	saveContext(t, "jwt", natscontext.WithUserJWT("eyJ..."), natscontext.WithUserSeed("SUA..."))
	saveContext(t, "tlsfirst", natscontext.WithTLSHandshakeFirst())
	saveContext(t, "vault", natscontext.WithPassword("op://vault/nats/password"), natscontext.WithUser("ann"))
	saveContext(t, "opcreds", natscontext.WithCreds("op://vault/nats/creds"))
	if err := os.WriteFile(filepath.Join(dir, "context", "broken.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, context, selected, want string
	}{
		{"unknown", "nope", "", `natscli context "nope": not found (no ` + filepath.Join(dir, "context", "nope.json")},
		{"selected but missing", "", "gone", `natscli context "gone": not found`},
		{"path in the name", "../../etc/passwd", "", `natscli context "../../etc/passwd": invalid name`},
		{"not JSON", "broken", "", `natscli context "broken": ` + filepath.Join(dir, "context", "broken.json") + ": unexpected end of JSON input"},
		{"user JWT", "jwt", "", `natscli context "jwt": sets user_jwt, which natsmux does not support`},
		{"TLS first", "tlsfirst", "", "sets tls_first, which natsmux does not support"},
		{"secret behind a scheme", "vault", "", "password uses op://, which natsmux does not resolve"},
		{"file behind a scheme", "opcreds", "", "creds uses op:, which natsmux does not resolve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(dir, "context.txt"), []byte(tt.selected), 0o600); err != nil {
				t.Fatal(err)
			}
			o := app.ConnOptions{Context: tt.context}
			err := o.Load()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load: %v, want %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "op://vault") {
				t.Errorf("the error quotes the secret's reference: %v", err)
			}
		})
	}
}

// TestMainConnectsWithANatscliContext: a service's main connects with the
// server and credentials of the context that --context names.
func TestMainConnectsWithANatscliContext(t *testing.T) {
	natscliHome(t)
	srv := microtest.NewServer(t, microtest.WithUserPassword("ann", "s3cret"))
	saveContext(t, "local", natscontext.WithServerURL(srv.URL), natscontext.WithUser("ann"), natscontext.WithPassword("s3cret"))
	r := runMain(t, app.New(discard), srv, true, "--context", "local")
	if r.code != 0 {
		t.Errorf("exit code %d; stderr:\n%s", r.code, &r.stderr)
	}
}
