package binding_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-playground/validator/v10"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/binding"
)

// The fast path's differential tests: binding's compiled rules and
// go-playground/validator (configured as the shared one, through
// WithValidator(NewValidator()), which sends every type to it) must give
// the same answer to every request: the same verdict, the same 413, the
// same field errors in the same order, the same description.

type fpItem struct {
	SKU   string  `json:"sku" validate:"required,max=8"`
	Qty   int     `json:"qty" validate:"gte=1,lte=99"`
	Price float64 `json:"price" validate:"omitempty,gt=0"`
}

type FpTenant struct {
	Tenant string `json:"tenant" validate:"required,min=2"`
}

type FpNote struct {
	Note string `json:"note" validate:"omitempty,max=5"`
}

type fpAddress struct {
	City string   `json:"city" validate:"required"`
	Zip  string   `json:"zip" validate:"omitempty,len=5"`
	Tags []string `json:"tags" validate:"omitempty,max=2,dive,min=1"`
}

// fpOrder has a bit of everything, named and nested.
type fpOrder struct {
	FpTenant
	*FpNote
	ID      string        `json:"id" validate:"required,uuid"`
	Name    string        `json:"name" validate:"required,min=2,max=5"`
	Items   []fpItem      `json:"items" validate:"required,min=1,max=4,dive"`
	Ptrs    []*fpItem     `json:"ptrs" validate:"omitempty,dive,required"`
	Ship    *fpAddress    `json:"ship" validate:"required"`
	Bill    fpAddress     `json:"bill" validate:"omitempty"`
	Alt     *fpAddress    `json:"alt"`
	Only    fpAddress     `json:"only" validate:"structonly"`
	NoLevel *fpAddress    `json:"no_level" validate:"nostructlevel"`
	Grid    [][]int8      `json:"grid" validate:"max=3,dive,min=1,dive,oneof=0 1 -1"`
	Fixed   [3]uint16     `json:"fixed" validate:"dive,lte=500"`
	Stamp   time.Time     `json:"stamp" validate:"required"`
	When    *time.Time    `json:"when" validate:"omitnil,required"`
	Wait    time.Duration `json:"wait" validate:"omitempty,min=1s,max=1h"`
	Level   uint8         `json:"level" validate:"oneof=1 2 3"`
	Email   string        `json:"email" validate:"omitempty,email"`
	Site    string        `json:"site" validate:"omitzero,url"`
	Day     string        `json:"day" validate:"omitempty,datetime=2006-01-02"`
	Ratio   float32       `json:"ratio" validate:"gte=0,lte=1"`
	Flag    bool          `json:"flag" validate:"required"`
	Secret  string        `json:"-" validate:"omitempty,min=2"`
	Ignored []fpItem      `json:"ignored" validate:"-"`
	Plain   []fpItem      `json:"plain"`
}

// fpLabels has maps the rules dive into: their elements come in Go's
// random map order, on both paths.
type fpLabels struct {
	fpScores
	Labels map[string]int        `json:"labels" validate:"omitempty,min=1,dive,gte=0"`
	ByName map[string]fpItem     `json:"by_name" validate:"dive"`
	Refs   map[int]*fpAddress    `json:"refs" validate:"max=3,dive,required"`
	Lists  map[string][]string   `json:"lists" validate:"dive,max=2,dive,oneof=a b"`
	Plain  map[string]fpItem     `json:"plain"`
	Nested map[string]*fpLabels2 `json:"nested" validate:"dive"`
}

// fpScores is embedded unexported: reflection reads its fields as
// read-only values.
type fpScores struct {
	Scores map[string]int `json:"scores" validate:"omitempty,dive,lte=10"`
	Best   []uint8        `json:"best" validate:"max=2,dive,oneof=1 2"`
}

type fpLabels2 struct {
	Counts map[uint8]float64 `json:"counts" validate:"dive,lt=2"`
}

// fpNode is recursive: the depth limit applies.
type fpNode struct {
	Name string   `json:"name" validate:"required"`
	Next *fpNode  `json:"next"`
	Kids []fpNode `json:"kids" validate:"max=2,dive"`
}

// fpHidden has a rule on a field JSON never sets: the validator's path
// for it is the struct's name.
type fpHidden struct {
	Hidden string `json:"-" validate:"required"`
	Shown  string `json:"shown" validate:"required"`
}

// fpArrays has size rules on arrays, whose size is their type's: they
// pass or fail whatever the value.
type fpArrays struct {
	Pair   [2]int     `json:"pair" validate:"len=2,dive,max=3"`
	Triple [3]string  `json:"triple" validate:"min=1,max=3,lt=4,dive,omitempty,len=2"`
	Never  [2]float64 `json:"never" validate:"gt=2"`
	Zero   [0]int     `json:"zero" validate:"required"`
}

