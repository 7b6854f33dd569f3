package app_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestOnlyDevserverLinksTheServer: a program built on app links neither
// nats-server nor jsm.go, so a service binary carries no server unless its
// author imports app/devserver, which does.
func TestOnlyDevserverLinksTheServer(t *testing.T) {
	tests := []struct {
		pkg        string
		wantServer bool
	}{
		{"github.com/natsmux/natsmux/app", false},
		{"github.com/natsmux/natsmux/app/devserver", true},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", tt.pkg).Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			deps := strings.Fields(string(out))
			linked := func(prefix string) bool {
				return slices.ContainsFunc(deps, func(d string) bool { return strings.HasPrefix(d, prefix) })
			}
			if got := linked("github.com/nats-io/nats-server/"); got != tt.wantServer {
				t.Errorf("links nats-server: %t, want %t", got, tt.wantServer)
			}
			if linked("github.com/nats-io/jsm.go") {
				t.Error("links jsm.go")
			}
		})
	}
}
