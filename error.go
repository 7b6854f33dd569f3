package natsmux

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

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

// Errorf returns an *Error whose description is formatted as fmt.Sprintf
// would, except that the operands of %w verbs are left out: they are the
// error's cause, which logs see and callers never do. Separators left
// dangling at the end, such as the ": " of "upstream failed: %w", go too:
// Errorf(502, "upstream failed: %w", err) sends "upstream failed".
func Errorf(code int, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Description: withoutWrapped(format, args), cause: errors.Unwrap(err)}
}

// Wrap returns an *Error with code and description whose cause is err. The
// caller sees the description; logs see the cause too.
func Wrap(err error, code int, description string) *Error {
	return &Error{Code: code, Description: description, cause: err}
}

// Error returns "code description", followed by the cause when it has one
// that says more.
func (e *Error) Error() string {
	if e.cause != nil && e.cause.Error() != e.Description {
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

// PanicError is a recovered panic: its value and the stack of the goroutine
// that panicked, for logs. It is the cause of the 500 error that
// middleware.Recover and the router's last-resort recover return; callers
// never see it. It is micro's type, so that a panic reads the same at every
// layer.
type PanicError = micro.PanicError

// CodeOf returns the code of the reply that err gets: 0 for nil; the code of
// an *Error or any Coder in the chain; 504 for context.DeadlineExceeded; 503
// for context.Canceled (the service is shutting down); else 500. A code
// outside 100-999 is 500, as on the wire, so that logs, spans and metrics
// that use CodeOf show the code the caller received.
func CodeOf(err error) int {
	if err == nil {
		return 0 // before the target of errors.As, which escapes, is declared
	}
	var coder Coder
	switch {
	case errors.As(err, &coder):
		if code := coder.ErrorCode(); code >= 100 && code <= 999 {
			return code
		}
		return 500
	case errors.Is(err, context.DeadlineExceeded):
		return 504
	case errors.Is(err, context.Canceled):
		return 503
	default:
		return 500
	}
}

// ErrorHandler maps an error that an endpoint's handler returned to its
// reply: it may translate (sql.ErrNoRows to 404), enrich or log. It runs
// around the handler, inside all middleware, so that Logger, Metrics and
// Tracing see the code the caller receives. Errors that middleware return
// themselves (Timeout's 504, Limit's 429, Recover's 500) already carry
// their codes and are answered as DefaultErrorHandler maps them. A nil
// result is a 500 "internal error".
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
	out := &Error{Code: CodeOf(err), cause: err}
	var coder Coder
	var panicked *PanicError
	switch {
	case errors.As(err, &coder):
		out.Description = fmt.Sprint(coder)
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

// replyOf returns the code and description that err is answered with: the
// code CodeOf gives it, and a description that is never empty, as the
// protocol needs.
func replyOf(err error) (e *Error, code int, description string) {
	e = toError(err, false)
	code, description = CodeOf(e), e.Description
	if description == "" {
		description = "error " + strconv.Itoa(code)
	}
	return e, code, description
}

// withheld stands for a %w operand in a description: it prints a marker
// that withoutWrapped then removes, with the brackets around it.
type withheld struct{}

const withheldMarker = "\x00w\x00"

func (withheld) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(withheldMarker)) }

// withoutWrapped formats like fmt.Sprintf with the operands of %w verbs left
// out, and trims what they leave dangling at the end.
func withoutWrapped(format string, args []any) string {
	if !strings.Contains(format, "%w") && !strings.Contains(format, "]w") {
		return fmt.Sprintf(format, args...)
	}
	args = append([]any(nil), args...)
	verbs := []byte(format)
	arg := 0
	for i := 0; i < len(verbs); i++ {
		if verbs[i] != '%' {
			continue
		}
		// Flags, width, precision and an explicit argument index come before
		// the verb; '*' takes an argument of its own.
		for i++; i < len(verbs) && strings.IndexByte("+-# 0123456789.*[]", verbs[i]) >= 0; i++ {
			switch verbs[i] {
			case '*':
				arg++
			case '[':
				end := strings.IndexByte(format[i:], ']')
				if n, err := strconv.Atoi(format[i+1 : i+max(end, 1)]); end > 0 && err == nil {
					arg = n - 1
				}
			}
		}
		if i >= len(verbs) || verbs[i] == '%' {
			continue
		}
		if verbs[i] == 'w' {
			verbs[i] = 'v'
			if arg >= 0 && arg < len(args) {
				args[arg] = withheld{}
			}
		}
		arg++
	}
	desc := fmt.Sprintf(string(verbs), args...)
	for _, enclosed := range []string{"(" + withheldMarker + ")", "[" + withheldMarker + "]", "{" + withheldMarker + "}", withheldMarker} {
		desc = strings.ReplaceAll(desc, enclosed, "")
	}
	return strings.TrimRight(desc, " :;,-")
}