// fpCase is a type under test. unordered: its maps come in random order,
// so are its field errors.
type fpCase struct {
	name      string
	typ       reflect.Type
	unordered bool
	deep      bool // values nest as deep as the depth limit
}

// fpRules are the rules of the generated types, by the type they apply to.
var fpRules = []struct {
	typ   reflect.Type
	rules []string
}{
	{reflect.TypeFor[string](), []string{"required", "min=2", "max=3", "len=2", "gte=1", "lte=4", "gt=1", "lt=3",
		"oneof=red 'dark blue' 日本 ''", "email", "url", "uuid", "datetime=2006-01-02", "datetime=2006-01-02T15:04:05Z07:00",
		"max=0x3", "oneof=a0x2Cb c", "required=x"}},
	{reflect.TypeFor[int](), []string{"required", "min=-1", "max=3", "len=2", "gte=0x10", "lte=100", "gt=0", "lt=5", "oneof=1 2 03 -4"}},
	{reflect.TypeFor[int8](), []string{"min=-2", "max=100", "oneof=-128 127 0 300"}},
	{reflect.TypeFor[int64](), []string{"gt=-9223372036854775808", "lt=9223372036854775807", "len=1_000"}},
	{reflect.TypeFor[uint16](), []string{"required", "min=1", "max=300", "len=2", "gte=0x10", "lte=1_000", "gt=0", "lt=5", "oneof=1 2 03 65535"}},
	{reflect.TypeFor[uint64](), []string{"max=18446744073709551614", "gt=9223372036854775807", "oneof=18446744073709551615 0"}},
	{reflect.TypeFor[float32](), []string{"required", "min=0.5", "max=2.5", "len=1.5", "gte=-1", "lte=1e3", "gt=0.1", "lt=3.25"}},
	{reflect.TypeFor[float64](), []string{"required", "min=0.5", "gt=0.1", "lte=0.1", "len=0.5"}},
	{reflect.TypeFor[time.Duration](), []string{"required", "min=1s", "max=1m", "gt=100", "lt=1h", "oneof=1000000000 5", "len=1s"}},
	{reflect.TypeFor[bool](), []string{"required"}},
	{reflect.TypeFor[time.Time](), []string{"required"}},
	{reflect.TypeFor[[]int](), []string{"required", "min=1", "max=2", "len=2", "gte=1", "lte=3", "gt=0", "lt=3"}},
	{reflect.TypeFor[map[string]int](), []string{"required", "min=1", "max=2", "len=0", "gt=1"}},
	{reflect.TypeFor[[3]string](), []string{"required"}},
	{reflect.TypeFor[fpItem](), []string{"required", "structonly", "nostructlevel"}},
}

// fpCases returns the types under test: the named ones, and for each rule
// of fpRules a struct of fields that use it on its type in every way, with
// omit rules, through pointers, dive into slices, arrays and maps, and
// after another rule; map fields get a struct of their own.
func fpCases() []fpCase {
	cases := []fpCase{
		{name: "order", typ: reflect.TypeFor[fpOrder]()},
		{name: "labels", typ: reflect.TypeFor[fpLabels](), unordered: true},
		{name: "node", typ: reflect.TypeFor[fpNode](), deep: true},
		{name: "hidden", typ: reflect.TypeFor[fpHidden]()},
		{name: "arrays", typ: reflect.TypeFor[fpArrays]()},
		{name: "anonymous root, embedded struct", typ: reflect.StructOf([]reflect.StructField{
			{Name: "FpTenant", Type: reflect.TypeFor[FpTenant](), Anonymous: true},
			{Name: "Items", Type: reflect.TypeFor[[]fpItem](), Tag: `json:"items" validate:"dive"`},
		})},
	}
	for _, base := range fpRules {
		b := base.typ
		p := reflect.PointerTo(b)
		for _, rule := range base.rules {
			field := func(t reflect.Type, tag string) reflect.StructField {
				return reflect.StructField{Type: t, Tag: reflect.StructTag(tag)}
			}
			fields := []reflect.StructField{
				field(b, rule), field(b, "omitempty,"+rule), field(b, "omitzero,"+rule), field(b, "omitnil,"+rule),
				field(p, rule), field(p, "omitempty,"+rule), field(p, "omitnil,"+rule), field(reflect.PointerTo(p), rule),
				field(reflect.SliceOf(b), "dive,"+rule), field(reflect.SliceOf(b), "omitempty,min=1,dive,"+rule),
				field(reflect.ArrayOf(2, b), "dive,"+rule), field(reflect.SliceOf(p), "dive,"+rule),
				field(reflect.SliceOf(reflect.SliceOf(b)), "dive,dive,"+rule), field(b, rule+",required"),
			}
			maps := []reflect.StructField{
				field(reflect.MapOf(reflect.TypeFor[string](), b), "dive,"+rule),
				field(reflect.MapOf(reflect.TypeFor[string](), p), "omitempty,dive,"+rule),
				field(reflect.MapOf(reflect.TypeFor[uint8](), reflect.SliceOf(b)), "dive,dive,"+rule),
			}
			name := fmt.Sprintf("%s %s", b, rule)
			cases = append(cases, fpCase{name: name, typ: fpStruct(fields)}, fpCase{name: name + " in maps", typ: fpStruct(maps), unordered: true})
		}
	}
	return cases
}

