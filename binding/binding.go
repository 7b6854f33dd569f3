package binding

import (
	"context"
	"fmt"
	"maps"
	"reflect"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
)

// JSON returns a handler that decodes each request into an In, validates
// it, calls fn and encodes the *Out it returns as the reply; an error from
// fn goes to the error handler as any handler's would, and a nil *Out sends
// an empty reply. fn reads the request itself, for subject parameters or
// headers, with natsmux.RequestFromContext(ctx).
//
// Requests fail before fn runs with, in this order:
//   - 413 when the payload exceeds WithMaxPayload, before anything else is
//     looked at;
//   - 415 when the Content-Type header names a codec the endpoint lacks;
//   - 400 "invalid request: ..." when the payload does not decode, saying
//     where and why without naming Go types, or has fields In lacks in
//     strict mode (WithStrict);
//   - 413 when the collections that `validate` tags dive into hold more
//     elements than WithMaxItems allows, or values of a recursive type nest
//     deeper than MaxDepth;
//   - 400 with field errors as JSON (see NewValidationError) when a
//     `validate` struct rule fails;
//   - the error of In's Validate method, if it has one (run after the struct
//     rules pass): as it is when it carries a code (natsmux.Coder), else 400
//     with its text.
//
// An empty payload decodes as In's zero value, as if it were {}, and is then
// validated: an input whose fields are all optional needs no payload (as
// with `nats request subject ""`), and one with required fields gets a 400
// that lists them, which says more than "empty payload" would.
//
// The handler publishes In's and Out's JSON Schemas in the endpoint's
// metadata (RequestSchemaKey, ResponseSchemaKey), generated here, once.
// JSON panics if a schema cannot be generated.
func JSON[In, Out any](fn func(ctx context.Context, in *In) (*Out, error), opts ...Option) natsmux.Handler {
	if fn == nil {
		panic("binding: JSON(nil)")
	}
	cfg := newConfig(opts)
	return &typed[In, Out]{
		fn:       fn,
		cfg:      cfg,
		input:    inputOf(reflect.TypeFor[*In]()),
		metadata: schemaMetadata(reflect.TypeFor[In](), reflect.TypeFor[Out](), cfg),
	}
}

type typed[In, Out any] struct {
	fn       func(context.Context, *In) (*Out, error)
	cfg      *config
	input    *input
	metadata map[string]string
}

// ServeNATS decodes, validates, calls and encodes.
func (h *typed[In, Out]) ServeNATS(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
	in := new(In)
	codec, named, err := h.cfg.read(ctx, req, in, h.input)
	if err != nil {
		return nil, err
	}
	out, err := h.fn(ctx, in)
	if err != nil {
		return nil, err
	}
	if out == nil {
		return encode(codec, named, nil)
	}
	return encode(codec, named, out)
}

// EndpointMetadata returns the request and response schemas, making the
// handler a natsmux.MetadataProvider.
func (h *typed[In, Out]) EndpointMetadata() map[string]string {
	return maps.Clone(h.metadata)
}

// Decode decodes req's payload into v, a non-nil pointer, with the codec
// the request names, and validates it, for hand-written handlers. Its
// errors are those of JSON's handlers, in the same order: 400 (with field
// errors for failed rules), 413 or 415 as *natsmux.Error, or the coded
// error of v's Validate method; return them as they are.
func Decode(req *natsmux.Request, v any, opts ...Option) error {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer || reflect.ValueOf(v).IsNil() {
		return natsmux.Wrap(fmt.Errorf("binding: Decode needs a non-nil pointer, got %T", v), 500, natsmux.ErrInternal.Error())
	}
	_, _, err := newConfig(opts).read(context.Background(), req, v, inputOf(t))
	return err
}

// Encode returns a reply holding v encoded with the codec req names (the
// default one if none), naming it in the reply's Content-Type header when
// the request did. A nil v gives an empty reply.
func Encode(req *natsmux.Request, v any, opts ...Option) (*natsmux.Response, error) {
	codec, named, err := newConfig(opts).requestCodec(req)
	if err != nil {
		return nil, err
	}
	return encode(codec, named, v)
}

func encode(codec Codec, named bool, v any) (*natsmux.Response, error) {
	resp := &natsmux.Response{}
	if v != nil {
		data, err := codec.Marshal(v)
		if err != nil {
			return nil, natsmux.Wrap(err, 500, natsmux.ErrInternal.Error())
		}
		resp.Data = data
	}
	if named {
		resp.Header = nats.Header{ContentTypeHeader: {codec.ContentType()}}
	}
	return resp, nil
}
