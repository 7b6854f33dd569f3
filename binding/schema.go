package binding

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"
	"github.com/invopop/jsonschema"
)

// Endpoint metadata keys under which typed handlers publish the JSON
// Schemas (draft 2020-12) of their request and response, as JSON text. INFO
// shows them, so `nats micro info` tells what an endpoint takes and
// returns.
const (
	RequestSchemaKey  = "natsmux.request_schema"
	ResponseSchemaKey = "natsmux.response_schema"
)

// SchemaMetadata returns the metadata that JSON's handlers publish, for
// hand-written handlers that use Decode and Encode:
//
//	r.HandleFunc("create", create, natsmux.WithMetadata(binding.SchemaMetadata[Order, Receipt]()))
//
// Pass the options given to Decode: WithStrict forbids additional
// properties in the request schema, WithMaxItems bounds the collections
// rules dive into, and WithValidator's validator decides which zero values
// the request schema accepts.
func SchemaMetadata[In, Out any](opts ...Option) map[string]string {
	inputOf(reflect.TypeFor[*In]()) // its rules compiled now, not at the first Decode
	return schemaMetadata(reflect.TypeFor[In](), reflect.TypeFor[Out](), newConfig(opts))
}

func schemaMetadata(in, out reflect.Type, c *config) map[string]string {
	return map[string]string{
		RequestSchemaKey:  schemaOf(in, c, false),
		ResponseSchemaKey: schemaOf(out, c, true),
	}
}

// How a value is described depends on who handles it.
type mode int

const (
	checked   mode = iota // request values the validator checks
	unchecked             // request values it does not reach: without dive, below structonly, ...
	reply                 // values a handler returns
)

// schemaGen rewrites the schema that invopop/jsonschema reflects from a
// type (JSON types, names, jsonschema tags) into one that says what
// happens to a value on the way in, or on the way out for a reply.
//
// A request decodes into a fresh value, so an absent property, null and
// the zero value are the same thing to the endpoint: a property is
// required exactly when the rules refuse its zero value, and null is
// allowed exactly when they accept it. The validator itself answers which
// zero values pass (zeroPasses), so that the answer follows its semantics
// (omitempty, pointers, nested structs) rather than a copy of them. Rules
// under omitempty bind values other than the zero value only: such a
// value is anyOf [its zero value or null, the constrained schema].
type schemaGen struct {
	vd       *validator.Validate
	strict   bool
	maxItems int
	base     jsonschema.Definitions // invopop's
	defs     jsonschema.Definitions // the output's
}

// schemaOf generates t's schema, for requests or for replies.
func schemaOf(t reflect.Type, c *config, forReply bool) string {
	defer func() {
		if v := recover(); v != nil { // the reflector panics on types JSON cannot carry, such as channels
			panic(fmt.Sprintf("binding: generating the JSON Schema of %s: %v", t, v))
		}
	}()
	r := &jsonschema.Reflector{
		Anonymous:                  true,
		RequiredFromJSONSchemaTags: !forReply, // a reply has every field without omitempty
		AllowAdditionalProperties:  forReply || !c.strict,
		Namer:                      defName,
	}
	reflected := r.ReflectFromType(t)
	g := &schemaGen{vd: c.validate(), strict: c.strict && !forReply, maxItems: c.maxItems,
		base: reflected.Definitions, defs: jsonschema.Definitions{}}
	root := *reflected
	root.Version, root.Definitions = "", nil
	m := reply
	if !forReply {
		m = unchecked
		if hasStructRules(t) {
			m = checked
		}
	}
	s, _ := g.slot(&root, t, nil, m)
	out := *s
	out.Version, out.Definitions = jsonschema.Version, g.defs
	data, err := json.Marshal(&out)
	if err != nil {
		panic(err)
	}
	return string(data)
}

// defName names t's definition in $defs. The name of an instance of a
// generic type holds package paths, whose slashes would break the
// "#/$defs/..." references: Page[example.com/shop.Item] becomes Page_Item.
func defName(t reflect.Type) string {
	name := t.Name()
	if !strings.Contains(name, "[") {
		return name
	}
	parts := strings.FieldsFunc(name, func(r rune) bool { return strings.ContainsRune("[]*, ", r) })
	for i, p := range parts {
		parts[i] = p[strings.LastIndexByte(p, '.')+1:]
	}
	return strings.Join(parts, "_")
}

