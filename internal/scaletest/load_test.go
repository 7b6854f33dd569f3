package scaletest

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/micro"
)

func TestHistogramBuckets(t *testing.T) {
	tests := []time.Duration{0, 1, 15, 16, 17, 100, 999, time.Microsecond, 1234567, time.Second, 90 * time.Minute, math.MaxInt64}
	for _, d := range tests {
		i := bucketOf(d)
		upper := upperBound(i)
		lower := time.Duration(0)
		if i > 0 {
			lower = upperBound(i-1) + 1
		}
		if d < lower || d > upper {
			t.Errorf("%d ns in bucket %d, which spans [%d, %d]", d, i, lower, upper)
		}
		if d > 0 && float64(upper-lower) > float64(lower)/subBuckets {
			t.Errorf("bucket %d [%d, %d] is wider than an eighth of its lower bound", i, lower, upper)
		}
	}
}

func TestPercentile(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Microsecond)
	}
	tests := []struct {
		p    float64
		want time.Duration
	}{
		{0.5, 500 * time.Microsecond},
		{0.99, 990 * time.Microsecond},
		{1, 1000 * time.Microsecond},
	}
	for _, tt := range tests {
		got := h.percentile(tt.p)
		if got < tt.want || float64(got) > float64(tt.want)*1.125 {
			t.Errorf("p%v = %s, want %s to %s", tt.p*100, got, tt.want, time.Duration(float64(tt.want)*1.125))
		}
	}
	var empty histogram
	if got := empty.percentile(0.5); got != 0 {
		t.Errorf("empty p50 = %s", got)
	}
}

func TestClassify(t *testing.T) {
	errorReply := &nats.Msg{Header: nats.Header{micro.ErrorHeader: {"not found"}, micro.ErrorCodeHeader: {"404"}}}
	tests := []struct {
		name  string
		reply *nats.Msg
		err   error
		want  string
	}{
		{"reply", &nats.Msg{Data: []byte("x")}, nil, OK},
		{"error reply", errorReply, nil, "error 404"},
		{"timeout", nil, nats.ErrTimeout, Timeout},
		{"no responders", nil, nats.ErrNoResponders, NoResponders},
		{"other", nil, errors.New("nats: connection closed"), "nats: connection closed"},
		{"a client's error reply", nil, natsmux.Errorf(409, "conflict"), "error 409"},
		{"a client's timeout", nil, natsmux.Wrap(nats.ErrTimeout, 504, "no reply"), Timeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.reply, tt.err); got != tt.want {
				t.Errorf("Classify = %q, want %q", got, tt.want)
			}
		})
	}
}
