package binding_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

const validOrder = `{"tenant":"acme","customer":"ann","address":{"city":"Oslo"},"items":[{"sku":"a","qty":2},{"sku":"b","qty":1}]}`

// TestJSONRoundTrip sends payloads through a real server to typed
// endpoints and checks every answer: the reply, or the error's code,
// description and field errors.
func TestJSONRoundTrip(t *testing.T) {
	r := natsmux.NewRouter()
	r.Handle("create", binding.JSON(placeOrder), natsmux.WithSubject("orders.create"))
	r.Handle("strict", binding.JSON(placeOrder, binding.WithStrict(), binding.WithMaxPayload(200)),
		natsmux.WithSubject("orders.strict"))
	nc, _ := serve(t, r)

	required := func(field string) binding.FieldError {
		return binding.FieldError{Field: field, Rule: "required", Message: field + " is required"}
	}
	tests := []struct {
		name    string
		subject string // default orders.create
		payload string
		header  nats.Header
		reply   string // the reply on success
		code    int
		desc    string // the description, exactly
		fields  []binding.FieldError
	}{
		{name: "valid", payload: validOrder, reply: `{"id":"acme-ann","total":3}`},
		{name: "unknown fields ignored", payload: `{"extra":1,` + validOrder[1:], reply: `{"id":"acme-ann","total":3}`},
		{name: "bad JSON", payload: `{"customer": x}`, code: 400,
			desc: "invalid request: malformed JSON at offset 14: invalid character 'x' looking for beginning of value"},
		{name: "truncated JSON", payload: `{"customer":`, code: 400,
			desc: "invalid request: malformed JSON at offset 12: unexpected end of JSON input"},
		{name: "wrong type", payload: `{"customer": 5}`, code: 400,
			desc: `invalid request: field "customer": expected string, got number (near offset 14)`},
		{name: "wrong type nested in slice", payload: `{"items":[{"sku":"a","qty":"two"}]}`, code: 400,
			desc: `invalid request: field "items.qty": expected integer, got string (near offset 32)`},
		{name: "wrong type in embedded struct", payload: `{"tenant":true}`, code: 400,
			desc: `invalid request: field "tenant": expected string, got boolean (near offset 14)`},
		{name: "fraction for integer", payload: `{"items":[{"qty":1.5}]}`, code: 400,
			desc: `invalid request: field "items.qty": expected integer, got number 1.5 (near offset 20)`},
		{name: "integer out of range", payload: `{"priority":300}`, code: 400,
			desc: `invalid request: field "priority": number 300 is out of range [-128, 127] (near offset 15)`},
		{name: "integer beyond 64 bits", payload: `{"items":[{"qty":99999999999999999999}]}`, code: 400,
			desc: `invalid request: field "items.qty": number 99999999999999999999 is out of range [-9223372036854775808, 9223372036854775807] (near offset 37)`},
		{name: "negative integer beyond 64 bits", payload: `{"items":[{"qty":-99999999999999999999}]}`, code: 400,
			desc: `invalid request: field "items.qty": number -99999999999999999999 is out of range [-9223372036854775808, 9223372036854775807] (near offset 38)`},
		{name: "exponent for integer", payload: `{"items":[{"qty":1e2}]}`, code: 400,
			desc: `invalid request: field "items.qty": expected integer, got number 1e2 (near offset 20)`},
		{name: "array for object", payload: `[1,2]`, code: 400,
			desc: `invalid request: expected object, got array (near offset 1)`},
		{name: "missing required fields", payload: `{}`, code: 400,
			desc:   "invalid request: tenant is required; customer is required; address.city is required; and 1 more",
			fields: []binding.FieldError{required("tenant"), required("customer"), required("address.city"), required("items")}},
		{name: "empty payload is {}", payload: ``, code: 400,
			desc:   "invalid request: tenant is required; customer is required; address.city is required; and 1 more",
			fields: []binding.FieldError{required("tenant"), required("customer"), required("address.city"), required("items")}},
		{name: "rules with parameters", code: 400,
			payload: `{"tenant":"acme","customer":"a","email":"nope","address":{"city":"Oslo"},"items":[{"sku":"a","qty":1},{"sku":"b","qty":0}],"note":"` + strings.Repeat("n", 21) + `"}`,
			desc:    "invalid request: customer must be at least 2 characters long; email must be a valid email address; items[1].qty must be at least 1; and 1 more",
			fields: []binding.FieldError{
				{Field: "customer", Rule: "min", Param: "2", Message: "customer must be at least 2 characters long"},
				{Field: "email", Rule: "email", Message: "email must be a valid email address"},
				{Field: "items[1].qty", Rule: "gte", Param: "1", Message: "items[1].qty must be at least 1"},
				{Field: "note", Rule: "max", Param: "20", Message: "note must be at most 20 characters long"},
			}},
		{name: "empty slice", payload: `{"tenant":"acme","customer":"ann","address":{"city":"Oslo"},"items":[]}`, code: 400,
			desc:   "invalid request: items must contain at least 1 item",
			fields: []binding.FieldError{{Field: "items", Rule: "min", Param: "1", Message: "items must contain at least 1 item"}}},
		{name: "custom rule", payload: strings.Replace(validOrder, `"Oslo"`, `"Oslo","zip":"12a"`, 1), code: 400,
			desc:   "invalid request: address.zip must be a 5-digit postal code",
			fields: []binding.FieldError{{Field: "address.zip", Rule: "zipcode", Message: "address.zip must be a 5-digit postal code"}}},
		{name: "Validate returns a plain error", payload: strings.Replace(validOrder, `"qty":2`, `"qty":100`, 1), code: 400,
			desc: "invalid request: at most 100 items in total"},
		{name: "Validate returns a coded error", payload: strings.Replace(validOrder, `"ann"`, `"mallory"`, 1), code: 403,
			desc: "forbidden"},
		{name: "Validate returns field errors", payload: strings.Replace(validOrder, `"sku":"b"`, `"sku":"a"`, 1), code: 400,
			desc:   "invalid request: items[1].sku does not satisfy distinct",
			fields: []binding.FieldError{{Field: "items[1].sku", Rule: "distinct", Message: "items[1].sku does not satisfy distinct"}}},
		{name: "handler error", payload: strings.Replace(validOrder, `"ann"`, `"nobody"`, 1), code: 404,
			desc: "customer nobody not found"},
		{name: "unsupported content type", payload: validOrder, header: nats.Header{"Content-Type": {"application/msgpack"}}, code: 415,
			desc: `unsupported content type "application/msgpack"; this endpoint accepts application/json`},
		{name: "strict: valid", subject: "orders.strict", payload: validOrder, reply: `{"id":"acme-ann","total":3}`},
		{name: "strict: unknown field", subject: "orders.strict", payload: `{"extra":1,` + validOrder[1:], code: 400,
			desc: `invalid request: unknown field "extra"`},
		{name: "strict: unknown nested field", subject: "orders.strict", payload: strings.Replace(validOrder, `"Oslo"`, `"Oslo","street":"x"`, 1), code: 400,
			desc: `invalid request: unknown field "street"`},
		{name: "strict: data after the value", subject: "orders.strict", payload: validOrder + ` {}`, code: 400,
			desc: "invalid request: malformed JSON at offset 110: data after the top-level value"},
		{name: "strict: oversized payload", subject: "orders.strict", payload: validOrder + strings.Repeat(" ", 100), code: 413,
			desc: "payload too large: 210 bytes, the limit is 200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subject := tt.subject
			if subject == "" {
				subject = "orders.create"
			}
			reply := microtest.RequestMsg(t, nc, &nats.Msg{Subject: subject, Data: []byte(tt.payload), Header: tt.header})
			code, desc := reply.Header.Get(micro.ErrorCodeHeader), reply.Header.Get(micro.ErrorHeader)
			if tt.code == 0 {
				if code != "" || string(reply.Data) != tt.reply {
					t.Fatalf("reply %q (error %s %q), want %s", reply.Data, code, desc, tt.reply)
				}
				return
			}
			if code != strconv.Itoa(tt.code) || desc != tt.desc {
				t.Errorf("error %s %q,\nwant  %d %q", code, desc, tt.code, tt.desc)
			}
			got := binding.FieldErrors(&natsmux.Error{Code: tt.code, Data: reply.Data})
			if diff := cmp.Diff(tt.fields, got); diff != "" {
				t.Errorf("field errors (-want +got):\n%s\nbody %s", diff, reply.Data)
			}
			for _, internal := range []string{"binding_test", "Go struct", "json:", "int8", "Order"} {
				if strings.Contains(desc+string(reply.Data), internal) {
					t.Errorf("the reply names %q: %s %s", internal, desc, reply.Data)
				}
			}
		})
	}
}

