package validate

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/natsmux/natsmux/internal/schema"
)

// MaxViolations bounds the violations that Violations lists, so that a
// hostile payload (an array of a million bad items) cannot make the
// report as large as itself.
const MaxViolations = 100

// Violation is one rule that a value breaks, named the way a validating
// service names field errors.
type Violation struct {
	// Path is the JSON path of the value: "items[2].sku" for a declared
	// property of an array's item, "notes[gift]" for a map's value, empty
	// for the payload itself. A missing required property or an unknown
	// one is named by its own path.
	Path string
	// Keyword is the schema keyword the value breaks: "required",
	// "minimum", "maxLength", "format", "additionalProperties", ...
	Keyword string
	// Param is the keyword's value in the schema, as text: "1" for
	// "minimum": 1, "email" for a format, an enum's values separated by
	// spaces; empty for required and additionalProperties.
	Param string
	// Message is the validator's own description.
	Message string
}

// Violations checks a JSON text like ValidateJSON and lists the rules it
// breaks, sorted by path, at most MaxViolations of them; none when the
// text is valid. The error is for a text that is not JSON.
func (v *Validator) Violations(data []byte) ([]Violation, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	err := v.compiled.Validate(doc)
	if err == nil {
		return nil, nil
	}
	var failed *jsonschema.ValidationError
	if !errors.As(err, &failed) {
		return nil, err // a loop in the schema, which compiling let through
	}
	var out []Violation
	for _, leaf := range v.leaves(failed, nil) {
		out = append(out, v.violationsOf(leaf, doc)...)
	}
	slices.SortStableFunc(out, func(a, b Violation) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Keyword, b.Keyword))
	})
	return out[:min(len(out), MaxViolations)], nil
}

// leaves returns the errors that name a keyword, not a schema that holds
// failing keywords. A failed anyOf or oneOf is reported as itself, since
// the failures of each of its branches would say more than what is wrong,
// unless all its branches but one only allow a zero value or null: binding
// publishes a rule under omitempty as anyOf [the zero value or null, the
// rule], and the rule is what the caller broke.
func (v *Validator) leaves(e *jsonschema.ValidationError, out []*jsonschema.ValidationError) []*jsonschema.ValidationError {
	kw := lastToken(e.KeywordLocation)
	if kw == "anyOf" || kw == "oneOf" {
		if rule := v.onlyRule(e); rule != nil {
			return v.leaves(rule, out)
		}
		return append(out, e)
	}
	if len(e.Causes) == 0 {
		return append(out, e)
	}
	for _, c := range e.Causes {
		out = v.leaves(c, out)
	}
	return out
}

// onlyRule returns the one branch of a failed anyOf or oneOf that is not a
// zero-value branch, or nil.
func (v *Validator) onlyRule(e *jsonschema.ValidationError) *jsonschema.ValidationError {
	var rule *jsonschema.ValidationError
	for _, c := range e.Causes {
		if len(c.Causes) == 0 && v.zeroBranch(c) {
			continue
		}
		if rule != nil {
			return nil
		}
		rule = c
	}
	return rule
}

// zeroBranch reports whether the failed keyword of c allows nothing but
// zero values and null: an enum or const of them, or the type null.
func (v *Validator) zeroBranch(c *jsonschema.ValidationError) bool {
	node := v.nodeOf(c.AbsoluteKeywordLocation)
	if node == nil {
		return false
	}
	obj, _ := node.Value().(schema.Object)
	value, _ := obj.Get(lastToken(c.KeywordLocation))
	isZero := func(x any) bool {
		switch x := x.(type) {
		case nil:
			return true
		case string:
			return x == ""
		case bool:
			return !x
		case json.Number:
			f, err := x.Float64()
			return err == nil && f == 0
		}
		return false
	}
	switch lastToken(c.KeywordLocation) {
	case "enum":
		list, ok := value.([]any)
		return ok && !slices.ContainsFunc(list, func(x any) bool { return !isZero(x) })
	case "const":
		return isZero(value)
	case "type":
		return value == "null"
	}
	return false
}

