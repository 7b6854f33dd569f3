package binding_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/binding"
)

// The types of the agreement test use every rule docs/binding.md says the
// schema expresses, on every kind it applies to, with and without
// omitempty, through pointers, nested and embedded structs and dive.

type agreeAddress struct {
	City string `json:"city" validate:"required"`
	Zip  string `json:"zip,omitempty" validate:"omitempty,len=5"`
}

type agreeItem struct {
	SKU string `json:"sku" validate:"required,max=8"`
	Qty int    `json:"qty" validate:"gte=1,lte=99"`
}

type AgreeTenant struct {
	Tenant string `json:"tenant" validate:"required"`
}

type agreeStrings struct {
	Req      string `json:"req" validate:"required"`
	MinMax   string `json:"min_max" validate:"min=2,max=4"`
	Len      string `json:"len" validate:"len=3"`
	GtLt     string `json:"gt_lt" validate:"gt=1,lt=4"`
	Color    string `json:"color" validate:"oneof=red 'dark blue'"`
	OptMin   string `json:"opt_min,omitempty" validate:"omitempty,min=3"`
	OptOneOf string `json:"opt_one_of" validate:"omitempty,oneof=low high"`
	OptLen   string `json:"opt_len" validate:"omitempty,len=5"`
	Max      string `json:"max" validate:"max=3"`
	Plain    string `json:"plain"`
}

type agreeNumbers struct {
	Level    int     `json:"level" validate:"oneof=1 2 3"`
	OptLevel int     `json:"opt_level" validate:"omitempty,oneof=1 2 3"`
	Count    uint8   `json:"count" validate:"gte=1,lte=200"`
	Small    int8    `json:"small"`
	Hex      uint    `json:"hex" validate:"lte=0x10"`
	Ratio    float64 `json:"ratio" validate:"gt=0,lt=1"`
	Seats    int     `json:"seats,omitempty" validate:"omitempty,min=1,max=500"`
	Neg      int32   `json:"neg" validate:"max=-1"`
	Exact    float64 `json:"exact" validate:"omitempty,len=2.5"`
	Req      int     `json:"req" validate:"required"`
	Flag     bool    `json:"flag" validate:"required"`
	Off      bool    `json:"off"`
}

type agreePointers struct {
	Opt     *int          `json:"opt" validate:"omitempty,min=1"`
	Req     *string       `json:"req" validate:"required"`
	Min0    *int          `json:"min0" validate:"min=0"`
	Level   *uint         `json:"level" validate:"omitempty,oneof=1 2"`
	Addr    *agreeAddress `json:"addr"`
	ReqAddr *agreeAddress `json:"req_addr" validate:"required"`
}

type agreeNested struct {
	AgreeTenant
	Address agreeAddress   `json:"address"`
	Opt     agreeAddress   `json:"opt" validate:"omitempty"`
	Items   []agreeItem    `json:"items" validate:"required,min=1,max=3,dive"`
	Loose   []agreeItem    `json:"loose"`
	Tags    []string       `json:"tags" validate:"omitempty,max=3,dive,min=2"`
	Labels  map[string]int `json:"labels" validate:"omitempty,min=1,dive,gte=0"`
	Grid    [][]int        `json:"grid" validate:"dive,max=2,dive,oneof=0 1"`
}

type agreeCollections struct {
	ReqList []int                `json:"req_list" validate:"required"`
	ReqMap  map[string]string    `json:"req_map" validate:"required"`
	OptTags []string             `json:"opt_tags" validate:"dive,omitempty,min=2"`
	Ptrs    []*agreeItem         `json:"ptrs" validate:"dive,required"`
	ByName  map[string]agreeItem `json:"by_name" validate:"dive"`
	Inline  struct {
		N int `json:"n" validate:"max=5"`
	} `json:"inline"`
	Fixed    [2]int       `json:"fixed" validate:"dive,max=1"`
	Skipped  agreeAddress `json:"skipped" validate:"-"`
	Only     agreeAddress `json:"only" validate:"structonly"`
	OptFixed [2]int       `json:"opt_fixed" validate:"omitempty,dive,min=1"`
	Ones     [2]int       `json:"ones" validate:"dive,min=1"`
	Wrapped  agreeWrapped `json:"wrapped" validate:"omitempty"`
}

// agreeWrapped is zero only when no field of the embedded pointer is
// present: any of them, null too, makes decoding allocate it.
type agreeWrapped struct {
	AgreeTenant
	*AgreeNote
}

type AgreeNote struct {
	Note string `json:"note"`
}

