package validate_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/natsmux/natsmux/internal/schema/validate"
)

// order is shaped like the schemas binding publishes: the root a $ref into
// $defs, a strict object, an array of items, a map of items.
const order = `{"$schema":"https://json-schema.org/draft/2020-12/schema","$ref":"#/$defs/Order","$defs":{
	"Order":{"type":"object","additionalProperties":false,"required":["id","items"],"properties":{
		"id":{"type":"string","format":"uuid"},
		"kind":{"type":"string","enum":["retail","wholesale"]},
		"items":{"type":"array","minItems":1,"items":{"$ref":"#/$defs/Item"}},
		"notes":{"type":"object","additionalProperties":{"$ref":"#/$defs/Item"}},
		"code":{"type":"string","pattern":"^[A-Z]{2}$"},
		"a/b":{"type":"integer","minimum":1}}},
	"Item":{"type":"object","required":["sku","qty"],"properties":{
		"sku":{"type":"string","minLength":3},
		"qty":{"type":"integer","minimum":1,"exclusiveMaximum":100}}}}}`

const validOrder = `{"id":"3f2b8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b","items":[{"sku":"tea","qty":1}]}`

func TestViolations(t *testing.T) {
	v, err := validate.Compile([]byte(order))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		payload string
		want    []string // path keyword param
	}{
		{"valid", validOrder, nil},
		{"missing", `{}`, []string{"id required ", "items required "}},
		{"unknown fields", `{"id":"3f2b8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b","items":[{"sku":"tea","qty":1}],"zz":1,"aa":2}`,
			[]string{"aa additionalProperties ", "zz additionalProperties "}},
		{"format and enum", `{"id":"nope","kind":"other","items":[{"sku":"tea","qty":1}]}`,
			[]string{"id format uuid", "kind enum retail wholesale"}},
		{"array items", `{"id":"3f2b8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b","items":[{"sku":"tea","qty":1},{"sku":"x","qty":100},{"qty":0}]}`,
			[]string{"items[1].qty exclusiveMaximum 100", "items[1].sku minLength 3", "items[2].qty minimum 1", "items[2].sku required "}},
		{"too few items", `{"id":"3f2b8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b","items":[]}`, []string{"items minItems 1"}},
		{"map values", `{"id":"3f2b8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b","items":[{"sku":"tea","qty":1}],"notes":{"gift":{"sku":"tea","qty":"two"}}}`,
			[]string{"notes[gift].qty type integer"}},
		{"pattern and an escaped name", `{"id":"3f2b8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b","items":[{"sku":"tea","qty":1}],"code":"abc","a/b":0}`,
			[]string{"a/b minimum 1", "code pattern ^[A-Z]{2}$"}},
		{"wrong type of the payload", `[1]`, []string{" type object"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Violations([]byte(tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, vi := range got {
				lines = append(lines, fmt.Sprintf("%s %s %s", vi.Path, vi.Keyword, vi.Param))
				if vi.Message == "" {
					t.Errorf("%+v has no message", vi)
				}
			}
			if diff := cmp.Diff(tt.want, lines); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
			if (len(got) == 0) != (v.ValidateJSON([]byte(tt.payload)) == nil) {
				t.Errorf("Violations and ValidateJSON disagree")
			}
		})
	}
	if _, err := v.Violations([]byte(`{"id":`)); err == nil {
		t.Error("a text that is not JSON: no error")
	}
}

// TestViolationsBound: a payload with more failures than MaxViolations
// gets that many.
func TestViolationsBound(t *testing.T) {
	v, err := validate.Compile([]byte(order))
	if err != nil {
		t.Fatal(err)
	}
	items := strings.Repeat(`{"sku":"x","qty":0},`, 1000)
	got, err := v.Violations([]byte(`{"id":"3f2b8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b","items":[` + items[:len(items)-1] + `]}`))
	if err != nil || len(got) != validate.MaxViolations {
		t.Errorf("%d violations, %v; want %d", len(got), err, validate.MaxViolations)
	}
}
