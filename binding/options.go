package binding

import (
	"fmt"
	"strings"

	"github.com/go-playground/validator/v10"

	"github.com/natsmux/natsmux"
)

// Option configures JSON, Decode and Encode.
type Option func(*config)

type config struct {
	codecs     []Codec // accepted; the first answers requests that name none
	strict     bool
	maxPayload int
	validator  *validator.Validate // nil: the shared one
}

// defaultConfig serves calls without options, so that Decode and Encode
// allocate no configuration per request.
var defaultConfig = config{codecs: []Codec{JSONCodec{}}}

func newConfig(opts []Option) *config {
	if len(opts) == 0 {
		return &defaultConfig
	}
	c := &config{}
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
// ("payload too large"), before decoding. Without it the NATS server's
// max_payload (1 MiB by default) is the only bound.
func WithMaxPayload(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("binding: WithMaxPayload(%d): the limit must be at least 1 byte", n))
	}
	return func(c *config) { c.maxPayload = n }
}

// WithValidator validates with v instead of the shared validator, for
// rules of one endpoint's own. NewValidator returns one configured like the
// shared one (JSON field names in errors); a validator from validator.New
// reports Go field names.
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
