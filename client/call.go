package client

import (
	"context"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/binding"
)

// Call sends in to subject, encoded with the client's codec, and decodes
// the reply into a new Out: the caller's side of binding.JSON, with the
// same types. A nil in sends an empty payload, which a typed endpoint reads
// as In's zero value; an empty reply gives Out's zero value. Errors are
// those of Client.Request (a *natsmux.Error for error replies, with field
// errors readable by binding.FieldErrors), or an error for a request that
// does not encode or a reply that does not decode.
func Call[In, Out any](ctx context.Context, c *Client, subject string, in *In) (*Out, error) {
	var data []byte
	if in != nil {
		var err error
		if data, err = c.codec.Marshal(in); err != nil {
			return nil, fmt.Errorf("client: encoding the request to %q: %w", subject, err)
		}
	}
	ct := c.codec.ContentType()
	reply, err := c.request(ctx, subject, data, nats.Header{binding.ContentTypeHeader: {ct}})
	if err != nil {
		return nil, err
	}
	out := new(Out)
	if len(reply.Data) == 0 {
		return out, nil
	}
	if got := binding.ContentTypeOf(reply.Header); got != "" && !strings.EqualFold(got, ct) {
		return nil, fmt.Errorf("client: the reply from %q is %s, not %s", subject, got, ct)
	}
	if err := c.codec.Unmarshal(reply.Data, out); err != nil {
		return nil, fmt.Errorf("client: decoding the reply from %q: %w", subject, err)
	}
	return out, nil
}
