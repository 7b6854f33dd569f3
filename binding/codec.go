package binding

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	fastjson "github.com/goccy/go-json"
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

// JSONCodec is the default codec: JSON as encoding/json reads and writes it,
// with decode errors that a caller can act on. They name the field by its JSON path and the kind of
// value expected ("field \"qty\": expected integer, got string"), never a Go
// type; the original error stays in the chain for logs.
type JSONCodec struct{}

// ContentType returns "application/json".
func (JSONCodec) ContentType() string { return "application/json" }

// JSON goes through github.com/goccy/go-json, which reads and writes it as
// encoding/json does (FuzzCodecAgreesWithEncodingJSON holds it to that) at
// about four times the speed, with less than half the allocations. A
// payload that does not decode is decoded again by encoding/json, whose
// errors the descriptions are made from: errors are rare, and callers
// get the same words either way.

// Marshal returns the JSON encoding of v.
func (JSONCodec) Marshal(v any) ([]byte, error) { return fastjson.Marshal(v) }

// Unmarshal decodes the JSON in data into v, ignoring unknown fields.
func (JSONCodec) Unmarshal(data []byte, v any) error {
	if fastjson.Unmarshal(data, v) == nil {
		return nil
	}
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
	what := fmt.Sprintf("expected %s, got %s", want, truncate(got))
	if num, ok := strings.CutPrefix(got, "number "); ok {
		if bounds := rangeOf(e.Type); bounds != "" && outOfRange(num, e.Type) {
			what = fmt.Sprintf("number %s is out of range %s", truncate(num), bounds)
		}
	}
	// The path has no indices (encoding/json does not track them); the
	// offset tells which element of an array is meant.
	if e.Field == "" {
		return fmt.Sprintf("%s (near offset %d)", what, e.Offset)
	}
	return fmt.Sprintf("field %q: %s (near offset %d)", truncate(jsonPath(root, e.Field)), what, e.Offset)
}

// outOfRange reports whether num, a JSON number that did not decode into
// a number of type t, failed for its size: an integer literal for an
// integer type (a fraction or an exponent fails for its form), or any
// number beyond a float type's range.
func outOfRange(num string, t reflect.Type) bool {
	switch derefType(t).Kind() {
	case reflect.Float32, reflect.Float64:
		_, err := strconv.ParseFloat(num, derefType(t).Bits())
		return errors.Is(err, strconv.ErrRange)
	}
	_, isInteger := new(big.Int).SetString(num, 10)
	return isInteger
}

// rangeOf returns the range of the numbers of type t, or "" if t is not a
// number type.
func rangeOf(t reflect.Type) string {
	t = derefType(t)
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprintf("[%d, %d]", math.MinInt64>>(64-t.Bits()), math.MaxInt64>>(64-t.Bits()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return fmt.Sprintf("[0, %d]", uint64(math.MaxUint64)>>(64-t.Bits()))
	case reflect.Float32:
		return fmt.Sprintf("[%g, %g]", -math.MaxFloat32, math.MaxFloat32)
	case reflect.Float64:
		return fmt.Sprintf("[%g, %g]", -math.MaxFloat64, math.MaxFloat64)
	}
	return ""
}

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

// jsonKind names the kind of JSON value that decodes into t.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	t = derefType(t)
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
	if f.Anonymous && derefType(f.Type).Kind() == reflect.Struct {
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

// elide shortens s to about n bytes by cutting out its middle, on rune
// boundaries: the start and the end of a path or message say the most.
func elide(s string, n int) string {
	if len(s) <= n {
		return s
	}
	head, tail := n/2, len(s)-(n-n/2)
	for head > 0 && !utf8.RuneStart(s[head]) {
		head--
	}
	for tail < len(s) && !utf8.RuneStart(s[tail]) {
		tail++
	}
	return s[:head] + "..." + s[tail:]
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
