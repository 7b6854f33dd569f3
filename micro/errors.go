package micro

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"

	"github.com/nats-io/nats.go"
)

// Errors returned by this package. Configuration errors wrap
// ErrConfigValidation, so errors.Is(err, ErrConfigValidation) tells them apart.
var (
	// ErrConfigValidation is wrapped by every error about an invalid service,
	// group or endpoint configuration.
	ErrConfigValidation = errors.New("validation")

	// ErrVerbNotSupported is returned for a Verb other than PING, INFO and STATS.
	ErrVerbNotSupported = errors.New("unsupported verb")

	// ErrServiceNameRequired is returned when a control subject is asked for
	// an instance id without a service name.
	ErrServiceNameRequired = errors.New("service name is required to generate ID control subject")

	// ErrRespond wraps the NATS error of a reply that could not be sent.
	ErrRespond = errors.New("NATS error when sending response")

	// ErrMarshalResponse is returned by RespondJSON when the value cannot be
	// marshalled.
	ErrMarshalResponse = errors.New("marshaling response")

	// ErrArgRequired is returned by Request.Error without a code or description.
	ErrArgRequired = errors.New("argument required")

	// ErrServiceStopped is returned when an endpoint is added to a service that
	// has been stopped. nats.go's micro silently serves such an endpoint.
	ErrServiceStopped = errors.New("service stopped")
)

// NATSError is an error on one of the service's subscriptions, such as a slow
// consumer, a permission violation or a handler panic. Subject is the
// subscription's subject.
type NATSError struct {
	Subject     string
	Description string
	err         error
}

func (e *NATSError) Error() string {
	return fmt.Sprintf("%q: %s", e.Subject, e.Description)
}

// Unwrap returns the underlying error, if any.
func (e *NATSError) Unwrap() error {
	return e.err
}

// Is reports whether target is a NATSError with the same subject and
// description, or matches the underlying error.
func (e *NATSError) Is(target error) bool {
	if e == nil {
		return false
	}
	if t, ok := target.(*NATSError); ok {
		return e.Subject == t.Subject && e.Description == t.Description
	}
	return e.err != nil && errors.Is(e.err, target)
}

// PanicError is the error a NATSError wraps when a handler or stats handler
// panicked. The service recovers, replies 500 where a reply is due and keeps
// serving; Value and Stack are for logs, never for the caller.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("panic: %v", e.Value)
}

// ServiceError is an ADR-32 error reply as a Go error: the numeric code from
// the Nats-Service-Error-Code header, the description from Nats-Service-Error
// and the reply's payload.
type ServiceError struct {
	Code        int
	Description string
	Data        []byte
}

func (e *ServiceError) Error() string {
	return fmt.Sprintf("service error %d: %s", e.Code, e.Description)
}

// ResponseError returns the ADR-32 error carried by a reply as a
// *ServiceError, or nil when msg is not an error reply. A code header that is
// not a number from 100 to 999 (the protocol demands a number; 0 would read
// as "no error") yields code 500 with the header's text kept in the
// description.
func ResponseError(msg *nats.Msg) error {
	if msg == nil || msg.Header == nil {
		return nil
	}
	desc, hasDesc := headerValue(msg.Header, ErrorHeader)
	code, hasCode := headerValue(msg.Header, ErrorCodeHeader)
	if !hasDesc && !hasCode {
		return nil
	}
	n, err := strconv.Atoi(code)
	if err != nil || n < 100 || n > 999 {
		n = 500
		desc = fmt.Sprintf("%s (invalid error code %q)", desc, code)
	}
	return &ServiceError{Code: n, Description: desc, Data: msg.Data}
}

func headerValue(h nats.Header, key string) (string, bool) {
	v, ok := h[key]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// refusedReply is the error of a request refused for its reply subject
// (Config.ReplyPrefixes).
func refusedReply(msg *nats.Msg) *NATSError {
	reply := msg.Reply
	if reply == "" {
		reply = "(none)"
	}
	return &NATSError{Subject: msg.Subject, Description: fmt.Sprintf("refused: reply subject %q is not under an allowed prefix", reply)}
}

func newPanicError(v any) *PanicError {
	return &PanicError{Value: v, Stack: debug.Stack()}
}
