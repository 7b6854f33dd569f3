package main

import (
	"runtime/debug"
	"strings"
)

// version describes the build: the module version go install recorded
// ("(devel)" for a build from a clone), the commit when the build knew it,
// and the Go release.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	parts := []string{v}
	var commit, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if commit != "" {
		if modified == "true" {
			commit += "+modified"
		}
		parts = append(parts, "commit "+commit)
	}
	return strings.Join(append(parts, info.GoVersion), ", ")
}
