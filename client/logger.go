package client

import (
	"context"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
)

// logMessage is the message of Logger's records.
const logMessage = "nats call"

// LoggerOption configures Logger.
type LoggerOption func(*loggerConfig)

type loggerConfig struct {
	logger                            *slog.Logger // nil: slog.Default() when the call is logged
	success, clientError, serverError slog.Level
}

// WithLogger sets the logger that Logger writes to; by default
// slog.Default(), looked up at each call so that a later slog.SetDefault
// applies.
func WithLogger(l *slog.Logger) LoggerOption {
	if l == nil {
		panic("client: WithLogger: nil logger")
	}
	return func(c *loggerConfig) { c.logger = l }
}

// WithLogLevels sets the level of the record of a successful call (by
// default slog.LevelDebug), of one that failed with a code below 500
// (slog.LevelWarn) and of one that failed with 500 or above, timeouts and
// "no responders" included (slog.LevelError).
func WithLogLevels(success, clientError, serverError slog.Level) LoggerOption {
	return func(c *loggerConfig) { c.success, c.clientError, c.serverError = success, clientError, serverError }
}

// Logger returns middleware that logs one record per call with log/slog
// when it ends: "nats call" with the subject, the template (when known),
// the code (natsmux.CodeOf: 0 for success), the duration, the request id
// (from DefaultRequestIDHeader, which RequestID sets when it runs before
// Logger), the reply's size and the error, if
// any. The level follows the code (see WithLogLevels); successes are
// logged at Debug by default, since a caller usually makes many calls and
// the service logs each of them already. The record is logged with the
// call's context, so a handler that adds trace ids to records finds them.
func Logger(opts ...LoggerOption) Middleware {
	cfg := loggerConfig{success: slog.LevelDebug, clientError: slog.LevelWarn, serverError: slog.LevelError}
	for _, opt := range opts {
		opt(&cfg)
	}
	return func(next Invoker) Invoker {
		return InvokerFunc(func(ctx context.Context, inv *Invocation) (*nats.Msg, error) {
			start := time.Now()
			reply, err := next.Invoke(ctx, inv)
			code := 0
			if err != nil {
				code = natsmux.CodeOf(err)
			}
			logger := cfg.logger
			if logger == nil {
				logger = slog.Default()
			}
			if level := cfg.level(code); logger.Enabled(ctx, level) {
				logger.LogAttrs(ctx, level, logMessage, callLogAttrs(inv, code, time.Since(start), reply, err)...)
			}
			return reply, err
		})
	}
}

func (c *loggerConfig) level(code int) slog.Level {
	switch {
	case code == 0:
		return c.success
	case code < 500:
		return c.clientError
	default:
		return c.serverError
	}
}

func callLogAttrs(inv *Invocation, code int, elapsed time.Duration, reply *nats.Msg, err error) []slog.Attr {
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs, slog.String("subject", inv.Subject))
	if inv.Template != "" {
		attrs = append(attrs, slog.String("template", inv.Template))
	}
	attrs = append(attrs, slog.Int("code", code), slog.Duration("duration", elapsed))
	if id := natsmux.HeaderCarrier(inv.Header).Get(DefaultRequestIDHeader); id != "" {
		attrs = append(attrs, slog.String("request_id", id))
	}
	if reply != nil {
		attrs = append(attrs, slog.Int("reply_size", len(reply.Data)))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	return attrs
}
