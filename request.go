package natsmux

import (
	"encoding/json"
	"maps"
	"strings"

	"github.com/nats-io/nats.go"
)

// Request is one message received by an endpoint. Handlers treat it as
// read-only, apart from ReplyHeader.
type Request struct {
	// Subject is the subject the message was sent to.
	Subject string
	// Reply is where the reply goes; empty when the sender wants none.
	Reply string
	// Header holds the message's headers. Its keys are case-sensitive, as
	// in NATS; GetHeader finds a key whatever its case.
	Header nats.Header
	// Data is the payload.
	Data []byte
	// Endpoint describes the endpoint serving the request.
	Endpoint *Endpoint

	replyHeader      nats.Header
	errorHeader      headerField // the first header of SetErrorReplyHeader, inline: RequestID sets one on every request
	moreErrorHeaders nats.Header // the others
	exchange         *exchange   // the request's one reply; nil for a request made by NewRequest
	parent           *Request    // set by child: its reply headers come first
}

// headerField is a header key and its values.
type headerField struct {
	key    string
	values []string
}

// NewRequest returns a request for subject with data, for calling handlers
// directly in tests. Router.ServeNATS fills in the endpoint.
func NewRequest(subject string, data []byte) *Request {
	return &Request{Subject: subject, Data: data}
}

// GetHeader returns the first value of the header key, matching the key's
// case exactly if the request has it so, and ignoring case otherwise, the
// way the framework itself reads X-Request-Id, Content-Type and traceparent
// (NATS header keys are case-sensitive, and clients differ in how they
// write them). It returns "" when the request has no such header.
func (r *Request) GetHeader(key string) string {
	return HeaderCarrier(r.Header).Get(key)
}

// Param returns the subject token that the endpoint's template names name:
// for the template "orders.{id}.items.{item}" and the subject
// "orders.42.items.7", Param("id") is "42". It returns "" for a name the
// template does not have. A request whose parameters hold a wildcard, a
// control character or invalid UTF-8 is answered 400 before any handler
// sees it (see docs/routing.md), so a parameter is safe to log and to use in
// a subject or key.
func (r *Request) Param(name string) string {
	if r.Endpoint == nil {
		return ""
	}
	i := r.Endpoint.paramIndex(name)
	if i < 0 {
		return ""
	}
	return token(r.Subject, i)
}

// Params returns every subject parameter by name.
func (r *Request) Params() map[string]string {
	if r.Endpoint == nil || len(r.Endpoint.params) == 0 {
		return nil
	}
	out := make(map[string]string, len(r.Endpoint.params))
	for _, p := range r.Endpoint.params {
		out[p.name] = token(r.Subject, p.token)
	}
	return out
}

// token returns the i-th dot-separated token of subject, or "".
func token(subject string, i int) string {
	for ; i > 0; i-- {
		dot := strings.IndexByte(subject, '.')
		if dot < 0 {
			return ""
		}
		subject = subject[dot+1:]
	}
	if dot := strings.IndexByte(subject, '.'); dot >= 0 {
		return subject[:dot]
	}
	return subject
}

// ReplyHeader returns headers to add to whatever reply the request gets,
// error replies included. Middleware uses it for headers that belong on
// every reply; a handler's own Response.Header and Error.Header win where
// keys collide.
func (r *Request) ReplyHeader() nats.Header {
	if r.replyHeader == nil {
		r.replyHeader = make(nats.Header, 2) // sized, so that the first Set does not grow it
	}
	return r.replyHeader
}

// SetErrorReplyHeader sets the header key to values on the request's error
// replies only, whoever sends them: the handler, Recover, the ErrorHandler
// or an early 504 from TimeoutHandler. It wins over ReplyHeader where keys
// collide, and an Error's own Header wins over it. The request keeps values
// as they are. RequestID puts its id here: a successful reply without
// headers is cheaper for NATS to send and for every caller to read, and
// setting one header here allocates nothing.
func (r *Request) SetErrorReplyHeader(key string, values ...string) {
	if key == "" {
		panic("natsmux: SetErrorReplyHeader: empty key")
	}
	switch {
	case r.errorHeader.key == "" || r.errorHeader.key == key:
		r.errorHeader = headerField{key, values}
	case r.moreErrorHeaders == nil:
		r.moreErrorHeaders = nats.Header{key: values}
	default:
		r.moreErrorHeaders[key] = values
	}
}

// child returns a copy of the request for a handler whose result may come
// too late to use (TimeoutHandler): it shares the payload, headers, endpoint
// and reply, and has reply headers of its own, which come after the
// original's on a reply sent through the copy.
func (r *Request) child() Request {
	c := *r
	c.replyHeader, c.errorHeader, c.moreErrorHeaders, c.parent = nil, headerField{}, nil, r
	return c
}

// adoptReplyHeader sets on r the reply headers set on from, a child of r
// whose handler finished in time, without allocating when there are none.
func (r *Request) adoptReplyHeader(from *Request) {
	if len(from.replyHeader) > 0 {
		maps.Copy(r.ReplyHeader(), from.replyHeader)
	}
	if from.errorHeader.key != "" {
		r.SetErrorReplyHeader(from.errorHeader.key, from.errorHeader.values...)
	}
	for key, values := range from.moreErrorHeaders {
		r.SetErrorReplyHeader(key, values...)
	}
}

// replyHeaders returns the headers a reply to r carries, an error reply
// when failed: its ancestors' first, then its own.
func (r *Request) replyHeaders(failed bool) nats.Header {
	h := r.replyHeader
	if failed && r.errorHeader.key != "" {
		h = mergeHeaders(h, r.errorReplyHeader())
	}
	if r.parent == nil {
		return h
	}
	return mergeHeaders(r.parent.replyHeaders(failed), h)
}

// errorReplyHeader returns what SetErrorReplyHeader set, as a header.
func (r *Request) errorReplyHeader() nats.Header {
	h := make(nats.Header, 1+len(r.moreErrorHeaders))
	maps.Copy(h, r.moreErrorHeaders)
	h[r.errorHeader.key] = r.errorHeader.values
	return h
}

// mergeHeaders returns base with extra's values set over it, in a new map
// when both have entries, so that neither is changed.
func mergeHeaders(base, extra nats.Header) nats.Header {
	switch {
	case len(base) == 0:
		return extra
	case len(extra) == 0:
		return base
	}
	h := make(nats.Header, len(base)+len(extra))
	maps.Copy(h, base)
	maps.Copy(h, extra)
	return h
}

// Response is a reply: a payload and optional headers.
type Response struct {
	Header nats.Header
	Data   []byte
}

// Reply returns a Response with data as payload.
func Reply(data []byte) *Response {
	return &Response{Data: data}
}

// ReplyJSON returns a Response with the JSON encoding of v, and the
// encoding error, if any; it fits a handler's return statement.
func ReplyJSON(v any) (*Response, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, Wrap(err, 500, "encoding reply")
	}
	return &Response{Data: data}, nil
}

// SetHeader sets a header on the response and returns it, for chaining.
func (r *Response) SetHeader(key, value string) *Response {
	if r.Header == nil {
		r.Header = nats.Header{}
	}
	r.Header.Set(key, value)
	return r
}