// slot returns the schema of a property, an element or the root, of type
// t with rules rs, given invopop's schema base for it, and whether the
// rules refuse the zero value (a property is then required).
func (g *schemaGen) slot(base *jsonschema.Schema, t reflect.Type, rs *ruleSet, m mode) (*jsonschema.Schema, bool) {
	switch {
	case m == reply:
		s := g.value(base, t, nil, reply)
		if nilable(t) {
			s = nullable(s)
		}
		return s, false
	case m == unchecked || rs.skipped():
		return nullable(g.value(base, t, nil, unchecked)), false
	}
	s := g.value(base, t, rs, checked)
	if !g.zeroPasses(t, rs.mappedTag(true)) {
		return excludeZero(s, t), true
	}
	if _, _, omit := rs.conditional(); omit != "omitempty" || nilable(t) || g.zeroPasses(t, rs.mappedTag(false)) {
		return nullable(s), false // the zero value is null or passes every published rule
	}
	return &jsonschema.Schema{AnyOf: append(g.zeroValues(t), s)}, false
}

// value returns the schema of the values of type t other than its zero
// value, under rules rs.
func (g *schemaGen) value(base *jsonschema.Schema, t reflect.Type, rs *ruleSet, m mode) *jsonschema.Schema {
	t = derefType(t)
	if custom(t) {
		return g.customValue(base, t)
	}
	if isNestedStruct(t) && m == checked && !rs.entersStruct() {
		m = unchecked // structonly, nostructlevel
	}
	if isNestedStruct(t) && base.Ref != "" {
		s := copySchema(base)
		s.Ref = "#/$defs/" + g.def(t, m)
		return s
	}
	s := g.inline(base)
	elems, elemMode := (*ruleSet)(nil), m
	if m == checked {
		if elems = rs.elemRules(); elems == nil {
			elemMode = unchecked
		}
	}
	switch t.Kind() {
	case reflect.Struct:
		if s.Properties != nil { // an anonymous struct
			g.fields(s, t, m)
		}
	case reflect.Slice, reflect.Array:
		zeroRefused := false
		if s.Items != nil {
			s.Items, zeroRefused = g.slot(s.Items, t.Elem(), elems, elemMode)
		}
		if t.Kind() == reflect.Array && m != reply {
			requestArray(s, t.Len(), zeroRefused)
		}
	case reflect.Map:
		if s.AdditionalProperties != nil && s.AdditionalProperties != jsonschema.FalseSchema {
			s.AdditionalProperties, _ = g.slot(s.AdditionalProperties, t.Elem(), elems, elemMode)
		}
		patterns := make(map[string]*jsonschema.Schema, len(s.PatternProperties))
		for p, ps := range s.PatternProperties {
			patterns[p], _ = g.slot(ps, t.Elem(), elems, elemMode)
		}
		s.PatternProperties = patterns
	}
	integerRange(s, t)
	if m == checked {
		for _, rule := range rs.published() {
			constrain(s, t, rule)
		}
		if elems != nil {
			boundCount(s, t.Kind(), "max", uint64(g.maxItems))
		}
	}
	return s
}

// maxPrefixItems bounds how many elements of a Go array a request schema
// describes one by one.
const maxPrefixItems = 16

// requestArray describes a Go array of n elements as decoding reads it: a
// shorter JSON array is padded with zero values, which must then pass the
// elements' rules (zeroRefused: they do not), and the excess of a longer
// one is dropped without a look. So the first n elements are described,
// the others are free; beyond maxPrefixItems, none is described, to keep
// INFO small.
func requestArray(s *jsonschema.Schema, n int, zeroRefused bool) {
	s.MinItems, s.MaxItems = nil, nil
	if n <= maxPrefixItems {
		s.PrefixItems = slices.Repeat([]*jsonschema.Schema{s.Items}, n)
		if zeroRefused {
			count := uint64(n)
			s.MinItems = &count
		}
	}
	s.Items = nil
}

// customValue describes a type that decodes its own way or describes
// itself, without rules: as it describes itself; as any value, for its own
// JSON decoding; as a string for text, times included.
func (g *schemaGen) customValue(base *jsonschema.Schema, t reflect.Type) *jsonschema.Schema {
	switch p := reflect.PointerTo(t); {
	case p.Implements(schemaProviderType):
		if name, ok := strings.CutPrefix(base.Ref, "#/$defs/"); ok && g.defs[name] == nil {
			g.defs[name] = g.base[name]
		}
		return copySchema(base)
	case p.Implements(jsonUnmarshalerType) && !t.ConvertibleTo(timeType):
		return &jsonschema.Schema{}
	}
	s := copySchema(base)
	if s.Ref != "" { // a struct that reads itself from text
		s = &jsonschema.Schema{Description: s.Description}
	}
	s.Type = "string"
	return s
}

