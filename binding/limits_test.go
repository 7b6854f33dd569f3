package binding_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/binding"
)

// The types of hostile requests (Item is the tests' order item), each
// with a twin without rules that measures what decoding alone costs.

type hostileOrder struct {
	Items []Item `json:"items" validate:"dive"`
}

type hostileNode struct {
	Name string       `json:"name" validate:"required"`
	Next *hostileNode `json:"next"`
}

type hostileLabels struct {
	Labels map[string]Item `json:"labels" validate:"dive"`
}

type plainItem struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

type plainOrder struct {
	Items []plainItem `json:"items"`
}

type plainNode struct {
	Name string     `json:"name"`
	Next *plainNode `json:"next"`
}

// emptyObjects is {"items":[{},{},...]} with n elements, 3 bytes each.
func emptyObjects(n int) []byte {
	return []byte(`{"items":[` + strings.TrimSuffix(strings.Repeat(`{},`, n), ",") + `]}`)
}

// chain is {"next":{"next":...{}}} nested depth levels deep.
func chain(depth int) []byte {
	return []byte(strings.Repeat(`{"next":`, depth) + `{}` + strings.Repeat(`}`, depth))
}

// allocated returns the bytes f allocates on the heap, signed, so that the
// difference of two measurements that come out about equal cannot wrap.
func allocated(f func()) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return int64(after.TotalAlloc - before.TotalAlloc)
}

// TestHostileValidationIsBounded: requests built to make validation
// expensive cost no more than decoding them does, plus a bounded margin,
// and are answered with 413 before the validator runs. Before the limits,
// the first allocated 465 MiB, the second 1.7 GiB, each with a reply far
// over max_payload (BenchmarkHostileRequest).
func TestHostileValidationIsBounded(t *testing.T) {
	const margin = 4 << 20 // what validation may add to decoding, in bytes
	tests := []struct {
		name           string
		handler, plain natsmux.Handler
		payload        []byte
		desc           string
	}{
		{"750 KB of empty objects for a collection the rules dive into",
			binding.JSON(accept[hostileOrder]), binding.JSON(accept[plainOrder]), emptyObjects(250_000),
			`too many elements to validate: 250000 with "items", the limit is 1000`},
		{"an 81 KB chain of nested objects of a recursive type",
			binding.JSON(accept[hostileNode]), binding.JSON(accept[plainNode]), chain(9000),
			`too deeply nested to validate: "next.next.next.next.next.next.ne...xt.next.next.next.next.next.next" is deeper than 32 levels, the limit`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := natsmux.NewRequest("hostile", tt.payload)
			var err error
			cost := allocated(func() { _, err = tt.handler.ServeNATS(context.Background(), req) })
			decoding := allocated(func() { _, _ = tt.plain.ServeNATS(context.Background(), req) })
			var e *natsmux.Error
			if !errors.As(err, &e) || e.Code != 413 || e.Description != tt.desc || len(e.Data) != 0 {
				t.Errorf("%v, want 413 %s", err, tt.desc)
			}
			if cost > decoding+margin {
				t.Errorf("the request allocated %d MiB, decoding alone %d MiB", cost>>20, decoding>>20)
			}
			t.Logf("allocated %.1f MiB, decoding alone %.1f MiB", float64(cost)/(1<<20), float64(decoding)/(1<<20))
		})
	}
}

