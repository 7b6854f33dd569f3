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
	"unsafe"

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
	// For the quiet walk, which asks only whether anything fails: the
	// rules of the fields that are leaves (fastValue.leaf) in one list,
	// then the other fields, indices into fields.
	checks []fastCheck
	others []int
}

// fastCheck is a rule of a leaf field, with what the commonest rules need
// copied in, so that checking one reads nothing else: following pointers
// to the field's plan and rule, and the calls on the way, were a large
// part of the quiet walk's time.
type fastCheck struct {
	offset uintptr
	op     fastOp
	cmp    cmpOp
	kind   reflect.Kind
	n      int64
	u      uint64
	f      float64
	step   *fastStep
	value  *fastValue
}

// passes is step.passes on the field of the struct at p, done here for
// bounds on numbers and for strings.
func (c *fastCheck) passes(p unsafe.Pointer) bool {
	p = unsafe.Add(p, c.offset)
	switch c.op {
	case opInt:
		return compare(intAt(p, c.kind), c.n, c.cmp)
	case opUint:
		return compare(uintAt(p, c.kind), c.u, c.cmp)
	case opFloat:
		return compare(floatAt(p, c.kind), c.f, c.cmp)
	case opRequired:
		if c.kind == reflect.String {
			return len(*(*string)(p)) > 0
		}
	case opSize:
		if c.kind == reflect.String {
			return compare(int64(utf8.RuneCountInString(*(*string)(p))), c.n, c.cmp)
		}
	}
	return c.step.passes(p, c.value, false)
}

type fastField struct {
	offset uintptr
	name   string // JSON name: "" for embedded structs and `json:"-"`
	owner  string // the name of the struct type that holds it
	value  *fastValue
}

