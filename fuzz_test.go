package natsmux

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/internal/adr32"
	"github.com/natsmux/natsmux/micro"
)

// FuzzParseTemplate feeds arbitrary subject templates to the parser and to
// Router.Handle. A template is either rejected, with Handle panicking with
// the parser's message (the documented registration panic), or it yields a
// subscription subject that micro accepts, with every parameter on a '*'
// token, and a concrete subject made from it matches and gives each
// parameter its token back.
func FuzzParseTemplate(f *testing.F) {
	f.Fuzz(func(t *testing.T, template string) {
		subject, params, err := parseTemplate(template)
		panicked := handlePanic(template)
		if err != nil {
			if subject != "" || params != nil {
				t.Errorf("rejected %q (%v) but returned %q, %v", template, err, subject, params)
			}
			if !strings.HasPrefix(panicked, `natsmux: Handle("ep"): `) || !strings.Contains(panicked, err.Error()) {
				t.Errorf("Handle with the rejected template %q: panic %q, want the parser's error %q", template, panicked, err)
			}
			return
		}
		if discovery := adr32.CheckDiscoveryOverlap(subject, micro.APIPrefix); discovery != nil {
			// A valid template whose subject would receive discovery
			// requests, such as {a}.{b}: Handle refuses it, saying why.
			if !strings.Contains(panicked, discovery.Error()) {
				t.Fatalf("Handle with %q, which overlaps discovery: panic %q, want %q", template, panicked, discovery)
			}
			return
		}
		if panicked != "" {
			t.Fatalf("Handle with the valid template %q panicked: %s", template, panicked)
		}
		if err := adr32.CheckSubject(subject, true); err != nil {
			t.Fatalf("template %q: subject %q is not a valid endpoint subject: %v", template, subject, err)
		}
		tokens, templateTokens := strings.Split(subject, "."), strings.Split(template, ".")
		if len(tokens) != len(templateTokens) {
			t.Fatalf("template %q has %d tokens, subject %q %d", template, len(templateTokens), subject, len(tokens))
		}
		names := map[string]bool{}
		for _, p := range params {
			if tokens[p.token] != "*" || templateTokens[p.token] != "{"+p.name+"}" || !isIdentifier(p.name) || names[p.name] {
				t.Errorf("template %q: parameter %+v on subject token %q", template, p, tokens[p.token])
			}
			names[p.name] = true
		}
		for i, tok := range tokens {
			isParam := slices.ContainsFunc(params, func(p param) bool { return p.token == i })
			if tok != templateTokens[i] && !isParam {
				t.Errorf("template %q: token %d changed from %q to %q", template, i, templateTokens[i], tok)
			}
		}

		// Fill each wildcard with a value of its own.
		concrete := slices.Clone(tokens)
		for i, tok := range concrete {
			switch tok {
			case "*":
				concrete[i] = "v" + strconv.Itoa(i)
			case ">":
				concrete[i] = "rest.of.it"
			}
		}
		req := &Request{Subject: strings.Join(concrete, "."), Endpoint: &Endpoint{params: params}}
		if !adr32.Matches(subject, req.Subject) {
			t.Errorf("subject %q does not match %q", subject, req.Subject)
		}
		for _, p := range params {
			if got, want := req.Param(p.name), "v"+strconv.Itoa(p.token); got != want {
				t.Errorf("template %q, subject %q: Param(%q) = %q, want %q", template, req.Subject, p.name, got, want)
			}
		}
	})
}

// handlePanic registers an endpoint with template and returns the panic
// message, or "" when Handle accepted it.
func handlePanic(template string) (msg string) {
	defer func() {
		if v := recover(); v != nil {
			msg = fmt.Sprint(v)
		}
	}()
	NewRouter().Handle("ep", HandlerFunc(func(context.Context, *Request) (*Response, error) { return nil, nil }), WithSubject(template))
	return ""
}

// FuzzHeaderCarrier checks the carrier's invariants on arbitrary headers:
// after Set(key, value), Get finds value under key and under any spelling
// of key that differs only in case, exactly one key of that spelling is
// left, and the other keys are untouched.
func FuzzHeaderCarrier(f *testing.F) {
	f.Fuzz(func(t *testing.T, existing, key, value string) {
		// existing is one key per line; "key=value" gives it a value, a bare
		// key an empty list of values.
		h := nats.Header{}
		for line := range strings.Lines(existing) {
			k, v, hasValue := strings.Cut(strings.TrimSuffix(line, "\n"), "=")
			if hasValue {
				h[k] = append(h[k], v)
			} else if _, ok := h[k]; !ok {
				h[k] = []string{}
			}
		}
		before := cloneHeader(h)
		c := HeaderCarrier(h)

		for k, vs := range before {
			if len(vs) > 0 && c.Get(k) != vs[0] {
				t.Errorf("Get(%q) = %q, want the first value %q", k, c.Get(k), vs[0])
			}
		}
		if !slices.ContainsFunc(slices.Collect(maps.Keys(before)), func(k string) bool { return strings.EqualFold(k, key) }) && c.Get(key) != "" {
			t.Errorf("Get(%q) = %q for a key that is not there", key, c.Get(key))
		}

		c.Set(key, value)
		for _, spelling := range []string{key, strings.ToUpper(key), strings.ToLower(key), strings.ToTitle(key)} {
			if strings.EqualFold(spelling, key) && c.Get(spelling) != value {
				t.Errorf("after Set(%q, %q): Get(%q) = %q", key, value, spelling, c.Get(spelling))
			}
		}
		keys := c.Keys()
		if len(keys) != len(h) {
			t.Errorf("Keys() has %d keys, the header %d", len(keys), len(h))
		}
		folded := 0
		for _, k := range keys {
			switch {
			case strings.EqualFold(k, key):
				folded++
				if k != key {
					t.Errorf("after Set(%q): the key %q is still there", key, k)
				}
			case !slices.Equal(h[k], before[k]):
				t.Errorf("after Set(%q): the unrelated key %q changed from %q to %q", key, k, before[k], h[k])
			}
		}
		if folded != 1 {
			t.Errorf("after Set(%q): %d keys of that spelling, want 1", key, folded)
		}
	})
}

func cloneHeader(h nats.Header) nats.Header {
	out := make(nats.Header, len(h))
	for k, v := range h {
		out[k] = slices.Clone(v)
	}
	return out
}