type agreeNode struct {
	Name     string      `json:"name" validate:"required"`
	Children []agreeNode `json:"children" validate:"max=2,dive"`
	Next     *agreeNode  `json:"next"`
}

// agreeLimited has one collection the rules dive into, to check the item
// limit the schema publishes as maxItems.
type agreeLimited struct {
	Values []int `json:"values" validate:"dive,gte=0"`
}

type agreeFormats struct {
	Email string `json:"email" validate:"omitempty,email"`
	URL   string `json:"url" validate:"omitempty,url"`
	UUID  string `json:"uuid" validate:"required,uuid"`
	At    string `json:"at" validate:"omitempty,datetime=2006-01-02T15:04:05Z07:00"`
	Day   string `json:"day" validate:"omitempty,datetime=2006-01-02"`
}

// agreeLoose has what the schema does not express, by design: rules it
// leaves out, -0 that Go counts as set, JSON numbers decoding refuses.
type agreeLoose struct {
	Starts string         `json:"starts" validate:"startswith=x"`
	Zip    string         `json:"zip" validate:"zipcode"`
	Kind   string         `json:"kind"`
	Detail string         `json:"detail" validate:"required_if=Kind full"`
	Same   string         `json:"same" validate:"omitempty,eqfield=Kind"`
	Counts []int          `json:"counts" validate:"omitzero,min=2"`
	Some   *int           `json:"some" validate:"omitnil,min=5"`
	Price  float64        `json:"price" validate:"required"`
	Obj    agreeOptional  `json:"obj" validate:"required"`
	Big    int64          `json:"big"`
	Keys   map[string]int `json:"keys" validate:"dive,keys,min=2,endkeys,gte=0"`
	When   time.Time      `json:"when" validate:"required"`
	Addr   netip.Addr     `json:"addr"`
	Flex   flexInt        `json:"flex" validate:"omitempty,min=2"`
	Wide   [20]int        `json:"wide" validate:"dive,max=1"`
	*AgreeExtra
}

var errBadKind = errors.New("kind must not be bad")

// Validate checks what tags cannot say.
func (l *agreeLoose) Validate() error {
	if l.Kind == "bad" {
		return errBadKind
	}
	return nil
}

// agreeTwice has two collections the rules dive into: the item limit
// counts them together, the schema bounds each.
type agreeTwice struct {
	A []int `json:"a" validate:"dive"`
	B []int `json:"b" validate:"dive"`
}

// flexInt decodes its own JSON: a number, or a number in a string.
type flexInt int

func (f *flexInt) UnmarshalJSON(data []byte) error {
	n, err := strconv.Atoi(strings.Trim(string(data), `"`))
	*f = flexInt(n)
	return err
}

// AgreeExtra is embedded through a pointer, which decoding allocates when
// any of its fields is present: only then do its rules apply.
type AgreeExtra struct {
	Note string `json:"note" validate:"required"`
}

type agreeOptional struct {
	A string `json:"a"`
}

const absent = "" // a pool value: leave the property out

// prop is a property of the generated documents and the JSON values it
// may take: the first is the baseline, valid with the others' baselines.
type prop struct {
	name   string
	values []string
}