// fpStruct makes a struct type of fields F0, F1, ... whose tags are their
// rules.
func fpStruct(fields []reflect.StructField) reflect.Type {
	for i := range fields {
		fields[i].Name = "F" + strconv.Itoa(i)
		fields[i].Tag = reflect.StructTag(fmt.Sprintf(`json:"f%d" validate:%q`, i, fields[i].Tag))
	}
	return reflect.StructOf(fields)
}

// TestFastPathAgreesWithValidator generates values of every type of
// fpCases, seeded: zero values, values at and around the rules'
// parameters, unicode, nil pointers, empty, short and long collections,
// recursion past the depth limit, collections past a low item limit. Each
// value, as JSON, is decoded and checked by both paths, which must agree.
// Each type gets at least minValues values, and more (up to maxValues)
// until every field of the generated types has passed and failed.
func TestFastPathAgreesWithValidator(t *testing.T) {
	// Fewer values under the race detector, which slows reflection ten
	// times: the full run checks how well the generator explores.
	minValues, maxValues, explore := 60, 1000, !testing.Short() && !binding.RaceEnabled
	if !explore {
		minValues, maxValues = 20, 20
	}
	totals := map[string]int{}
	for _, tc := range fpCases() {
		t.Run(tc.name, func(t *testing.T) {
			if !binding.FastPath(tc.typ) {
				t.Fatalf("%s is not on the fast path", tc.typ)
			}
			g := newValueGen(tc.typ, uint64(len(tc.name)), tc.deep)
			seen := fpSeen{failed: map[string]bool{}, passed: map[string]bool{}}
			generated := tc.typ.Name() == "" && tc.typ.NumField() > 2
			for i := 0; i < minValues || i < maxValues && generated && explore && !seen.all(tc.typ); i++ {
				v := reflect.New(tc.typ)
				g.fill(v.Elem(), 0)
				payload, err := json.Marshal(v.Interface())
				if err != nil {
					t.Fatal(err)
				}
				var opts []binding.Option
				if i%4 == 3 {
					opts = append(opts, binding.WithMaxItems(6))
				}
				verdict, fields := fpCompare(t, tc, payload, opts...)
				totals[verdict]++
				if verdict != "413" {
					seen.add(tc.typ, fields)
				}
			}
			if explore && generated && !seen.all(tc.typ) {
				t.Errorf("fields passed: %v, failed: %v: the generator explores too little", seen.passed, seen.failed)
			}
		})
	}
	t.Logf("verdicts: %v", totals)
	if explore && (totals["ok"] == 0 || totals["400"] == 0 || totals["413"] == 0) {
		t.Errorf("verdicts %v: the generator explores too little", totals)
	}
}

// fpSeen records which top-level fields have passed and which failed.
type fpSeen struct {
	failed, passed map[string]bool
}

func (s fpSeen) add(t reflect.Type, fields []binding.FieldError) {
	failed := map[string]bool{}
	for _, fe := range fields {
		failed[strings.FieldsFunc(fe.Field, func(r rune) bool { return r == '.' || r == '[' })[0]] = true
	}
	for i := range t.NumField() {
		name := t.Field(i).Tag.Get("json")
		s.failed[name] = s.failed[name] || failed[name]
		s.passed[name] = s.passed[name] || !failed[name]
	}
}

// all reports whether every field of t has passed and failed, or could
// not fail: some rules refuse only zero values, which omit rules let
// through, and structonly and nostructlevel refuse only nil.
func (s fpSeen) all(t reflect.Type) bool {
	for i := range t.NumField() {
		name, rules := t.Field(i).Tag.Get("json"), t.Field(i).Tag.Get("validate")
		mayFail := !strings.HasPrefix(rules, "omit") && !strings.Contains(rules, "struct")
		if !s.passed[name] || !s.failed[name] && mayFail {
			return false
		}
	}
	return true
}

// playground sends every type to a validator configured like the shared
// one.
var playground = binding.WithValidator(binding.NewValidator())

