// Package schema reads the JSON Schemas that endpoints publish in their
// metadata: it makes valid and invalid example payloads from them (for
// contract tests and documentation), flattens them into tables of fields,
// and tells which changes between two versions break callers.
//
// It reads the keywords that typed endpoints publish (draft 2020-12, as
// binding generates them) and the common ones of other producers; it does
// not validate. Documents are decoded into Object values, which keep the
// order of their members, so that fields come out in the order they were
// declared.
package schema
