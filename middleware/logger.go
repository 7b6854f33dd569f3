package middleware

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/natsmux/natsmux"
)

// Keys of the attributes that Logger writes and that LogHandler stamps on
// records logged with a request's context.
const (
	logKeyService   = "service"
	logKeyEndpoint  = "endpoint"
	logKeyRequestID = "request_id"
	logKeyTraceID   = "trace_id"
	logKeySpanID    = "span_id"
)

// Messages of Logger's records.
const (
	logMessageDone  = "nats request"
	logMessageStart = "nats request started"
)

// LoggerOption configures Logger.
type LoggerOption func(*loggerConfig)

type loggerConfig struct {
	logger                            *slog.Logger // nil: slog.Default() when the request is logged
	success, clientError, serverError slog.Level
	start                             bool
}

// base returns the logger that records go to.
func (c *loggerConfig) base() *slog.Logger {
	if c.logger != nil {
		return c.logger
	}
	return slog.Default()
}

// WithLogger sets the logger that Logger writes to; by default
// slog.Default(), looked up at each request so that a later
// slog.SetDefault applies.
func WithLogger(l *slog.Logger) LoggerOption {
	if l == nil {
		panic("middleware: WithLogger: nil logger")
	}
	return func(c *loggerConfig) { c.logger = l }
}

// WithLogLevels sets the level of the record of a successful request (by
// default slog.LevelInfo), of one that failed with a code below 500
// (slog.LevelWarn) and of one that failed with 500 or above
// (slog.LevelError).
func WithLogLevels(success, clientError, serverError slog.Level) LoggerOption {
	return func(c *loggerConfig) { c.success, c.clientError, c.serverError = success, clientError, serverError }
}

// WithLogStart adds a record when a request starts, at the success level,
// before the handler runs; by default only its end is logged.
func WithLogStart() LoggerOption {
	return func(c *loggerConfig) { c.start = true }
}

// Logger returns middleware that logs one record per request with log/slog
// when the request ends: "nats request" with the service, endpoint,
// subject, code (natsmux.CodeOf: 0 for success), duration, request_id (when
// RequestID runs before Logger), request_size and reply_size, the error when
// there is one, and for a panic recovered by Recover inside Logger the panic
// value and its stack. Attributes that handlers add with AddLogAttrs come
// last. The level follows the code (see WithLogLevels); the record is logged
// with the request's context, so a handler wrapped by LogHandler adds the
// trace and span ids. The attributes that are the same for all the requests
// of an endpoint (service, endpoint, and a subject without parameters) are
// given to the logger once, with WithAttrs, where slog's handlers format
// them once rather than per record.
//
// Put Logger inside Tracing and RequestID and outside Recover, as
// Recommended does. A request aborted with natsmux.ErrAbortHandler is not
// logged.
func Logger(opts ...LoggerOption) natsmux.Middleware {
	cfg := loggerConfig{success: slog.LevelInfo, clientError: slog.LevelWarn, serverError: slog.LevelError}
	for _, opt := range opts {
		opt(&cfg)
	}
	return func(next natsmux.Handler) natsmux.Handler {
		loggers := perEndpoint(next, newEndpointLogger)
		return natsmux.HandlerFunc(func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			el := loggers(req)
			h := el.handler(cfg.base())
			start := time.Now()
			lc := &logContext{Context: ctx}
			var buf [12]slog.Attr // on the stack: a record copies what it is given
			if cfg.start && h.Enabled(ctx, cfg.success) {
				logRecord(ctx, h, start, cfg.success, logMessageStart, el.requestAttrs(ctx, req, buf[:0]))
			}
			resp, err := next.ServeNATS(lc, req)
			code := 0
			if err != nil { // CodeOf allocates even for nil
				code = natsmux.CodeOf(err)
			}
			level := cfg.level(code)
			if h.Enabled(ctx, level) {
				end := time.Now()
				attrs := append(el.requestAttrs(ctx, req, buf[:0]),
					slog.Int("code", code),
					slog.Duration("duration", end.Sub(start)),
					slog.Int("reply_size", replySize(resp, err)))
				attrs = appendErrorAttrs(attrs, err)
				attrs = lc.appendAttrs(attrs)
				logRecord(ctx, h, end, level, logMessageDone, attrs)
			}
			return resp, err
		})
	}
}

// recordPC is the source of Logger's records, for handlers that add it. The
// records all come from the same place, so it is found once: slog.Logger
// asks the runtime for its caller on every record, which would cost a
// request about half a microsecond.
var recordPC = func() uintptr {
	var pcs [1]uintptr
	runtime.Callers(1, pcs[:])
	return pcs[0]
}()

