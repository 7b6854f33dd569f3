package schema

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Case is an invalid variant of a valid example: one value changed so that
// it breaks one keyword of the schema.
type Case struct {
	// Path is the JSON path of the changed value, as field errors name it:
	// "items[0].sku"; empty for the payload itself.
	Path string
	// Keyword is the keyword the value breaks: "required", "type",
	// "minimum", "format", ...
	Keyword string
	// Value is the whole invalid payload.
	Value any
}

// FieldRule reports whether the case breaks a rule on a well-formed value,
// which a validating service reports as a field error naming Path, rather
// than a value that does not decode into the expected shape at all (a
// wrong type, an unknown property).
func (c Case) FieldRule() bool {
	return c.Keyword != "type" && c.Keyword != "additionalProperties"
}

// invalidFormats are values that break the formats Invalid knows.
var invalidFormats = map[string]string{
	"email":     "not-an-email",
	"uuid":      "not-a-uuid",
	"date-time": "not-a-date-time",
	"date":      "2026-13-45",
	"time":      "25:61",
	"uri":       "not a uri",
	"ipv4":      "999.1.1.1",
	"ipv6":      "not-an-ipv6",
}

// Invalid returns variants of valid, a value that s accepts (as Example
// makes), each breaking one keyword of s at one place: a required
// property missing, a value of the wrong type, a value outside an enum or
// unlike a const, a number beyond a bound, a string too short, too long,
// unlike its pattern or its format, an array with too few or too many
// items, an unknown property where none may be added. It returns at most
// limit cases, the shallowest first.
func Invalid(s *Schema, valid any, limit int) []Case {
	w := &mutator{limit: limit}
	w.walk(s, valid, "", func(v any) any { return v }, 0)
	return w.cases
}

type mutator struct {
	limit int
	cases []Case
}

func (w *mutator) add(path, keyword string, v any) {
	if len(w.cases) < w.limit {
		w.cases = append(w.cases, Case{Path: path, Keyword: keyword, Value: v})
	}
}

// walk adds the cases of the value v at path, whose schema is s; wrap puts
// a replacement of v back into the whole payload.
func (w *mutator) walk(s *Schema, v any, path string, wrap func(any) any, depth int) {
	if len(w.cases) >= w.limit || depth > maxDepth {
		return
	}
	if s.Ref() != "" {
		// The walk follows the value, which is finite: a recursive
		// schema ends where the value does.
		if target, err := s.Resolve(); err == nil {
			w.walk(target, v, path, wrap, depth+1)
		}
		return
	}
	if c, ok := s.Const(); ok {
		w.add(path, "const", wrap(differentFrom(c)))
		return
	}
	if values, ok := s.Enum(); ok {
		w.add(path, "enum", wrap(outside(values)))
		return
	}
	if wrong, ok := wrongType(s.Types()); ok {
		w.add(path, "type", wrap(wrong))
	}
	switch value := v.(type) {
	case string:
		w.stringCases(s, value, path, wrap)
	case Object:
		w.objectCases(s, value, path, wrap, depth)
	case []any:
		w.arrayCases(s, value, path, wrap, depth)
	default:
		if _, isNumber := v.(json.Number); isNumber {
			w.numberCases(s, path, wrap)
		}
	}
}

func (w *mutator) objectCases(s *Schema, obj Object, path string, wrap func(any) any, depth int) {
	for _, name := range s.Required() {
		if _, ok := obj.Get(name); ok {
			w.add(join(path, name), "required", wrap(obj.Without(name)))
		}
	}
	if add := s.Additional(); add != nil && add.Never() {
		w.add(join(path, "unexpected_field"), "additionalProperties", wrap(obj.With("unexpected_field", true)))
	}
	for _, m := range obj {
		sub := s.Property(m.Name)
		if sub == nil {
			if sub = s.Additional(); sub == nil {
				continue
			}
		}
		name := m.Name
		childPath := join(path, name)
		if s.Property(name) == nil {
			childPath = path + "[" + name + "]" // a map's value
		}
		w.walk(sub, m.Value, childPath, func(x any) any { return wrap(obj.With(name, x)) }, depth+1)
	}
}

func (w *mutator) arrayCases(s *Schema, arr []any, path string, wrap func(any) any, depth int) {
	if least, ok := s.Count("minItems"); ok && least > 0 && len(arr) >= least {
		w.add(path, "minItems", wrap(arr[:least-1]))
	}
	if most, ok := s.Count("maxItems"); ok && len(arr) > 0 {
		longer := slices.Clone(arr)
		for len(longer) <= most {
			longer = append(longer, arr[0])
		}
		w.add(path, "maxItems", wrap(longer))
	}
	if items := s.Items(); items != nil && len(arr) > 0 {
		w.walk(items, arr[0], fmt.Sprintf("%s[0]", path), func(x any) any {
			c := slices.Clone(arr)
			c[0] = x
			return wrap(c)
		}, depth+1)
	}
}

func (w *mutator) stringCases(s *Schema, v, path string, wrap func(any) any) {
	if least, ok := s.Count("minLength"); ok && least > 0 {
		w.add(path, "minLength", wrap(strings.Repeat("x", least-1)))
	}
	if most, ok := s.Count("maxLength"); ok {
		w.add(path, "maxLength", wrap(strings.Repeat("x", most+1)))
	}
	if pattern := s.Text("pattern"); pattern != "" {
		if re, err := regexp.Compile(pattern); err == nil {
			for _, candidate := range []string{"", "!", "~~~~", "0", "a", "A", " "} {
				if !re.MatchString(candidate) {
					w.add(path, "pattern", wrap(candidate))
					break
				}
			}
		}
	}
	if bad, ok := invalidFormats[s.Text("format")]; ok && bad != v {
		w.add(path, "format", wrap(bad))
	}
}

func (w *mutator) numberCases(s *Schema, path string, wrap func(any) any) {
	integer := slices.Contains(s.Types(), "integer")
	b := boundsOf(s, integer)
	if b.hasLo {
		below := b.lo
		if !b.loOpen {
			below = b.lo - 1
		}
		w.add(path, "minimum", wrap(number(below)))
	}
	if b.hasHi {
		above := b.hi
		if !b.hiOpen {
			above = b.hi + 1
		}
		w.add(path, "maximum", wrap(number(above)))
	}
}

// wrongType returns a value of a type that types excludes, if there is one.
func wrongType(types []string) (any, bool) {
	if len(types) == 0 {
		return nil, false
	}
	has := func(t string) bool { return slices.Contains(types, t) }
	switch {
	case !has("string"):
		return "text", true
	case !has("number") && !has("integer"):
		return number(12345), true
	case !has("object"):
		return Object{}, true
	}
	return nil, false
}

// differentFrom returns a value unequal to c.
func differentFrom(c any) any {
	if s, ok := c.(string); ok {
		return s + "-other"
	}
	return "other"
}

// outside returns a value that values lacks, a number when the first value
// is one, so that it breaks the enum rather than the type.
func outside(values []any) any {
	if len(values) > 0 {
		if _, ok := values[0].(json.Number); ok {
			highest := 0.0
			for _, v := range values {
				if n, ok := v.(json.Number); ok {
					f, _ := n.Float64()
					highest = max(highest, f)
				}
			}
			return number(highest + 1)
		}
	}
	candidate := "not-in-enum"
	for slices.ContainsFunc(values, func(v any) bool { return v == candidate }) {
		candidate += "-x"
	}
	return candidate
}

// join appends a property name to a JSON path.
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
