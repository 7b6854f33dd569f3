package main

import (
	"context"
	"testing"

	"github.com/nats-io/jsm.go/natscontext"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// TestNatscliContexts: the commands connect with the natscli context that
// --context or NATS_CONTEXT names, or the selected one; flags and
// variables win over it.
func TestNatscliContexts(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	srv := microtest.NewServer(t, microtest.WithUserPassword("ann", "s3cret"))
	demo := natsmux.NewRouter()
	demo.HandleFunc("echo", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		return natsmux.Reply(req.Data), nil
	})
	addService(t, srv.Connect(t), micro.Config{Name: "demo", Version: "1.0.0"}, demo)
	save := func(name string, opts ...natscontext.Option) {
		c, err := natscontext.New(name, false, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Save(name); err != nil {
			t.Fatal(err)
		}
	}
	save("local", natscontext.WithServerURL(srv.URL), natscontext.WithUser("ann"), natscontext.WithPassword("s3cret"))
	save("wrong", natscontext.WithServerURL(srv.URL), natscontext.WithUser("ann"), natscontext.WithPassword("nope"))
	if err := natscontext.SelectContext("wrong"); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		env    string // NATS_CONTEXT
		args   []string
		code   int
		stderr string
	}{
		{"--context", "", []string{"--context", "local"}, 0, ""},
		{"NATS_CONTEXT", "local", nil, 0, ""},
		{"--context wins over NATS_CONTEXT", "wrong", []string{"--context", "local"}, 0, ""},
		{"the selected context", "", nil, 1, "nats: Authorization Violation"},
		{"flags win over the context", "", []string{"--context", "local", "--user", "ann", "--password", "nope"}, 1, "nats: Authorization Violation"},
		{"an unknown context", "", []string{"--context", "nope"}, 1, `micro: natscli context "nope": not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NATS_CONTEXT", tt.env)
			r := invocation{}.run(t, append(append([]string{"request"}, tt.args...), "echo", "hi")...)
			want := ""
			if tt.code == 0 {
				want = "hi"
			}
			r.check(t, tt.code, want, tt.stderr)
		})
	}

	t.Run("micro run", func(t *testing.T) {
		skipInShortMode(t)
		t.Setenv("NATS_CONTEXT", "local")
		r := invocation{timeout: buildTimeout}.run(t, "run", "./testdata/exitcode", "0")
		r.check(t, 0, "NATS_URL="+srv.URL+" ", "")
	})
}
