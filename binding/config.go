package binding

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/go-playground/validator/v10"

	"github.com/natsmux/natsmux"
)

// Option configures JSON, Decode, Encode and SchemaMetadata.
type Option func(*config)

// config holds the options of one handler, or of one Decode or Encode
// call; its methods are the steps every request goes through.
type config struct {
	codecs     []Codec // accepted; the first answers requests that name none
	strict     bool
	maxPayload int
	maxItems   int
	validator  *validator.Validate // nil: the shared one
}

// defaultConfig serves calls without options, so that Decode and Encode
// allocate no configuration per request.
var defaultConfig = config{codecs: []Codec{JSONCodec{}}, maxItems: DefaultMaxItems}

func newConfig(opts []Option) *config {
	if len(opts) == 0 {
		return &defaultConfig
	}
	c := &config{maxItems: DefaultMaxItems}
	for _, opt := range opts {
		opt(c)
	}
	if c.codecFor(JSONCodec{}.ContentType()) == nil {
		c.codecs = append(c.codecs, JSONCodec{})
	}
	return c
}

// WithStrict rejects requests with fields the input type does not have
// (400 "invalid request: unknown field ..."), for codecs that implement
// StrictUnmarshaler, as JSONCodec does. By default unknown fields are
// ignored, so that callers may send fields a newer version will read. The
// published request schema allows additional properties only without it.
func WithStrict() Option {
	return func(c *config) { c.strict = true }
}

// WithMaxPayload rejects requests whose payload exceeds n bytes with 413
// ("payload too large"), before anything else about the request is looked
// at. Without it the NATS server's max_payload (1 MiB by default) is the
// only bound.
func WithMaxPayload(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("binding: WithMaxPayload(%d): the limit must be at least 1 byte", n))
	}
	return func(c *config) { c.maxPayload = n }
}

// WithMaxItems sets how many elements the collections that `validate` tags
// dive into may hold together in one request (DefaultMaxItems without
// it). A request with more is refused with 413 before it is validated,
// since the validator builds an error for every failed rule of every
// element before binding can stop it: a failing request costs about 350
// bytes per element and failed rule.
func WithMaxItems(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("binding: WithMaxItems(%d): the limit must be at least 1 element", n))
	}
	return func(c *config) { c.maxItems = n }
}

// WithValidator validates with v instead of the shared validator, for
// rules of one endpoint's own. NewValidator returns one configured like the
// shared one (JSON field names in errors); a validator from validator.New
// reports Go field names. v checks every type, those the fast path would
// check too.
func WithValidator(v *validator.Validate) Option {
	if v == nil {
		panic("binding: WithValidator(nil)")
	}
	return func(c *config) { c.validator = v }
}

// WithCodec makes the endpoint accept payloads in codec's content type, and
// answer in it requests that name no content type. JSONCodec stays accepted
// for requests that name application/json. With several WithCodec options,
// the first is the default.
func WithCodec(codec Codec) Option {
	if codec == nil {
		panic("binding: WithCodec(nil)")
	}
	return func(c *config) {
		if c.codecFor(codec.ContentType()) == nil {
			c.codecs = append(c.codecs, codec)
		}
	}
}

// read decodes req's payload into v and checks it, in the order docs
// promise: payload size (413), content type (415), decoding (400), the
// item and depth limits (413), the struct rules (400), v's Validate method.
// It returns the request's codec and whether the request named it.
func (c *config) read(ctx context.Context, req *natsmux.Request, v any, in *input) (Codec, bool, error) {
	if c.maxPayload > 0 && len(req.Data) > c.maxPayload {
		return nil, false, natsmux.Errorf(413, "payload too large: %d bytes, the limit is %d", len(req.Data), c.maxPayload)
	}
	codec, named, err := c.requestCodec(req)
	if err != nil {
		return nil, false, err
	}
	if err := c.decode(req.Data, codec, v); err != nil {
		return nil, false, err
	}
	return codec, named, c.check(ctx, v, in)
}

func (c *config) decode(data []byte, codec Codec, v any) error {
	if len(data) == 0 {
		return nil // the zero value, as if the payload were {}
	}
	var err error
	if strict, ok := codec.(StrictUnmarshaler); ok && c.strict {
		err = strict.UnmarshalStrict(data, v)
	} else {
		err = codec.Unmarshal(data, v)
	}
	if err != nil {
		return natsmux.Wrap(errors.Unwrap(err), 400, "invalid request: "+err.Error())
	}
	return nil
}

// check measures v (a pointer) against the limits when its type needs it,
// runs the struct rules when it has any, then v's Validate method if it
// has one and the rules passed. The fast path does the first two in one
// walk, for the types it covers and the shared validator.
func (c *config) check(ctx context.Context, v any, in *input) error {
	if in.fast != nil && c.validator == nil && !fastOff.Load() {
		if err := in.fast.check(reflect.ValueOf(v).UnsafePointer(), c.maxItems, in.measured); err != nil {
			return err
		}
	} else if err := c.checkRules(ctx, v, in); err != nil {
		return err
	}
	if val, ok := v.(validatable); ok {
		if err := val.Validate(); err != nil {
			return validateMethodError(err)
		}
	}
	return nil
}

// checkRules measures v and runs the validator.
func (c *config) checkRules(ctx context.Context, v any, in *input) error {
	if in.measured {
		m := measure{maxItems: c.maxItems}
		if err := m.value(reflect.ValueOf(v), nil, 0); err != nil {
			return err
		}
	}
	if in.structRules {
		if err := c.validate().StructCtx(ctx, v); err != nil {
			return rulesError(err, reflect.TypeOf(v).Elem().Name())
		}
	}
	return nil
}

func (c *config) validate() *validator.Validate {
	if c.validator != nil {
		return c.validator
	}
	return sharedValidator()
}

func (c *config) codecFor(contentType string) Codec {
	for _, codec := range c.codecs {
		if strings.EqualFold(codec.ContentType(), contentType) {
			return codec
		}
	}
	return nil
}

// requestCodec returns the codec for req and whether req named it: the
// reply then names it too.
func (c *config) requestCodec(req *natsmux.Request) (Codec, bool, error) {
	ct := ContentTypeOf(req.Header)
	if ct == "" {
		return c.codecs[0], false, nil
	}
	if codec := c.codecFor(ct); codec != nil {
		return codec, true, nil
	}
	accepted := make([]string, len(c.codecs))
	for i, codec := range c.codecs {
		accepted[i] = codec.ContentType()
	}
	return nil, false, natsmux.Errorf(415, "unsupported content type %q; this endpoint accepts %s",
		truncate(ct), strings.Join(accepted, ", "))
}
