package schema_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/internal/schema"
	"github.com/natsmux/natsmux/internal/schema/validate"
)

type (
	item struct {
		SKU string `json:"sku" validate:"required,min=3,max=12"`
		Qty int    `json:"qty" validate:"required,gte=1,lte=100"`
	}
	order struct {
		ID       string          `json:"id" validate:"required,uuid"`
		Email    string          `json:"email" validate:"required,email"`
		Kind     string          `json:"kind" validate:"required,oneof=retail wholesale"`
		Items    []item          `json:"items" validate:"required,min=1,max=5,dive"`
		Notes    map[string]item `json:"notes,omitempty" validate:"omitempty,dive"`
		Placed   string          `json:"placed" validate:"required,datetime=2006-01-02T15:04:05Z07:00"`
		Code     string          `json:"code" jsonschema:"pattern=^[A-Z]{2}-[0-9]{3}$"`
		Discount float64         `json:"discount" validate:"gte=0,lt=1"`
		Parent   *order          `json:"parent,omitempty"`
	}
)

// published returns the request schema binding publishes for T.
func published[T any](strict bool) []byte {
	var opts []binding.Option
	if strict {
		opts = append(opts, binding.WithStrict())
	}
	return []byte(binding.SchemaMetadata[T, T](opts...)[binding.RequestSchemaKey])
}

// schemas are the documents the example tests run over: binding's output
// and hand-written ones with the other keywords.
var schemas = map[string][]byte{
	"binding order":        published[order](false),
	"binding strict order": published[order](true),
	"scalars": []byte(`{"type":"object","required":["a","b","c","d","e","f","g","h"],"properties":{
		"a":{"type":"integer","exclusiveMinimum":10,"maximum":20},
		"b":{"type":"number","minimum":-5.5,"exclusiveMaximum":-5},
		"c":{"const":"fixed"},
		"d":{"enum":[3,5,8]},
		"e":{"type":["null","string"],"minLength":9,"maxLength":9},
		"f":{"type":"boolean"},
		"g":{"type":"integer","multipleOf":7,"minimum":50},
		"h":{"anyOf":[{"type":"string","pattern":"^(ab|cd)+[x-z]\\d{2}$"},{"type":"null"}]}}}`),
	"array root": []byte(`{"type":"array","minItems":2,"maxItems":3,"items":{"type":"string","format":"date"}}`),
	"definitions": []byte(`{"$schema":"http://json-schema.org/draft-07/schema#","$ref":"#/definitions/T",
		"definitions":{"T":{"type":"object","additionalProperties":false,"required":["next"],"properties":{"next":{"$ref":"#/definitions/U"}}},
		"U":{"type":"object","properties":{"t":{"$ref":"#/definitions/T"},"u":{"type":"string","format":"uuid"}}}}}`),
	"any":   []byte(`{}`),
	"true":  []byte(`true`),
	"email": []byte(`{"type":"string","format":"email","maxLength":40}`),
}

func compile(t *testing.T, data []byte) *validate.Validator {
	t.Helper()
	v, err := validate.Compile(data)
	if err != nil {
		t.Fatalf("compiling %s: %v", data, err)
	}
	return v
}

