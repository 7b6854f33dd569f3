package binding

import (
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
)

// The fast path. go-playground/validator reflects over every field of every
// request: it boxes each value into an interface to look for its Valuer
// interface (an allocation per field), builds a cField per collection it
// dives into and parses numeric parameters again on every call; about 28%
// of a small typed request's CPU went there, and 14 allocations. The rules
// the schema expresses (mapped, in rules.go) are simple enough to run
// from a plan compiled once per input type, which walks the value without
// allocating on the way to a pass (but for a value to read each map's
// elements into, and what net/mail and net/url allocate for email and
// url), and gives what the validator gives:
// the same verdict, the same field errors in the same order (a map's
// elements come in Go's map order, random for both), the same messages.
// The limits' walk (limits.go) is folded into it: it counts and measures
// as the walk goes, and where the validator would stop early (a failed
// rule, omitempty on a zero value) it walks the rest as the limits' walk
// does, so that a request is refused with 413 exactly when it would have
// been before validation.
//
// A type gets the fast path when every rule on its way is one of those
// below, on a kind of value the validator defines it for; anything else
// (other rules, `|`, keys, a type implementing validator.Valuer, an
// interface field, time.Time bounds, which compare with the clock) sends
// the whole type to the validator, as does WithValidator. The decision is
// made once per type, when a handler is built. TestFastPathAgreesWithValidator
// and FuzzFastPathAgreesWithValidator hold the two to the same answers.

// fastRuleNames are the rules the fast path runs itself.
var fastRuleNames = []string{"required", "min", "max", "len", "gte", "lte", "gt", "lt", "oneof", "email", "url", "uuid", "datetime"}

// fastOff turns the fast path off for every type once RegisterValidation
// has replaced one of its rules in the shared validator.
var fastOff atomic.Bool

// fastRoot is the compiled plan of an input struct type.
type fastRoot struct {
	name   string // the type's name, which the validator's paths start with
	fields *fastStruct
}

// fastStruct is a struct type's fields as the validator visits them.
type fastStruct struct {
	fields []fastField
}

type fastField struct {
	index int
	name  string // JSON name: "" for embedded structs and `json:"-"`
	owner string // the name of the struct type that holds it
	value *fastValue
}

// fastValue checks the values of one type under one level of a tag: its
// rules up to the first dive.
type fastValue struct {
	ptrs   int          // pointers to follow to the value
	kind   reflect.Kind // the value's, past the pointers
	steps  []fastStep   // the level's rules in order, then dive
	nested *fastStruct  // the fields of a struct the validator enters, after the steps
	elem   *fastValue   // after dive
	// For the limits' walk: this level's rules, and whether it has
	// anything to count or measure below this value.
	rules     *ruleSet
	unbounded bool
}

type fastOp uint8

const (
	opRequired fastOp = iota
	opOmitEmpty
	opOmitZero
	opOmitNil
	opStop // structonly, nostructlevel: the validator goes no further
	opDive
	opSize // length of a string in runes, of a slice, array or map
	opInt
	opUint
	opFloat
	opOneOfString
	opOneOfInt
	opOneOfUint
	opEmail
	opURL
	opUUID
	opDatetime
)

// cmpOp is how a bound compares: min and gte are at least, max and lte at
// most, len exactly.
type cmpOp uint8

const (
	cmpGE cmpOp = iota
	cmpLE
	cmpGT
	cmpLT
	cmpEQ
)

// fastStep is one rule, its parameter parsed as the validator parses it.
type fastStep struct {
	op          fastOp
	cmp         cmpOp
	rule, param string // as field errors report them
	n           int64
	u           uint64
	f           float64
	words       []string
	ints        []int64
	uints       []uint64
}

var valuerType = reflect.TypeFor[validator.Valuer]()

// compileFast returns the plan of struct type t, or nil when the validator
// must check it.
func compileFast(t reflect.Type) *fastRoot {
	c := fastCompiler{structs: map[reflect.Type]*fastStruct{}}
	fields, ok := c.structOf(t)
	if !ok {
		return nil
	}
	return &fastRoot{name: t.Name(), fields: fields}
}

