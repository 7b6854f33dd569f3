package binding

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-playground/validator/v10"

	"github.com/natsmux/natsmux"
)

// FieldError is one failed rule, as the body of a validation failure lists
// it: the field by its JSON path ("address.city", "items[2].sku"), the
// rule's tag ("required", "min"), its parameter ("3"), and a message for
// people ("items[2].sku is required").
type FieldError struct {
	Field   string `json:"field"`
	Rule    string `json:"rule"`
	Param   string `json:"param,omitempty"`
	Message string `json:"message"`
}

// validationBody is the payload of a validation failure's error reply.
type validationBody struct {
	Errors []FieldError `json:"errors"`
	More   int          `json:"more,omitempty"` // failures past MaxFieldErrors, not listed
}

// MaxFieldErrors is how many field errors the body of a validation failure
// lists, so that its size has a bound whatever the request; the body's
// "more" counts the others. Each string of a listed error is cut to
// maxFieldText bytes too, around its middle.
const MaxFieldErrors = 100

// maxFieldText bounds each string of a listed FieldError: paths hold the
// caller's map keys, which may be long.
const maxFieldText = 256

// maxSummary is how many field messages a validation failure's description
// repeats; the body lists more.
const maxSummary = 3

// NewValidationError returns the 400 error a validation failure replies
// with: its Data is the JSON object {"errors": [FieldError...]}, its
// description sums up the first messages. A FieldError without a Message
// gets one from its field and rule. A Validate method or a handler returns
// it to report field errors the way struct rules do. The body lists at
// most MaxFieldErrors of them, and says how many more there are in its
// "more" member.
func NewValidationError(fields ...FieldError) *natsmux.Error {
	return validationError(fields, len(fields))
}

// validationError is NewValidationError for the first of total failures.
func validationError(fields []FieldError, total int) *natsmux.Error {
	listed := make([]FieldError, min(len(fields), MaxFieldErrors))
	msgs := make([]string, 0, min(len(listed), maxSummary))
	for i, fe := range fields[:len(listed)] {
		if fe.Message == "" {
			fe.Message = message(fe.Field, fe.Rule, fe.Param, reflect.Invalid)
		}
		listed[i] = FieldError{Field: elide(fe.Field, maxFieldText), Rule: elide(fe.Rule, maxFieldText),
			Param: elide(fe.Param, maxFieldText), Message: elide(fe.Message, maxFieldText)}
		if i < maxSummary {
			msgs = append(msgs, listed[i].Message)
		}
	}
	desc := "invalid request: " + strings.Join(msgs, "; ")
	if total > len(msgs) {
		desc += fmt.Sprintf("; and %d more", total-len(msgs))
	}
	var data bytes.Buffer
	enc := json.NewEncoder(&data)
	enc.SetEscapeHTML(false)                                                  // < > & as they are: a third of the size of their escapes
	_ = enc.Encode(validationBody{Errors: listed, More: total - len(listed)}) // strings only: cannot fail
	return &natsmux.Error{Code: 400, Description: desc, Data: bytes.TrimSuffix(data.Bytes(), []byte("\n"))}
}

// FieldErrors returns the field errors of a validation failure, as a
// client receives it, or nil when err is no such failure.
func FieldErrors(err error) []FieldError {
	var e *natsmux.Error
	if !errors.As(err, &e) || e.Code != 400 || len(e.Data) == 0 {
		return nil
	}
	var body validationBody
	if json.Unmarshal(e.Data, &body) != nil {
		return nil
	}
	return body.Errors
}

var (
	sharedValidator = sync.OnceValue(NewValidator)
	registerMu      sync.Mutex
	messages        sync.Map // rule tag -> message registered with RegisterValidation
)

// NewValidator returns a validator configured like the shared one that
// typed handlers use by default: field names in errors are JSON names,
// embedded structs do not appear in paths, and required applies to nested
// structs. Add rules to it and pass it to WithValidator.
func NewValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled(), validator.WithTagNameFuncBlankOmit())
	v.RegisterTagNameFunc(jsonName)
	return v
}

// RegisterValidation adds a rule to the shared validator, for use in
// `validate` tags, and the message for its failures ("must be a valid
// SKU"; the field's path comes first). An empty message gives a generic
// one; the message also serves validators passed to WithValidator. Like the
// validator's own registration, it is not safe while requests are being
// validated: call it at start-up, before serving. Registering one of the
// rules the fast path runs (required, min, ..., see the package doc)
// replaces it, and from then on the validator checks every type.
func RegisterValidation(tag string, fn validator.Func, message string) error {
	registerMu.Lock()
	defer registerMu.Unlock()
	if err := sharedValidator().RegisterValidation(tag, fn); err != nil {
		return fmt.Errorf("binding: registering rule %q: %w", tag, err)
	}
	if slices.Contains(fastRuleNames, tag) {
		fastOff.Store(true) // the fast path would run the rule it replaces
	}
	if message != "" {
		messages.Store(tag, message)
	}
	return nil
}