// def returns the name of the definition of struct type t as handled in
// mode m, making it the first time. A type the validator checks in one
// place and not in another has two definitions, the second named
// "<name>_unchecked".
func (g *schemaGen) def(t reflect.Type, m mode) string {
	name := defName(t)
	base := g.base[name]
	if m == unchecked {
		name += "_unchecked"
	}
	if _, ok := g.defs[name]; ok {
		return name
	}
	d := copySchema(base)
	g.defs[name] = d // before the fields, which may refer to it
	if d.Properties != nil {
		g.fields(d, t, m)
	}
	return name
}

// inline returns a copy of base, or of the definition it refers to (a
// named slice or map: its rules differ from field to field).
func (g *schemaGen) inline(base *jsonschema.Schema) *jsonschema.Schema {
	if name, ok := strings.CutPrefix(base.Ref, "#/$defs/"); ok && g.base[name] != nil {
		return copySchema(g.base[name])
	}
	return copySchema(base)
}

// fields rewrites the properties of s, the object schema of struct type t,
// and adds those whose zero value the rules refuse to its required ones.
func (g *schemaGen) fields(s *jsonschema.Schema, t reflect.Type, m mode) {
	fields := jsonFields(t)
	props := jsonschema.NewProperties()
	required := slices.Clone(s.Required)
	for name, base := range s.Properties.FromOldest() {
		i := slices.IndexFunc(fields, func(f jsonField) bool { return f.name == name })
		if i < 0 {
			props.Set(name, base)
			continue
		}
		fm := m
		if fields[i].unchecked && m == checked {
			fm = unchecked
		}
		prop, refused := g.slot(base, fields[i].Type, ruleSetOf(fields[i].StructField), fm)
		props.Set(name, prop)
		if refused && !slices.Contains(required, name) {
			required = append(required, name)
		}
	}
	s.Properties, s.Required = props, required
}

// jsonField is a field as a JSON object holds it: by its JSON name, with
// the fields of embedded structs promoted.
type jsonField struct {
	reflect.StructField
	name string
	// viaPointer marks a field of an embedded struct pointer, which
	// decoding allocates when any of its fields is present.
	viaPointer bool
	// unchecked marks a field of an embedded struct that the validator
	// does not check as a whole: behind a pointer, or stopped by the
	// embedded field's own rules.
	unchecked bool
}

func jsonFields(t reflect.Type) []jsonField {
	var fields []jsonField
	for _, f := range structFields(t) {
		name := jsonName(f)
		if f.Tag.Get("json") == "-" {
			continue
		}
		if name != "" && f.IsExported() {
			fields = append(fields, jsonField{StructField: f, name: name})
			continue
		}
		if name != "" || !f.Anonymous {
			continue
		}
		rs, viaPointer := ruleSetOf(f), f.Type.Kind() == reflect.Pointer
		for _, pf := range jsonFields(derefType(f.Type)) {
			pf.viaPointer = pf.viaPointer || viaPointer
			pf.unchecked = pf.unchecked || viaPointer || rs.skipped() || !rs.entersStruct()
			fields = append(fields, pf)
		}
	}
	return fields
}

// zeroPasses asks the validator whether the zero value of t passes the
// rules of tag, as the value of a struct field: the same code path as a
// real request's. A rule it cannot run on a lone field counts as passing,
// which can only make the schema looser.
func (g *schemaGen) zeroPasses(t reflect.Type, rules string) (passes bool) {
	defer func() {
		if recover() != nil {
			passes = true
		}
	}()
	holder := reflect.StructOf([]reflect.StructField{{Name: "V", Type: t, Tag: reflect.StructTag("validate:" + strconv.Quote(rules))}})
	return g.vd.Struct(reflect.New(holder).Interface()) == nil
}