// TestLimits: the item limit counts the elements of every collection the
// rules dive into, nested ones too, and nothing else; the depth limit
// holds for recursive types.
func TestLimits(t *testing.T) {
	type grid struct {
		Rows  [][]int `json:"rows" validate:"dive,dive,gte=0"`
		Plain []int   `json:"plain"`
	}
	h := binding.JSON(accept[grid], binding.WithMaxItems(6))
	node := binding.JSON(accept[hostileNode])
	tests := []struct {
		name    string
		handler natsmux.Handler
		payload string
		want    string // "" for success
	}{
		{"at the limit", h, `{"rows":[[1,2],[3,4]]}`, ""}, // 2 rows and 4 cells
		{"over it, counting nested elements", h, `{"rows":[[1,2],[3,4,5]]}`, `413 too many elements to validate: 7 with "rows[1]", the limit is 6`},
		{"collections without dive do not count", h, `{"rows":[[1]],"plain":[1,2,3,4,5,6,7,8,9]}`, ""},
		{"32 levels", node, strings.TrimSuffix(string(chain(31)), "{}"+strings.Repeat("}", 31)) + `{"name":"x"}` + strings.Repeat("}", 31), "400 invalid request: name is required; next.name is required; next.next.name is required; and 28 more"},
		{"33 levels", node, strings.TrimSuffix(string(chain(32)), "{}"+strings.Repeat("}", 32)) + `{"name":"x"}` + strings.Repeat("}", 32),
			`413 too deeply nested to validate: "next.next.next.next.next.next.ne...xt.next.next.next.next.next.next" is deeper than 32 levels, the limit`},
	}
	if schema := binding.SchemaMetadata[grid, grid](binding.WithMaxItems(6))[binding.RequestSchemaKey]; strings.Count(schema, `"maxItems":6`) != 2 {
		t.Errorf("the schema does not publish the limit on both levels of rows: %s", schema)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.handler.ServeNATS(context.Background(), natsmux.NewRequest("limits", []byte(tt.payload)))
			if got := fmt.Sprint(err); tt.want == "" && err != nil || tt.want != "" && got != tt.want {
				t.Errorf("%v, want %q", err, tt.want)
			}
		})
	}
}

// TestFieldErrorsAreCapped: however many rules fail, the reply lists
// MaxFieldErrors of them, says how many more there are, and cuts long
// paths in their middle; the description sums up three.
func TestFieldErrorsAreCapped(t *testing.T) {
	raised := binding.JSON(accept[hostileOrder], binding.WithMaxItems(1<<20))
	req := natsmux.NewRequest("capped", emptyObjects(20_000))
	// What the failed rules cost in memory is TestFailingRulesCost's.
	_, err := raised.ServeNATS(context.Background(), req)
	body := checkCapped(t, err, 40_000)
	if body.Errors[99].Field != "items[49].qty" {
		t.Errorf("the last listed error is %+v, want items[49].qty's", body.Errors[99])
	}

	// Map keys are the caller's, and land in paths.
	var labels strings.Builder
	labels.WriteString(`{"labels":{`)
	for i := range 1000 {
		if i > 0 {
			labels.WriteByte(',')
		}
		fmt.Fprintf(&labels, `"%04d%s":{}`, i, strings.Repeat("k", 700))
	}
	labels.WriteString(`}}`)
	_, err = binding.JSON(accept[hostileLabels]).ServeNATS(context.Background(), natsmux.NewRequest("capped", []byte(labels.String())))
	body = checkCapped(t, err, 2000)
	for _, fe := range body.Errors {
		if len(fe.Field) > 256+len("...") || len(fe.Message) > 256+len("...") || !strings.Contains(fe.Field, "...") {
			t.Fatalf("a field error of %d and %d bytes: %+v", len(fe.Field), len(fe.Message), fe)
		}
	}

	// A Validate method's or a handler's own errors are capped alike.
	many := make([]binding.FieldError, 150)
	for i := range many {
		many[i] = binding.FieldError{Field: fmt.Sprintf("seats[%d]", i), Rule: "available"}
	}
	checkCapped(t, binding.NewValidationError(many...), 150)
}

// checkCapped checks the reply to a request with total failed rules, and
// returns its body.
func checkCapped(t *testing.T, err error, total int) (body struct {
	Errors []binding.FieldError `json:"errors"`
	More   int                  `json:"more"`
},
) {
	t.Helper()
	var e *natsmux.Error
	if !errors.As(err, &e) || e.Code != 400 {
		t.Fatalf("%v, want a 400", err)
	}
	if err := json.Unmarshal(e.Data, &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Errors) != binding.MaxFieldErrors || body.More != total-binding.MaxFieldErrors ||
		len(binding.FieldErrors(e)) != binding.MaxFieldErrors {
		t.Errorf("%d field errors listed and %d more, want %d and %d", len(body.Errors), body.More,
			binding.MaxFieldErrors, total-binding.MaxFieldErrors)
	}
	if want := fmt.Sprintf("; and %d more", total-3); !strings.HasSuffix(e.Description, want) || len(e.Description) > 1024 {
		t.Errorf("description %q (%d bytes), want it to end in %q", e.Description, len(e.Description), want)
	}
	if len(e.Data) > 64<<10 {
		t.Errorf("a body of %d bytes", len(e.Data))
	}
	return body
}