// fpCompare decodes payload into a new value of tc's type on both paths
// and fails t unless they agree; it returns the verdict (ok, 400 or 413)
// and the field errors.
func fpCompare(t *testing.T, tc fpCase, payload []byte, opts ...binding.Option) (string, []binding.FieldError) {
	t.Helper()
	req := natsmux.NewRequest("fast", payload)
	fast := binding.Decode(req, reflect.New(tc.typ).Interface(), opts...)
	slow := binding.Decode(req, reflect.New(tc.typ).Interface(), append(opts, playground)...)
	if fast == nil || slow == nil {
		if (fast == nil) != (slow == nil) {
			t.Fatalf("%s\nfast path: %v\nvalidator: %v", payload, fast, slow)
		}
		return "ok", nil
	}
	var fe, se *natsmux.Error
	if !errors.As(fast, &fe) || !errors.As(slow, &se) || fe.Code != se.Code || fe.Code != 400 && fe.Code != 413 {
		t.Fatalf("%s\nfast path: %v\nvalidator: %v", payload, fast, slow)
	}
	switch {
	case !tc.unordered || fe.Code == 400 && len(fe.Data) == 0: // in order, or a decoding error
		if fe.Description != se.Description || !bytes.Equal(fe.Data, se.Data) {
			t.Fatalf("%s\nfast path: %v %s\nvalidator: %v %s", payload, fast, fe.Data, slow, se.Data)
		}
	case fe.Code == 400:
		fb, sb := fpBody(t, fe), fpBody(t, se)
		if fb.More != sb.More || !slices.Equal(fpSorted(fb.Errors), fpSorted(sb.Errors)) {
			t.Fatalf("%s\nfast path: %s\nvalidator: %s", payload, fe.Data, se.Data)
		}
	}
	return strconv.Itoa(fe.Code), binding.FieldErrors(fast)
}

type fpErrors struct {
	Errors []binding.FieldError `json:"errors"`
	More   int                  `json:"more"`
}

func fpBody(t *testing.T, e *natsmux.Error) fpErrors {
	t.Helper()
	var body fpErrors
	if err := json.Unmarshal(e.Data, &body); err != nil {
		t.Fatal(err)
	}
	return body
}

func fpSorted(errs []binding.FieldError) []binding.FieldError {
	return slices.SortedFunc(slices.Values(errs), func(a, b binding.FieldError) int {
		return cmp.Or(strings.Compare(a.Field, b.Field), strings.Compare(a.Rule, b.Rule), strings.Compare(a.Message, b.Message))
	})
}

// valueGen makes values for the differential tests. Numbers and strings
// come from pools: the parameters of the rules the type uses and their
// neighbours, the kinds' extremes, strings of every format rule, valid
// and not, and strings of random runes.
type valueGen struct {
	rnd    *rand.Rand
	ints   []int64
	near   []int64 // numbers at and next to the type's rules' parameters
	floats []float64
	nearF  []float64
	strs   []string
	hot    []string // strings near the type's rules: their words, lengths, formats
	deep   bool
	limit  int // how deep a value of a recursive type goes
}

// fpFormats are strings of each format rule, valid and not.
var fpFormats = map[string][]string{
	"email": {"ann@example.com", "ann@ex", "a b@example.com", "Ann <ann@example.com>", "ann@例え.jp", "ann@example.com.", "bo.x+y@mail.example.org"},
	"url": {"https://example.com", "HTTP://EXAMPLE.COM/x", "file:///tmp/x", "file:///", "mailto:ann@example.com", "example.com",
		"#frag", "http://", ":foo", "urn:isbn:0451450523", "https://exa mple.com"},
	"uuid": {"123e4567-e89b-12d3-a456-426614174000", "123E4567-E89B-12D3-A456-426614174000", "123e4567e89b-12d3-a456-426614174000",
		"123e4567-e89b-12d3-a456-42661417400", "123e4567-e89b-12d3-a456-42661417400g", "123e4567-e89b-12d3-a456-4266141740é",
		"00000000-0000-0000-0000-000000000000"},
	"datetime": {"2024-01-02", "2024-13-02", "2024-1-2", "2024-01-02T03:04:05Z", "2024-01-02T03:04:05+02:00", "2024-01-02 03:04:05",
		"2024-02-29", "2023-02-29T00:00:00Z"},
}

var fpTimes = []time.Time{{}, time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), time.Unix(0, 0).UTC(), time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)}

var fpRunes = []rune("aZ0 -.@:/é日本語🙂'")

func newValueGen(t reflect.Type, seed uint64, deep bool) *valueGen {
	g := &valueGen{
		rnd:  rand.New(rand.NewPCG(13, seed)),
		ints: []int64{0, 1, -1, 2, 3, 5, 100, 127, 128, 255, 256, -128, -129, 1 << 15, 65535, 1 << 31, math.MaxInt64, math.MinInt64, 1e9, 6e10, 36e11},
		floats: []float64{0, math.Copysign(0, -1), 0.1, float64(float32(0.1)), 0.5, 1, 1.5, 2.5, 3.25, -1, -2, 1e3, 1e3 + 1e-9, 1001,
			math.Nextafter(0.5, 0), math.Nextafter(0.1, 1)},
		strs: []string{"", "a", "ab", "abc", "abcd", "abcde", "日本", "日本語", "🙂🙂", "é", "red", "dark blue", "a,b", "c", "'", "a b"},
		deep: deep,
	}
	for _, samples := range fpFormats {
		g.strs = append(g.strs, samples...)
	}
	g.collect(t, map[reflect.Type]bool{})
	for _, pool := range []*[]int64{&g.ints, &g.near} {
		slices.Sort(*pool)
		*pool = slices.Compact(*pool)
	}
	for _, pool := range []*[]float64{&g.floats, &g.nearF} {
		slices.Sort(*pool)
		*pool = slices.Compact(*pool)
	}
	slices.Sort(g.hot)
	g.hot = slices.Compact(g.hot)
	return g
}