func (v *Validator) violationsOf(e *jsonschema.ValidationError, doc any) []Violation {
	keyword := lastToken(e.KeywordLocation)
	path := fieldPath(tokens(e.KeywordLocation), tokens(e.InstanceLocation))
	node := v.nodeOf(e.AbsoluteKeywordLocation)
	one := Violation{Path: path, Keyword: keyword, Message: e.Message}
	if node == nil {
		return []Violation{one}
	}
	var names []string
	switch keyword {
	case "required":
		obj := objectAt(doc, tokens(e.InstanceLocation))
		for _, name := range node.Required() {
			if _, ok := obj[name]; !ok {
				names = append(names, name)
			}
		}
	case "additionalProperties":
		for name := range objectAt(doc, tokens(e.InstanceLocation)) {
			if node.Property(name) == nil {
				names = append(names, name)
			}
		}
	default:
		one.Param = paramText(node, keyword)
		return []Violation{one}
	}
	out := make([]Violation, 0, len(names))
	for _, name := range names {
		out = append(out, Violation{Path: joinField(path, name), Keyword: keyword, Message: e.Message})
	}
	return out
}

// nodeOf returns the schema that holds the keyword at an absolute keyword
// location ("published.json#/$defs/Order/required"), or nil.
func (v *Validator) nodeOf(location string) *schema.Schema {
	if v.doc == nil {
		return nil
	}
	_, fragment, _ := strings.Cut(location, "#")
	pointer, err := url.PathUnescape(fragment)
	if err != nil {
		return nil
	}
	parent, _, _ := cutLast(pointer)
	return v.doc.At(parent)
}

// paramText renders a keyword's value: numbers and strings as they are,
// lists (an enum, several types) separated by spaces, anything else as
// JSON.
func paramText(node *schema.Schema, keyword string) string {
	obj, _ := node.Value().(schema.Object)
	value, _ := obj.Get(keyword)
	text := func(v any) string {
		switch v := v.(type) {
		case string:
			return v
		case json.Number:
			return v.String()
		}
		data, _ := schema.Marshal(v)
		return string(data)
	}
	if list, ok := value.([]any); ok {
		parts := make([]string, len(list))
		for i, e := range list {
			parts[i] = text(e)
		}
		return strings.Join(parts, " ")
	}
	return text(value)
}

// fieldPath names the value at the instance location whose tokens are
// inst, reading from the keyword location's tokens which step was a
// declared property (".name"), a map's value ("[key]") or an array's item
// ("[2]").
func fieldPath(keyword, inst []string) string {
	path := ""
	for i := 0; i < len(keyword) && len(inst) > 0; i++ {
		switch keyword[i] {
		case "properties":
			i++ // the property's name
			path = joinField(path, inst[0])
		case "patternProperties", "prefixItems":
			i++ // the pattern, the index
			path += "[" + inst[0] + "]"
		case "items":
			if i+1 < len(keyword) && isIndex(keyword[i+1]) {
				i++ // an item of a tuple, in drafts before 2020-12
			}
			path += "[" + inst[0] + "]"
		case "additionalProperties", "unevaluatedProperties", "propertyNames",
			"additionalItems", "unevaluatedItems", "contains":
			path += "[" + inst[0] + "]"
		case "allOf", "anyOf", "oneOf", "dependentSchemas", "dependencies":
			i++ // the branch
			continue
		default: // $ref, if, then, not, ...: the same value
			continue
		}
		inst = inst[1:]
	}
	return path
}

// joinField appends a property name to a JSON path.
func joinField(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func isIndex(tok string) bool {
	return tok != "" && strings.Trim(tok, "0123456789") == ""
}

// tokens splits a JSON pointer as the validator writes it (each token
// escaped for JSON pointers, then for URLs) into its tokens.
func tokens(pointer string) []string {
	if pointer == "" {
		return nil
	}
	parts := strings.Split(strings.TrimPrefix(pointer, "/"), "/")
	for i, p := range parts {
		if u, err := url.PathUnescape(p); err == nil {
			p = u
		}
		parts[i] = strings.NewReplacer("~1", "/", "~0", "~").Replace(p)
	}
	return parts
}

func lastToken(pointer string) string {
	_, last, _ := cutLast(pointer)
	return last
}

func cutLast(pointer string) (parent, last string, ok bool) {
	i := strings.LastIndexByte(pointer, '/')
	if i < 0 {
		return "", pointer, false
	}
	return pointer[:i], pointer[i+1:], true
}

// objectAt returns the object at the tokens' location in doc, or nil.
func objectAt(doc any, toks []string) map[string]any {
	v := doc
	for _, tok := range toks {
		switch node := v.(type) {
		case map[string]any:
			v = node[tok]
		case []any:
			var i int
			if _, err := fmt.Sscan(tok, &i); err != nil || i < 0 || i >= len(node) {
				return nil
			}
			v = node[i]
		default:
			return nil
		}
	}
	obj, _ := v.(map[string]any)
	return obj
}