var timeType = reflect.TypeFor[time.Time]()

// hasStructRules reports whether values of t, or what t points to, are
// structs that the validator checks.
func hasStructRules(t reflect.Type) bool {
	if t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t != nil && isNestedStruct(t)
}

// derefType returns the type t points to, through any number of pointers.
func derefType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// isNestedStruct reports whether the validator checks the fields of values
// of t: structs other than times.
func isNestedStruct(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && !t.ConvertibleTo(timeType)
}

// structFields returns the fields of t the validator visits: exported ones
// and embedded structs.
func structFields(t reflect.Type) []reflect.StructField {
	fields := make([]reflect.StructField, 0, t.NumField())
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() || f.Anonymous {
			fields = append(fields, f)
		}
	}
	return fields
}

type validatable interface {
	Validate() error
}

// The error paths are functions of their own: the targets of errors.As
// escape to the heap, which the path without errors must not pay for.

func validateMethodError(err error) error {
	var coder natsmux.Coder
	if errors.As(err, &coder) {
		return err
	}
	return natsmux.Wrap(err, 400, "invalid request: "+err.Error())
}

func rulesError(err error, root string) error {
	var failed validator.ValidationErrors
	if !errors.As(err, &failed) {
		return natsmux.Wrap(err, 500, natsmux.ErrInternal.Error())
	}
	// Only the errors the body lists are turned into FieldErrors; the
	// limits (WithMaxItems, MaxDepth) bound how many the validator made.
	fields := make([]FieldError, min(len(failed), MaxFieldErrors))
	for i, fe := range failed[:len(fields)] {
		// The namespace starts with the root struct's Go name, which is no
		// business of the caller.
		path := strings.TrimPrefix(fe.Namespace(), root+".")
		fields[i] = FieldError{
			Field:   path,
			Rule:    fe.Tag(),
			Param:   fe.Param(),
			Message: message(path, fe.Tag(), fe.Param(), fe.Kind()),
		}
	}
	return validationError(fields, len(failed))
}

// message says what rule demands of field, in words.
func message(field, rule, param string, kind reflect.Kind) string {
	if field == "" {
		field = "value"
	}
	if m, ok := messages.Load(rule); ok {
		return field + " " + m.(string)
	}
	return field + " " + phrase(rule, param, kind)
}

func phrase(rule, param string, kind reflect.Kind) string {
	switch rule {
	case "required", "required_if", "required_unless", "required_with", "required_with_all",
		"required_without", "required_without_all":
		return "is required"
	case "excluded_if", "excluded_unless", "excluded_with", "excluded_with_all",
		"excluded_without", "excluded_without_all":
		return "must not be set"
	case "min", "gte":
		return bound("at least", param, kind)
	case "max", "lte":
		return bound("at most", param, kind)
	case "gt":
		return bound("more than", param, kind)
	case "lt":
		return bound("less than", param, kind)
	case "len":
		return bound("exactly", param, kind)
	case "eq":
		return "must be " + param
	case "ne":
		return "must not be " + param
	case "oneof":
		return "must be one of: " + strings.Join(strings.Fields(param), ", ")
	case "email":
		return "must be a valid email address"
	case "url", "http_url":
		return "must be a valid URL"
	case "uri":
		return "must be a valid URI"
	case "uuid", "uuid3", "uuid4", "uuid5", "uuid_rfc4122", "uuid4_rfc4122":
		return "must be a valid UUID"
	case "alpha":
		return "must contain only letters"
	case "alphanum":
		return "must contain only letters and digits"
	case "numeric", "number":
		return "must be numeric"
	case "hostname", "hostname_rfc1123", "fqdn":
		return "must be a valid host name"
	case "ip", "ipv4", "ipv6":
		return "must be a valid IP address"
	case "datetime":
		return "must be a date and time in the layout " + param
	case "e164":
		return "must be a phone number in E.164 format"
	case "unique":
		return "must not contain duplicates"
	case "lowercase":
		return "must be lowercase"
	case "uppercase":
		return "must be uppercase"
	}
	if param != "" {
		return fmt.Sprintf("does not satisfy %s=%s", rule, param)
	}
	return "does not satisfy " + rule
}

// bound phrases a size rule for the kind of value it applies to: a length
// for strings, a count for collections, a value for numbers.
func bound(cmp, param string, kind reflect.Kind) string {
	plural := "s"
	if param == "1" {
		plural = ""
	}
	switch kind {
	case reflect.String:
		return fmt.Sprintf("must be %s %s character%s long", cmp, param, plural)
	case reflect.Slice, reflect.Array, reflect.Map:
		return fmt.Sprintf("must contain %s %s item%s", cmp, param, plural)
	default:
		return fmt.Sprintf("must be %s %s", cmp, param)
	}
}
