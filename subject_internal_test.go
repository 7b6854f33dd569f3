package natsmux

import "testing"

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
