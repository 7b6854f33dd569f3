package natsmux

import "testing"

func TestSubjectMatches(t *testing.T) {
	tests := []struct {
		pattern, subject string
		want             bool
	}{
		{"a.b", "a.b", true},
		{"a.b", "a.c", false},
		{"a.*", "a.b", true},
		{"a.*", "a.b.c", false},
		{"a.*", "a", false},
		{"a.>", "a.b.c", true},
		{"a.>", "a", false},
		{">", "x", true},
		{"*.b.*", "a.b.c", true},
		{"a.b.c", "a.b", false},
	}
	for _, tt := range tests {
		if got := subjectMatches(tt.pattern, tt.subject); got != tt.want {
			t.Errorf("subjectMatches(%q, %q) = %v", tt.pattern, tt.subject, got)
		}
	}
}

func TestToken(t *testing.T) {
	tests := []struct {
		subject string
		i       int
		want    string
	}{
		{"a.b.c", 0, "a"},
		{"a.b.c", 1, "b"},
		{"a.b.c", 2, "c"},
		{"a.b.c", 3, ""},
		{"single", 0, "single"},
	}
	for _, tt := range tests {
		if got := token(tt.subject, tt.i); got != tt.want {
			t.Errorf("token(%q, %d) = %q, want %q", tt.subject, tt.i, got, tt.want)
		}
	}
}
