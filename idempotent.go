package natsmux

// IdempotentKey is the endpoint metadata key under which WithIdempotent
// publishes, in INFO, that an endpoint is idempotent; its value is "true".
// The client package reads it to decide which calls it may send more than
// once.
const IdempotentKey = "natsmux.idempotent"

// WithIdempotent declares that the endpoints it applies to are idempotent:
// handling a request twice has the same effect as handling it once, so a
// caller may retry it after a timeout or send a second copy to another
// instance (hedging) without harm. It publishes IdempotentKey in the
// endpoints' metadata; on a group it applies to all the group's endpoints.
// Declare it only where it holds: a client that trusts it resends requests
// whose first copy may already have been handled.
func WithIdempotent() Option {
	return WithMetadata(map[string]string{IdempotentKey: "true"})
}