// zeroValues returns schemas for the JSON values that decode to t's zero
// value, null included: more of them rather than fewer, as they widen
// what a schema accepts.
func (g *schemaGen) zeroValues(t reflect.Type) []*jsonschema.Schema {
	null := &jsonschema.Schema{Type: "null"}
	switch {
	case nilable(t):
		return []*jsonschema.Schema{null}
	case custom(t):
		zero, err := json.Marshal(reflect.Zero(t).Interface())
		if err != nil {
			return []*jsonschema.Schema{null}
		}
		return []*jsonschema.Schema{{Enum: []any{json.RawMessage(zero), nil}}}
	}
	switch t.Kind() {
	case reflect.String:
		return []*jsonschema.Schema{{Enum: []any{"", nil}}}
	case reflect.Bool:
		return []*jsonschema.Schema{{Enum: []any{false, nil}}}
	case reflect.Struct:
		return []*jsonschema.Schema{null, g.zeroObject(t)}
	case reflect.Array:
		zero := &jsonschema.Schema{Type: "array", Items: &jsonschema.Schema{AnyOf: g.zeroValues(t.Elem())}}
		requestArray(zero, t.Len(), false)
		return []*jsonschema.Schema{null, zero}
	}
	return []*jsonschema.Schema{{Enum: []any{0, nil}}} // numbers
}

// zeroObject matches the objects that decode to a zero struct of type t:
// each property holds a zero value; those promoted from an embedded
// pointer are absent, as any of them would allocate it.
func (g *schemaGen) zeroObject(t reflect.Type) *jsonschema.Schema {
	s := &jsonschema.Schema{Type: "object", Properties: jsonschema.NewProperties()}
	for _, f := range jsonFields(t) {
		if _, seen := s.Properties.Get(f.name); seen {
			continue // encoding/json's rules for clashing names are not ours to repeat
		}
		if f.viaPointer {
			s.Properties.Set(f.name, jsonschema.FalseSchema)
			continue
		}
		if zero := g.zeroValues(f.Type); len(zero) == 1 {
			s.Properties.Set(f.name, zero[0])
		} else {
			s.Properties.Set(f.name, &jsonschema.Schema{AnyOf: zero})
		}
	}
	if g.strict {
		s.AdditionalProperties = jsonschema.FalseSchema
	}
	return s
}

// nullable returns s widened to accept null as well.
func nullable(s *jsonschema.Schema) *jsonschema.Schema {
	switch {
	case s == jsonschema.TrueSchema || reflect.DeepEqual(s, &jsonschema.Schema{}): // accepts anything already
		return s
	case s.Type == "" || s.Ref != "" || s.AnyOf != nil || s.OneOf != nil || s.AllOf != nil || s.Not != nil:
		return &jsonschema.Schema{AnyOf: []*jsonschema.Schema{{Type: "null"}, s}}
	}
	s = copySchema(s)
	s.Extras = cloneExtras(s.Extras)
	s.Extras["type"] = []string{s.Type, "null"} // invopop's Type holds one name
	s.Type = ""
	if s.Enum != nil {
		s.Enum = append(slices.Clone(s.Enum), nil)
	}
	if s.Const != nil {
		s.Enum, s.Const = []any{s.Const, nil}, nil
	}
	return s
}

// excludeZero returns s narrowed to refuse t's zero value where the rules
// refuse it and nothing in s does yet: a string must not be empty, an
// integer not 0, a boolean true. Elsewhere null is the zero value, which
// the type refuses; a struct's zero object and a float's 0 stay accepted,
// as JSON Schema cannot tell -0, which Go counts as set, from 0.
func excludeZero(s *jsonschema.Schema, t reflect.Type) *jsonschema.Schema {
	if nilable(t) || custom(t) || s.Ref != "" {
		return s
	}
	switch t.Kind() {
	case reflect.String:
		if s.Enum == nil && s.Format == "" && s.Pattern == "" && (s.MinLength == nil || *s.MinLength == 0) {
			one := uint64(1)
			s.MinLength = &one
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if !excludesZero(s) {
			s.Not = &jsonschema.Schema{Const: 0}
		}
	case reflect.Bool:
		s.Const = true
	}
	return s
}

// excludesZero reports whether the numeric keywords of s refuse 0.
func excludesZero(s *jsonschema.Schema) bool {
	if s.Enum != nil {
		return !slices.ContainsFunc(s.Enum, func(v any) bool { return v == json.Number("0") })
	}
	sign := func(n json.Number) int {
		r, ok := new(big.Rat).SetString(string(n))
		if !ok {
			return 0
		}
		return r.Sign()
	}
	return s.Minimum != "" && sign(s.Minimum) > 0 || s.ExclusiveMinimum != "" && sign(s.ExclusiveMinimum) >= 0 ||
		s.Maximum != "" && sign(s.Maximum) < 0 || s.ExclusiveMaximum != "" && sign(s.ExclusiveMaximum) <= 0
}

// nilable reports whether t's zero value is nil, which JSON writes null.
func nilable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		return true
	}
	return false
}

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	schemaProviderType  = reflect.TypeFor[interface{ JSONSchema() *jsonschema.Schema }]()
)

