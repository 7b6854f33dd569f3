package app_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/spf13/pflag"

	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/internal/testutil"
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
	want := []string{"connection-name", "context", "creds", "inbox-prefix", "nkey", "password", "server", "tlsca", "tlscert", "tlskey", "token", "user"}
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
	file, missing := filepath.Join(dir, "exists"), filepath.Join(dir, "missing")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		o    app.ConnOptions
		want string
	}{
		{"password without user", app.ConnOptions{Password: "p"}, "a password needs a user"},
		{"two methods", app.ConnOptions{User: "u", Token: "t"}, "choose one way to authenticate, not --user and --token"},
		{"three methods", app.ConnOptions{Token: "t", Creds: file, NKey: microtest.NewNKeyUser(t).SeedFile}, "not --token and --creds and --nkey"},
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
	user, pki := microtest.NewNKeyUser(t), microtest.NewPKI(t)

	tests := []struct {
		name        string
		server      microtest.Option
		good, wrong app.ConnOptions
	}{
		{"user and password", microtest.WithUserPassword("alice", "s3cret"),
			app.ConnOptions{User: "alice", Password: "s3cret"}, app.ConnOptions{User: "alice", Password: "nope"}},
		{"token", microtest.WithToken("t0ken"), app.ConnOptions{Token: "t0ken"}, app.ConnOptions{Token: "nope"}},
		{"nkey", microtest.WithNKeyUsers(user), app.ConnOptions{NKey: user.SeedFile}, app.ConnOptions{}},
		{"mutual TLS", microtest.WithTLS(pki, true),
			app.ConnOptions{TLSCert: pki.CertFile, TLSKey: pki.KeyFile, TLSCA: pki.CAFile}, app.ConnOptions{TLSCA: pki.CAFile}},
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

// TestConnectNeverPrintsThePassword: whatever the URL list holds, a
// connection error names the servers without their passwords or tokens,
// also when a URL does not parse and nats.go would quote it.
func TestConnectNeverPrintsThePassword(t *testing.T) {
	down := "127.0.0.1:" + strconv.Itoa(testutil.FreePort(t))
	tests := []struct {
		name, urls string
		shown      string // what the error shows of the URLs
	}{
		{"valid", "nats://bob:hunter2-secret@" + down, "nats://bob:xxxxx@" + down},
		{"list", "nats://bob:hunter2-secret@" + down + ", nats://" + down, "nats://bob:xxxxx@" + down + ",nats://" + down},
		{"token", "nats://hunter2-secret@" + down, "nats://xxxxx@" + down},
		{"slash", "nats://bob:hunter2/secret@" + down, "nats://bob:xxxxx@" + down},
		{"hash", "nats://bob:hunter2#secret@" + down, "nats://bob:xxxxx@" + down},
		{"bad escape", "nats://bob:hunter2%zzsecret@" + down, "nats://bob:xxxxx@" + down},
		{"at sign", "nats://bob:hunter2@secret@" + down, "nats://bob:xxxxx@" + down},
		{"no scheme", "bob:hunter2/secret@" + down, "bob:xxxxx@" + down},
		{"bad entry in a list", "nats://" + down + ",nats://bob:hunter2%zzsecret@" + down, "URL 2 of nats://" + down + ",nats://bob:xxxxx@" + down},
		{"bad port", "nats://bob:hunter2-secret@127.0.0.1:port", "nats://bob:xxxxx@127.0.0.1:port"},
		{"control character", "nats://bob:hunter2\x01secret@" + down, "nats://bob:xxxxx@" + down},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := app.ConnOptions{URL: tt.urls}.Connect(nats.Timeout(microtest.DefaultTimeout))
			if err == nil {
				t.Fatal("connected")
			}
			for _, secret := range []string{"hunter2", "secret"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error shows the secret: %v", err)
				}
			}
			if !strings.Contains(err.Error(), tt.shown) {
				t.Errorf("error %q does not show %q", err, tt.shown)
			}
		})
	}
}

func TestRedactURLs(t *testing.T) {
	tests := map[string]string{
		"":                            "",
		"nats://127.0.0.1:4222":       "nats://127.0.0.1:4222",
		"nats://u:p@h:1":              "nats://u:xxxxx@h:1",
		"tls://t@h:1, ws://u:@h:2":    "tls://xxxxx@h:1,ws://u:xxxxx@h:2",
		"u:p:q@h":                     "u:xxxxx@h",
		"nats://u:p@a@b@h:1/x":        "nats://u:xxxxx@h:1/x",
		"nats://h:1,,nats://u:p@h:2 ": "nats://h:1,,nats://u:xxxxx@h:2",
	}
	for in, want := range tests {
		if got := app.RedactURLs(in); got != want {
			t.Errorf("RedactURLs(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConnectUsesTheInboxPrefix(t *testing.T) {
	srv := microtest.NewServer(t)
	nc, err := app.ConnOptions{URL: srv.URL, InboxPrefix: "_INBOX_ann"}.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if inbox := nc.NewRespInbox(); !strings.HasPrefix(inbox, "_INBOX_ann.") {
		t.Errorf("reply subject %q", inbox)
	}
}
