package natsmux

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/natsmux/natsmux/internal/adr32"
)

// Metadata keys under which an endpoint declares what its subject and error
// replies mean, so that INFO carries them to documentation (the asyncapi
// package, `micro docs`) and to contract tests (microtest.CheckContract).
// One key per code and per parameter lets a group declare what all its
// endpoints share and an endpoint add its own, as with any metadata.
const (
	// ErrorMetadataPrefix followed by a code holds what an error reply
	// with that code means: "natsmux.error.404" = "no such order".
	ErrorMetadataPrefix = "natsmux.error."
	// ParamMetadataPrefix followed by a parameter's name holds its
	// description: "natsmux.param.id" = "the order's number".
	ParamMetadataPrefix = "natsmux.param."
	// ParamExampleSuffix follows a parameter's key for an example value:
	// "natsmux.param.id.example" = "1".
	ParamExampleSuffix = ".example"
)

// WithError declares that the endpoint, or every endpoint of the group,
// may reply with an error of code, and what that means to the caller. It
// changes no behaviour: it documents the contract, and contract tests
// accept a declared error as an answer to a valid request. The code must be
// from 400 to 599 and the description not empty.
//
//	r.Route("{id}", routes, natsmux.WithError(404, "no order with this id"))
func WithError(code int, description string) Option {
	if code < 400 || code > 599 {
		panic(fmt.Sprintf("natsmux: WithError(%d): an error code must be from 400 to 599", code))
	}
	if strings.TrimSpace(description) == "" {
		panic(fmt.Sprintf("natsmux: WithError(%d): say what the error means to the caller", code))
	}
	return WithMetadata(map[string]string{ErrorMetadataPrefix + strconv.Itoa(code): description})
}

// WithParam describes the subject parameter name of the endpoint, or of
// every endpoint of the group whose prefix holds it, with an example value
// (optional) that documentation puts in its sample requests and contract
// tests put in the subjects they send to. Name must be a parameter name and
// example, if any, one subject token.
//
//	r.Route("{id}", routes, natsmux.WithParam("id", "the order's number", "1"))
func WithParam(name, description, example string) Option {
	if !isIdentifier(name) {
		panic(fmt.Sprintf("natsmux: WithParam(%q): not a parameter name", name))
	}
	if description == "" && example == "" {
		panic(fmt.Sprintf("natsmux: WithParam(%q): give a description, an example or both", name))
	}
	if example != "" && (strings.Contains(example, ".") || adr32.CheckSubject(example, false) != nil) {
		panic(fmt.Sprintf("natsmux: WithParam(%q): example %q must be one subject token, without dots, spaces or wildcards", name, example))
	}
	md := map[string]string{}
	if description != "" {
		md[ParamMetadataPrefix+name] = description
	}
	if example != "" {
		md[ParamMetadataPrefix+name+ParamExampleSuffix] = example
	}
	return WithMetadata(md)
}

// DeclaredErrors returns the error codes that endpoint metadata declares
// (see WithError), with what each means. Keys whose code is not a number
// from 400 to 599 are left out.
func DeclaredErrors(md map[string]string) map[int]string {
	out := map[int]string{}
	for key, description := range md {
		code, err := strconv.Atoi(strings.TrimPrefix(key, ErrorMetadataPrefix))
		if strings.HasPrefix(key, ErrorMetadataPrefix) && err == nil && code >= 400 && code <= 599 {
			out[code] = description
		}
	}
	return out
}

// ParamDoc is what endpoint metadata declares of a subject parameter (see
// WithParam).
type ParamDoc struct {
	Description string
	Example     string
}

// DeclaredParams returns what endpoint metadata declares of subject
// parameters, by parameter name.
func DeclaredParams(md map[string]string) map[string]ParamDoc {
	out := map[string]ParamDoc{}
	for key, value := range md {
		name, ok := strings.CutPrefix(key, ParamMetadataPrefix)
		if !ok {
			continue
		}
		if base, isExample := strings.CutSuffix(name, ParamExampleSuffix); isExample {
			doc := out[base]
			doc.Example = value
			out[base] = doc
			continue
		}
		doc := out[name]
		doc.Description = value
		out[name] = doc
	}
	return out
}