// custom reports whether values of t decode their own way, or describe
// their own schema: rules are then not published for them.
func custom(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return p.Implements(jsonUnmarshalerType) || p.Implements(textUnmarshalerType) || p.Implements(schemaProviderType)
}

func copySchema(s *jsonschema.Schema) *jsonschema.Schema {
	c := *s
	return &c
}

func cloneExtras(m map[string]any) map[string]any {
	c := make(map[string]any, len(m)+1)
	for k, v := range m {
		c[k] = v
	}
	return c
}

// elemRules returns the rules of the elements, when the rules dive.
func (rs *ruleSet) elemRules() *ruleSet {
	if rs == nil {
		return nil
	}
	return rs.elems
}

// published returns the rules the schema expresses: the mapped ones,
// before and after omitempty, but not after omitzero or omitnil, whose
// conditions it does not repeat.
func (rs *ruleSet) published() []string {
	always, ifSet, omit := rs.conditional()
	var rules []string
	for _, r := range always {
		if mapped(r) {
			rules = append(rules, r)
		}
	}
	if omit == "omitempty" {
		for _, r := range ifSet {
			if mapped(r) {
				rules = append(rules, r)
			}
		}
	}
	return rules
}

// constrain carries one mapped rule into s, the schema of values of type t
// (not a pointer): min, max, gte, lte, gt, lt and len as bounds on numbers,
// lengths of strings and counts of slices and maps; oneof as an enum of
// the field's JSON type; email, url, uuid and datetime (with an RFC 3339
// or date-only layout) as formats of strings, unless a jsonschema tag set
// one. required is expressed by the caller, through the zero value.
func constrain(s *jsonschema.Schema, t reflect.Type, rule string) {
	name, param, _ := strings.Cut(rule, "=")
	switch name {
	case "email", "url", "uuid", "datetime":
		if t.Kind() == reflect.String && s.Format == "" {
			s.Format = formatOf(name, param)
		}
	case "oneof":
		s.Enum = enumOf(t, param)
	case "min", "max", "gte", "lte", "gt", "lt", "len":
		switch t.Kind() {
		case reflect.String, reflect.Slice, reflect.Map:
			if n, err := strconv.ParseInt(param, 0, 64); err == nil && n >= 0 {
				boundCount(s, t.Kind(), name, uint64(n))
			}
		default:
			if n, ok := numberParam(t, param); ok {
				boundNumber(s, name, n)
			}
		}
	}
}

// formatOf returns the JSON Schema format of a validation rule: email, uri,
// uuid, or for datetime the format its layout matches (date-time for RFC
// 3339, date for 2006-01-02), "" for another layout.
func formatOf(rule, layout string) string {
	switch rule {
	case "email":
		return "email"
	case "url":
		return "uri"
	case "uuid":
		return "uuid"
	}
	switch layout {
	case time.RFC3339, time.RFC3339Nano:
		return "date-time"
	case time.DateOnly:
		return "date"
	}
	return ""
}

// oneOfParam matches the words of a oneof parameter as the validator
// splits them: words, or phrases in single quotes.
var oneOfParam = regexp.MustCompile(`'[^']*'|\S+`)

// oneOfWords returns the words of a oneof parameter, quotes removed.
func oneOfWords(param string) []string {
	words := oneOfParam.FindAllString(param, -1)
	for i, w := range words {
		words[i] = strings.ReplaceAll(w, "'", "")
	}
	return words
}

// decimalInt parses w as an integer of the given size written the way
// strconv.FormatInt writes it, the only words oneof matches a number with.
func decimalInt(w string, bits int) (int64, bool) {
	n, err := strconv.ParseInt(w, 10, bits)
	return n, err == nil && strconv.FormatInt(n, 10) == w
}

// decimalUint is decimalInt for unsigned integers.
func decimalUint(w string, bits int) (uint64, bool) {
	n, err := strconv.ParseUint(w, 10, bits)
	return n, err == nil && strconv.FormatUint(n, 10) == w
}

