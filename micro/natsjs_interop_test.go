//go:build interop

package micro_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// natsjsScript asks every service for PING, INFO and STATS with the
// official JavaScript client's services client (nats.js), and prints what
// it parsed, as JSON.
const natsjsScript = `
const { connect } = require("nats");
(async () => {
  const nc = await connect({ servers: process.env.NATS_URL });
  const client = nc.services.client();
  const out = {};
  for (const verb of ["ping", "info", "stats"]) {
    out[verb] = [];
    for await (const r of await client[verb]()) out[verb].push(r);
  }
  console.log(JSON.stringify(out));
  await nc.close();
})().catch((e) => { console.error(e); process.exit(1); });
`

// TestInteropNatsJS: nats.js's services client reads our PING, INFO and
// STATS replies, STATS with the load stats in its data, from a plain micro
// service and from a router. Run by `make interop`, which installs nats.js
// into bin/natsjs.
func TestInteropNatsJS(t *testing.T) {
	dir := os.Getenv("NATSJS_DIR")
	if dir == "" {
		t.Skip("NATSJS_DIR is not set: run make interop, which installs nats.js")
	}
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	plain := microtest.AddService(t, nc, micro.Config{Name: "plain", Version: "1.0.0"})
	if err := plain.AddEndpoint("echo", micro.HandlerFunc(func(r micro.Request) { _ = r.Respond(r.Data()) })); err != nil {
		t.Fatal(err)
	}
	r := natsmux.NewRouter()
	r.HandleFunc("get", func(context.Context, *natsmux.Request) (*natsmux.Response, error) { return nil, nil },
		natsmux.WithSubject("orders.{id}.get"))
	routed := microtest.AddService(t, nc, micro.Config{Name: "routed", Version: "2.0.0"})
	if err := natsmux.Mount(routed, r); err != nil {
		t.Fatal(err)
	}
	microtest.Request(t, nc, "echo", []byte("x"))
	microtest.Request(t, nc, "orders.1.get", nil)

	script := filepath.Join(t.TempDir(), "services.js")
	if err := os.WriteFile(script, []byte(natsjsScript), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", script)
	cmd.Env = append(os.Environ(), "NATS_URL="+srv.URL, "NODE_PATH="+filepath.Join(dir, "node_modules"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nats.js: %v\n%s", err, out)
	}
	var got struct {
		Ping, Info []struct{ ID string }
		Stats      []struct {
			ID        string
			Endpoints []struct {
				Name        string
				NumRequests int `json:"num_requests"`
				Data        map[string]json.RawMessage
			}
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("nats.js printed %s: %v", out, err)
	}
	for _, id := range []string{plain.Info().ID, routed.Info().ID} {
		has := func(ids []string) bool { return slices.Contains(ids, id) }
		var pings, infos, stats []string
		for _, p := range got.Ping {
			pings = append(pings, p.ID)
		}
		for _, i := range got.Info {
			infos = append(infos, i.ID)
		}
		for _, s := range got.Stats {
			stats = append(stats, s.ID)
			if s.ID != id {
				continue
			}
			if len(s.Endpoints) != 1 || s.Endpoints[0].NumRequests != 1 || s.Endpoints[0].Data[micro.LoadStatsKey] == nil {
				t.Errorf("nats.js read the STATS of %s as %+v", id, s)
			}
		}
		if !has(pings) || !has(infos) || !has(stats) {
			t.Errorf("nats.js did not read instance %s: ping %v, info %v, stats %v", id, pings, infos, stats)
		}
	}
}
