package schema

import (
	"fmt"
	"slices"
	"strings"
)

// Field is one row of a schema's table, as documentation shows it.
type Field struct {
	// Path is the field's JSON path, "[]" standing for any array index:
	// "items[].sku". It is empty for a payload that is not an object.
	Path        string
	Type        string // "string (email)", "array of Item", "map of integer"
	Required    bool
	Rules       string // "≥ 1; ≤ 100", "one of: a, b", "length 2 to 80"
	Description string
}

// maxFields bounds the rows of one table, whatever the size of the schema.
const maxFields = 500

// Fields returns the rows of s's table: each property of an object payload,
// nested objects and the objects of arrays and maps flattened under their
// paths, in document order. A type that contains itself is listed once.
func Fields(s *Schema) []Field {
	t := &tabulator{}
	t.walk(s, "", false, "", 0)
	return t.rows
}

type tabulator struct {
	rows  []Field
	stack []string // references being listed
}

// walk lists the field at path, then what it contains.
func (t *tabulator) walk(s *Schema, path string, required bool, description string, depth int) {
	if len(t.rows) >= maxFields || depth > maxDepth {
		return
	}
	ref := s.Ref()
	target, err := s.Resolve()
	if err != nil {
		t.rows = append(t.rows, Field{Path: path, Type: "unknown (" + err.Error() + ")", Required: required})
		return
	}
	if description == "" {
		description = cmpOr(s.Text("description"), target.Text("description"))
	}
	// The payload and the objects of arrays and maps are no fields of
	// their own: their properties are.
	container := path == "" || strings.HasSuffix(path, "]")
	if !container || !isObject(target) {
		t.rows = append(t.rows, Field{Path: path, Type: typeName(s), Required: required, Rules: rules(target), Description: description})
	}
	if ref != "" {
		if slices.Contains(t.stack, ref) {
			return // listed above this row
		}
		t.stack = append(t.stack, ref)
		defer func() { t.stack = t.stack[:len(t.stack)-1] }()
	}
	for _, p := range target.Properties() {
		t.walk(p.Schema, join(path, p.Name), target.IsRequired(p.Name), "", depth+1)
	}
	if items := target.Items(); items != nil && hasFields(items) {
		t.walk(items, path+"[]", false, "", depth+1)
	}
	if add := target.Additional(); add != nil && !add.Never() && len(target.Properties()) == 0 && hasFields(add) {
		t.walk(add, path+"[key]", false, "", depth+1)
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func isObject(s *Schema) bool { return slices.Contains(s.Types(), "object") }

// hasFields reports whether the values of s are objects with properties,
// worth rows of their own.
func hasFields(s *Schema) bool {
	target, err := s.Resolve()
	return err == nil && (len(target.Properties()) > 0 || target.Items() != nil)
}

// typeName describes a schema's type in a few words.
func typeName(s *Schema) string {
	name := ""
	if ref := s.Ref(); ref != "" {
		name = ref[strings.LastIndexByte(ref, '/')+1:]
	}
	target, err := s.Resolve()
	if err != nil {
		return "unknown"
	}
	types := target.Types()
	switch {
	case slices.Contains(types, "array"):
		if items := target.Items(); items != nil {
			return "array of " + typeName(items)
		}
		return "array"
	case slices.Contains(types, "object") && len(target.Properties()) == 0 && target.Additional() != nil && !target.Additional().Never():
		return "map of " + typeName(target.Additional())
	case name != "" && slices.Contains(types, "object"):
		return name
	case len(types) == 0:
		var alternatives []string
		for _, b := range append(target.Branches("anyOf"), target.Branches("oneOf")...) {
			alternatives = append(alternatives, typeName(b))
		}
		if len(alternatives) > 0 {
			return strings.Join(alternatives, " or ")
		}
		return "any"
	}
	text := strings.Join(types, " or ")
	if format := target.Text("format"); format != "" {
		text += " (" + format + ")"
	}
	return text
}

// rules describes a schema's constraints on its value.
func rules(s *Schema) string {
	var out []string
	if v, ok := s.Const(); ok {
		out = append(out, "= "+jsonText(v))
	}
	if values, ok := s.Enum(); ok {
		texts := make([]string, len(values))
		for i, v := range values {
			texts[i] = jsonText(v)
		}
		out = append(out, "one of: "+strings.Join(texts, ", "))
	}
	for _, b := range []struct{ keyword, symbol string }{
		{"minimum", "≥"}, {"exclusiveMinimum", ">"}, {"maximum", "≤"}, {"exclusiveMaximum", "<"}, {"multipleOf", "multiple of"},
	} {
		if v, ok := s.Number(b.keyword); ok {
			out = append(out, b.symbol+" "+string(number(v)))
		}
	}
	for _, l := range []struct{ lo, hi, what string }{
		{"minLength", "maxLength", "length"}, {"minItems", "maxItems", "items"}, {"minProperties", "maxProperties", "entries"},
	} {
		if text := rangeText(s, l.lo, l.hi, l.what); text != "" {
			out = append(out, text)
		}
	}
	if p := s.Text("pattern"); p != "" {
		out = append(out, "pattern "+p)
	}
	if add := s.Additional(); add != nil && add.Never() && len(s.Properties()) > 0 {
		out = append(out, "no other fields")
	}
	return strings.Join(out, "; ")
}

func rangeText(s *Schema, lo, hi, what string) string {
	least, hasLeast := s.Count(lo)
	most, hasMost := s.Count(hi)
	switch {
	case hasLeast && hasMost && least == most:
		return fmt.Sprintf("%s %d", what, least)
	case hasLeast && hasMost:
		return fmt.Sprintf("%s %d to %d", what, least, most)
	case hasLeast && least > 0:
		return fmt.Sprintf("%s ≥ %d", what, least)
	case hasMost:
		return fmt.Sprintf("%s ≤ %d", what, most)
	}
	return ""
}

func jsonText(v any) string {
	text, err := Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(text)
}
