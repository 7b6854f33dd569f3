// Package binding serves typed requests: a handler takes and returns Go
// values instead of byte slices, validated at the door, and publishes what
// it takes and returns as JSON Schemas in its endpoint's metadata.
//
// # Overview
//
// JSON turns a function of the form
//
//	func(ctx context.Context, in *In) (*Out, error)
//
// into a natsmux.Handler that decodes each request's payload into an In,
// checks the `validate` struct tags of github.com/go-playground/validator
// and In's own Validate method, calls the function and encodes its *Out as
// the reply. Every way a request can be wrong gets a 4xx *natsmux.Error
// that a caller can act on: 413 for an oversized payload (WithMaxPayload),
// checked first; 415 for an unknown content type; 400 "invalid request:
// ..." for a payload that does not decode (naming the JSON field and the
// kind of value expected, never a Go type); 413 for more elements to
// validate than the item limit (WithMaxItems) or a recursive value nested
// deeper than MaxDepth, since the validator cannot stop early; 400 with a
// JSON list of field errors (FieldError, at most MaxFieldErrors) for
// failed rules.
//
// Decode and Encode do the same work inside hand-written handlers.
//
// Payloads are JSON unless the request's Content-Type header names another
// codec the endpoint accepts (WithCodec); the reply then names the same
// codec. The client package sends the header and decodes with the same
// types, and reads field errors back with FieldErrors.
//
// Validation uses one shared validator, safe for concurrent use and caching
// what it learns about each type; RegisterValidation adds rules to it at
// start-up, and WithValidator replaces it for one endpoint. Field errors
// name fields by their JSON paths ("items[1].sku").
//
// Most types never reach the validator: when a handler is made, binding
// compiles the rules of its input type and, if they are all among those
// the schema expresses (required, min, max, len, gte, lte, gt, lt, oneof,
// email, url, uuid, datetime, with omitempty, omitzero, omitnil, dive,
// structonly, nostructlevel, through nested structs and pointers), checks
// requests itself, with the validator's answers (the same verdicts and
// field errors, in the same order) and no allocation to pass, but for
// maps and the email and url formats. Any other rule, a validator.Valuer,
// an interface field or WithValidator sends the type to the validator.
//
// Each handler publishes the JSON Schemas of In and Out under
// RequestSchemaKey and ResponseSchemaKey, generated once when it is made;
// the router adds them to the endpoint's metadata, so INFO shows them. The
// request schema accepts what the endpoint accepts: rules under omitempty
// bind only values other than the zero value, a property is required
// exactly when the rules refuse its zero value, enums have the field's
// JSON type. What JSON Schema cannot say (rules that name other fields,
// your own rules, Validate methods) is left out, so that the schema is
// looser there, never stricter. docs/binding.md has the details and the
// reasons behind them.
//
// # Example
//
//	type Order struct {
//		SKU string `json:"sku" validate:"required"`
//		Qty int    `json:"qty" validate:"gte=1,lte=100"`
//	}
//	type Receipt struct {
//		ID string `json:"id"`
//	}
//
//	r := natsmux.NewRouter()
//	r.Handle("create", binding.JSON(func(ctx context.Context, o *Order) (*Receipt, error) {
//		return &Receipt{ID: "r-1"}, nil
//	}), natsmux.WithSubject("orders.create"))
package binding
