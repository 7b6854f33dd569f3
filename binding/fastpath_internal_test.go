package binding

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/natsmux/natsmux/internal/testdoc"
)

type allocLine struct {
	SKU string `json:"sku" validate:"required,max=16"`
	Qty int    `json:"qty" validate:"gte=1,lte=100"`
}

type allocAddress struct {
	City string `json:"city" validate:"required"`
}

type allocOrder struct {
	ID     string         `json:"id" validate:"required,uuid"`
	Day    string         `json:"day" validate:"omitempty,datetime=2006-01-02"`
	Level  uint8          `json:"level" validate:"oneof=1 2 3"`
	Ratio  float32        `json:"ratio" validate:"gt=0,lte=1"`
	Lines  []allocLine    `json:"lines" validate:"required,min=1,dive"`
	Ship   *allocAddress  `json:"ship" validate:"required"`
	Fixed  [2]float64     `json:"fixed" validate:"dive,gte=0"`
	Tags   []string       `json:"tags" validate:"omitempty,max=3,dive,min=1"`
	Labels map[string]int `json:"labels" validate:"dive,gte=0"`
}

// TestFastPathAllocatesNothing: a value that passes its rules costs the
// fast path no allocation, but one per map the rules dive into (a value
// of the map's element type to read elements into).
func TestFastPathAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("under the race detector, sync.Pool drops what it is given")
	}
	in := inputOf(reflect.TypeFor[*allocOrder]())
	if in.fast == nil {
		t.Fatal("allocOrder is not on the fast path")
	}
	order := &allocOrder{ID: "123e4567-e89b-12d3-a456-426614174000", Day: "2026-11-28", Level: 2, Ratio: 0.5,
		Lines: []allocLine{{SKU: "a-1", Qty: 1}, {SKU: "日本", Qty: 100}}, Ship: &allocAddress{City: "Oslo"}, Tags: []string{"x"}}
	for _, tt := range []struct {
		labels map[string]int
		want   float64
	}{{nil, 0}, {map[string]int{"a": 1, "b": 2}, 1}} {
		order.Labels = tt.labels
		var err error
		allocs := testing.AllocsPerRun(100, func() { err = defaultConfig.check(context.Background(), order, in) })
		if err != nil || allocs != tt.want {
			t.Errorf("%d labels: %v allocations (%v), want %v", len(tt.labels), allocs, err, tt.want)
		}
	}
}

// BenchmarkFastCheck is the plan's check of the benchmarks' order alone,
// with 2 lines and with 200, a request that passes: the quiet walk.
func BenchmarkFastCheck(b *testing.B) {
	in := inputOf(reflect.TypeFor[*testdoc.Order]())
	for _, lines := range []int{2, 200} {
		b.Run(fmt.Sprintf("lines=%d", lines), func(b *testing.B) {
			var order testdoc.Order
			if err := json.Unmarshal(testdoc.OrderPayloadWith(lines), &order); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := defaultConfig.check(context.Background(), &order, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
