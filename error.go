package natsmux

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/micro"
)

// Error is an error with an ADR-32 error reply: a numeric, HTTP-like code,
// a description for the caller, an optional payload (for example field
// errors as JSON) and optional reply headers. It may wrap a cause, which is
// for logs and never sent.
type Error struct {
	Code        int
	Description string
	Data        []byte
	Header      nats.Header
	cause       error
}

// NewError returns an *Error with code and description.
func NewError(code int, description string) *Error {
	return &Error{Code: code, Description: description}
}

// Errorf returns an *Error whose description is formatted; a %w verb makes
// the wrapped error its cause.
func Errorf(code int, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Description: err.Error(), cause: errors.Unwrap(err)}
}

// Wrap returns an *Error with code and description whose cause is err. The
// caller sees the description; logs see the cause too.
func Wrap(err error, code int, description string) *Error {
	return &Error{Code: code, Description: description, cause: err}
}

// Error returns "code description", followed by the cause, if any.
func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%d %s: %v", e.Code, e.Description, e.cause)
	}
	return fmt.Sprintf("%d %s", e.Code, e.Description)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.cause }

// ErrorCode returns e.Code, making *Error a Coder.
func (e *Error) ErrorCode() int { return e.Code }

// Is reports whether target is a sentinel (such as ErrNotFound) with the
// same code, so that errors.Is(Errorf(404, "no order %s", id), ErrNotFound)
// holds.
func (e *Error) Is(target error) bool {
	s, ok := target.(sentinel)
	return ok && s.code == e.Code
}

// Coder is implemented by errors that carry a reply code. CodeOf and the
// default error handler use it; the error's text becomes the description.
type Coder interface {
	ErrorCode() int
}

// sentinel is an immutable error with a code: a value type, so that no
// caller can change what ErrNotFound means for everyone else.
type sentinel struct {
	code        int
	description string
}

func (s sentinel) Error() string  { return s.description }
func (s sentinel) ErrorCode() int { return s.code }

// Sentinel errors, one per common code. Return them as they are, or match
// them with errors.Is; for another description use Errorf with the code.
var (
	ErrBadRequest         error = sentinel{400, "bad request"}
	ErrUnauthorized       error = sentinel{401, "unauthorized"}
	ErrForbidden          error = sentinel{403, "forbidden"}
	ErrNotFound           error = sentinel{404, "not found"}
	ErrConflict           error = sentinel{409, "conflict"}
	ErrTooManyRequests    error = sentinel{429, "too many requests"}
	ErrInternal           error = sentinel{500, "internal error"}
	ErrNotImplemented     error = sentinel{501, "not implemented"}
	ErrServiceUnavailable error = sentinel{503, "service unavailable"}
	ErrTimeout            error = sentinel{504, "timeout"}
)

// CodeOf returns the reply code for err: 0 for nil, the code of an *Error or
// any Coder in the chain, 504 for context.DeadlineExceeded, 503 for
// context.Canceled (the service is shutting down), else 500.
func CodeOf(err error) int {
	if err == nil {
		return 0 // before the target of errors.As, which escapes, is declared
	}
	var coder Coder
	switch {
	case errors.As(err, &coder):
		return coder.ErrorCode()
	case errors.Is(err, context.DeadlineExceeded):
		return 504
	case errors.Is(err, context.Canceled):
		return 503
	default:
		return 500
	}
}

// ErrorHandler turns a handler's error into the error reply. It runs after
// the whole chain, for every error, and may log, translate or enrich.
type ErrorHandler func(ctx context.Context, req *Request, err error) *Error

// DefaultErrorHandler maps errors to replies as docs/errors.md tabulates:
// an *Error is sent as it is; another Coder with its code and its own text;
// a deadline is 504 "timeout"; a cancellation 503 "service unavailable";
// anything else, panics included, 500 "internal error", its text withheld
// from the caller.
func DefaultErrorHandler(_ context.Context, _ *Request, err error) *Error {
	return toError(err, false)
}

// ExposingErrorHandler is DefaultErrorHandler, except that errors without a
// code reply 500 with their own text (a panic's never). Use it only where
// error texts are safe to show callers.
func ExposingErrorHandler(_ context.Context, _ *Request, err error) *Error {
	return toError(err, true)
}

func toError(err error, expose bool) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var coder Coder
	if errors.As(err, &coder) {
		desc := fmt.Sprint(coder)
		return &Error{Code: coder.ErrorCode(), Description: desc, cause: err}
	}
	out := &Error{Code: CodeOf(err), cause: err}
	var panicked *micro.PanicError
	switch {
	case out.Code == 504:
		out.Description = ErrTimeout.Error()
	case out.Code == 503:
		out.Description = ErrServiceUnavailable.Error()
	case expose && !errors.As(err, &panicked):
		out.Description = err.Error()
	default:
		out.Description = ErrInternal.Error()
	}
	return out
}
