package loadgen

import (
	"math"
	"testing"
	"time"
)

// rounds returns a result of rounds of one second with these throughputs.
func rounds(throughputs ...int) Result {
	var r Result
	for _, n := range throughputs {
		r.add(Result{Requests: n, Elapsed: time.Second})
	}
	return r
}

func TestRatio(t *testing.T) {
	tests := []struct {
		name string
		a, b Result
		want float64
	}{
		{"steady", rounds(80, 80, 80), rounds(100, 100, 100), 0.8},
		// The machine slows down for the whole third round: paired rounds
		// keep the ratio, which the totals (240/260) would not.
		{"slow round for both", rounds(80, 80, 40), rounds(100, 100, 50), 0.8},
		// Bursts hit a's second round and b's fourth: the quarters at both
		// ends leave them out, where the totals would give 0.72.
		{"bursts in single rounds", rounds(80, 20, 80, 80), rounds(100, 100, 100, 20), 0.8},
		{"the middle half's mean", rounds(10, 70, 90, 200), rounds(100, 100, 100, 100), 0.8},
		{"two rounds: their mean", rounds(70, 90), rounds(100, 100), 0.8},
		{"rounds that differ in number: totals", rounds(60, 100), rounds(100), 0.8},
		{"no baseline", rounds(80), rounds(0), 0},
		{"a single round as a total", Result{Requests: 80, Elapsed: time.Second}, Result{Requests: 100, Elapsed: time.Second}, 0.8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Ratio(tt.a, tt.b); math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("Ratio = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRoundOrder: every round runs every target once, and over n rounds
// each target runs once in each place.
func TestRoundOrder(t *testing.T) {
	for n := 1; n <= 7; n++ {
		places := make([]map[int]bool, n)
		for target := range places {
			places[target] = map[int]bool{}
		}
		for r := range n {
			order := roundOrder(r, n)
			seen := map[int]bool{}
			for place, target := range order {
				if target < 0 || target >= n || seen[target] {
					t.Fatalf("n=%d, round %d: %v is not an order of the targets", n, r, order)
				}
				seen[target] = true
				places[target][place] = true
			}
		}
		for target, p := range places {
			if len(p) != n {
				t.Errorf("n=%d: target %d ran in places %v over %d rounds, want all %d", n, target, p, n, n)
			}
		}
	}
}