// fastValue checks the values of one type under one level of a tag: its
// rules up to the first dive.
type fastValue struct {
	ptrs   int          // pointers to follow to the value
	typ    reflect.Type // the value's, past the pointers
	kind   reflect.Kind // typ's
	steps  []fastStep   // the level's rules in order, then dive
	nested *fastStruct  // the fields of a struct the validator enters, after the steps
	elem   *fastValue   // after dive
	// For dive into a slice or an array: the size of an element, and an
	// array's length.
	elemSize uintptr
	arrayLen int
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
			s.fields = append(s.fields, fastField{offset: f.Offset, name: jsonName(f), owner: t.Name(), value: v})
		}
	}
	for i, f := range s.fields {
		if !f.value.leaf() {
			s.others = append(s.others, i)
			continue
		}
		for j := range f.value.steps {
			step := &f.value.steps[j]
			s.checks = append(s.checks, fastCheck{offset: f.offset, op: step.op, cmp: step.cmp, kind: f.value.kind, n: step.n, u: step.u, f: step.f, step: step, value: f.value})
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
	v.typ, v.kind = t, t.Kind()
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
		v.elemSize = t.Elem().Size()
		if v.kind == reflect.Array {
			v.arrayLen = t.Len()
		}
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

// leaf reports whether s has no pointer to follow, nothing below to walk,
// and only checks among its steps (no omit rule, stop or dive).
func (s *fastValue) leaf() bool {
	return s.ptrs == 0 && s.nested == nil && !slices.ContainsFunc(s.steps, func(step fastStep) bool {
		switch step.op {
		case opOmitEmpty, opOmitZero, opOmitNil, opStop, opDive:
			return true
		}
		return false
	})
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

// check validates the input struct at p within the limits; its errors are
// those of the validator and the limits' walk.
//
// A request that passes is walked once, quietly: no path is kept and the
// walk stops at the first failed rule or crossed limit. Only then is it
// walked again to say what failed, where, and how often: a passing request
// costs no allocation and no bookkeeping, a failing one two walks.
func (r *fastRoot) check(p unsafe.Pointer, maxItems int, measured bool) error {
	quiet := fastWalk{m: measure{maxItems: maxItems}, quiet: true}
	quiet.fields(p, r.fields, 0, measured)
	if !quiet.stop {
		return nil
	}
	w := fastWalk{m: measure{maxItems: maxItems}, root: r.name}
	w.fields(p, r.fields, 0, measured)
	switch {
	case w.limit != nil:
		return w.limit
	case w.total > 0:
		return validationError(w.errs, w.total)
	}
	return nil
}

// fastWalk is one walk of a value: where it is (when not quiet), the
// limits' counts, and the field errors (the first MaxFieldErrors, and how
// many there are).
//
// The walk reads values through pointers into them, at offsets the plan
// computed from the types, not through reflect.Value, which checks flags
// and kinds at every field, element and number. Maps, and the values the
// limits' walk goes on with, are read through reflect at the pointer
// (fastValue.reflect).
type fastWalk struct {
	quiet bool // keep no path, and stop at the first failed rule or crossed limit
	stop  bool // a quiet walk found one; a walk that is not stops at a limit
	m     measure
	limit error // the limit crossed
	root  string
	errs  []FieldError
	total int
	path  []pathNode
}

// pathNode is a step of the walk: a struct field, a slice or array
// element, or a map element.
type pathNode struct {
	field *fastField
	index int
	key   reflect.Value
}

func (w *fastWalk) push(n pathNode) {
	if !w.quiet {
		w.path = append(w.path, n)
	}
}

func (w *fastWalk) pop() {
	if !w.quiet {
		w.path = w.path[:len(w.path)-1]
	}
}

// fields walks the fields of the struct at p. measuring says whether the
// limits' walk would be here too, depth is as it counts.
func (w *fastWalk) fields(p unsafe.Pointer, s *fastStruct, depth int, measuring bool) {
	if measuring && depth == MaxDepth {
		w.crossed(w.m.tooDeep)
		return
	}
	if w.quiet {
		// value's work on the leaves, without its calls and bookkeeping
		// (most fields are leaves, and most requests pass), then the rest.
		for i := range s.checks {
			if !s.checks[i].passes(p) {
				w.stop = true
				return
			}
		}
		for _, i := range s.others {
			f := &s.fields[i]
			if w.value(unsafe.Add(p, f.offset), f.value, depth+1, measuring && f.value.unbounded); w.stop {
				return
			}
		}
		return
	}
	for i := range s.fields {
		f := &s.fields[i]
		w.push(pathNode{field: f})
		w.value(unsafe.Add(p, f.offset), f.value, depth+1, measuring && f.value.unbounded)
		w.pop()
		if w.stop {
			return
		}
	}
}

// value runs the rules of s on the value at p as the validator's
// traverseField does.
func (w *fastWalk) value(p unsafe.Pointer, s *fastValue, depth int, measuring bool) {
	for range s.ptrs {
		if p = *(*unsafe.Pointer)(p); p == nil {
			w.nilPointer(s)
			return
		}
	}
	viaPointer := s.ptrs > 0
	for i := range s.steps {
		step := &s.steps[i]
		switch step.op {
		case opStop:
			w.measureRest(p, s, depth, measuring)
			return
		case opOmitEmpty, opOmitZero, opOmitNil:
			if !step.lets(p, s, viaPointer) {
				w.measureRest(p, s, depth, measuring)
				return
			}
		case opDive:
			w.elements(p, s, depth, measuring)
			return
		default:
			if !step.passes(p, s, viaPointer) {
				w.fail(step.rule, step.param, s.kind)
				if !w.stop {
					w.measureRest(p, s, depth, measuring)
				}
				return
			}
		}
	}
	if s.nested != nil {
		w.fields(p, s.nested, depth, measuring)
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

// elements dives into the collection at p, of s's type, counting its
// elements against the item limit.
func (w *fastWalk) elements(p unsafe.Pointer, s *fastValue, depth int, measuring bool) {
	n := s.len(p)
	if measuring {
		w.m.items += n
		if w.m.items > w.m.maxItems {
			w.crossed(w.m.tooMany)
			return
		}
	}
	switch {
	case n == 0:
		return
	case s.kind != reflect.Map:
		first := p
		if s.kind == reflect.Slice {
			first = unsafe.Pointer(unsafe.SliceData(*(*[]byte)(p)))
		}
		for i := range n {
			w.push(pathNode{index: i})
			w.value(unsafe.Add(first, uintptr(i)*s.elemSize), s.elem, depth, measuring)
			w.pop()
			if w.stop {
				return
			}
		}
		return
	}
	// A map's elements are copied into one value of its element type; the
	// keys are read only for paths.
	var it reflect.MapIter
	it.Reset(s.reflect(p))
	elem := reflect.New(s.typ.Elem())
	for it.Next() {
		elem.Elem().SetIterValue(&it)
		if !w.quiet {
			w.push(pathNode{key: it.Key()})
		}
		w.value(elem.UnsafePointer(), s.elem, depth, measuring)
		w.pop()
		if w.stop {
			return
		}
	}
}

// measureRest walks what is below the value at p as the limits' walk
// does, where the validator stops early but the limits' walk would not.
func (w *fastWalk) measureRest(p unsafe.Pointer, s *fastValue, depth int, measuring bool) {
	if !measuring || !s.unbounded {
		return
	}
	if !w.quiet {
		w.m.path = w.steps()
	}
	if err := w.m.value(s.reflect(p), s.rules, depth); err != nil {
		w.limit, w.stop = err, true
	}
}

// crossed ends the walk at a limit, with the limit's error at the walk's
// path.
func (w *fastWalk) crossed(limit func() error) {
	w.stop = true
	if !w.quiet {
		w.m.path = w.steps()
		w.limit = limit()
	}
}

// fail records a failed rule as rulesError reports the validator's.
func (w *fastWalk) fail(rule, param string, kind reflect.Kind) {
	if w.quiet {
		w.stop = true
		return
	}
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
		case n.key.IsValid():
			name += fmt.Sprintf("[%v]", n.key)
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
		case n.key.IsValid():
			steps[i] = pathStep{key: n.key}
		default:
			steps[i] = pathStep{index: n.index}
		}
	}
	return steps
}

// lets reports whether an omit rule lets the value at p through to the
// rules after it.
func (s *fastStep) lets(p unsafe.Pointer, v *fastValue, viaPointer bool) bool {
	switch s.op {
	case opOmitEmpty:
		return v.hasValue(p, viaPointer)
	case opOmitZero:
		if v.kind == reflect.Slice || v.kind == reflect.Map {
			return !v.isNil(p) && v.len(p) > 0
		}
		return !v.isZero(p)
	}
	return (v.kind != reflect.Slice && v.kind != reflect.Map) || !v.isNil(p) // omitnil
}

// passes runs a rule on the value at p.
func (s *fastStep) passes(p unsafe.Pointer, v *fastValue, viaPointer bool) bool {
	switch s.op {
	case opRequired:
		return v.hasValue(p, viaPointer)
	case opSize:
		n := v.len(p)
		if v.kind == reflect.String {
			n = utf8.RuneCountInString(*(*string)(p))
		}
		return compare(int64(n), s.n, s.cmp)
	case opInt:
		return compare(intAt(p, v.kind), s.n, s.cmp)
	case opUint:
		return compare(uintAt(p, v.kind), s.u, s.cmp)
	case opFloat:
		return compare(floatAt(p, v.kind), s.f, s.cmp)
	case opOneOfString:
		return slices.Contains(s.words, *(*string)(p))
	case opOneOfInt:
		return slices.Contains(s.ints, intAt(p, v.kind))
	case opOneOfUint:
		return slices.Contains(s.uints, uintAt(p, v.kind))
	case opEmail:
		return formats().Var(*(*string)(p), "email") == nil
	case opURL:
		return isURL(*(*string)(p))
	case opUUID:
		return isUUID(*(*string)(p))
	case opDatetime:
		_, err := time.Parse(s.param, *(*string)(p))
		return err == nil
	}
	panic(fmt.Sprintf("binding: rule %q is no check", s.rule))
}

// hasValue is required's test: nil or not for slices and maps; for other
// values, reached through a pointer or not the zero value.
func (s *fastValue) hasValue(p unsafe.Pointer, viaPointer bool) bool {
	if s.kind == reflect.Slice || s.kind == reflect.Map {
		return !s.isNil(p)
	}
	return viaPointer || !s.isZero(p)
}

// reflect returns the value at p, for what the walk leaves to reflect.
func (s *fastValue) reflect(p unsafe.Pointer) reflect.Value {
	return reflect.NewAt(s.typ, p).Elem()
}

// isNil reports whether the slice or map at p is nil.
func (s *fastValue) isNil(p unsafe.Pointer) bool {
	if s.kind == reflect.Slice {
		return unsafe.SliceData(*(*[]byte)(p)) == nil
	}
	return *(*unsafe.Pointer)(p) == nil
}

// len is the length of the string, slice, array or map at p.
func (s *fastValue) len(p unsafe.Pointer) int {
	switch s.kind {
	case reflect.String:
		return len(*(*string)(p))
	case reflect.Slice:
		return len(*(*[]byte)(p))
	case reflect.Array:
		return s.arrayLen
	}
	return s.reflect(p).Len()
}

// isZero is reflect.Value.IsZero, without reflect for numbers, booleans
// and strings.
func (s *fastValue) isZero(p unsafe.Pointer) bool {
	switch s.kind {
	case reflect.Bool:
		return !*(*bool)(p)
	case reflect.String:
		return len(*(*string)(p)) == 0
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return intAt(p, s.kind) == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return uintAt(p, s.kind) == 0
	case reflect.Float32, reflect.Float64:
		return floatAt(p, s.kind) == 0
	}
	return s.reflect(p).IsZero()
}

// intAt, uintAt and floatAt read the number of kind k at p.
func intAt(p unsafe.Pointer, k reflect.Kind) int64 {
	switch k {
	case reflect.Int8:
		return int64(*(*int8)(p))
	case reflect.Int16:
		return int64(*(*int16)(p))
	case reflect.Int32:
		return int64(*(*int32)(p))
	case reflect.Int64:
		return *(*int64)(p)
	}
	return int64(*(*int)(p))
}

func uintAt(p unsafe.Pointer, k reflect.Kind) uint64 {
	switch k {
	case reflect.Uint8:
		return uint64(*(*uint8)(p))
	case reflect.Uint16:
		return uint64(*(*uint16)(p))
	case reflect.Uint32:
		return uint64(*(*uint32)(p))
	case reflect.Uint64:
		return *(*uint64)(p)
	case reflect.Uintptr:
		return uint64(*(*uintptr)(p))
	}
	return uint64(*(*uint)(p))
}

func floatAt(p unsafe.Pointer, k reflect.Kind) float64 {
	if k == reflect.Float32 {
		return float64(*(*float32)(p))
	}
	return *(*float64)(p)
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