// collect adds the parameters of the rules of t's fields, and their
// neighbours, to the pools.
func (g *valueGen) collect(t reflect.Type, seen map[reflect.Type]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return
	}
	seen[t] = true
	for i := range t.NumField() {
		f := t.Field(i)
		for rule := range strings.SplitSeq(f.Tag.Get("validate"), ",") {
			name, param, ok := strings.Cut(rule, "=")
			g.hot = append(g.hot, fpFormats[name]...)
			if !ok {
				continue
			}
			if name == "oneof" {
				for _, w := range strings.Fields(strings.ReplaceAll(param, "'", "")) {
					g.hot = append(g.hot, w, strings.ReplaceAll(w, "0x2C", ","))
					if n, err := strconv.ParseUint(strings.TrimPrefix(w, "-"), 10, 64); err == nil {
						g.near = append(g.near, int64(n), -int64(n)) // as uint64 too, -1 is the largest
					}
				}
			}
			if n, err := strconv.ParseUint(param, 0, 64); err == nil {
				g.near = append(g.near, int64(n)-1, int64(n), int64(n)+1)
			}
			if n, err := strconv.ParseInt(param, 0, 64); err == nil {
				g.near = append(g.near, n-1, n, n+1)
				for _, size := range []int64{n - 1, n, n + 1} { // strings of about n characters, in runes of every width
					if size >= 0 && size < 64 {
						g.hot = append(g.hot, strings.Repeat("a", int(size)), strings.Repeat("日", int(size)), strings.Repeat("🙂", int(size)))
					}
				}
			}
			if d, err := time.ParseDuration(param); err == nil {
				g.near = append(g.near, int64(d)-1, int64(d), int64(d)+1)
			}
			if x, err := strconv.ParseFloat(param, 64); err == nil {
				g.nearF = append(g.nearF, x, math.Nextafter(x, math.Inf(1)), math.Nextafter(x, math.Inf(-1)), float64(float32(x)),
					float64(math.Nextafter32(float32(x), float32(math.Inf(1)))), float64(math.Nextafter32(float32(x), float32(math.Inf(-1)))))
			}
		}
		g.collect(f.Type, seen)
	}
}

// fill sets v, settable, to a random value; depth is how deep in the
// value it is.
func (g *valueGen) fill(v reflect.Value, depth int) {
	// Values of a recursive type go as deep as the depth limit, give or
	// take a few levels (each level is a pointer and a struct); others
	// end within a few levels.
	if depth == 0 {
		g.limit = 2*binding.MaxDepth - 6 + g.rnd.IntN(14)
	}
	stop := !g.deep && depth > 8 || g.deep && depth > g.limit
	switch v.Kind() {
	case reflect.Pointer:
		if stop || !g.deep && g.rnd.IntN(4) == 0 {
			return
		}
		p := reflect.New(v.Type().Elem())
		g.fill(p.Elem(), depth+1)
		v.Set(p)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(fpTimes[g.rnd.IntN(len(fpTimes))]))
			return
		}
		for i := range v.NumField() {
			if v.Field(i).CanSet() && (g.deep || g.rnd.IntN(8) != 0) {
				g.fill(v.Field(i), depth+1)
			}
		}
	case reflect.Slice:
		if stop || g.deep && g.rnd.IntN(20) != 0 {
			return
		}
		n := g.length()
		if n < 0 {
			return // nil
		}
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		g.elements(v, depth)
	case reflect.Array:
		if g.rnd.IntN(6) == 0 {
			return // the zero value
		}
		g.elements(v, depth)
	case reflect.Map:
		n := g.length()
		if stop || n < 0 {
			return
		}
		v.Set(reflect.MakeMap(v.Type()))
		for range n {
			key, elem := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			g.fill(key, depth+1)
			g.fill(elem, depth+1)
			v.SetMapIndex(key, elem)
		}
	case reflect.String:
		v.SetString(g.str())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(g.integer())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(g.integer()))
	case reflect.Float32, reflect.Float64:
		if len(g.nearF) > 0 && g.rnd.IntN(2) == 0 {
			v.SetFloat(g.nearF[g.rnd.IntN(len(g.nearF))])
		} else {
			v.SetFloat(g.floats[g.rnd.IntN(len(g.floats))])
		}
	case reflect.Bool:
		v.SetBool(g.rnd.IntN(2) == 0)
	}
}

