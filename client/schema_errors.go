package client

import (
	"fmt"
	"strings"
	"time"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/internal/schema/validate"
)

// violationError returns the error of a payload that breaks its schema:
// for a request, the 400 a typed service answers with, its field errors
// in Data, caused by ErrInvalidRequest; for a reply, a 502 with the same
// Data, caused by ErrInvalidReply and by that 400, so that
// binding.FieldErrors(errors.Unwrap(err)) lists the fields.
func violationError(subject string, dir direction, violations []validate.Violation) error {
	fields := make([]binding.FieldError, len(violations))
	for i, v := range violations {
		fields[i] = fieldError(v)
	}
	failure := binding.NewValidationError(fields...)
	if dir == requestDir {
		err := natsmux.Wrap(ErrInvalidRequest, failure.Code, failure.Description)
		err.Data = failure.Data
		return err
	}
	summary := strings.TrimPrefix(failure.Description, "invalid request: ")
	err := natsmux.Wrap(invalidReply{failure}, 502, fmt.Sprintf("invalid reply from %q: %s", subject, summary))
	err.Data = failure.Data
	return err
}

// invalidReply is the cause of a reply's 502: ErrInvalidReply, and the
// field errors as a 400 that binding.FieldErrors reads.
type invalidReply struct{ fields *natsmux.Error }

func (invalidReply) Error() string     { return ErrInvalidReply.Error() }
func (e invalidReply) Unwrap() []error { return []error{ErrInvalidReply, e.fields} }

// keywordRules names the schema keywords by the validation rules that
// binding publishes as them (the tags of go-playground/validator), so that
// a field error found by the caller reads like the service's. Where two
// rules give one keyword (min and gte give minimum), the one that says
// what the keyword says wins.
var keywordRules = map[string]string{
	"required": "required", "enum": "oneof", "const": "eq", "uniqueItems": "unique",
	"minimum": "gte", "maximum": "lte", "exclusiveMinimum": "gt", "exclusiveMaximum": "lt",
	"minLength": "min", "maxLength": "max", "minItems": "min", "maxItems": "max",
	"minProperties": "min", "maxProperties": "max",
}

// formatRules are the formats binding publishes, by the rule and parameter
// that give them.
var formatRules = map[string][2]string{
	"email": {"email", ""}, "uuid": {"uuid", ""}, "uri": {"uri", ""},
	"date-time": {"datetime", time.RFC3339}, "date": {"datetime", time.DateOnly},
	"hostname": {"hostname", ""}, "ipv4": {"ipv4", ""}, "ipv6": {"ipv6", ""},
}

// fieldError turns a violation into a field error. Rules that binding
// phrases alike for every kind of value get their message from
// binding.NewValidationError; lengths, counts and the keywords without a
// rule get theirs here.
func fieldError(v validate.Violation) binding.FieldError {
	name := v.Path
	if name == "" {
		name = "value"
	}
	fe := binding.FieldError{Field: v.Path, Rule: v.Keyword, Param: v.Param}
	if rule, ok := keywordRules[v.Keyword]; ok {
		fe.Rule = rule
	}
	switch v.Keyword {
	case "minLength", "maxLength":
		fe.Message = fmt.Sprintf("%s must be %s long", name, count(v.Keyword, v.Param, "character"))
	case "minItems", "maxItems", "minProperties", "maxProperties":
		fe.Message = fmt.Sprintf("%s must contain %s", name, count(v.Keyword, v.Param, "item"))
	case "format":
		if rule, ok := formatRules[v.Param]; ok {
			fe.Rule, fe.Param = rule[0], rule[1]
		} else {
			fe.Message = fmt.Sprintf("%s must be a valid %s", name, v.Param)
		}
	case "type":
		fe.Message = fmt.Sprintf("%s must be of type %s", name, strings.ReplaceAll(v.Param, " ", " or "))
	case "pattern":
		fe.Message = fmt.Sprintf("%s must match the pattern %s", name, v.Param)
	case "additionalProperties":
		fe.Message = name + " is not a known field"
	case "json":
		fe.Message = fmt.Sprintf("%s is not JSON: %s", name, v.Message)
	default:
		if _, ok := keywordRules[v.Keyword]; !ok {
			fe.Message = fmt.Sprintf("%s does not satisfy %s: %s", name, v.Keyword, v.Message)
		}
	}
	return fe
}

// count phrases a length or count bound: "at least 3 characters".
func count(keyword, n, noun string) string {
	least := "at least"
	if strings.HasPrefix(keyword, "max") {
		least = "at most"
	}
	if n != "1" {
		noun += "s"
	}
	return fmt.Sprintf("%s %s %s", least, n, noun)
}