type fastCompiler struct {
	structs map[reflect.Type]*fastStruct // compiled or being compiled: types may be recursive
}

func (c *fastCompiler) structOf(t reflect.Type) (*fastStruct, bool) {
	if s, ok := c.structs[t]; ok {
		return s, true
	}
	s := &fastStruct{}
	c.structs[t] = s
	for _, f := range structFields(t) {
		tag := f.Tag.Get("validate")
		if tag == "-" {
			continue // the validator skips the field
		}
		if !fastTokens(tag) || f.Anonymous && !f.IsExported() && derefType(f.Type).Kind() != reflect.Struct {
			// An embedded unexported type other than a struct is read-only
			// to reflection, which cannot copy map elements out of it.
			return nil, false
		}
		v, ok := c.valueOf(f.Type, parseRules(tag))
		switch {
		case !ok:
			return nil, false
		case len(v.steps) > 0 || v.nested != nil: // else there is nothing to check or measure
			s.fields = append(s.fields, fastField{index: f.Index[0], name: jsonName(f), owner: t.Name(), value: v})
		}
	}
	return s, true
}

// fastTokens reports whether the validator reads tag as a plain list of
// rules: no empty rule (which it panics on), no keys, no alternatives, no
// "-" among others.
func fastTokens(tag string) bool {
	if tag == "" {
		return true
	}
	for token := range strings.SplitSeq(tag, ",") {
		switch {
		case token == "", token == "-", token == "keys", token == "endkeys", token == "isdefault", strings.Contains(token, "|"):
			return false
		}
	}
	return true
}

func (c *fastCompiler) valueOf(t reflect.Type, rs *ruleSet) (*fastValue, bool) {
	v := &fastValue{rules: rs, unbounded: unbounded(t, rs, map[reflect.Type]bool{})}
	for ; t.Kind() == reflect.Pointer; t = t.Elem() {
		if t.Implements(valuerType) {
			return nil, false
		}
		v.ptrs++
	}
	v.kind = t.Kind()
	switch v.kind {
	case reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128:
		return nil, false
	}
	if t.Implements(valuerType) {
		return nil, false
	}
	for _, rule := range rs.rules {
		step, ok := compileStep(t, rule)
		if !ok {
			return nil, false
		}
		v.steps = append(v.steps, step)
	}
	if rs.elems != nil {
		if v.kind != reflect.Slice && v.kind != reflect.Array && v.kind != reflect.Map {
			return nil, false // the validator panics
		}
		v.steps = append(v.steps, fastStep{op: opDive, rule: "dive"})
		elem, ok := c.valueOf(t.Elem(), rs.elems)
		if !ok {
			return nil, false
		}
		v.elem = elem
	}
	if isNestedStruct(t) && rs.entersStruct() {
		nested, ok := c.structOf(t)
		if !ok {
			return nil, false
		}
		v.nested = nested
	}
	return v, true
}

// compileStep compiles rule for values of type t (not a pointer), when
// the validator defines it for t's kind and can parse its parameter.
func compileStep(t reflect.Type, rule string) (fastStep, bool) {
	switch rule {
	case "omitempty":
		return fastStep{op: opOmitEmpty, rule: rule}, true
	case "omitzero":
		return fastStep{op: opOmitZero, rule: rule}, true
	case "omitnil":
		return fastStep{op: opOmitNil, rule: rule}, true
	case "structonly", "nostructlevel":
		return fastStep{op: opStop, rule: rule}, true
	}
	name, param, _ := strings.Cut(rule, "=")
	param = strings.ReplaceAll(strings.ReplaceAll(param, "0x2C", ","), "0x7C", "|") // the validator's escapes
	step := fastStep{rule: name, param: param}
	var ok bool
	switch name {
	case "required":
		step.op, ok = opRequired, true
	case "min", "max", "len", "gte", "lte", "gt", "lt":
		step.cmp = map[string]cmpOp{"min": cmpGE, "gte": cmpGE, "max": cmpLE, "lte": cmpLE, "gt": cmpGT, "lt": cmpLT, "len": cmpEQ}[name]
		ok = step.bound(t)
	case "oneof":
		ok = step.oneOf(t)
	case "email", "url", "uuid", "datetime":
		step.op = map[string]fastOp{"email": opEmail, "url": opURL, "uuid": opUUID, "datetime": opDatetime}[name]
		ok = t.Kind() == reflect.String
	}
	return step, ok
}