func (g *valueGen) integer() int64 {
	if len(g.near) > 0 && g.rnd.IntN(2) == 0 {
		return g.near[g.rnd.IntN(len(g.near))]
	}
	return g.ints[g.rnd.IntN(len(g.ints))]
}

// elements fills the elements of a slice or array: each its own, or half
// of the time all alike, so that all of them may pass rules few values do.
func (g *valueGen) elements(v reflect.Value, depth int) {
	alike := g.rnd.IntN(2) == 0
	for i := range v.Len() {
		switch {
		case alike && i > 0:
			v.Index(i).Set(v.Index(0))
		case g.rnd.IntN(8) != 0:
			g.fill(v.Index(i), depth+1)
		}
	}
}

// length is a collection's: -1 for nil, else mostly short, sometimes
// long, often near the rules' parameters.
func (g *valueGen) length() int {
	if n := g.integer(); g.rnd.IntN(3) == 0 && n >= 0 && n <= 12 {
		return int(n)
	}
	return []int{-1, -1, 0, 1, 1, 2, 2, 3, 4, 5, 12}[g.rnd.IntN(11)]
}

func (g *valueGen) str() string {
	switch r := g.rnd.IntN(4); {
	case r < 2 && len(g.hot) > 0:
		return g.hot[g.rnd.IntN(len(g.hot))]
	case r < 3:
		return g.strs[g.rnd.IntN(len(g.strs))]
	}
	runes := make([]rune, []int{0, 1, 2, 3, 4, 5, 6, 10, 36}[g.rnd.IntN(9)])
	for i := range runes {
		runes[i] = fpRunes[g.rnd.IntN(len(fpRunes))]
	}
	return string(runes)
}

const fpValidOrder = `{"tenant":"acme","id":"123e4567-e89b-12d3-a456-426614174000","name":"Åsa","items":[{"sku":"a","qty":1}],` +
	`"ship":{"city":"Oslo"},"no_level":{},"stamp":"2024-01-02T03:04:05Z","level":1,"flag":true}`

