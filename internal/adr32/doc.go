// Package adr32 holds the rules of the NATS Service API (ADR-32) that micro
// and the router both apply, so that each is decided in one place: what a
// valid name, subject and queue group are, how group prefixes join, how
// settings are inherited from a service down to an endpoint, which subjects
// overlap, and how long a caller's timeout may be.
//
// Errors here say what is wrong and nothing more; micro wraps them in
// micro.ErrConfigValidation, the router panics with them.
package adr32