// TestFieldErrorsBody pins the wire format of a validation failure.
func TestFieldErrorsBody(t *testing.T) {
	err := binding.NewValidationError(binding.FieldError{Field: "qty", Rule: "gte", Param: "1"},
		binding.FieldError{Field: "sku", Rule: "in_stock", Message: "sku is sold out"})
	want := `{"errors":[{"field":"qty","rule":"gte","param":"1","message":"qty must be at least 1"},` +
		`{"field":"sku","rule":"in_stock","message":"sku is sold out"}]}`
	if err.Code != 400 || string(err.Data) != want {
		t.Errorf("%d %s, want 400 %s", err.Code, err.Data, want)
	}
	for _, notValidation := range []error{nil, natsmux.ErrBadRequest, natsmux.NewError(404, "x"), &natsmux.Error{Code: 400, Data: []byte("oops")}} {
		if fe := binding.FieldErrors(notValidation); fe != nil {
			t.Errorf("FieldErrors(%v) = %v", notValidation, fe)
		}
	}
}

// TestDecodeAndEncode: hand-written handlers get the same errors and
// codec handling as typed ones.
func TestDecodeAndEncode(t *testing.T) {
	r := natsmux.NewRouter()
	r.HandleFunc("create", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		var o Order
		if err := binding.Decode(req, &o, binding.WithStrict()); err != nil {
			return nil, err
		}
		return binding.Encode(req, Receipt{ID: req.Param("tenant") + "/" + o.Customer})
	}, natsmux.WithSubject("{tenant}.create"), natsmux.WithMetadata(binding.SchemaMetadata[Order, Receipt]()))
	r.HandleFunc("misuse", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		var o Order
		return nil, binding.Decode(req, o)
	})
	nc, svc := serve(t, r)

	tests := []struct {
		name    string
		subject string
		payload string
		header  nats.Header
		want    string // reply, or "code description"
		ct      string // Content-Type of the reply
	}{
		{"valid", "acme.create", validOrder, nil, `{"id":"acme/ann","total":0}`, ""},
		{"named content type is echoed", "acme.create", validOrder, nats.Header{"content-type": {"application/json; charset=utf-8"}},
			`{"id":"acme/ann","total":0}`, "application/json"},
		{"strict", "acme.create", `{"x":1}`, nil, `400 invalid request: unknown field "x"`, ""},
		{"validation", "acme.create", `{"tenant":"acme","customer":"ann","address":{"city":"Oslo"}}`, nil, "400 invalid request: items is required", ""},
		{"not a pointer", "misuse", validOrder, nil, "500 internal error", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply := microtest.RequestMsg(t, nc, &nats.Msg{Subject: tt.subject, Data: []byte(tt.payload), Header: tt.header})
			got := string(reply.Data)
			if code := reply.Header.Get(micro.ErrorCodeHeader); code != "" {
				got = code + " " + reply.Header.Get(micro.ErrorHeader)
			}
			if got != tt.want || reply.Header.Get(binding.ContentTypeHeader) != tt.ct {
				t.Errorf("got %s (Content-Type %q), want %s (%q)", got, reply.Header.Get(binding.ContentTypeHeader), tt.want, tt.ct)
			}
		})
	}
	if md := svc.Info().Endpoints[0].Metadata; md[binding.RequestSchemaKey] == "" || md[binding.ResponseSchemaKey] == "" {
		t.Errorf("SchemaMetadata not published: %v", md)
	}
}