// TestSchemaAgreesWithEndpoint is a property test: it generates documents
// (each value of every property alone on a valid baseline, then seeded
// random mixes, whole-document oddities too) and checks that the published
// request schema and the endpoint (decode and validate, through a router)
// accept the same ones. Where the schema cannot say a rule by design
// (agreeLoose; formats, which JSON Schema 2020-12 only annotates unless a
// validator asserts them), it must accept everything the endpoint accepts.
func TestSchemaAgreesWithEndpoint(t *testing.T) {
	tests := []struct {
		name    string
		handler natsmux.Handler
		props   []prop
		// exact: the schema refuses what the endpoint refuses, too, with
		// formats asserted; formats: only then.
		exact, formats bool
	}{
		{"strings", binding.JSON(accept[agreeStrings]), []prop{
			{"req", []string{`"x"`, absent, `null`, `""`, `1`}},
			{"min_max", []string{`"abc"`, absent, `null`, `""`, `"a"`, `"ab"`, `"abcd"`, `"abcde"`, `"ééé"`, `"ééééé"`}},
			{"len", []string{`"abc"`, absent, `null`, `""`, `"ab"`, `"abcd"`, `"日本語"`}},
			{"gt_lt", []string{`"ab"`, absent, `""`, `"a"`, `"abc"`, `"abcd"`}},
			{"color", []string{`"red"`, absent, `null`, `""`, `"dark blue"`, `"dark"`, `"blue"`, `"Red"`}},
			{"opt_min", []string{absent, `null`, `""`, `"ab"`, `"abc"`}},
			{"opt_one_of", []string{absent, `null`, `""`, `"low"`, `"high"`, `"mid"`}},
			{"opt_len", []string{absent, `null`, `""`, `"abcd"`, `"abcde"`, `"abcdef"`}},
			{"max", []string{`"ab"`, absent, `null`, `""`, `"abc"`, `"abcd"`}},
			{"plain", []string{`"p"`, absent, `null`, `""`, `5`}},
		}, true, false},
		{"numbers", binding.JSON(accept[agreeNumbers]), []prop{
			{"level", []string{`2`, absent, `null`, `0`, `1`, `3`, `4`, `-1`, `"2"`, `2.5`}},
			{"opt_level", []string{absent, `null`, `0`, `1`, `3`, `4`}},
			{"count", []string{`1`, absent, `null`, `0`, `200`, `201`, `255`, `256`, `-1`}},
			{"small", []string{absent, `null`, `0`, `-128`, `127`, `128`, `-129`}},
			{"hex", []string{absent, `null`, `0`, `16`, `17`, `-1`}},
			{"ratio", []string{`0.5`, absent, `null`, `0`, `-0`, `1`, `1e-9`, `-0.5`, `0.999`}},
			{"seats", []string{absent, `null`, `0`, `1`, `500`, `501`, `-3`}},
			{"neg", []string{`-5`, absent, `null`, `0`, `-1`, `-2147483648`, `-2147483649`, `5`}},
			{"exact", []string{absent, `null`, `0`, `2.5`, `2.4`, `25e-1`}},
			{"req", []string{`7`, absent, `null`, `0`, `-7`}},
			{"flag", []string{`true`, absent, `null`, `false`, `"true"`}},
			{"off", []string{absent, `null`, `false`, `true`}},
		}, true, false},
		{"pointers", binding.JSON(accept[agreePointers]), []prop{
			{"opt", []string{absent, `null`, `0`, `1`, `5`}},
			{"req", []string{`"x"`, absent, `null`, `""`}},
			{"min0", []string{`0`, absent, `null`, `3`, `-1`}},
			{"level", []string{absent, `null`, `0`, `1`, `2`, `3`}},
			{"addr", []string{absent, `null`, `{}`, `{"city":"Oslo"}`, `{"city":""}`, `{"city":"Oslo","zip":"123"}`, `{"city":"Oslo","zip":"12345"}`}},
			{"req_addr", []string{`{"city":"Oslo"}`, absent, `null`, `{}`, `{"city":""}`}},
		}, true, false},
		{"nested", binding.JSON(accept[agreeNested]), nestedProps, true, false},
		{"nested, strict", binding.JSON(accept[agreeNested], binding.WithStrict()),
			append(append([]prop(nil), nestedProps...), prop{"extra", []string{absent, `1`, `null`}}), true, false},
		{"formats", binding.JSON(accept[agreeFormats]), []prop{
			{"email", []string{absent, `null`, `""`, `"ann@example.com"`, `"ann"`, `"ann@"`, `"@example.com"`, `"ann@@example.com"`}},
			{"url", []string{absent, `""`, `"https://example.com/x"`, `"example.com"`, `"ftp://example.com"`, `"/relative"`}},
			{"uuid", []string{`"0f8fad5b-d9cb-469f-a165-70867728950e"`, absent, `null`, `""`, `"0F8FAD5B-D9CB-469F-A165-70867728950E"`,
				`"0f8fad5b-d9cb-469f-a165-70867728950"`, `"not-a-uuid"`}},
			{"at", []string{absent, `""`, `"2024-01-02T03:04:05Z"`, `"2024-01-02T03:04:05+01:00"`, `"2024-01-02"`, `"2024-13-02T03:04:05Z"`}},
			{"day", []string{absent, `""`, `"2024-01-02"`, `"2024-1-2"`, `"2024-02-30"`, `"2024-01-02T00:00:00Z"`}},
		}, true, true},
		{"collections", binding.JSON(accept[agreeCollections]), []prop{
			{"req_list", []string{`[]`, absent, `null`, `[1]`}},
			{"req_map", []string{`{}`, absent, `null`, `{"a":""}`}},
			{"opt_tags", []string{absent, `null`, `[]`, `[""]`, `["a"]`, `["ab"]`, `[null]`}},
			{"ptrs", []string{absent, `null`, `[]`, `[null]`, `[{}]`, `[{"sku":"a","qty":1}]`}},
			{"by_name", []string{absent, `null`, `{}`, `{"a":{}}`, `{"a":null}`, `{"a":{"sku":"a","qty":1}}`}},
			{"inline", []string{absent, `null`, `{}`, `{"n":5}`, `{"n":6}`, `{"n":null}`}},
			{"fixed", []string{absent, `null`, `[]`, `[1]`, `[1,1]`, `[1,1,2]`, `[2]`, `[1,2]`}},
			{"skipped", []string{absent, `null`, `{}`, `{"city":""}`, `{"city":5}`}},
			{"only", []string{absent, `null`, `{}`, `{"zip":"1"}`, `{"city":5}`}},
			{"ones", []string{`[1,1]`, absent, `null`, `[]`, `[1]`, `[1,0]`, `[1,1,0]`, `[0,1]`}},
			{"opt_fixed", []string{absent, `null`, `[]`, `[0]`, `[0,0,5]`, `[0,1]`, `[1,1]`, `[1,1,0]`}},
			{"wrapped", []string{absent, `null`, `{}`, `{"tenant":""}`, `{"note":""}`, `{"note":null}`, `{"tenant":"t"}`, `{"tenant":"t","note":"x"}`}},
		}, true, false},
		{"recursive", binding.JSON(accept[agreeNode]), []prop{
			{"name", []string{`"a"`, absent, `null`, `""`}},
			{"children", []string{absent, `null`, `[]`, `[{"name":"b"}]`, `[{}]`, `[null]`, `[{"name":"b"},{"name":"c"},{"name":"d"}]`,
				`[{"name":"b","children":[{"name":""}]}]`, `[{"name":"b","next":{"name":"c","next":{}}}]`}},
			{"next", []string{absent, `null`, `{}`, `{"name":"b"}`, `{"name":"b","next":{"name":""}}`, `{"name":"b","children":[{}]}`}},
		}, true, false},
		{"item limit", binding.JSON(accept[agreeLimited], binding.WithMaxItems(3)), []prop{
			{"values", []string{`[1]`, absent, `null`, `[]`, `[1,2,3]`, `[1,2,3,4]`, `[-1]`, `[null]`}},
		}, true, false},
		{"unexpressed rules", binding.JSON(accept[agreeLoose]), []prop{
			{"starts", []string{`"xy"`, absent, `""`, `"yx"`}},
			{"zip", []string{`"12345"`, absent, `""`, `"1234a"`}},
			{"kind", []string{absent, `"full"`, `"part"`, `"bad"`}},
			{"detail", []string{absent, `""`, `"d"`}},
			{"same", []string{absent, `"full"`, `"part"`}},
			{"counts", []string{absent, `null`, `[]`, `[1]`, `[1,2]`}},
			{"some", []string{absent, `null`, `1`, `5`}},
			{"price", []string{`1.5`, absent, `0`, `-0`, `0.0`}},
			{"obj", []string{`{"a":"x"}`, absent, `{}`, `{"a":""}`}},
			{"big", []string{absent, `1`, `1.0`, `1e2`, `9223372036854775808`}},
			{"keys", []string{absent, `{"ab":1}`, `{"a":1}`, `{"ab":-1}`}},
			{"when", []string{`"2024-01-02T03:04:05Z"`, absent, `null`, `"0001-01-01T00:00:00Z"`}},
			{"note", []string{absent, `null`, `""`, `"n"`}},
			{"addr", []string{absent, `null`, `"127.0.0.1"`, `"::1"`, `"x"`, `5`}},
			{"flex", []string{absent, `null`, `1`, `"5"`, `5`, `true`}},
			{"wide", []string{absent, `[1]`, `[2]`, `[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2]`}},
		}, false, false},
		{"item limit over several collections", binding.JSON(accept[agreeTwice], binding.WithMaxItems(3)), []prop{
			{"a", []string{`[1]`, absent, `[1,2]`, `[1,2,3]`}},
			{"b", []string{`[1]`, absent, `[1,2]`, `[1,2,3]`}},
		}, false, false},
		{"depth", binding.JSON(accept[agreeNode]), []prop{
			{"name", []string{`"a"`}},
			{"next", []string{absent, strings.Repeat(`{"name":"a","next":`, 32) + `null` + strings.Repeat(`}`, 32),
				strings.Repeat(`{"name":"a","next":`, 31) + `null` + strings.Repeat(`}`, 31)}},
		}, false, false},
		{"payload limit", binding.JSON(accept[agreeNode], binding.WithMaxPayload(16)), []prop{
			{"name", []string{`"a"`, `"abcdefghijklmn"`}},
		}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := natsmux.NewRouter()
			r.Handle("agree", tt.handler)
			text := r.Endpoints()[0].Metadata[binding.RequestSchemaKey]
			annotated, asserted := compile(t, text), compileAsserting(t, text)

			var accepted, refused, looser int // looser: refused by the endpoint, accepted by the annotating schema
			checked := map[string]bool{}
			check := func(doc string) {
				t.Helper()
				if checked[doc] {
					return
				}
				checked[doc] = true
				_, err := r.ServeNATS(context.Background(), natsmux.NewRequest("agree", []byte(doc)))
				if code := natsmux.CodeOf(err); err != nil && code != 400 && code != 413 {
					t.Fatalf("%s: %v, want a reply, 400 or 413", doc, err)
				}
				endpoint := err == nil
				for _, s := range []struct {
					schema *jsonschema.Schema
					exact  bool
				}{{asserted, tt.exact}, {annotated, tt.exact && !tt.formats}} {
					verdict := s.schema.Validate(decodeJSON(t, doc))
					if endpoint && verdict != nil || s.exact && !endpoint && verdict == nil {
						t.Fatalf("%s\nendpoint: %v\nschema: %v\n%s", doc, err, verdict, text)
					}
					if s.schema == annotated && !endpoint && verdict == nil {
						looser++
					}
				}
				if endpoint {
					accepted++
				} else {
					refused++
				}
			}

			// Each value of each property, alone on the baseline.
			for i, p := range tt.props {
				for _, v := range p.values {
					check(document(tt.props, map[int]string{i: v}))
				}
			}
			// Seeded mixes, and documents that are not objects.
			rnd := rand.New(rand.NewPCG(10, uint64(len(tt.name))))
			for range 200 {
				if rnd.IntN(20) == 0 {
					check([]string{`null`, `{}`, `[]`, `"x"`, `5`}[rnd.IntN(5)])
					continue
				}
				picks := map[int]string{}
				for i, p := range tt.props {
					if rnd.IntN(3) == 0 {
						picks[i] = p.values[rnd.IntN(len(p.values))]
					}
				}
				check(document(tt.props, picks))
			}
			if accepted == 0 || refused == 0 {
				t.Errorf("%d documents accepted, %d refused: the generator explores too little", accepted, refused)
			}
			if looser == 0 && (!tt.exact || tt.formats) {
				t.Error("no document shows what the schema leaves out")
			}
		})
	}
}

