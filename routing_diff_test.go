package natsmux_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// spec is one random registration: an endpoint in a group of the tree.
type spec struct {
	group    string // "" for the root
	name     string
	template string
}

// randomTree returns registrations that overlap often enough for the router
// to refuse some: few tokens, parameters, '*' and '>'.
func randomTree(rng *rand.Rand) []spec {
	tok := func(param int) string {
		switch n := rng.IntN(8); {
		case n < 4:
			return []string{"a", "b", "c"}[n%3]
		case n < 6:
			return fmt.Sprintf("{p%d}", param)
		default:
			return "*"
		}
	}
	template := func(maxTokens int) string {
		n := 1 + rng.IntN(maxTokens)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = tok(i)
		}
		if rng.IntN(6) == 0 {
			parts[n-1] = ">"
		}
		return strings.Join(parts, ".")
	}
	specs := make([]spec, 2+rng.IntN(6))
	for i := range specs {
		group := ""
		if rng.IntN(2) == 0 {
			group = []string{"g", "h.{gp}"}[rng.IntN(2)]
		}
		specs[i] = spec{group: group, name: fmt.Sprintf("e%d", i), template: template(3)}
	}
	return specs
}

// register adds specs to r, each endpoint answering with its name, and
// returns what each Handle did: "" or its panic.
func register(r *natsmux.Router, specs []spec) []string {
	groups := map[string]*natsmux.Router{"": r}
	outcome := make([]string, len(specs))
	for i, s := range specs {
		g, ok := groups[s.group]
		if !ok {
			g = r.Group(s.group)
			groups[s.group] = g
		}
		name := []byte(s.name)
		outcome[i] = panicMessage(func() {
			g.HandleFunc(s.name, func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
				return natsmux.Reply(name), nil
			}, natsmux.WithSubject(s.template))
		})
	}
	return outcome
}

// TestRoutingWireMatchesMemory builds random router trees and checks, for
// random subjects, that a router serving in memory and the same router
// mounted on a service over a real server choose the same endpoint (or
// none), and that registration refuses the same endpoints either way.
func TestRoutingWireMatchesMemory(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	const seed = 1 // deterministic; change it to explore other trees
	rng := rand.New(rand.NewPCG(seed, 0))
	subjects := func() []string {
		var out []string
		for range 20 {
			n := 1 + rng.IntN(5)
			parts := make([]string, n)
			for i := range parts {
				parts[i] = []string{"a", "b", "c", "g", "h", "x"}[rng.IntN(6)]
			}
			out = append(out, strings.Join(parts, "."))
		}
		return out
	}
	served, refused := 0, 0
	for tree := range 60 {
		specs := randomTree(rng)
		memory := natsmux.NewRouter()
		memOutcome := register(memory, specs)

		wire := natsmux.NewRouter()
		svc := microtest.AddService(t, nc, micro.Config{Name: fmt.Sprintf("diff%d", tree), Version: "1.0.0"})
		if err := natsmux.Mount(svc, wire); err != nil {
			t.Fatal(err)
		}
		wireOutcome := register(wire, specs) // registered while mounted: each goes live at once
		for i := range specs {
			if memOutcome[i] != "" {
				refused++
			}
			if memOutcome[i] != wireOutcome[i] {
				t.Fatalf("seed %d tree %d: %+v registered %q in memory, %q mounted", seed, tree, specs[i], memOutcome[i], wireOutcome[i])
			}
		}
		for _, subject := range subjects() {
			got := viaWire(t, nc, subject)
			want := viaMemory(t, memory, subject)
			if got != want {
				t.Errorf("seed %d tree %d %v: %q is served by %s over NATS, %s in memory", seed, tree, specs, subject, got, want)
			}
			if want != "none" {
				served++
			}
		}
		if err := svc.Stop(); err != nil {
			t.Fatal(err)
		}
	}
	if served == 0 || refused == 0 {
		t.Fatalf("%d subjects served, %d registrations refused: the trees are too tame to test anything", served, refused)
	}
	t.Logf("%d subjects served, %d registrations refused", served, refused)
}

func viaMemory(t *testing.T, r *natsmux.Router, subject string) string {
	t.Helper()
	resp, err := r.ServeNATS(context.Background(), natsmux.NewRequest(subject, nil))
	switch {
	case natsmux.CodeOf(err) == 404 && strings.Contains(err.Error(), "no endpoint"):
		return "none"
	case err != nil:
		return "error " + err.Error()
	}
	return string(resp.Data)
}

func viaWire(t *testing.T, nc *nats.Conn, subject string) string {
	t.Helper()
	reply, err := nc.Request(subject, nil, microtest.DefaultTimeout)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return "none"
	case err != nil:
		t.Fatalf("request to %q: %v", subject, err)
	}
	if e := micro.ResponseError(reply); e != nil {
		return "error " + e.Error()
	}
	return string(reply.Data)
}
