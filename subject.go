package natsmux

import (
	"fmt"
	"strings"

	"github.com/natsmux/natsmux/internal/adr32"
)

// A subject template names tokens of an endpoint's subject:
// "orders.{id}.items.{item}" subscribes to "orders.*.items.*" and gives the
// handler Param("id") and Param("item"). A parameter is a whole token, its
// name a Go-style identifier used once; "*" and ">" stay available as
// unnamed wildcards, ">" only as the last token.

type param struct {
	name  string
	token int // index of the token in the subject
}

// parseTemplate returns the subscription subject of a template and its
// parameters, or an error that says what is wrong.
func parseTemplate(template string) (string, []param, error) {
	if template == "" {
		return "", nil, fmt.Errorf("subject template is empty")
	}
	tokens := strings.Split(template, ".")
	var params []param
	for i, tok := range tokens {
		open, close := strings.IndexByte(tok, '{'), strings.LastIndexByte(tok, '}')
		if open < 0 && close < 0 {
			continue
		}
		if open != 0 || close != len(tok)-1 || strings.Count(tok, "{") != 1 || strings.Count(tok, "}") != 1 {
			return "", nil, fmt.Errorf("subject template %q: token %q: a parameter must be a whole token, such as {id}", template, tok)
		}
		name := tok[1 : len(tok)-1]
		if !isIdentifier(name) {
			return "", nil, fmt.Errorf("subject template %q: parameter name %q must be a letter or underscore followed by letters, digits or underscores", template, name)
		}
		for _, p := range params {
			if p.name == name {
				return "", nil, fmt.Errorf("subject template %q: parameter {%s} appears twice", template, name)
			}
		}
		params = append(params, param{name: name, token: i})
		tokens[i] = "*"
	}
	subject := strings.Join(tokens, ".")
	if err := adr32.CheckSubject(subject, true); err != nil {
		return "", nil, fmt.Errorf("subject template %q: invalid endpoint subject: %w", template, err)
	}
	return subject, params, nil
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		letter := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}