var nestedProps = []prop{
	{"tenant", []string{`"t"`, absent, `null`, `""`}},
	{"address", []string{`{"city":"Oslo"}`, absent, `null`, `{}`, `{"city":""}`, `{"city":"Oslo","zip":"12345"}`,
		`{"city":"Oslo","zip":""}`, `{"zip":"12345"}`, `{"city":"Oslo","extra":1}`}},
	{"opt", []string{absent, `null`, `{}`, `{"city":""}`, `{"zip":""}`, `{"city":"Oslo"}`, `{"zip":"12345"}`,
		`{"city":"Oslo","zip":"123"}`, `{"extra":1}`}},
	{"items", []string{`[{"sku":"a","qty":1}]`, absent, `null`, `[]`, `[{}]`, `[null]`, `[{"sku":"a","qty":0}]`,
		`[{"sku":"abcdefghi","qty":1}]`, `[{"sku":"a","qty":100}]`, `[{"sku":"a","qty":1},{"sku":"b","qty":2},{"sku":"c","qty":3},{"sku":"d","qty":4}]`}},
	{"loose", []string{absent, `null`, `[]`, `[{}]`, `[null]`, `[{"sku":5}]`}},
	{"tags", []string{absent, `null`, `[]`, `["ab"]`, `["a"]`, `[""]`, `[null]`, `["ab","cd","ef","gh"]`}},
	{"labels", []string{absent, `null`, `{}`, `{"a":1}`, `{"a":-1}`, `{"a":null}`, `{"a":0}`}},
	{"grid", []string{absent, `null`, `[]`, `[[]]`, `[[0,1]]`, `[[0,1,1]]`, `[[2]]`, `[null]`, `[[null]]`}},
}

// document writes an object of the baseline values, with picks (by
// property index) instead.
func document(props []prop, picks map[int]string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, p := range props {
		v, ok := picks[i]
		if !ok {
			v = p.values[0]
		}
		if v == absent {
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%s", p.name, v)
	}
	b.WriteByte('}')
	return b.String()
}

// decodeJSON decodes doc as a JSON Schema validator reads it.
func decodeJSON(t *testing.T, doc string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// compileAsserting compiles text with formats asserted, as a validator may
// choose to (JSON Schema 2020-12 only annotates them by default).
func compileAsserting(t *testing.T, text string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.AssertFormat = true
	if err := c.AddResource("schema.json", bytes.NewReader([]byte(text))); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}
