package loadgen_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/internal/loadgen"
	"github.com/natsmux/natsmux/internal/testdoc"
	"github.com/natsmux/natsmux/microtest"
)

// allocated keeps the heavy responder's garbage from being optimised away.
var allocated []byte

// BenchmarkSameResponders is the harness's A/A check: two identical raw
// responders, and a third that allocates 80 KB a request, compared in
// rounds. same-x-raw should stay near 1.00 over several runs whatever
// place the heavy one takes; it was 1.03 when every round ran in one
// fixed order.
//
//	go test -run '^$' -bench SameResponders -benchtime 10x -count 8 ./internal/loadgen
func BenchmarkSameResponders(b *testing.B) {
	srv := microtest.NewServer(b)
	for _, subject := range []string{"raw", "same"} {
		if err := loadgen.StartRaw(srv.Connect(b), subject, 0); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := srv.Connect(b).Subscribe("heavy", func(m *nats.Msg) {
		for range 20 {
			allocated = make([]byte, 4096)
		}
		_ = m.Respond(m.Data)
	}); err != nil {
		b.Fatal(err)
	}
	client := srv.Connect(b)
	targets := []loadgen.Target{
		{Name: "raw", Subject: "raw", Conn: client},
		{Name: "same", Subject: "same", Conn: client},
		{Name: "heavy", Subject: "heavy", Conn: client},
	}
	res := loadgen.Bench(b, targets, loadgen.Load{Requesters: 32, Payload: testdoc.OrderPayload}, 200*time.Millisecond)
	b.ReportMetric(loadgen.Ratio(res[1], res[0]), "same-x-raw")
}
