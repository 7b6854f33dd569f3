package binding

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/natsmux/natsmux"
)

// The validator cannot stop early: it builds an error for every failed
// rule before it returns (validator v10.30.6 has no fail-fast option, and
// its traversal ignores the context), and each error costs about 350
// bytes, path strings included. A collection it dives into brings one
// error per rule per element, and a recursive type one per level, with
// paths that grow with the depth: 750 KB of "{}," once cost 465 MiB and
// 1.7 s, an 81 KB chain of nested objects 1.7 GiB and 4.2 s
// (BenchmarkHostileRequest). So a request is measured before it is
// validated, and refused with 413 when its collections that rules dive
// into hold more than the endpoint's item limit (WithMaxItems) or its
// structs nest deeper than MaxDepth.

// DefaultMaxItems is how many elements the collections that `validate`
// tags dive into ("dive") may hold together in one request, unless
// WithMaxItems says otherwise. The request schema publishes it as maxItems
// (maxProperties for maps) of each such collection.
const DefaultMaxItems = 1000

// MaxDepth is how deep the validator may have to go into nested structs:
// a request whose values of a recursive type (a tree, a linked list)
// nest deeper is refused with 413. Types that are not recursive have a
// depth fixed by their definition and are not measured.
const MaxDepth = 32

// input is what binding knows of an input type, worked out once.
type input struct {
	structRules bool      // the validator checks its fields
	measured    bool      // it has collections with dive rules or is recursive
	fast        *fastRoot // its compiled rules (fastpath.go); nil when the validator checks them
}

// What binding works out about types, once per type. The keys are the
// program's types, never anything of a request's: the caches stop growing
// once every handler has served.
var (
	inputs   sync.Map // reflect.Type -> *input
	plans    sync.Map // reflect.Type -> []fieldPlan
	unbounds sync.Map // struct reflect.Type -> bool, for unbounded
)

func inputOf(t reflect.Type) *input {
	if in, ok := inputs.Load(t); ok {
		return in.(*input)
	}
	in := &input{structRules: hasStructRules(t)}
	in.measured = in.structRules && unbounded(t, nil, map[reflect.Type]bool{})
	if in.structRules {
		in.fast = compileFast(t.Elem())
	}
	inputs.Store(t, in)
	return in
}

// fieldPlan is a field of a struct as the measure sees it.
type fieldPlan struct {
	index []int
	name  string   // JSON name, for error paths
	rules *ruleSet // its validate tag
}

// planOf returns the fields of struct type t that a measure walks: those
// below which the validator's work depends on the value.
func planOf(t reflect.Type) []fieldPlan {
	if p, ok := plans.Load(t); ok {
		return p.([]fieldPlan)
	}
	var plan []fieldPlan
	for _, f := range structFields(t) {
		rs := ruleSetOf(f)
		if unbounded(f.Type, rs, map[reflect.Type]bool{}) {
			plan = append(plan, fieldPlan{index: f.Index, name: jsonName(f), rules: rs})
		}
	}
	plans.Store(t, plan)
	return plan
}

// unbounded reports whether the validator's work on a value of type t
// under rules rs depends on the value's size: it dives into a collection,
// or reaches a struct type it is already in (a recursive type). open holds
// the struct types on the way to t.
func unbounded(t reflect.Type, rs *ruleSet, open map[reflect.Type]bool) bool {
	t = derefType(t)
	switch {
	case rs.skipped():
		return false
	case rs != nil && rs.elems != nil:
		return true
	case !isNestedStruct(t) || !rs.entersStruct():
		return false
	case open[t]:
		return true
	}
	// The answer for a struct type holds wherever the walk meets it: a
	// cycle through a type still open is a cycle through t too.
	if known, ok := unbounds.Load(t); ok {
		return known.(bool)
	}
	open[t] = true
	defer delete(open, t)
	found := slices.ContainsFunc(structFields(t), func(f reflect.StructField) bool {
		return unbounded(f.Type, ruleSetOf(f), open)
	})
	unbounds.Store(t, found)
	return found
}

// A measure walks a decoded value the way the validator will, counting
// the elements of collections it dives into and the depth of nested
// structs, and stops at the first limit crossed.
type measure struct {
	items, maxItems int
	path            []pathStep // where the walk is, for the error
}

// pathStep is a struct field's name (index -1; "" for an embedded
// struct), or an element's index or map key.
type pathStep struct {
	name  string
	index int
	key   reflect.Value
}

func (m *measure) value(v reflect.Value, rs *ruleSet, depth int) error {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	switch {
	case rs.skipped():
		return nil
	case rs != nil && rs.elems != nil:
		return m.elements(v, rs.elems, depth)
	case !isNestedStruct(v.Type()) || !rs.entersStruct():
		return nil
	case depth == MaxDepth:
		return m.tooDeep()
	}
	for _, f := range planOf(v.Type()) {
		m.path = append(m.path, pathStep{name: f.name, index: -1})
		if err := m.value(v.FieldByIndex(f.index), f.rules, depth+1); err != nil {
			return err
		}
		m.path = m.path[:len(m.path)-1]
	}
	return nil
}

func (m *measure) elements(v reflect.Value, rs *ruleSet, depth int) error {
	switch v.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
	default:
		return nil
	}
	m.items += v.Len()
	if m.items > m.maxItems {
		return m.tooMany()
	}
	if v.Kind() == reflect.Map {
		for it := v.MapRange(); it.Next(); {
			m.path = append(m.path, pathStep{key: it.Key()})
			if err := m.value(it.Value(), rs, depth); err != nil {
				return err
			}
			m.path = m.path[:len(m.path)-1]
		}
		return nil
	}
	for i := range v.Len() {
		m.path = append(m.path, pathStep{index: i})
		if err := m.value(v.Index(i), rs, depth); err != nil {
			return err
		}
		m.path = m.path[:len(m.path)-1]
	}
	return nil
}

// tooMany is the error of a walk that found more elements than the item
// limit, when it reaches the collection at its path.
func (m *measure) tooMany() error {
	return natsmux.Errorf(413, "too many elements to validate: %d with %q, the limit is %d", m.items, m.at(), m.maxItems)
}

// tooDeep is the error of a walk that reaches a struct MaxDepth levels
// down, at its path.
func (m *measure) tooDeep() error {
	return natsmux.Errorf(413, "too deeply nested to validate: %q is deeper than %d levels, the limit", m.at(), MaxDepth)
}

// at returns the path being measured, as field errors write it, shortened
// to about maxEcho bytes.
func (m *measure) at() string {
	var b strings.Builder
	for _, step := range m.path {
		switch {
		case step.key.IsValid():
			fmt.Fprintf(&b, "[%v]", step.key)
		case step.index >= 0:
			fmt.Fprintf(&b, "[%d]", step.index)
		case step.name != "":
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(step.name)
		}
	}
	return elide(b.String(), maxEcho)
}
