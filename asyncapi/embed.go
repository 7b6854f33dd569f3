package asyncapi

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/natsmux/natsmux/internal/schema"
)

// embedder moves published schemas into the document. A published schema
// is a document of its own, whose references ("#/$defs/Order") point into
// itself; inside an AsyncAPI document they would point into that. So its
// definitions become components/schemas, shared between endpoints where
// they are the same and renamed where they differ, and its references are
// rewritten to them.
type embedder struct {
	components map[string]json.RawMessage
	original   map[string]string // component -> the definition as published, before rewriting
}

func newEmbedder() *embedder {
	return &embedder{components: map[string]json.RawMessage{}, original: map[string]string{}}
}

const componentsPrefix = "#/components/schemas/"

// embed returns the payload schema for a published schema, adding its
// definitions to the components. rootName names the component of the
// schema itself, made when references point into it.
func (e *embedder) embed(published []byte, rootName string) (json.RawMessage, error) {
	root, err := schema.Decode(published)
	if err != nil {
		return nil, err
	}
	// AsyncAPI wants payloads to be schema objects: true is {}, false
	// is {"not":{}}.
	switch b := root.(type) {
	case bool:
		if b {
			return json.RawMessage(`{}`), nil
		}
		return json.RawMessage(`{"not":{}}`), nil
	case schema.Object:
	default:
		return nil, fmt.Errorf("a schema must be a JSON object or a boolean")
	}
	obj := root.(schema.Object)
	// First try to share definitions with those of earlier schemas; if a
	// shared name turns out to mean something else once rewritten, give
	// every definition of this schema a name of its own.
	if payload, ok, err := e.try(obj, rootName, true); ok || err != nil {
		return payload, err
	}
	payload, _, err := e.try(obj, rootName, false)
	return payload, err
}

func (e *embedder) try(root schema.Object, rootName string, share bool) (json.RawMessage, bool, error) {
	names := map[string]string{} // pointer prefix ("#/$defs/Order") -> component name
	pending := map[string]json.RawMessage{}
	taken := func(name string) bool { _, ok := e.components[name]; _, ok2 := pending[name]; return ok || ok2 }

	var defs []definition
	for _, keyword := range []string{"$defs", "definitions"} {
		v, _ := root.Get(keyword)
		group, _ := v.(schema.Object)
		for _, m := range group {
			prefix := "#/" + keyword + "/" + escapePointer(m.Name)
			original, err := schema.Marshal(m.Value)
			if err != nil {
				return nil, false, err
			}
			name := e.pick(componentName(m.Name), string(original), share, taken)
			names[prefix] = name
			pending[name] = nil // reserve
			defs = append(defs, definition{prefix, name, m.Value})
			e.original[name] = string(original)
		}
	}
	body := root.Without("$schema").Without("$id").Without("$defs").Without("definitions")
	rootRef := ""
	if refersToRoot(body, names) || slices.ContainsFunc(defs, func(d definition) bool { return refersToRoot(d.value, names) }) {
		rootRef = componentsPrefix + e.pick(componentName(rootName), "", false, taken)
	}
	rewrite := func(v any) (json.RawMessage, error) {
		return schema.Marshal(rewriteRefs(v, names, rootRef))
	}
	for _, d := range defs {
		data, err := rewrite(d.value)
		if err != nil {
			return nil, false, err
		}
		if existing, ok := e.components[d.name]; ok && string(existing) != string(data) {
			return nil, false, nil // shared in name only
		}
		pending[d.name] = data
	}
	payload, err := rewrite(body)
	if err != nil {
		return nil, false, err
	}
	for name, data := range pending {
		e.components[name] = data
	}
	if rootRef != "" {
		e.components[strings.TrimPrefix(rootRef, componentsPrefix)] = payload
		payload, _ = json.Marshal(Reference{Ref: rootRef})
	}
	return payload, true, nil
}

// pick returns the component name for a definition: base if it is free or,
// when sharing, already holds the same definition; else base_2, base_3...
func (e *embedder) pick(base, original string, share bool, taken func(string) bool) string {
	name := base
	for n := 2; taken(name); n++ {
		if share && original != "" && e.original[name] == original {
			return name
		}
		name = base + "_" + strconv.Itoa(n)
	}
	return name
}

// definition is one of a published schema's definitions.
type definition struct {
	prefix string // "#/$defs/Order"
	name   string // its component
	value  any
}

// refersToRoot reports whether v holds a reference into the schema's root
// other than to its definitions.
func refersToRoot(v any, names map[string]string) bool {
	found := false
	walkRefs(v, func(ref string) {
		if strings.HasPrefix(ref, "#") && !strings.HasPrefix(ref, componentsPrefix) && defPrefix(ref, names) == "" {
			found = true
		}
	})
	return found
}

func walkRefs(v any, fn func(string)) {
	switch n := v.(type) {
	case schema.Object:
		for _, m := range n {
			if s, ok := m.Value.(string); ok && m.Name == "$ref" {
				fn(s)
				continue
			}
			walkRefs(m.Value, fn)
		}
	case []any:
		for _, e := range n {
			walkRefs(e, fn)
		}
	}
}

// defPrefix returns the definition prefix that ref starts with, or "".
func defPrefix(ref string, names map[string]string) string {
	for prefix := range names {
		if ref == prefix || strings.HasPrefix(ref, prefix+"/") {
			return prefix
		}
	}
	return ""
}

// rewriteRefs returns v with its local references pointing to components.
func rewriteRefs(v any, names map[string]string, rootRef string) any {
	switch n := v.(type) {
	case schema.Object:
		out := make(schema.Object, len(n))
		for i, m := range n {
			if s, ok := m.Value.(string); ok && m.Name == "$ref" {
				m.Value = rewriteRef(s, names, rootRef)
			} else {
				m.Value = rewriteRefs(m.Value, names, rootRef)
			}
			out[i] = m
		}
		return out
	case []any:
		out := make([]any, len(n))
		for i, e := range n {
			out[i] = rewriteRefs(e, names, rootRef)
		}
		return out
	}
	return v
}

func rewriteRef(ref string, names map[string]string, rootRef string) string {
	if prefix := defPrefix(ref, names); prefix != "" {
		return componentsPrefix + names[prefix] + strings.TrimPrefix(ref, prefix)
	}
	if rootRef != "" && strings.HasPrefix(ref, "#") {
		return rootRef + strings.TrimPrefix(ref, "#")
	}
	return ref // outside the schema: left as published
}

func escapePointer(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// fieldErrorsSchema is the payload of a validation failure, as binding's
// NewValidationError makes it (a test keeps them in step).
const fieldErrorsSchema = `{"type":"object","required":["errors"],"properties":{"errors":{"type":"array",` +
	`"items":{"type":"object","required":["field","rule","message"],"properties":{` +
	`"field":{"type":"string","description":"The field's JSON path, such as items[2].sku."},` +
	`"rule":{"type":"string","description":"The rule that failed, such as required or min."},` +
	`"param":{"type":"string","description":"The rule's parameter, such as 3 for min=3."},` +
	`"message":{"type":"string","description":"What is wrong, for people."}}}}}}`

// fieldErrors returns a reference to the schema of field errors, adding it
// to the components.
func (e *embedder) fieldErrors() json.RawMessage {
	// The dot keeps the name apart from those of Go types.
	e.components["natsmux.FieldErrors"] = json.RawMessage(fieldErrorsSchema)
	data, _ := json.Marshal(Reference{Ref: componentsPrefix + "natsmux.FieldErrors"})
	return data
}
