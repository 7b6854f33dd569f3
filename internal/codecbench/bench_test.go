package codecbench_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/internal/codecbench"
	"github.com/natsmux/natsmux/internal/testdoc"
)

// document is a payload and the type it decodes into.
type document struct {
	name    string
	payload []byte
	decode  func(binding.Codec, []byte) (any, error)
}

func decodeInto[T any](c binding.Codec, data []byte) (any, error) {
	v := new(T)
	return v, c.Unmarshal(data, v)
}

var documents = []document{
	{"order", testdoc.OrderPayload, decodeInto[testdoc.Order]},
	{"invoice", invoicePayload, decodeInto[invoice]},
}

// contender is one codec's operation in a benchmark.
type contender struct {
	name string
	op   func() error
}

// compare runs the contenders in turns, a batch each per iteration, so that
// a busy machine slows them alike, and reports for each its ns/op, its
// allocations and bytes per op (measured apart, after the timing) and its
// time as a multiple of the first contender's, encoding/json.
func compare(b *testing.B, contenders []contender) {
	b.ReportAllocs()
	for _, c := range contenders {
		if err := c.op(); err != nil {
			b.Fatalf("%s: %v", c.name, err)
		}
	}
	const batch = 64
	elapsed := make([]time.Duration, len(contenders))
	for b.Loop() {
		for i, c := range contenders {
			start := time.Now()
			for range batch {
				_ = c.op()
			}
			elapsed[i] += time.Since(start)
		}
	}
	nsPerOp := func(i int) float64 { return float64(elapsed[i].Nanoseconds()) / float64(b.N*batch) }
	for i, c := range contenders {
		allocs, bytes := memPerOp(c.op)
		b.ReportMetric(nsPerOp(i), c.name+"-ns/op")
		b.ReportMetric(allocs, c.name+"-allocs/op")
		b.ReportMetric(bytes, c.name+"-B/op")
		if i > 0 {
			b.ReportMetric(nsPerOp(i)/nsPerOp(0), c.name+"-x-std")
		}
	}
}

// memPerOp returns the allocations and bytes that one call of op costs, on
// average over 100 calls on one P, as testing.AllocsPerRun measures them.
func memPerOp(op func() error) (allocs, bytes float64) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const runs = 100
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		_ = op()
	}
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / runs, float64(after.TotalAlloc-before.TotalAlloc) / runs
}

// BenchmarkCodecs decodes each document into its type, and encodes the
// decoded value, with every codec.
func BenchmarkCodecs(b *testing.B) {
	for _, doc := range documents {
		b.Run(doc.name+"/decode", func(b *testing.B) {
			contenders := make([]contender, len(codecbench.Codecs))
			for i, c := range codecbench.Codecs {
				contenders[i] = contender{c.Name, func() error {
					_, err := doc.decode(c, doc.payload)
					return err
				}}
			}
			compare(b, contenders)
		})
		b.Run(doc.name+"/encode", func(b *testing.B) {
			value, err := doc.decode(codecbench.Std, doc.payload)
			if err != nil {
				b.Fatal(err)
			}
			contenders := make([]contender, len(codecbench.Codecs))
			for i, c := range codecbench.Codecs {
				contenders[i] = contender{c.Name, func() error {
					_, err := c.Marshal(value)
					return err
				}}
			}
			compare(b, contenders)
		})
	}
}

// echo returns a typed handler's input as its output.
func echo[T any](_ context.Context, v *T) (*T, error) { return v, nil }

// BenchmarkThroughBinding serves each document through a router in memory,
// to binding.JSON echo endpoints that differ only in their codec: a
// request's whole cost (decoding, rules, encoding, the router) per codec.
func BenchmarkThroughBinding(b *testing.B) {
	for _, doc := range documents {
		b.Run(doc.name, func(b *testing.B) {
			r := natsmux.NewRouter()
			contenders := make([]contender, len(codecbench.Codecs))
			for i, c := range codecbench.Codecs {
				subject := doc.name + "." + c.Name
				var h natsmux.Handler
				if doc.name == "order" {
					h = binding.JSON(echo[testdoc.Order], binding.WithCodec(c))
				} else {
					h = binding.JSON(echo[invoice], binding.WithCodec(c))
				}
				r.Handle(c.Name, h, natsmux.WithSubject(subject))
				contenders[i] = contender{c.Name, func() error {
					_, err := r.ServeNATS(context.Background(), natsmux.NewRequest(subject, doc.payload))
					return err
				}}
			}
			compare(b, contenders)
		})
	}
}

// BenchmarkDeepNesting decodes arrays nested 1000 and 4000 deep into an
// any: the cost of a hostile payload of a few kilobytes, which grows with
// the square of the depth for some libraries.
func BenchmarkDeepNesting(b *testing.B) {
	for _, depth := range []int{1000, 4000} {
		payload := nested("[", "]", depth)
		for _, c := range codecbench.Codecs {
			b.Run(fmt.Sprintf("%s/%d", c.Name, depth), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					var v any
					if err := c.Unmarshal(payload, &v); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