// FuzzFastPathAgreesWithValidator decodes arbitrary payloads into types
// with every fast rule, nested, through pointers, in slices, arrays and
// maps, recursive, with the default and a low item limit: the fast path
// and the validator must give the same answer.
func FuzzFastPathAgreesWithValidator(f *testing.F) {
	f.Add([]byte(fpValidOrder))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"items":[{},{"sku":"日本語日本語日本語","qty":100,"price":-0}],"ptrs":[null],"ship":{"tags":["", "a", "b"]},"grid":[[],[2]],"fixed":[1,600]}`))
	f.Add([]byte(`{"scores":{"a":11,"b":1},"best":[1,3],"labels":{"a":-1,"b":1},"refs":{"1":null,"2":{"city":""}},"lists":{"x":["a","c","b"]},"nested":{"n":{"counts":{"1":2.5}}}}`))
	f.Add([]byte(strings.Repeat(`{"name":"n","next":`, 33) + `{}` + strings.Repeat(`}`, 33)))
	f.Add([]byte(`{"name":"n","kids":[{"kids":[{},{},{}]},{"name":"m"}]}`))
	cases := []fpCase{
		{name: "order", typ: reflect.TypeFor[fpOrder]()},
		{name: "labels", typ: reflect.TypeFor[fpLabels](), unordered: true},
		{name: "node", typ: reflect.TypeFor[fpNode]()},
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		for _, tc := range cases {
			fpCompare(t, tc, payload)
			fpCompare(t, tc, payload, binding.WithMaxItems(6))
		}
	})
}

// TestFastPathFieldErrors pins what the fast path reports where the
// validator's ways are not obvious; the differential tests check that
// the validator reports the same.
func TestFastPathFieldErrors(t *testing.T) {
	anonymous := reflect.StructOf([]reflect.StructField{
		{Name: "FpTenant", Type: reflect.TypeFor[FpTenant](), Anonymous: true},
		{Name: "Items", Type: reflect.TypeFor[[]fpItem](), Tag: `json:"items" validate:"dive"`},
	})
	tests := []struct {
		name    string
		typ     reflect.Type
		payload string
		want    []binding.FieldError
	}{
		{"valid", reflect.TypeFor[fpOrder](), fpValidOrder, nil},
		{"lengths in runes, a nil pointer fails its first rule", reflect.TypeFor[fpOrder](),
			strings.Replace(strings.Replace(fpValidOrder, `"Åsa"`, `"Åsa日本語"`, 1), `"no_level":{},`, "", 1), []binding.FieldError{
				{Field: "name", Rule: "max", Param: "5", Message: "name must be at most 5 characters long"},
				{Field: "no_level", Rule: "nostructlevel", Message: "no_level does not satisfy nostructlevel"},
			}},
		{"required through a pointer passes for a zero value", reflect.TypeFor[fpOrder](),
			strings.Replace(fpValidOrder, `"ship":{"city":"Oslo"}`, `"ship":{},"ptrs":[{},null]`, 1), []binding.FieldError{
				{Field: "ptrs[0].sku", Rule: "required", Message: "ptrs[0].sku is required"},
				{Field: "ptrs[0].qty", Rule: "gte", Param: "1", Message: "ptrs[0].qty must be at least 1"},
				{Field: "ptrs[1]", Rule: "required", Message: "ptrs[1] is required"},
				{Field: "ship.city", Rule: "required", Message: "ship.city is required"},
			}},
		{"a field JSON never sets is named by its struct", reflect.TypeFor[fpHidden](), `{"shown":"x"}`, []binding.FieldError{
			{Field: "fpHidden", Rule: "required", Message: "fpHidden is required"},
		}},
		{"an anonymous type's embedded struct is named by its type", anonymous, `{"items":[{"sku":"a"}]}`, []binding.FieldError{
			{Field: "FpTenant.tenant", Rule: "required", Message: "FpTenant.tenant is required"},
			{Field: "items[0].qty", Rule: "gte", Param: "1", Message: "items[0].qty must be at least 1"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !binding.FastPath(tt.typ) {
				t.Fatalf("%s is not on the fast path", tt.typ)
			}
			fpCompare(t, fpCase{typ: tt.typ}, []byte(tt.payload))
			err := binding.Decode(natsmux.NewRequest("fast", []byte(tt.payload)), reflect.New(tt.typ).Interface())
			if got := binding.FieldErrors(err); !slices.Equal(got, tt.want) || (err == nil) != (tt.want == nil) {
				t.Errorf("%v\ngot  %+v\nwant %+v", err, got, tt.want)
			}
		})
	}
}

// fpMasked shows the validator another value than its own
// (validator.Valuer): the validator checks the trimmed text.
type fpMasked struct {
	Raw string `json:"raw"`
}

func (m fpMasked) ValidatorValue() any { return strings.TrimSpace(m.Raw) }

type fpCounts map[string]int

// TestFastPathFallsBack: a type with anything the fast path does not run
// exactly goes to the validator, whole, and gets the validator's answer.
func TestFastPathFallsBack(t *testing.T) {
	type inner struct {
		Kind   string `json:"kind"`
		Detail string `json:"detail" validate:"required_if=Kind full"`
	}
	tests := []struct {
		name string
		typ  reflect.Type
	}{
		{"a rule that names another field, nested", reflect.TypeFor[struct {
			Inner inner `json:"inner"`
		}]()},
		{"a rule registered with RegisterValidation", reflect.TypeFor[struct {
			Zip string `json:"zip" validate:"zipcode"`
		}]()},
		{"key rules", reflect.TypeFor[struct {
			M map[string]int `json:"m" validate:"dive,keys,min=2,endkeys,gte=0"`
		}]()},
		{"alternatives", reflect.TypeFor[struct {
			ID string `json:"id" validate:"uuid|email"`
		}]()},
		{"an alias", reflect.TypeFor[struct {
			Color string `json:"color" validate:"iscolor"`
		}]()},
		{"a rule the schema leaves out", reflect.TypeFor[struct {
			S string `json:"s" validate:"startswith=x"`
		}]()},
		{"isdefault", reflect.TypeFor[struct {
			S string `json:"s" validate:"isdefault"`
		}]()},
		{"an empty rule", reflect.TypeFor[struct {
			S string `json:"s" validate:"required,,min=1"`
		}]()},
		{"- among rules", reflect.TypeFor[struct {
			S string `json:"s" validate:"required,-"`
		}]()},
		{"a time compared with the clock", reflect.TypeFor[struct {
			At time.Time `json:"at" validate:"gte"`
		}]()},
		{"a size rule on a boolean", reflect.TypeFor[struct {
			B bool `json:"b" validate:"min=1"`
		}]()},
		{"oneof on a float", reflect.TypeFor[struct {
			F float64 `json:"f" validate:"oneof=1 2"`
		}]()},
		{"email on a number", reflect.TypeFor[struct {
			N int `json:"n" validate:"email"`
		}]()},
		{"a parameter the validator cannot parse", reflect.TypeFor[struct {
			N int `json:"n" validate:"min=one"`
		}]()},
		{"dive into a string", reflect.TypeFor[struct {
			S string `json:"s" validate:"dive,required"`
		}]()},
		{"an interface field", reflect.TypeFor[struct {
			Any any `json:"any"`
		}]()},
		{"a Valuer", reflect.TypeFor[struct {
			Name fpMasked `json:"name" validate:"required"`
		}]()},
		{"an embedded unexported type other than a struct", reflect.TypeFor[struct {
			fpCounts `validate:"dive,gte=0"`
		}]()},
		{"a Valuer behind a pointer in a slice", reflect.TypeFor[struct {
			Names []*fpMasked `json:"names" validate:"dive"`
		}]()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if binding.FastPath(tt.typ) {
				t.Errorf("%s is on the fast path", tt.typ)
			}
		})
	}

	// The validator checks what fpMasked shows it: blank text is no name.
	masked := binding.JSON(accept[struct {
		Name fpMasked `json:"name" validate:"required"`
	}])
	_, err := masked.ServeNATS(t.Context(), natsmux.NewRequest("masked", []byte(`{"name":{"raw":"  "}}`)))
	if got := binding.FieldErrors(err); len(got) != 1 || got[0].Field != "name" || got[0].Rule != "required" {
		t.Errorf("%v, want name is required", err)
	}
}

// TestWithValidatorSkipsTheFastPath: a validator of the endpoint's own
// checks every type, those the fast path covers too.
func TestWithValidatorSkipsTheFastPath(t *testing.T) {
	type sized struct {
		N int `json:"n" validate:"min=1"`
	}
	strict := binding.NewValidator()
	if err := strict.RegisterValidation("min", func(validator.FieldLevel) bool { return false }); err != nil {
		t.Fatal(err)
	}
	req := natsmux.NewRequest("sized", []byte(`{"n":5}`))
	if !binding.FastPath(reflect.TypeFor[sized]()) {
		t.Fatal("sized is not on the fast path")
	}
	if _, err := binding.JSON(accept[sized]).ServeNATS(t.Context(), req); err != nil {
		t.Errorf("shared validator: %v", err)
	}
	if _, err := binding.JSON(accept[sized], binding.WithValidator(strict)).ServeNATS(t.Context(), req); natsmux.CodeOf(err) != 400 {
		t.Errorf("own validator: %v, want its min to fail", err)
	}
}

// TestRegisteringAFastRuleTurnsTheFastPathOff: RegisterValidation may
// replace a rule the fast path runs; from then on the validator checks
// every type. The test runs in a process of its own, since the shared
// validator keeps the rule.
func TestRegisteringAFastRuleTurnsTheFastPathOff(t *testing.T) {
	type ticket struct {
		ID string `json:"id" validate:"uuid"`
	}
	if os.Getenv("BINDING_REPLACE_UUID") != "1" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRegisteringAFastRuleTurnsTheFastPathOff$", "-test.v")
		cmd.Env = append(os.Environ(), "BINDING_REPLACE_UUID=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestRegisteringAFastRuleTurnsTheFastPathOff") {
			t.Fatalf("%v\n%s", err, out)
		}
		return
	}
	if err := binding.RegisterValidation("uuid", func(fl validator.FieldLevel) bool { return fl.Field().String() == "yes" }, ""); err != nil {
		t.Fatal(err)
	}
	h := binding.JSON(accept[ticket])
	if !binding.FastPath(reflect.TypeFor[ticket]()) {
		t.Error("the type has no fast plan") // kept, in case: the switch is the process's
	}
	for payload, code := range map[string]int{`{"id":"yes"}`: 0, `{"id":"123e4567-e89b-12d3-a456-426614174000"}`: 400} {
		if _, err := h.ServeNATS(t.Context(), natsmux.NewRequest("ticket", []byte(payload))); natsmux.CodeOf(err) != code && (err != nil || code != 0) {
			t.Errorf("%s: %v, want %d", payload, err, code)
		}
	}
}

// TestFailingRulesCost: the validator makes every failed rule an error of
// about 350 bytes before binding can cap the list; the fast path makes
// only the errors the reply lists. 20,000 items whose two rules fail, past
// a raised item limit, on top of what decoding them costs.
func TestFailingRulesCost(t *testing.T) {
	req := natsmux.NewRequest("costly", emptyObjects(20_000))
	decoding := allocated(func() { _, _ = binding.JSON(accept[plainOrder]).ServeNATS(context.Background(), req) })
	raised := binding.WithMaxItems(1 << 20)
	for _, tt := range []struct {
		name    string
		handler natsmux.Handler
		max     int64 // bytes on top of decoding
	}{
		{"fast path", binding.JSON(accept[hostileOrder], raised), 256 << 10},
		{"validator", binding.JSON(accept[hostileOrder], raised, playground), 20 << 20},
	} {
		var err error
		cost := allocated(func() { _, err = tt.handler.ServeNATS(context.Background(), req) })
		checkCapped(t, err, 40_000)
		extra := cost - decoding
		t.Logf("%s: %d KiB on top of decoding, %.0f bytes per failed rule", tt.name, extra>>10, float64(extra)/40_000)
		if extra > tt.max {
			t.Errorf("%s: %d KiB on top of decoding, want at most %d", tt.name, extra>>10, tt.max>>10)
		}
	}
}