// bound parses a size or number rule's parameter for values of type t.
func (s *fastStep) bound(t reflect.Type) bool {
	var err error
	switch t.Kind() {
	case reflect.String, reflect.Slice, reflect.Array, reflect.Map:
		s.op = opSize
		s.n, err = strconv.ParseInt(s.param, 0, 64)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s.op = opInt
		s.n, err = intParam(t, s.param)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		s.op = opUint
		s.u, err = strconv.ParseUint(s.param, 0, 64)
	case reflect.Float32, reflect.Float64:
		s.op = opFloat
		s.f, err = strconv.ParseFloat(s.param, t.Bits())
	default:
		return false // booleans, structs: a panic; times: a comparison with the clock
	}
	return err == nil
}

// oneOf parses oneof's words for values of type t: the validator compares
// a number's decimal form with each word.
func (s *fastStep) oneOf(t reflect.Type) bool {
	words := oneOfWords(s.param)
	switch t.Kind() {
	case reflect.String:
		s.op, s.words = opOneOfString, words
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s.op = opOneOfInt
		for _, w := range words {
			if n, ok := decimalInt(w, 64); ok {
				s.ints = append(s.ints, n)
			}
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		s.op = opOneOfUint
		for _, w := range words {
			if n, ok := decimalUint(w, 64); ok {
				s.uints = append(s.uints, n)
			}
		}
	default:
		return false
	}
	return true
}

// check validates v, the input struct, within the limits; its errors are
// those of the validator and the limits' walk.
func (r *fastRoot) check(v reflect.Value, maxItems int, measured bool) error {
	w := fastWalks.Get().(*fastWalk)
	defer w.release()
	w.m, w.root = measure{maxItems: maxItems}, r.name
	w.fields(v, r.fields, 0, measured)
	switch {
	case w.limit != nil:
		return w.limit
	case w.total > 0:
		return validationError(w.errs, w.total)
	}
	return nil
}

// fastWalk is one walk of a value: where it is, the limits' counts, and
// the field errors (the first MaxFieldErrors, and how many there are).
// Walks are pooled, so that a request that passes allocates nothing.
type fastWalk struct {
	m     measure
	limit error // a limit crossed: the walk stops, and the errors do not count
	root  string
	errs  []FieldError
	total int
	path  []pathNode
	iters []*reflect.MapIter // for the maps being walked, by nesting level
	maps  int                // how many maps are being walked
}

var fastWalks = sync.Pool{New: func() any { return new(fastWalk) }}

// release clears what the walk held of the request and pools it.
func (w *fastWalk) release() {
	clear(w.errs)
	clear(w.path)
	*w = fastWalk{errs: w.errs[:0], path: w.path[:0], iters: w.iters}
	fastWalks.Put(w)
}

// pathNode is a step of the walk: a struct field, a slice or array
// element, or a map element whose key is read only when a path is written.
type pathNode struct {
	field *fastField
	index int
	iter  *reflect.MapIter
}

// fields walks the fields of struct v. measuring says whether the limits'
// walk would be here too, depth is as it counts.
func (w *fastWalk) fields(v reflect.Value, s *fastStruct, depth int, measuring bool) {
	if measuring && depth == MaxDepth {
		w.m.path = w.steps()
		w.limit = w.m.tooDeep()
		return
	}
	for i := range s.fields {
		f := &s.fields[i]
		w.path = append(w.path, pathNode{field: f})
		w.value(v.Field(f.index), f.value, depth+1, measuring && f.value.unbounded)
		w.path = w.path[:len(w.path)-1]
		if w.limit != nil {
			return
		}
	}
}

// value runs the rules of s on v as the validator's traverseField does.
func (w *fastWalk) value(v reflect.Value, s *fastValue, depth int, measuring bool) {
	for range s.ptrs {
		if v.IsNil() {
			w.nilPointer(s)
			return
		}
		v = v.Elem()
	}
	viaPointer := s.ptrs > 0
	for i := range s.steps {
		step := &s.steps[i]
		switch step.op {
		case opStop:
			w.measureRest(v, s, depth, measuring)
			return
		case opOmitEmpty, opOmitZero, opOmitNil:
			if !step.lets(v, viaPointer) {
				w.measureRest(v, s, depth, measuring)
				return
			}
		case opDive:
			w.elements(v, s.elem, depth, measuring)
			return
		default:
			if !step.passes(v, viaPointer) {
				w.fail(step.rule, step.param, s.kind)
				w.measureRest(v, s, depth, measuring)
				return
			}
		}
	}
	if s.nested != nil {
		w.fields(v, s.nested, depth, measuring)
	}
}

// nilPointer is the validator's answer to a nil pointer: nothing without
// rules or when the first is an omit rule, else the first rule fails.
func (w *fastWalk) nilPointer(s *fastValue) {
	if len(s.steps) == 0 {
		return
	}
	switch first := &s.steps[0]; first.op {
	case opOmitEmpty, opOmitZero, opOmitNil:
	default:
		w.fail(first.rule, first.param, reflect.Pointer)
	}
}

// elements dives into collection v, counting its elements against the
// item limit.
func (w *fastWalk) elements(v reflect.Value, elem *fastValue, depth int, measuring bool) {
	if measuring {
		w.m.items += v.Len()
		if w.m.items > w.m.maxItems {
			w.m.path = w.steps()
			w.limit = w.m.tooMany()
			return
		}
	}
	switch {
	case v.Len() == 0:
		return
	case v.Kind() != reflect.Map:
		for i := range v.Len() {
			w.path = append(w.path, pathNode{index: i})
			w.value(v.Index(i), elem, depth, measuring)
			w.path = w.path[:len(w.path)-1]
			if w.limit != nil {
				return
			}
		}
		return
	}
	// A map's elements are copied into one value of its element type, its
	// iterator is the walk's (the keys are read only for paths).
	if w.maps == len(w.iters) {
		w.iters = append(w.iters, new(reflect.MapIter))
	}
	it := w.iters[w.maps]
	w.maps++
	defer func() {
		it.Reset(reflect.Value{})
		w.maps--
	}()
	it.Reset(v)
	value := reflect.New(v.Type().Elem()).Elem()
	for it.Next() {
		value.SetIterValue(it)
		w.path = append(w.path, pathNode{iter: it})
		w.value(value, elem, depth, measuring)
		w.path = w.path[:len(w.path)-1]
		if w.limit != nil {
			return
		}
	}
}

// measureRest walks what is below v as the limits' walk does, where the
// validator stops early but the limits' walk would not.
func (w *fastWalk) measureRest(v reflect.Value, s *fastValue, depth int, measuring bool) {
	if !measuring || !s.unbounded {
		return
	}
	w.m.path = w.steps()
	if err := w.m.value(v, s.rules, depth); err != nil {
		w.limit = err
	}
}

// fail records a failed rule as rulesError reports the validator's.
func (w *fastWalk) fail(rule, param string, kind reflect.Kind) {
	w.total++
	if len(w.errs) == MaxFieldErrors {
		return
	}
	path := strings.TrimPrefix(w.namespace(), w.root+".")
	w.errs = append(w.errs, FieldError{Field: path, Rule: rule, Param: param, Message: message(path, rule, param, kind)})
}

// namespace writes the path of the walk as the validator does: the names
// of the fields that hold the structs on the way (a level ends with a
// dot; an empty path starts with the struct type's name), then the
// field's own name, with the indices and keys below it.
func (w *fastWalk) namespace() string {
	var ns, name string
	for _, n := range w.path {
		switch {
		case n.field != nil:
			if name != "" {
				ns += name + "."
			}
			if ns == "" && n.field.owner != "" {
				ns = n.field.owner + "."
			}
			name = n.field.name
		case n.iter != nil:
			name += fmt.Sprintf("[%v]", n.iter.Key())
		default:
			name += "[" + strconv.Itoa(n.index) + "]"
		}
	}
	if name == "" {
		return strings.TrimSuffix(ns, ".")
	}
	return ns + name
}

// steps returns the path of the walk as the limits' walk keeps it.
func (w *fastWalk) steps() []pathStep {
	steps := make([]pathStep, len(w.path))
	for i, n := range w.path {
		switch {
		case n.field != nil:
			steps[i] = pathStep{name: n.field.name, index: -1}
		case n.iter != nil:
			steps[i] = pathStep{key: n.iter.Key()}
		default:
			steps[i] = pathStep{index: n.index}
		}
	}
	return steps
}

// lets reports whether an omit rule lets v through to the rules after it.
func (s *fastStep) lets(v reflect.Value, viaPointer bool) bool {
	switch s.op {
	case opOmitEmpty:
		return hasValue(v, viaPointer)
	case opOmitZero:
		if k := v.Kind(); k == reflect.Slice || k == reflect.Map {
			return !v.IsNil() && v.Len() > 0
		}
		return !v.IsZero()
	}
	k := v.Kind() // omitnil
	return (k != reflect.Slice && k != reflect.Map) || !v.IsNil()
}

// hasValue is required's test: nil or not for slices and maps; for other
// values, reached through a pointer or not the zero value.
func hasValue(v reflect.Value, viaPointer bool) bool {
	if k := v.Kind(); k == reflect.Slice || k == reflect.Map {
		return !v.IsNil()
	}
	return viaPointer || !v.IsZero()
}

// passes runs a rule on v.
func (s *fastStep) passes(v reflect.Value, viaPointer bool) bool {
	switch s.op {
	case opRequired:
		return hasValue(v, viaPointer)
	case opSize:
		n := v.Len()
		if v.Kind() == reflect.String {
			n = utf8.RuneCountInString(v.String())
		}
		return compare(int64(n), s.n, s.cmp)
	case opInt:
		return compare(v.Int(), s.n, s.cmp)
	case opUint:
		return compare(v.Uint(), s.u, s.cmp)
	case opFloat:
		return compare(v.Float(), s.f, s.cmp)
	case opOneOfString:
		return slices.Contains(s.words, v.String())
	case opOneOfInt:
		return slices.Contains(s.ints, v.Int())
	case opOneOfUint:
		return slices.Contains(s.uints, v.Uint())
	case opEmail:
		return formats().Var(v.String(), "email") == nil
	case opURL:
		return isURL(v.String())
	case opUUID:
		return isUUID(v.String())
	case opDatetime:
		_, err := time.Parse(s.param, v.String())
		return err == nil
	}
	panic(fmt.Sprintf("binding: rule %q is no check", s.rule))
}

func compare[T int64 | uint64 | float64](a, b T, c cmpOp) bool {
	switch c {
	case cmpGE:
		return a >= b
	case cmpLE:
		return a <= b
	case cmpGT:
		return a > b
	case cmpLT:
		return a < b
	}
	return a == b
}

// formats is a validator of its own for email, whose grammar (an address
// mail.ParseAddress takes, matching the validator's pattern) is the
// validator's to define: the fast path asks it about the string alone.
var formats = sync.OnceValue(func() *validator.Validate { return validator.New() })

// isURL is the url rule: the string, in lower case, parses as a URL with a
// scheme, and a path other than "/" for file URLs, else a host, a fragment
// or an opaque part.
func isURL(s string) bool {
	if s == "" {
		return false
	}
	u, err := url.Parse(strings.ToLower(s))
	switch {
	case err != nil || u.Scheme == "":
		return false
	case u.Scheme == "file":
		return u.Path != "" && u.Path != "/"
	}
	return u.Host != "" || u.Fragment != "" || u.Opaque != ""
}

// isUUID is the uuid rule: 8-4-4-4-12 hexadecimal digits of either case.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHexDigit(c) {
				return false
			}
		}
	}
	return true
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
