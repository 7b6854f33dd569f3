package binding_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/internal/testdoc"
)

// FuzzDecode feeds arbitrary payloads to typed handlers, lenient and
// strict: each must be answered with a reply or a 4xx *natsmux.Error whose
// description names no Go type, and never panic.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(validOrder))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"items":[{"sku":"a","qty":"1"}],"tenant":{"x":1}}`))
	handlers := []natsmux.Handler{
		binding.JSON(placeOrder),
		binding.JSON(placeOrder, binding.WithStrict(), binding.WithMaxPayload(4096)),
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		for _, h := range handlers {
			resp, err := h.ServeNATS(context.Background(), natsmux.NewRequest("orders.create", payload))
			if err == nil {
				if !json.Valid(resp.Data) {
					t.Fatalf("invalid JSON reply %q", resp.Data)
				}
				continue
			}
			var e *natsmux.Error
			if !errors.As(err, &e) || e.Code < 400 || e.Code > 499 {
				t.Fatalf("%q: %v is not a 4xx *natsmux.Error", payload, err)
			}
			if strings.Contains(e.Description, "binding_test.") || strings.Contains(e.Description, "json: ") {
				t.Fatalf("%q: the description names internals: %s", payload, e.Description)
			}
			if e.Code == 400 && len(e.Data) > 0 && len(binding.FieldErrors(e)) == 0 {
				t.Fatalf("%q: a 400 body that is not field errors: %s", payload, e.Data)
			}
		}
	})
}

// FuzzFieldErrors parses arbitrary error bodies as a client would: no
// panic, and what parses survives a round trip through NewValidationError,
// but for its bounds: MaxFieldErrors errors, strings cut in the middle.
func FuzzFieldErrors(f *testing.F) {
	f.Add([]byte(`{"errors":[{"field":"qty","rule":"gte","param":"1","message":"qty must be at least 1"}]}`))
	f.Add([]byte(`{"errors":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fields := binding.FieldErrors(&natsmux.Error{Code: 400, Data: body})
		if len(fields) == 0 {
			return
		}
		again := binding.FieldErrors(binding.NewValidationError(fields...))
		if want := min(len(fields), binding.MaxFieldErrors); len(again) != want {
			t.Fatalf("%d field errors became %d, want %d", len(fields), len(again), want)
		}
		kept := func(got, sent string) bool {
			return got == sent || len(sent) > 256 && len(got) <= 256+len("...") && strings.Contains(got, "...")
		}
		for i := range again {
			if !kept(again[i].Field, fields[i].Field) || !kept(again[i].Rule, fields[i].Rule) || !kept(again[i].Param, fields[i].Param) {
				t.Fatalf("%+v became %+v", fields[i], again[i])
			}
		}
	})
}

// FuzzCodecAgreesWithEncodingJSON: JSONCodec decodes what encoding/json
// decodes, into the same value, refuses what it refuses, and encodes the
// value to the same bytes: its speed comes from another library, its
// behaviour must not.
func FuzzCodecAgreesWithEncodingJSON(f *testing.F) {
	f.Add([]byte(`{"id":"x","n":1,"items":[{"sku":"a","qty":2}],"m":{"a":1},"any":[1,"a",null],"arr":[1,2],"raw":{"a":1}}`))
	f.Add([]byte(`{"ID":"case","N":-3,"u":70000}`))
	f.Add([]byte(`{"id":"\ud800<&>","f":1e39,"stamp":"2026-11-28T10:00:00Z"}`))
	f.Add([]byte(`{"id":"a","id":"b","p":null,"b":"true"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var want, got testdoc.CodecProbe
		stdErr := json.Unmarshal(data, &want)
		err := binding.JSONCodec{}.Unmarshal(data, &got)
		if (stdErr == nil) != (err == nil) {
			t.Fatalf("%q: encoding/json says %v, JSONCodec %v", data, stdErr, err)
		}
		if stdErr != nil {
			return
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("%q: encoding/json decodes %+v, JSONCodec %+v", data, want, got)
		}
		wantBytes, stdErr := json.Marshal(&want)
		gotBytes, err := binding.JSONCodec{}.Marshal(&got)
		if (stdErr == nil) != (err == nil) || !bytes.Equal(wantBytes, gotBytes) {
			t.Fatalf("%+v: encoding/json encodes %s (%v), JSONCodec %s (%v)", want, wantBytes, stdErr, gotBytes, err)
		}
	})
}