// enumOf returns the values oneof=param lets a value of type t take, in
// its JSON type: the validator compares a number's decimal form with each
// word, so only words in that form, within t's range, can match.
func enumOf(t reflect.Type, param string) []any {
	words := oneOfWords(param)
	enum := make([]any, 0, len(words))
	for _, w := range words {
		switch t.Kind() {
		case reflect.String:
			enum = append(enum, w)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if _, ok := decimalInt(w, t.Bits()); ok {
				enum = append(enum, json.Number(w))
			}
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if _, ok := decimalUint(w, t.Bits()); ok {
				enum = append(enum, json.Number(w))
			}
		default:
			panic(fmt.Sprintf("rule oneof=%s on a %s: the validator takes oneof on strings and integers only", param, t))
		}
	}
	return enum
}

var durationType = reflect.TypeFor[time.Duration]()

// numberParam parses a rule's parameter as the validator does for a value
// of type t, and returns it as a JSON number.
func numberParam(t reflect.Type, param string) (json.Number, bool) {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := intParam(t, param)
		return json.Number(strconv.FormatInt(n, 10)), err == nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(param, 0, 64)
		return json.Number(strconv.FormatUint(n, 10)), err == nil
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(param, t.Bits())
		return json.Number(strconv.FormatFloat(f, 'g', -1, t.Bits())), err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
	}
	return "", false
}

// intParam parses the parameter of a rule on a signed integer of type t
// as the validator does: a duration for time.Duration, else an integer
// in Go's notation (0x10, 0o17, 1_000).
func intParam(t reflect.Type, param string) (int64, error) {
	if t == durationType {
		if d, err := time.ParseDuration(param); err == nil {
			return int64(d), nil
		}
	}
	return strconv.ParseInt(param, 0, 64)
}

// integerRange bounds s to the values an integer of type t can hold,
// where that is narrower than JSON numbers people write: types under 64
// bits, and the sign of unsigned ones. Decoding refuses the others.
func integerRange(s *jsonschema.Schema, t reflect.Type) {
	switch t.Kind() {
	case reflect.Int8, reflect.Int16, reflect.Int32:
		bits := t.Bits()
		boundNumber(s, "min", json.Number(strconv.FormatInt(-1<<(bits-1), 10)))
		boundNumber(s, "max", json.Number(strconv.FormatInt(1<<(bits-1)-1, 10)))
	case reflect.Uint8, reflect.Uint16, reflect.Uint32:
		boundNumber(s, "max", json.Number(strconv.FormatUint(1<<t.Bits()-1, 10)))
		fallthrough
	case reflect.Uint, reflect.Uint64, reflect.Uintptr:
		boundNumber(s, "min", "0")
	}
}

// boundNumber applies one bound, keeping the tighter where s has one.
func boundNumber(s *jsonschema.Schema, rule string, n json.Number) {
	tighter := func(cur *json.Number, lower bool) {
		if *cur != "" {
			a, _ := new(big.Rat).SetString(string(*cur))
			b, _ := new(big.Rat).SetString(string(n))
			if a != nil && b != nil && (a.Cmp(b) >= 0) == lower {
				return
			}
		}
		*cur = n
	}
	switch rule {
	case "min", "gte":
		tighter(&s.Minimum, true)
	case "max", "lte":
		tighter(&s.Maximum, false)
	case "gt":
		tighter(&s.ExclusiveMinimum, true)
	case "lt":
		tighter(&s.ExclusiveMaximum, false)
	case "len":
		tighter(&s.Minimum, true)
		tighter(&s.Maximum, false)
	}
}

// boundCount applies a bound on the length of a string or the size of a
// slice or map, keeping the tighter where s has one.
func boundCount(s *jsonschema.Schema, kind reflect.Kind, rule string, n uint64) {
	lower, upper := &s.MinLength, &s.MaxLength
	switch kind {
	case reflect.Slice:
		if s.Type != "array" { // []byte is a base64 string; its length is not the slice's
			return
		}
		lower, upper = &s.MinItems, &s.MaxItems
	case reflect.Map:
		lower, upper = &s.MinProperties, &s.MaxProperties
	case reflect.String:
	default:
		return
	}
	set := func(cur **uint64, lower bool) {
		if *cur == nil || (n > **cur) == lower {
			*cur = &n
		}
	}
	switch rule {
	case "min", "gte":
		set(lower, true)
	case "max", "lte":
		set(upper, false)
	case "gt":
		if n < math.MaxUint64 {
			n++
			set(lower, true)
		}
	case "lt":
		if n > 0 {
			n--
			set(upper, false)
		}
	case "len":
		set(lower, true)
		set(upper, false)
	}
}
