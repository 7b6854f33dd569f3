package natsmux_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/micro"
)

type quotaError struct{}

func (quotaError) Error() string  { return "quota exceeded for plan basic" }
func (quotaError) ErrorCode() int { return 429 }

func TestCodeOf(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{natsmux.NewError(418, "teapot"), 418},
		{fmt.Errorf("wrapped: %w", natsmux.NewError(409, "conflict")), 409},
		{natsmux.ErrNotFound, 404},
		{fmt.Errorf("order 7: %w", natsmux.ErrNotFound), 404},
		{quotaError{}, 429},
		{context.DeadlineExceeded, 504},
		{fmt.Errorf("db: %w", context.DeadlineExceeded), 504},
		{context.Canceled, 503},
		{io.EOF, 500},
		{&micro.PanicError{Value: "x"}, 500},
	}
	for _, tt := range tests {
		if got := natsmux.CodeOf(tt.err); got != tt.want {
			t.Errorf("CodeOf(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestErrorConstructors(t *testing.T) {
	cause := errors.New("connection refused")
	tests := []struct {
		name      string
		err       *natsmux.Error
		wantCode  int
		wantDesc  string
		wantText  string
		wantCause error
	}{
		{"NewError", natsmux.NewError(400, "bad id"), 400, "bad id", "400 bad id", nil},
		{"Errorf", natsmux.Errorf(404, "order %d not found", 7), 404, "order 7 not found", "404 order 7 not found", nil},
		{"Errorf %w", natsmux.Errorf(503, "store unavailable: %w", cause), 503, "store unavailable",
			"503 store unavailable: connection refused", cause},
		{"Wrap", natsmux.Wrap(cause, 502, "upstream failed"), 502, "upstream failed", "502 upstream failed: connection refused", cause},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err.Code != tt.wantCode || tt.err.Description != tt.wantDesc || tt.err.Error() != tt.wantText {
				t.Errorf("got %d %q %q", tt.err.Code, tt.err.Description, tt.err.Error())
			}
			if cause := errors.Unwrap(tt.err); cause != tt.wantCause { //nolint:errorlint // identity of the cause is the point
				t.Errorf("cause %v, want %v", cause, tt.wantCause)
			}
		})
	}
	if !errors.Is(natsmux.Errorf(404, "order %d", 1), natsmux.ErrNotFound) {
		t.Error("an *Error with code 404 is not ErrNotFound")
	}
	if errors.Is(natsmux.NewError(400, "x"), natsmux.ErrNotFound) {
		t.Error("a 400 matches ErrNotFound")
	}
}

func TestSentinels(t *testing.T) {
	tests := []struct {
		err  error
		code int
		text string
	}{
		{natsmux.ErrBadRequest, 400, "bad request"},
		{natsmux.ErrUnauthorized, 401, "unauthorized"},
		{natsmux.ErrForbidden, 403, "forbidden"},
		{natsmux.ErrNotFound, 404, "not found"},
		{natsmux.ErrConflict, 409, "conflict"},
		{natsmux.ErrTooManyRequests, 429, "too many requests"},
		{natsmux.ErrInternal, 500, "internal error"},
		{natsmux.ErrNotImplemented, 501, "not implemented"},
		{natsmux.ErrServiceUnavailable, 503, "service unavailable"},
		{natsmux.ErrTimeout, 504, "timeout"},
	}
	for _, tt := range tests {
		if natsmux.CodeOf(tt.err) != tt.code || tt.err.Error() != tt.text {
			t.Errorf("%v: code %d", tt.err, natsmux.CodeOf(tt.err))
		}
		// Sentinels are values: there is no field to change.
		var e *natsmux.Error
		if errors.As(tt.err, &e) {
			t.Errorf("%v is a mutable *Error", tt.err)
		}
	}
}

func TestErrorHandlers(t *testing.T) {
	panicked := &micro.PanicError{Value: "secret", Stack: []byte("stack")}
	own := &natsmux.Error{Code: 422, Description: "invalid", Data: []byte(`{"f":1}`)}
	tests := []struct {
		name         string
		err          error
		wantCode     int
		wantDefault  string
		wantExposing string
	}{
		{"*Error", own, 422, "invalid", "invalid"},
		{"wrapped *Error", fmt.Errorf("ctx: %w", own), 422, "invalid", "invalid"},
		{"sentinel", natsmux.ErrNotFound, 404, "not found", "not found"},
		{"wrapped sentinel", fmt.Errorf("order 7: %w", natsmux.ErrNotFound), 404, "not found", "not found"},
		{"Coder", quotaError{}, 429, "quota exceeded for plan basic", "quota exceeded for plan basic"},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), 504, "timeout", "timeout"},
		{"canceled", context.Canceled, 503, "service unavailable", "service unavailable"},
		{"plain", errors.New("pq: password authentication failed"), 500, "internal error", "pq: password authentication failed"},
		{"panic", panicked, 500, "internal error", "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := natsmux.DefaultErrorHandler(context.Background(), nil, tt.err)
			exp := natsmux.ExposingErrorHandler(context.Background(), nil, tt.err)
			if def.Code != tt.wantCode || def.Description != tt.wantDefault {
				t.Errorf("default: %d %q, want %d %q", def.Code, def.Description, tt.wantCode, tt.wantDefault)
			}
			if exp.Code != tt.wantCode || exp.Description != tt.wantExposing {
				t.Errorf("exposing: %d %q, want %d %q", exp.Code, exp.Description, tt.wantCode, tt.wantExposing)
			}
			if !errors.Is(def, tt.err) && !errors.Is(tt.err, def) {
				t.Errorf("the reply error lost its cause: %v", def)
			}
		})
	}
}
