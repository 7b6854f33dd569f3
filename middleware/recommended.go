package middleware

import "github.com/natsmux/natsmux"

// Recommended returns the global middleware set in the recommended order,
// each with its defaults: Tracing, RequestID, Logger, Metrics, Recover.
//
// Tracing comes first so that everything after it runs inside the span and
// logs carry its trace id; RequestID next, so that the id is on the context
// for Logger and on every error reply, the ones of Recover and Timeout
// included; Logger and Metrics then see the final code
// and duration of every request, panics included, because Recover is
// innermost and turns a panic into a 500 before they see it. Timeout and
// Limit go per endpoint or group, inside this set:
//
//	r.Use(middleware.Recommended()...)
//	r.With(middleware.Timeout(2*time.Second)).HandleFunc("slow", slow)
func Recommended() []natsmux.Middleware {
	return []natsmux.Middleware{Tracing(), RequestID(), Logger(), Metrics(), Recover()}
}