// logRecord hands a record to h, as slog.Logger.LogAttrs does but with
// recordPC and the time t that the caller read already.
func logRecord(ctx context.Context, h slog.Handler, t time.Time, level slog.Level, msg string, attrs []slog.Attr) {
	r := slog.NewRecord(t, level, msg, recordPC)
	r.AddAttrs(attrs...)
	_ = h.Handle(ctx, r) // as slog.Logger, which has no one to report to
}

// endpointLogger prepares the records of one endpoint: the attributes that
// are the same for all its requests go to the logger once, with WithAttrs,
// so that a handler such as slog's JSON handler formats them once, not per
// record.
type endpointLogger struct {
	fixed        []slog.Attr // service, endpoint, and the subject when it has no parameters
	fixedSubject bool
	bound        atomic.Pointer[boundHandler]
}

// boundHandler is base's handler with the endpoint's fixed attributes.
type boundHandler struct {
	base    *slog.Logger
	handler slog.Handler
}

func newEndpointLogger(ep *natsmux.Endpoint) *endpointLogger {
	el := &endpointLogger{fixedSubject: fixedSubject(ep)}
	el.fixed = []slog.Attr{slog.String(logKeyService, ep.Service), slog.String(logKeyEndpoint, ep.Name)}
	if el.fixedSubject {
		el.fixed = append(el.fixed, slog.String("subject", ep.Subject))
	}
	return el
}

// handler returns base's handler with the fixed attributes, made again only
// when base changes (slog.SetDefault).
func (el *endpointLogger) handler(base *slog.Logger) slog.Handler {
	if b := el.bound.Load(); b != nil && b.base == base {
		return b.handler
	}
	b := &boundHandler{base: base, handler: base.Handler().WithAttrs(el.fixed)}
	el.bound.Store(b)
	return b.handler
}

// requestAttrs appends what is known of a request before it is served,
// beyond the endpoint's fixed attributes.
func (el *endpointLogger) requestAttrs(ctx context.Context, req *natsmux.Request, attrs []slog.Attr) []slog.Attr {
	if !el.fixedSubject {
		attrs = append(attrs, slog.String("subject", req.Subject))
	}
	attrs = append(attrs, slog.Int("request_size", len(req.Data)))
	if id := RequestIDFromContext(ctx); id != "" {
		attrs = append(attrs, slog.String(logKeyRequestID, id))
	}
	return attrs
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

// replySize is the payload size of the reply, or of the error reply when
// the error carries a payload.
func replySize(resp *natsmux.Response, err error) int {
	switch {
	case err != nil:
		return errorReplySize(err)
	case resp != nil:
		return len(resp.Data)
	default:
		return 0
	}
}

// errorReplySize is apart from replySize because the target of errors.As
// escapes to the heap, which a successful request must not pay for.
func errorReplySize(err error) int {
	var e *natsmux.Error
	if errors.As(err, &e) {
		return len(e.Data)
	}
	return 0
}

func appendErrorAttrs(attrs []slog.Attr, err error) []slog.Attr {
	if err == nil {
		return attrs
	}
	attrs = append(attrs, slog.String("error", errorText(err)))
	var perr *natsmux.PanicError
	if errors.As(err, &perr) {
		attrs = append(attrs, slog.Any("panic", perr.Value), slog.String("stack", string(perr.Stack)))
	}
	return attrs
}

// errorText is what a record says of an error: an *natsmux.Error's
// description and cause, without the code, which the record has apart.
func errorText(err error) string {
	var e *natsmux.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	if cause := e.Unwrap(); cause != nil && cause.Error() != e.Description {
		return e.Description + ": " + cause.Error()
	}
	return e.Description
}

type logAttrsKey struct{}

// logContext collects the attributes that handlers add to the request's
// record. The lock matters when Timeout has stopped waiting for a handler
// that keeps running and adding.
type logContext struct {
	context.Context
	mu    sync.Mutex
	attrs []slog.Attr
}

func (c *logContext) Value(key any) any {
	if key == (logAttrsKey{}) {
		return c
	}
	return c.Context.Value(key)
}

func (c *logContext) appendAttrs(attrs []slog.Attr) []slog.Attr {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append(attrs, c.attrs...)
}

// AddLogAttrs adds attributes to the record that Logger writes at the end of
// the current request, such as an order id found while serving it. Outside
// of Logger it does nothing.
func AddLogAttrs(ctx context.Context, attrs ...slog.Attr) {
	c, ok := ctx.Value(logAttrsKey{}).(*logContext)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.attrs = append(c.attrs, attrs...)
}
