package main

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

func TestPrintable(t *testing.T) {
	tests := []struct {
		in, cell, text string
	}{
		{"plain, ünïcode 日本 \uFFFD", "plain, ünïcode 日本 \uFFFD", "plain, ünïcode 日本 \uFFFD"},
		{"\x1b[2J\x1b]0;title\x07", `\x1b[2J\x1b]0;title\x07`, `\x1b[2J\x1b]0;title\x07`},
		{"line\nnext\ttab\rback", `line\nnext\ttab\rback`, "line\nnext\ttab\\rback"},
		{"C1 \u009b2J and DEL \x7f", `C1 \u009b2J and DEL \x7f`, `C1 \u009b2J and DEL \x7f`},
		{"not UTF-8: \xff\x9b", `not UTF-8: \xff\x9b`, `not UTF-8: \xff\x9b`},
		{"bidi \u202egnp.exe\u2066", `bidi \u202egnp.exe\u2066`, `bidi \u202egnp.exe\u2066`},
		{"NUL\x00", `NUL\x00`, `NUL\x00`},
	}
	for _, tt := range tests {
		if got := printable(tt.in); got != tt.cell {
			t.Errorf("printable(%q) = %q, want %q", tt.in, got, tt.cell)
		}
		if got := printableText(tt.in); got != tt.text {
			t.Errorf("printableText(%q) = %q, want %q", tt.in, got, tt.text)
		}
	}
}

// hostile is text a service may send: escape sequences that clear the
// screen and set the window title, and a C1 control (CSI). Discovery
// documents are JSON, which cannot carry bytes that are not UTF-8; headers
// and payloads can, so they get a "\xff" too.
const hostile = "\x1b[2J\x1b]0;pwned\x07\u009b"

// hostileEscaped is hostile as the terminal shows it.
const hostileEscaped = `\x1b[2J\x1b]0;pwned\x07\u009b`

// hasControl reports whether s holds a byte a terminal acts on, other
// than the line feeds that end lines.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r != '\n' && isControl(r) || r == utf8.RuneError })
}

// TestTerminalOutputIsEscaped: a service's text (description, metadata,
// error descriptions, last_error, headers, payloads) reaches a terminal
// escaped, while piped and JSON output keep it exact.
func TestTerminalOutputIsEscaped(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	r := natsmux.NewRouter()
	r.Route("evil", func(r *natsmux.Router) {
		r.HandleFunc("fail", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			return nil, natsmux.NewError(400, "bad "+string(req.Data)) // a caller's payload planted in last_error
		}, natsmux.WithMetadata(map[string]string{"note": hostile}))
		r.HandleFunc("echo", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			return &natsmux.Response{Header: nats.Header{"X-Evil": {hostile + "\xff"}}, Data: req.Data}, nil
		})
	})
	addService(t, nc, micro.Config{Name: "evil", Version: "1.0.0", Description: "evil " + hostile,
		Metadata: map[string]string{"team" + hostile: hostile}}, r)
	microtest.Request(t, nc, "evil.fail", []byte(hostile))
	microtest.DiscoverSettledStats(t, nc, "evil", 1)

	s := []string{"-s", srv.URL}
	tests := []struct {
		name     string
		in       invocation
		args     []string
		code     int
		out, err string // what stdout and stderr contain
	}{
		{"payload on a terminal", invocation{terminal: true}, []string{"request", "evil.echo", hostile + "\xff"}, 0, hostileEscaped + `\xff` + "\n", ""},
		{"reply headers", invocation{}, []string{"request", "--reply-headers", "evil.echo", "x"}, 0, "x", "X-Evil: " + hostileEscaped + `\xff` + "\n"},
		{"error description", invocation{}, []string{"request", "evil.fail", hostile}, 3, "",
			"micro: service error 400: bad " + hostileEscaped + "\n"},
		{"info table", invocation{}, []string{"info", "-o", "table"}, 0, "Description: evil " + hostileEscaped + "\nMetadata:    team" + hostileEscaped + "=" + hostileEscaped, ""},
		{"info endpoint metadata", invocation{}, []string{"info", "-o", "table"}, 0, "note=" + hostileEscaped + "\n", ""},
		{"ls table", invocation{}, []string{"ls", "-o", "table"}, 0, "evil " + hostileEscaped + "\n", ""},
		{"ping table", invocation{terminal: true}, []string{"ping"}, 0, "team" + hostileEscaped + "=" + hostileEscaped, ""},
		{"stats table", invocation{terminal: true}, []string{"stats"}, 0, "400:bad " + hostileEscaped + "\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.in.run(t, append(tt.args, s...)...)
			r.check(t, tt.code, tt.out, tt.err)
			if hasControl(r.stdout) || hasControl(r.stderr) {
				t.Errorf("raw control characters reach the terminal:\nstdout %q\nstderr %q", r.stdout, r.stderr)
			}
		})
	}

	// Piped, the payload and the JSON documents are exact.
	if r := (invocation{}).run(t, append([]string{"request", "evil.echo", hostile + "\xff"}, s...)...); r.stdout != hostile+"\xff" {
		t.Errorf("piped payload %q, want %q", r.stdout, hostile+"\xff")
	}
	infos := decodeJSON[[]micro.Info](t, invocation{}.run(t, append([]string{"info", "-o", "json"}, s...)...).stdout)
	if len(infos) != 1 || infos[0].Description != "evil "+hostile || infos[0].Endpoints[0].Metadata["note"] != hostile {
		t.Errorf("INFO as JSON: %+v", infos)
	}
	stats := decodeJSON[[]micro.Stats](t, invocation{}.run(t, append([]string{"stats", "-o", "json"}, s...)...).stdout)
	if len(stats) != 1 || stats[0].Endpoints[0].LastError != "400:bad "+hostile {
		t.Errorf("STATS as JSON: %q", stats[0].Endpoints[0].LastError)
	}
}

// TestInfoCutsLongMetadata: a table shows the start of a long metadata
// value, such as a JSON Schema, and says so; JSON output has it whole.
func TestInfoCutsLongMetadata(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	schema := `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"sku":{"type":"string"}}}`
	r := natsmux.NewRouter()
	r.HandleFunc("check", func(context.Context, *natsmux.Request) (*natsmux.Response, error) { return nil, nil },
		natsmux.WithMetadata(map[string]string{"schema": schema, "short": "kept"}))
	addService(t, nc, micro.Config{Name: "stock", Version: "1.0.0", Metadata: map[string]string{"long": strings.Repeat("é", 41)}}, r)

	table := invocation{}.run(t, "info", "-o", "table", "-s", srv.URL)
	for _, want := range []string{
		"Metadata:    long=" + strings.Repeat("é", 39) + "…\n",
		"schema=" + schema[:39] + "…, short=kept\n",
		"\nMetadata values longer than 40 characters are cut short (…); -o json shows them whole.\n",
	} {
		if !strings.Contains(table.stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, table.stdout)
		}
	}
	infos := decodeJSON[[]micro.Info](t, invocation{}.run(t, "info", "-o", "json", "-s", srv.URL).stdout)
	if diff := cmp.Diff(map[string]string{"schema": schema, "short": "kept"}, infos[0].Endpoints[0].Metadata); diff != "" {
		t.Errorf("JSON metadata (-want +got):\n%s", diff)
	}

	short := invocation{}.run(t, "ping", "-o", "table", "-s", microtest.NewServer(t).URL)
	if strings.Contains(short.stdout, "cut short") {
		t.Errorf("a note without a long value:\n%s", short.stdout)
	}
}
