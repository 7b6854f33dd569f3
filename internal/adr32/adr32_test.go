package adr32

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestChecks(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string // "" for no error
	}{
		{"name ok", CheckName("a-b_C1"), ""},
		{"name dot", CheckName("a.b"), `invalid name "a.b"`},
		{"name empty", CheckName(""), `invalid name ""`},
		{"subject wildcards", CheckSubject("a.*.>", true), ""},
		{"subject > not last", CheckSubject("a.>.b", true), "'>' before its last token"},
		{"subject no wildcards", CheckSubject("a.*", false), "may not contain wildcards"},
		{"subject empty token", CheckSubject("a..b", true), "empty token"},
		{"subject space", CheckSubject("a b", true), "white space at offset 1"},
		{"subject partial wildcard", CheckSubject("a.b*", true), "inside the token"},
		{"subject empty", CheckSubject("", true), "subject is empty"},
		{"queue group ok", CheckQueueGroup("workers"), ""},
		{"queue group tab", CheckQueueGroup("a\tb"), "contains white space"},
		{"queue group >", CheckQueueGroup("a>b"), "'>' before its end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			switch {
			case tt.want == "" && tt.err != nil:
				t.Errorf("unexpected error %v", tt.err)
			case tt.want != "" && (tt.err == nil || !strings.Contains(tt.err.Error(), tt.want)):
				t.Errorf("got %v, want %q", tt.err, tt.want)
			}
		})
	}
}

func TestJoinSubject(t *testing.T) {
	for _, tt := range []struct{ prefix, name, want string }{
		{"", "e", "e"}, {"g", "", "g"}, {"g", "e", "g.e"}, {"a.b", "c.d", "a.b.c.d"},
	} {
		if got := JoinSubject(tt.prefix, tt.name); got != tt.want {
			t.Errorf("JoinSubject(%q, %q) = %q, want %q", tt.prefix, tt.name, got, tt.want)
		}
	}
}

