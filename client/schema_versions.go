package client

import (
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
	"sync"

	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/internal/schema"
	"github.com/natsmux/natsmux/internal/schema/validate"
)

// SchemaWarning is what schema validation finds besides the errors of
// calls: a caller's types that disagree with the schemas a service
// publishes, a published schema it cannot use, or an INFO request that
// failed. It is reported once per endpoint, version and pair of types, so
// a warning means something changed.
type SchemaWarning struct {
	// Service, Version, Endpoint and Subject name the endpoint (the
	// subject it subscribes to); only Service, or nothing, for a failed
	// INFO request.
	Service, Version, Endpoint, Subject string
	// Types names the caller's types, "Quote -> Price", for a
	// disagreement.
	Types string
	// Request lists how the published request schema accepts less than
	// the caller's input type describes: requests the service may refuse
	// ("qty: is now required").
	Request []string
	// Response lists how the published response schema promises other
	// than the caller's output type describes: replies the caller may
	// fail to decode or misread ("cents: type string may now be sent").
	Response []string
	// Err is what went wrong, when not a disagreement.
	Err error
}

// logSchemaWarning is the default of WithSchemaWarnings.
func logSchemaWarning(ctx context.Context, w SchemaWarning) {
	attrs := make([]slog.Attr, 0, 8)
	for _, a := range []struct{ key, value string }{
		{"service", w.Service}, {"version", w.Version}, {"endpoint", w.Endpoint}, {"subject", w.Subject}, {"types", w.Types},
		{"request", strings.Join(w.Request, "; ")}, {"response", strings.Join(w.Response, "; ")},
	} {
		if a.value != "" {
			attrs = append(attrs, slog.String(a.key, a.value))
		}
	}
	msg := "nats schema mismatch"
	if w.Err != nil {
		msg = "nats schema problem"
		attrs = append(attrs, slog.String("error", w.Err.Error()))
	}
	slog.Default().LogAttrs(ctx, slog.LevelWarn, msg, attrs...)
}

// expectation is what a caller's types say of an endpoint's schemas: the
// request schema of In as the caller sends it (only its own fields: the
// strict schema) and the response schema of Out. Either is nil when the
// type says nothing about its JSON, and both for raw requests.
type expectation struct {
	types             string
	request, response *schema.Schema
}

// untyped is the expectation of Client.Request: none.
var untyped = &expectation{}

// expectations holds one expectation per pair of types that Call is used
// with: a set as large as the program's calls, fixed when it is compiled.
var expectations sync.Map // reflect.Type of func(*In) *Out -> *expectation

func expectationFor[In, Out any]() *expectation {
	key := reflect.TypeFor[func(*In) *Out]()
	if e, ok := expectations.Load(key); ok {
		return e.(*expectation)
	}
	in, out := reflect.TypeFor[In](), reflect.TypeFor[Out]()
	e := &expectation{types: typeName(in) + " -> " + typeName(out)}
	if metadata := expectedSchemas[In, Out](); metadata != nil {
		e.request = describedSchema(in, metadata[binding.RequestSchemaKey])
		e.response = describedSchema(out, metadata[binding.ResponseSchemaKey])
	}
	actual, _ := expectations.LoadOrStore(key, e)
	return actual.(*expectation)
}

// expectedSchemas returns the schemas of In, strict, and Out, as binding
// would publish them, or nil for types that JSON cannot carry, for which
// binding.SchemaMetadata panics: Call reports their encoding error.
func expectedSchemas[In, Out any]() (metadata map[string]string) {
	defer func() {
		if recover() != nil {
			metadata = nil
		}
	}()
	return binding.SchemaMetadata[In, Out](binding.WithStrict())
}

var (
	marshalerType   = reflect.TypeFor[json.Marshaler]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// describedSchema parses t's schema, unless t is an interface or encodes
// itself (json.RawMessage), when its Go type says nothing of its JSON.
func describedSchema(t reflect.Type, text string) *schema.Schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	ptr := reflect.PointerTo(t)
	if t.Kind() == reflect.Interface || ptr.Implements(marshalerType) || ptr.Implements(unmarshalerType) {
		return nil
	}
	s, err := schema.Parse([]byte(text))
	if err != nil {
		return nil
	}
	return s
}

func typeName(t reflect.Type) string {
	if t.Name() != "" {
		return t.Name()
	}
	return t.String()
}

// compare warns once per published version and pair of the caller's types
// when they disagree: schema.Breaking, from the caller's types to what the
// service publishes, in the direction the values travel.
func (s *schemaCache) compare(ctx context.Context, eps []*published, e *expectation) {
	if e.request == nil && e.response == nil {
		return
	}
	for _, p := range eps {
		if _, done := p.warned.LoadOrStore(e, struct{}{}); done {
			continue
		}
		w := p.warning(SchemaWarning{Types: e.types})
		w.Request = breaking(e.request, p.validator(ctx, s, requestDir), schema.Request)
		w.Response = breaking(e.response, p.validator(ctx, s, responseDir), schema.Response)
		if len(w.Request)+len(w.Response) > 0 {
			s.cfg.warn(ctx, w)
		}
	}
}

func breaking(expected *schema.Schema, published *validate.Validator, dir schema.Direction) []string {
	if expected == nil || published == nil || published.Schema() == nil {
		return nil
	}
	var out []string
	for _, c := range schema.Breaking(expected, published.Schema(), dir) {
		out = append(out, c.String())
	}
	return out
}