func parse(t *testing.T, data []byte) *schema.Schema {
	t.Helper()
	s, err := schema.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func text(t *testing.T, v any) string {
	t.Helper()
	data, err := schema.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestExamplesValidate: every example validates against its schema, as a
// real validator (with formats asserted) judges it, in both modes.
func TestExamplesValidate(t *testing.T) {
	for name, data := range schemas {
		for _, mode := range []schema.Mode{schema.Full, schema.Minimal} {
			t.Run(fmt.Sprintf("%s/%d", name, mode), func(t *testing.T) {
				v, err := schema.Example(parse(t, data), mode)
				if err != nil {
					t.Fatal(err)
				}
				if err := compile(t, data).Validate(v); err != nil {
					t.Errorf("example %s does not validate: %v", text(t, v), err)
				}
			})
		}
	}
}

func TestExampleShapes(t *testing.T) {
	tests := []struct {
		schema string
		mode   schema.Mode
		want   string
	}{
		{`{"type":"object","required":["b"],"properties":{"a":{"type":"string"},"b":{"type":"integer"}}}`, schema.Full, `{"a":"example","b":1}`},
		{`{"type":"object","required":["b"],"properties":{"a":{"type":"string"},"b":{"type":"integer"}}}`, schema.Minimal, `{"b":1}`},
		{`{"type":"string","examples":["given"],"minLength":2}`, schema.Full, `"given"`},
		{`{"type":"string","minLength":10}`, schema.Full, `"examplexxx"`},
		{`{"type":"string","maxLength":3}`, schema.Full, `"exa"`},
		{`{"type":"string","pattern":"^[a-c]{3}-(x|y)\\.\\d+$"}`, schema.Full, `"aaa-x.0"`},
		{`{"type":"integer","minimum":5}`, schema.Full, `5`},
		{`{"type":"integer","maximum":-3}`, schema.Full, `-3`},
		{`{"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1}`, schema.Full, `0.5`},
		{`{"type":"array","items":{"type":"boolean"}}`, schema.Full, `[true]`},
		{`{"type":"array","items":{"type":"boolean"}}`, schema.Minimal, `[]`},
		{`{"type":"object","additionalProperties":{"type":"integer"}}`, schema.Full, `{"key":1}`},
		{`{"type":"object","required":["x"]}`, schema.Full, `{"x":"example"}`},
	}
	for _, tt := range tests {
		t.Run(tt.schema, func(t *testing.T) {
			v, err := schema.Example(parse(t, []byte(tt.schema)), tt.mode)
			if err != nil {
				t.Fatal(err)
			}
			if got := text(t, v); got != tt.want {
				t.Errorf("example %s, want %s", got, tt.want)
			}
		})
	}
}

func TestExampleFailures(t *testing.T) {
	tests := map[string]string{
		`false`: "accepts no value",
		`{"type":"integer","minimum":3,"maximum":2}`:                               "no number within",
		`{"type":"string","pattern":"^a$","minLength":2}`:                          "no example of 2",
		`{"allOf":[{"type":"string"},{"minLength":1}]}`:                            "allOf",
		`{"$ref":"#/$defs/missing"}`:                                               "leads nowhere",
		`{"$ref":"https://example.com/s.json"}`:                                    "outside the schema",
		`{"$ref":"#/$defs/a","$defs":{"a":{"$ref":"#/$defs/a"}}}`:                  "a cycle",
		`{"type":"object","required":["self"],"properties":{"self":{"$ref":"#"}}}`: "recursive",
		`{"type":"string","pattern":"[^\\x00-\\x{10FFFF}]"}`:                       "no example",
	}
	for data, want := range tests {
		t.Run(data, func(t *testing.T) {
			_, err := schema.Example(parse(t, []byte(data)), schema.Full)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v, want one containing %q", err, want)
			}
		})
	}
}

// TestInvalidCasesFail: every invalid case is rejected by a real
// validator, so each tests something the schema promises.
func TestInvalidCasesFail(t *testing.T) {
	for name, data := range schemas {
		t.Run(name, func(t *testing.T) {
			s := parse(t, data)
			valid, err := schema.Example(s, schema.Full)
			if err != nil {
				t.Fatal(err)
			}
			v := compile(t, data)
			for _, c := range schema.Invalid(s, valid, 1000) {
				if err := v.Validate(c.Value); err == nil {
					t.Errorf("case %s %s: %s validates", c.Path, c.Keyword, text(t, c.Value))
				}
			}
		})
	}
}

func TestInvalidCases(t *testing.T) {
	s := parse(t, schemas["binding strict order"])
	valid, err := schema.Example(s, schema.Full)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range schema.Invalid(s, valid, 1000) {
		got = append(got, fmt.Sprintf("%s %s %v", c.Path, c.Keyword, c.FieldRule()))
	}
	want := []string{
		" type false",
		"id required true", "email required true", "kind required true", "items required true", "placed required true",
		"unexpected_field additionalProperties false",
		"id type false", "id format true",
		"email type false", "email format true",
		"kind enum true",
		"items type false", "items minItems true", "items maxItems true",
		"items[0] type false", "items[0].sku required true", "items[0].qty required true",
		"items[0].unexpected_field additionalProperties false", "items[0].sku type false",
		"items[0].sku minLength true", "items[0].sku maxLength true",
		"items[0].qty type false", "items[0].qty minimum true", "items[0].qty maximum true",
		"notes type false", "notes[key] type false", "notes[key].sku required true", "notes[key].qty required true",
		"notes[key].unexpected_field additionalProperties false",
		"notes[key].sku type false", "notes[key].sku minLength true", "notes[key].sku maxLength true",
		"notes[key].qty type false", "notes[key].qty minimum true", "notes[key].qty maximum true",
		"placed type false", "placed format true",
		"code type false", "code pattern true",
		"discount type false", "discount minimum true", "discount maximum true",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cases (-want +got):\n%s", diff)
	}
}

// TestInvalidLimit: a schema with more cases than the limit yields the
// limit, the shallowest first.
func TestInvalidLimit(t *testing.T) {
	var props []string
	for i := range 300 {
		props = append(props, fmt.Sprintf(`"p%d":{"type":"string","minLength":1,"maxLength":5}`, i))
	}
	s := parse(t, []byte(`{"type":"object","properties":{`+strings.Join(props, ",")+`}}`))
	valid, err := schema.Example(s, schema.Full)
	if err != nil {
		t.Fatal(err)
	}
	cases := schema.Invalid(s, valid, 25)
	if len(cases) != 25 || cases[0].Path != "" || cases[1].Path != "p0" {
		t.Fatalf("%d cases, first %+v", len(cases), cases[:2])
	}
}

// TestHostileInput: documents nested beyond the bound are refused, not
// walked until the stack runs out.
func TestHostileInput(t *testing.T) {
	deep := strings.Repeat(`{"items":`, 10000) + `{}` + strings.Repeat(`}`, 10000)
	if _, err := schema.Parse([]byte(deep)); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("parsing %d levels: %v", 10000, err)
	}
	for _, bad := range []string{``, `[`, `{"a":1}{`, `"text"`, `12`} {
		if _, err := schema.Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

func TestFields(t *testing.T) {
	rows := schema.Fields(parse(t, schemas["binding strict order"]))
	var got []string
	for _, f := range rows {
		got = append(got, fmt.Sprintf("%s | %s | %v | %s", f.Path, f.Type, f.Required, f.Rules))
	}
	want := []string{
		"id | string (uuid) | true | ",
		"email | string (email) | true | ",
		"kind | string | true | one of: \"retail\", \"wholesale\"",
		"items | array of item | true | items 1 to 5",
		"items[].sku | string | true | length 3 to 12",
		"items[].qty | integer | true | ≥ 1; ≤ 100",
		"notes | map of item | false | entries ≤ 1000",
		"notes[key].sku | string | true | length 3 to 12",
		"notes[key].qty | integer | true | ≥ 1; ≤ 100",
		"placed | string (date-time) | true | ",
		"code | string or null | false | pattern ^[A-Z]{2}-[0-9]{3}$",
		"discount | number or null | false | ≥ 0; < 1",
		"parent | null or order | false | ",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	scalar := schema.Fields(parse(t, []byte(`{"type":"string","format":"email","description":"who"}`)))
	if len(scalar) != 1 || scalar[0].Path != "" || scalar[0].Type != "string (email)" || scalar[0].Description != "who" {
		t.Errorf("a scalar payload: %+v", scalar)
	}
}

// TestFieldsBound: a table has at most 500 rows.
func TestFieldsBound(t *testing.T) {
	var props []string
	for i := range 800 {
		props = append(props, fmt.Sprintf(`"p%d":{"type":"string"}`, i))
	}
	rows := schema.Fields(parse(t, []byte(`{"type":"object","properties":{`+strings.Join(props, ",")+`}}`)))
	if len(rows) != 500 {
		t.Errorf("%d rows", len(rows))
	}
}

func TestBreaking(t *testing.T) {
	const base = `{"type":"object","required":["sku"],"properties":{
		"sku":{"type":"string","maxLength":12},"qty":{"type":"integer","minimum":1,"maximum":100},
		"kind":{"type":"string","enum":["a","b"]},"tags":{"type":"array","items":{"type":"string"}}}}`
	edit := func(from, to string) string {
		if !strings.Contains(base, from) {
			panic(from)
		}
		return strings.Replace(base, from, to, 1)
	}
	tests := []struct {
		name     string
		new      string
		request  []string // breaking changes for a request schema
		response []string // and for a response schema
	}{
		{"same", base, nil, nil},
		{"new optional property", edit(`"tags"`, `"note":{"type":"string"},"tags"`), nil, nil},
		{"new required property", edit(`["sku"]`, `["sku","qty"]`), []string{"qty: is now required"}, nil},
		{"property no longer required", edit(`["sku"]`, `[]`), nil, []string{"sku: is no longer always sent"}},
		{"bound tightened", edit(`"maximum":100`, `"maximum":10`), []string{"qty: upper bound changed from 100 to 10"}, nil},
		{"bound loosened", edit(`"minimum":1`, `"minimum":0`), nil, []string{"qty: lower bound changed from 1 to 0"}},
		{"length tightened", edit(`"maxLength":12`, `"maxLength":8`), []string{"sku: maxLength changed from 12 to 8"}, nil},
		{"length dropped", edit(`,"maxLength":12`, ``), nil, []string{"sku: maxLength changed from 12 to none"}},
		{"enum grew", edit(`["a","b"]`, `["a","b","c"]`), nil, []string{`kind: value "c" may now be sent`}},
		{"enum shrank", edit(`["a","b"]`, `["a"]`), []string{`kind: value "b" is no longer accepted`}, nil},
		{"type changed", edit(`"qty":{"type":"integer"`, `"qty":{"type":"string"`),
			[]string{"qty: type integer is no longer accepted"}, []string{"qty: type string may now be sent"}},
		{"type widened", edit(`"qty":{"type":"integer"`, `"qty":{"type":"number"`), nil, []string{"qty: type number may now be sent"}},
		{"closed", edit(`{"type":"object","required"`, `{"type":"object","additionalProperties":false,"required"`),
			[]string{"no longer accepts properties beyond the declared ones"}, nil},
		{"item type", edit(`"items":{"type":"string"}`, `"items":{"type":"string","format":"email"}`),
			[]string{`tags[]: format "email" is new or changed`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for dir, want := range map[schema.Direction][]string{schema.Request: tt.request, schema.Response: tt.response} {
				var got []string
				for _, c := range schema.Breaking(parse(t, []byte(base)), parse(t, []byte(tt.new)), dir) {
					got = append(got, c.String())
				}
				slices.Sort(got)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("direction %d (-want +got):\n%s", dir, diff)
				}
			}
		})
	}
}

// TestBreakingRecursive: comparing recursive schemas ends.
func TestBreakingRecursive(t *testing.T) {
	a := parse(t, []byte(`{"$ref":"#/$defs/n","$defs":{"n":{"type":"object","properties":{"next":{"$ref":"#/$defs/n"},"v":{"type":"integer"}}}}}`))
	b := parse(t, []byte(`{"$ref":"#/$defs/n","$defs":{"n":{"type":"object","properties":{"next":{"$ref":"#/$defs/n"},"v":{"type":"string"}}}}}`))
	got := schema.Breaking(a, b, schema.Request)
	if len(got) == 0 || got[0].String() != "v: type integer is no longer accepted" {
		t.Errorf("changes %v", got)
	}
}

func TestTemplates(t *testing.T) {
	if diff := cmp.Diff([]string{"x", "y_2"}, schema.TemplateParams("a.{x}.b.{y_2}.{}.c{d}.>")); diff != "" {
		t.Error(diff)
	}
	got := schema.FillTemplate("a.{x}.{y}.*.>", func(name string) string {
		return map[string]string{"x": "42"}[name]
	})
	if got != "a.42.1.1.1" {
		t.Errorf("filled %q", got)
	}
}
