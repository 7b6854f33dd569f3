package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// setting is one connection setting, given to the command either as its
// flag or as its environment variable.
type setting struct{ flag, value string }

// envOf names the environment variable of each connection flag, as the
// help and docs/cli.md document them.
var envOf = map[string]string{
	"--user":     "NATS_USER",
	"--password": "NATS_PASSWORD",
	"--token":    "NATS_TOKEN",
	"--nkey":     "NATS_NKEY",
	"--tlsca":    "NATS_CA",
	"--tlscert":  "NATS_CERT",
	"--tlskey":   "NATS_KEY",
}

// apply gives settings to the command: as flags, returned to go before the
// command's arguments, or as environment variables set for the test.
func apply(t *testing.T, asFlags bool, settings []setting) []string {
	t.Helper()
	var args []string
	for _, s := range settings {
		if asFlags {
			args = append(args, s.flag, s.value)
			continue
		}
		env, ok := envOf[s.flag]
		if !ok {
			t.Fatalf("no environment variable for %s", s.flag)
		}
		t.Setenv(env, s.value)
	}
	return args
}

// failure is connection material that must not get through, and what the
// command says about it: the server's reason for refusing (refused), or a
// mistake in the settings found before connecting.
type failure struct {
	name     string
	settings []setting
	refused  bool
	reasons  []string // stderr has one of these
}

// TestAuth runs `micro request` with each way to authenticate, as flags and
// as environment variables, against a server that requires it and serves
// the demo service. The right material gets the reply; wrong or missing
// material exits 1 with the reason on stderr.
func TestAuth(t *testing.T) {
	pki, otherPKI := microtest.NewPKI(t), microtest.NewPKI(t)
	user, stranger := microtest.NewNKeyUser(t), microtest.NewNKeyUser(t)
	const (
		violation = "nats: Authorization Violation"
		unknownCA = "x509: certificate signed by unknown authority"
	)
	// The server rejects the client's certificate in the handshake; with
	// TLS 1.3 the client may only see the connection close.
	certRejected := []string{"tls: certificate required", "tls: unknown certificate authority", "tls: bad certificate",
		"connection closed by remote after TLS handshake"}
	caFile, certFile, keyFile := setting{"--tlsca", pki.CAFile}, setting{"--tlscert", pki.CertFile}, setting{"--tlskey", pki.KeyFile}

	methods := []struct {
		name      string
		server    microtest.Option
		right     []setting
		anonymous string // why a client without settings is refused
		wrong     []failure
	}{
		{
			name:      "user and password",
			server:    microtest.WithUserPassword("alice", "s3cret"),
			right:     []setting{{"--user", "alice"}, {"--password", "s3cret"}},
			anonymous: violation,
			wrong: []failure{
				{"wrong password", []setting{{"--user", "alice"}, {"--password", "guess"}}, true, []string{violation}},
				{"unknown user", []setting{{"--user", "mallory"}, {"--password", "s3cret"}}, true, []string{violation}},
				{"password without user", []setting{{"--password", "s3cret"}}, false, []string{"a password needs a user (--user, NATS_USER)"}},
			},
		},
		{
			name:      "token",
			server:    microtest.WithToken("t0ken"),
			right:     []setting{{"--token", "t0ken"}},
			anonymous: violation,
			wrong: []failure{
				{"wrong token", []setting{{"--token", "guess"}}, true, []string{violation}},
				{"token and user", []setting{{"--token", "t0ken"}, {"--user", "alice"}}, false,
					[]string{"choose one way to authenticate, not --user and --token"}},
			},
		},
		{
			name:      "nkey seed file",
			server:    microtest.WithNKeyUsers(user),
			right:     []setting{{"--nkey", user.SeedFile}},
			anonymous: violation,
			wrong: []failure{
				{"unknown user", []setting{{"--nkey", stranger.SeedFile}}, true, []string{violation}},
				{"not a seed", []setting{{"--nkey", pki.CAFile}}, false, []string{"nkey seed file: "}},
				{"missing file", []setting{{"--nkey", filepath.Join(t.TempDir(), "missing.nk")}}, false,
					[]string{"nkey seed file: ", "no such file or directory"}},
			},
		},
		{
			name:      "TLS with a CA",
			server:    microtest.WithTLS(pki, false),
			right:     []setting{caFile},
			anonymous: unknownCA,
			wrong: []failure{
				{"another CA", []setting{{"--tlsca", otherPKI.CAFile}}, true, []string{unknownCA}},
				{"missing CA file", []setting{{"--tlsca", filepath.Join(t.TempDir(), "missing.pem")}}, false,
					[]string{"TLS certificate authority file: stat "}},
			},
		},
		{
			name:      "mutual TLS",
			server:    microtest.WithTLS(pki, true),
			right:     []setting{caFile, certFile, keyFile},
			anonymous: unknownCA,
			wrong: []failure{
				{"no client certificate", []setting{caFile}, true, certRejected},
				{"another CA's client certificate", []setting{caFile, {"--tlscert", otherPKI.CertFile}, {"--tlskey", otherPKI.KeyFile}},
					true, certRejected},
				{"certificate without key", []setting{caFile, certFile}, false,
					[]string{"a TLS client certificate needs both --tlscert and --tlskey (NATS_CERT, NATS_KEY)"}},
			},
		},
	}
	for _, m := range methods {
		t.Run(m.name, func(t *testing.T) {
			srv := microtest.NewServer(t, m.server)
			demo := natsmux.NewRouter()
			demo.HandleFunc("echo", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
				return natsmux.Reply(req.Data), nil
			}, natsmux.WithSubject("demo.ECHO"))
			addService(t, srv.Connect(t), micro.Config{Name: "demo-service", Version: "1.0.0"}, demo)

			request := func(t *testing.T, settings []string) result {
				t.Helper()
				return invocation{}.run(t, slices.Concat([]string{"request", "-s", srv.URL}, settings, []string{"demo.ECHO", "hi"})...)
			}
			failed := func(t *testing.T, r result, f failure) {
				t.Helper()
				prefix := "micro: "
				if f.refused {
					prefix += "connecting to NATS at " + srv.URL + ": "
				}
				if r.code != exitError || !strings.HasPrefix(r.stderr, prefix) || r.stdout != "" ||
					!slices.ContainsFunc(f.reasons, func(reason string) bool { return strings.Contains(r.stderr, reason) }) {
					t.Errorf("exit code %d, stdout %q, stderr %q; want %d and %q with one of %q",
						r.code, r.stdout, r.stderr, exitError, prefix, f.reasons)
				}
			}

			t.Run("no settings", func(t *testing.T) {
				failed(t, request(t, nil), failure{refused: true, reasons: []string{m.anonymous}})
			})
			for _, via := range []struct {
				name    string
				asFlags bool
			}{{"flags", true}, {"environment", false}} {
				t.Run(via.name, func(t *testing.T) {
					t.Run("right", func(t *testing.T) {
						request(t, apply(t, via.asFlags, m.right)).check(t, exitOK, "hi", "")
					})
					for _, f := range m.wrong {
						t.Run(f.name, func(t *testing.T) {
							failed(t, request(t, apply(t, via.asFlags, f.settings)), f)
						})
					}
				})
			}
		})
	}
}