// TestConcurrentValidation runs typed handlers in parallel, in memory,
// so that the race detector sees the shared validator and codec at work.
func TestConcurrentValidation(t *testing.T) {
	h := binding.JSON(placeOrder)
	payloads := []string{validOrder, `{}`, `{"customer":5}`, strings.Replace(validOrder, `"qty":2`, `"qty":0`, 1)}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				p := payloads[(g+i)%len(payloads)]
				resp, err := h.ServeNATS(context.Background(), natsmux.NewRequest("orders.create", []byte(p)))
				if p == validOrder && (err != nil || !json.Valid(resp.Data)) {
					t.Errorf("valid order: %v", err)
				}
				if p != validOrder && natsmux.CodeOf(err) != 400 {
					t.Errorf("%s: %v", p, err)
				}
			}
		})
	}
	wg.Wait()
}

// TestOptionsPanic: misconfiguration is a programming error, reported when
// the handler is built, as natsmux's registration mistakes are.
func TestOptionsPanic(t *testing.T) {
	tests := []struct {
		name string
		call func()
		want string
	}{
		{"nil function", func() { binding.JSON[Order, Receipt](nil) }, "binding: JSON(nil)"},
		{"zero payload limit", func() { binding.WithMaxPayload(0) }, "binding: WithMaxPayload(0): the limit must be at least 1 byte"},
		{"nil validator", func() { binding.WithValidator(nil) }, "binding: WithValidator(nil)"},
		{"nil codec", func() { binding.WithCodec(nil) }, "binding: WithCodec(nil)"},
		{"zero item limit", func() { binding.WithMaxItems(0) }, "binding: WithMaxItems(0): the limit must be at least 1 element"},
		{"oneof on a float, which the validator would panic on", func() {
			binding.JSON(func(context.Context, *struct {
				R float64 `validate:"oneof=0.5 1"`
			}) (*Receipt, error) {
				return nil, nil
			})
		}, "binding: generating the JSON Schema of struct { R float64 \"validate:\\\"oneof=0.5 1\\\"\" }: rule oneof=0.5 1 on a float64: the validator takes oneof on strings and integers only"},
		{"a type JSON cannot carry", func() {
			binding.JSON(func(context.Context, *struct{ C chan int }) (*Receipt, error) { return nil, nil })
		}, "binding: generating the JSON Schema of struct { C chan int }: unsupported type chan int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if got := recover(); got != tt.want {
					t.Errorf("panic %v, want %q", got, tt.want)
				}
			}()
			tt.call()
		})
	}
}