func TestSettingsInherit(t *testing.T) {
	service := Settings{QueueGroup: "svc", MaxConcurrency: 8}
	tests := []struct {
		name  string
		chain []Settings // from the endpoint up to the service
		want  Settings
	}{
		{"defaults", []Settings{{}}, Settings{QueueGroup: "q", MaxConcurrency: 256}},
		{"from service", []Settings{{}, service}, Settings{QueueGroup: "svc", MaxConcurrency: 8}},
		{"own name wins", []Settings{{QueueGroup: "own"}, service}, Settings{QueueGroup: "own", MaxConcurrency: 8}},
		{"own disable wins", []Settings{{NoQueueGroup: true}, {QueueGroup: "g"}, service},
			Settings{NoQueueGroup: true, MaxConcurrency: 8}},
		{"parent disable inherited", []Settings{{}, {NoQueueGroup: true}, service},
			Settings{NoQueueGroup: true, MaxConcurrency: 8}},
		{"name under a disabling group", []Settings{{QueueGroup: "e"}, {NoQueueGroup: true}},
			Settings{QueueGroup: "e", MaxConcurrency: 256}},
		{"concurrency below 1 inherits", []Settings{{MaxConcurrency: -3}, service}, Settings{QueueGroup: "svc", MaxConcurrency: 8}},
		{"pending limits as a pair", []Settings{{PendingMsgs: 10}, {PendingMsgs: 5, PendingBytes: 99}},
			Settings{QueueGroup: "q", MaxConcurrency: 256, PendingMsgs: 10}},
		{"pending limits inherited", []Settings{{}, {PendingMsgs: 5, PendingBytes: 99}},
			Settings{QueueGroup: "q", MaxConcurrency: 256, PendingMsgs: 5, PendingBytes: 99}},
		{"metadata merged, lower wins", []Settings{{Metadata: map[string]string{"a": "e"}}, {Metadata: map[string]string{"a": "g", "b": "g"}}},
			Settings{QueueGroup: "q", MaxConcurrency: 256, Metadata: map[string]string{"a": "e", "b": "g"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.chain[len(tt.chain)-1]
			for i := len(tt.chain) - 2; i >= 0; i-- {
				got = tt.chain[i].Inherit(got)
			}
			if diff := cmp.Diff(tt.want, got.Resolve()); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestSettingsInheritDoesNotShareMaps(t *testing.T) {
	parent := Settings{Metadata: map[string]string{"a": "1"}}
	child := Settings{Metadata: map[string]string{"b": "2"}}
	got := child.Inherit(parent)
	got.Metadata["c"] = "3"
	if len(parent.Metadata) != 1 || len(child.Metadata) != 1 {
		t.Errorf("Inherit changed its inputs: %v %v", parent.Metadata, child.Metadata)
	}
}

func TestMatchesAndOverlap(t *testing.T) {
	tests := []struct {
		a, b    string
		overlap bool
	}{
		{"orders.create", "orders.*", true},
		{"orders.create", "orders.get", false},
		{"orders.>", "orders", false},
		{"orders.>", "orders.*.x", true},
		{">", "$SRV.PING", true},
		{"*.PING", "$SRV.PING", true},
		{"*.PING", "$SRV.PING.name", false},
		{"a.*.c", "a.b.*", true},
		{"a.*", "a.*.*", false},
		{"a.b", "a.b", true},
		{"a", "b", false},
		{"*", ">", true},
		{"a.*.>", "a.b", false},
	}
	for _, tt := range tests {
		if got := Overlap(tt.a, tt.b); got != tt.overlap {
			t.Errorf("Overlap(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.overlap)
		}
		if got := Overlap(tt.b, tt.a); got != tt.overlap {
			t.Errorf("Overlap(%q, %q) = %v, want %v", tt.b, tt.a, got, tt.overlap)
		}
	}
	for _, tt := range []struct {
		pattern, subject string
		match            bool
	}{
		{"a.*", "a.b", true}, {"a.*", "a", false}, {"a.>", "a.b.c", true}, {"a.>", "a", false},
		{"a.b", "a.b", true}, {"a.b", "a.c", false}, {"*", "a.b", false}, {">", "a.b", true},
	} {
		if got := Matches(tt.pattern, tt.subject); got != tt.match {
			t.Errorf("Matches(%q, %q) = %v, want %v", tt.pattern, tt.subject, got, tt.match)
		}
	}
}

// FuzzOverlap checks Overlap against its definition on concrete subjects: if
// a subject matches both patterns, they overlap.
func FuzzOverlap(f *testing.F) {
	f.Add("orders.*", "orders.create", "orders.create")
	f.Add("a.>", "a.*.c", "a.b.c")
	f.Fuzz(func(t *testing.T, a, b, subject string) {
		if CheckSubject(a, true) != nil || CheckSubject(b, true) != nil || CheckSubject(subject, false) != nil {
			return
		}
		if Matches(a, subject) && Matches(b, subject) && !Overlap(a, b) {
			t.Errorf("%q matches %q and %q, but Overlap says no", subject, a, b)
		}
	})
}

func TestCallerTimeout(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1.5s", 1500 * time.Millisecond, true},
		{"750", 750 * time.Millisecond, true},
		{"0", 0, false},
		{"-5s", 0, false},
		{"-200000000000000", 0, false}, // found by FuzzCallerTimeout: overflowed into 809495h
		{"2562047h", MaxCallerTimeout, true},
		{"99999999999999999999", MaxCallerTimeout, true},
		{"-99999999999999999999", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, ok := CallerTimeout(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("CallerTimeout(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzCallerTimeout reads arbitrary TimeoutHeader values: a value is a
// timeout only when it is a positive Go duration or a positive whole number
// of milliseconds, capped at MaxCallerTimeout; anything else, however odd,
// means no timeout rather than a panic or an overflowed one.
func FuzzCallerTimeout(f *testing.F) {
	f.Add("-200000000000000")
	f.Add("2562047h")
	f.Fuzz(func(t *testing.T, value string) {
		d, ok := CallerTimeout(value)
		if ok != (d > 0) || d > MaxCallerTimeout {
			t.Fatalf("%q: %s, %v: a timeout must be positive and at most %s", value, d, ok, MaxCallerTimeout)
		}
		if parsed, err := time.ParseDuration(value); err == nil {
			if want := min(max(parsed, 0), MaxCallerTimeout); d != want {
				t.Errorf("%q: %s, want %s", value, d, want)
			}
			return
		}
		ms, err := strconv.ParseInt(value, 10, 64)
		switch {
		case err != nil && !errors.Is(err, strconv.ErrRange), ms <= 0:
			if ok {
				t.Errorf("%q: %s, want no timeout", value, d)
			}
		case ms > int64(MaxCallerTimeout/time.Millisecond):
			if d != MaxCallerTimeout {
				t.Errorf("%q: %s, want the cap", value, d)
			}
		case d != time.Duration(ms)*time.Millisecond:
			t.Errorf("%q: %s, want %d ms", value, d, ms)
		}
	})
}
