package binding

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
)

// ContentTypeHeader names the codec of a payload. A client sends it with a
// request; a typed endpoint decodes with the codec it names and sends it
// back on the reply.
const ContentTypeHeader = "Content-Type"

// Codec turns values into payloads and back. JSONCodec is the default;
// WithCodec adds others, chosen per request by ContentTypeHeader.
type Codec interface {
	// ContentType returns the media type the codec reads and writes, such
	// as "application/json".
	ContentType() string
	// Marshal encodes v.
	Marshal(v any) ([]byte, error)
	// Unmarshal decodes data into v, a non-nil pointer. The error's text is
	// sent to the caller after "invalid request: ", so it should say what is
	// wrong with the payload without naming Go types.
	Unmarshal(data []byte, v any) error
}

// StrictUnmarshaler is implemented by codecs that can reject fields the
// target type does not have. WithStrict uses it; codecs without it decode
// as usual in strict mode.
type StrictUnmarshaler interface {
	UnmarshalStrict(data []byte, v any) error
}

// JSONCodec is the default codec: encoding/json, with decode errors that a
// caller can act on. They name the field by its JSON path and the kind of
// value expected ("field \"qty\": expected integer, got string"), never a Go
// type; the original error stays in the chain for logs.
type JSONCodec struct{}

// ContentType returns "application/json".
func (JSONCodec) ContentType() string { return "application/json" }

// Marshal returns the JSON encoding of v.
func (JSONCodec) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal decodes the JSON in data into v, ignoring unknown fields.
func (JSONCodec) Unmarshal(data []byte, v any) error {
	return describeJSONError(json.Unmarshal(data, v), v)
}

// UnmarshalStrict decodes the JSON in data into v and fails on a field that
// v's type does not have.
func (JSONCodec) UnmarshalStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if rest := bytes.TrimSpace(data[dec.InputOffset():]); len(rest) > 0 {
			return &payloadError{msg: fmt.Sprintf("malformed JSON at offset %d: data after the top-level value", dec.InputOffset())}
		}
	}
	return describeJSONError(err, v)
}

// ContentTypeOf returns the media type that h's Content-Type header names,
// without parameters ("application/json; charset=utf-8" gives
// "application/json"), or "" when there is none. The header's key is
// matched in any case, as other clients may send "content-type".
func ContentTypeOf(h nats.Header) string {
	if len(h) == 0 {
		return ""
	}
	mt, _, _ := strings.Cut(natsmux.HeaderCarrier(h).Get(ContentTypeHeader), ";")
	return strings.TrimSpace(mt)
}

// payloadError is a decode error whose text is fit for the caller; the
// codec's own error, which may name Go types, is its cause.
type payloadError struct {
	msg   string
	cause error
}

func (e *payloadError) Error() string { return e.msg }
func (e *payloadError) Unwrap() error { return e.cause }

// maxEcho bounds how much of the caller's input an error description
// repeats, so that a huge key or number cannot blow up the reply.
const maxEcho = 64

func describeJSONError(err error, v any) error {
	if err == nil {
		return nil
	}
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
		coder  natsmux.Coder
		parse  *time.ParseError
		msg    string
	)
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		msg = "malformed JSON: unexpected end of input"
	case errors.As(err, &syntax):
		msg = fmt.Sprintf("malformed JSON at offset %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typ):
		msg = describeTypeError(typ, reflect.TypeOf(v))
	case strings.HasPrefix(err.Error(), "json: unknown field "): // a plain error, no type to match
		msg = "unknown field " + truncate(strings.TrimPrefix(err.Error(), "json: unknown field "))
	case errors.As(err, &coder):
		// A type's own UnmarshalJSON or UnmarshalText that returns a coded
		// error wrote its text for callers, as handlers do.
		msg = coderText(coder)
	case errors.As(err, &parse):
		msg = "invalid time: " + truncate(parse.Error())
	default:
		// Other errors come from a type's own UnmarshalJSON or UnmarshalText
		// and may name Go types: keep them for logs only.
		msg = "a value has an invalid format"
	}
	return &payloadError{msg: msg, cause: err}
}

func describeTypeError(e *json.UnmarshalTypeError, root reflect.Type) string {
	want := jsonKind(e.Type)
	got := strings.Replace(e.Value, "bool", "boolean", 1)
	var what string
	if num, ok := strings.CutPrefix(got, "number "); ok && want == "integer" {
		if _, err := strconv.ParseInt(num, 10, 64); err == nil {
			what = fmt.Sprintf("number %s is out of range", truncate(num))
		} else {
			what = fmt.Sprintf("expected integer, got number %s", truncate(num))
		}
	} else {
		what = fmt.Sprintf("expected %s, got %s", want, truncate(got))
	}
	// The path has no indices (encoding/json does not track them); the
	// offset tells which element of an array is meant.
	if e.Field == "" {
		return fmt.Sprintf("%s (near offset %d)", what, e.Offset)
	}
	return fmt.Sprintf("field %q: %s (near offset %d)", truncate(jsonPath(root, e.Field)), what, e.Offset)
}

var textUnmarshalerType = reflect.TypeFor[interface{ UnmarshalText([]byte) error }]()

// jsonKind names the kind of JSON value that decodes into t.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return "string"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.String:
		return "string"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "base64 string"
		}
		return "array"
	case reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	default:
		return "value"
	}
}

// jsonPath rewrites the field path of a json.UnmarshalTypeError as the
// caller sees it: encoding/json puts the Go name of an embedded struct in
// the path, although its fields appear at the parent's level in JSON.
func jsonPath(t reflect.Type, path string) string {
	var out []string
	for tok := range strings.SplitSeq(path, ".") {
		t = structOf(t)
		if t == nil {
			out = append(out, tok)
			continue
		}
		next, embedded := fieldByJSONName(t, tok)
		if !embedded {
			out = append(out, tok)
		}
		t = next
	}
	return strings.Join(out, ".")
}

// structOf returns the struct type that values of t hold, through pointers,
// slices, arrays and maps, or nil.
func structOf(t reflect.Type) reflect.Type {
	for t != nil {
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
			t = t.Elem()
		case reflect.Struct:
			return t
		default:
			return nil
		}
	}
	return nil
}

// fieldByJSONName finds tok among t's own fields: an embedded struct by its
// Go name (reported as embedded), or a field by its JSON name. It returns a
// nil type when there is no such field.
func fieldByJSONName(t reflect.Type, tok string) (reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		switch name := jsonName(f); {
		case name == "" && f.Anonymous && f.Name == tok:
			return f.Type, true
		case name != "" && name == tok:
			return f.Type, false
		}
	}
	return nil, false
}

// jsonName returns the key of f in a JSON object: the name in its tag, else
// its Go name. It returns "" for a field that JSON skips ("-") and for an
// embedded struct without a name in its tag, whose fields JSON promotes to
// the parent object.
func jsonName(f reflect.StructField) string {
	tag := f.Tag.Get("json")
	if tag == "-" {
		return ""
	}
	if name, _, _ := strings.Cut(tag, ","); name != "" {
		return name
	}
	t := f.Type
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if f.Anonymous && t.Kind() == reflect.Struct {
		return ""
	}
	return f.Name
}

func coderText(c natsmux.Coder) string {
	if e, ok := c.(*natsmux.Error); ok {
		return e.Description
	}
	return fmt.Sprint(c)
}

// truncate shortens s to about maxEcho bytes, on a rune boundary.
func truncate(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	cut := maxEcho
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
