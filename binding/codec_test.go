package binding_test

import (
	"context"
	"encoding/xml"
	"errors"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// xmlCodec is a second codec, to show that the request's Content-Type
// picks the codec and that the reply names it.
type xmlCodec struct{}

func (xmlCodec) ContentType() string                { return "application/xml" }
func (xmlCodec) Marshal(v any) ([]byte, error)      { return xml.Marshal(v) }
func (xmlCodec) Unmarshal(data []byte, v any) error { return xml.Unmarshal(data, v) }

type Greeting struct {
	XMLName xml.Name `json:"-" xml:"greeting"`
	Name    string   `json:"name" xml:"name" validate:"required"`
}

func greet(_ context.Context, g *Greeting) (*Greeting, error) {
	return &Greeting{Name: "hello " + g.Name}, nil
}

func TestCodecs(t *testing.T) {
	r := natsmux.NewRouter()
	r.Handle("json", binding.JSON(greet), natsmux.WithSubject("greet.json"))
	r.Handle("xml", binding.JSON(greet, binding.WithCodec(xmlCodec{})), natsmux.WithSubject("greet.xml"))
	r.Handle("small", binding.JSON(greet, binding.WithMaxPayload(8)), natsmux.WithSubject("greet.small"))
	nc, _ := serve(t, r)

	tests := []struct {
		name    string
		subject string
		ct      string // request Content-Type
		payload string
		want    string // reply, or "code description"
		wantCT  string // reply Content-Type
	}{
		{"JSON by default", "greet.json", "", `{"name":"ann"}`, `{"name":"hello ann"}`, ""},
		{"JSON named", "greet.json", "application/json", `{"name":"ann"}`, `{"name":"hello ann"}`, "application/json"},
		{"media type in another case, with parameters", "greet.json", "Application/JSON ; charset=utf-8", `{"name":"ann"}`,
			`{"name":"hello ann"}`, "application/json"},
		{"XML where only JSON is accepted", "greet.json", "application/xml", `<greeting><name>ann</name></greeting>`,
			`415 unsupported content type "application/xml"; this endpoint accepts application/json`, ""},
		{"XML is the default of its endpoint", "greet.xml", "", `<greeting><name>ann</name></greeting>`,
			`<greeting><name>hello ann</name></greeting>`, ""},
		{"XML named", "greet.xml", "application/xml", `<greeting><name>ann</name></greeting>`,
			`<greeting><name>hello ann</name></greeting>`, "application/xml"},
		{"JSON still accepted", "greet.xml", "application/json", `{"name":"ann"}`, `{"name":"hello ann"}`, "application/json"},
		{"XML decode error", "greet.xml", "application/xml", `<greeting>`, "400 invalid request: XML syntax error on line 1: unexpected EOF", ""},
		{"XML validation", "greet.xml", "application/xml", `<greeting></greeting>`, "400 invalid request: name is required", ""},
		{"unknown codec", "greet.xml", "text/csv", `ann`,
			`415 unsupported content type "text/csv"; this endpoint accepts application/xml, application/json`, ""},
		// The payload's size is checked before anything else.
		{"oversized, of an unknown codec", "greet.small", "text/csv", `ann,bob,cy`, `413 payload too large: 10 bytes, the limit is 8`, ""},
		{"oversized and malformed", "greet.small", "", `{"name":x`, `413 payload too large: 9 bytes, the limit is 8`, ""},
		{"small, of an unknown codec", "greet.small", "text/csv", `ann`,
			`415 unsupported content type "text/csv"; this endpoint accepts application/json`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := &nats.Msg{Subject: tt.subject, Data: []byte(tt.payload)}
			if tt.ct != "" {
				msg.Header = nats.Header{binding.ContentTypeHeader: {tt.ct}}
			}
			reply := microtest.RequestMsg(t, nc, msg)
			got := string(reply.Data)
			if code := reply.Header.Get(micro.ErrorCodeHeader); code != "" {
				got = code + " " + reply.Header.Get(micro.ErrorHeader)
			}
			if got != tt.want || reply.Header.Get(binding.ContentTypeHeader) != tt.wantCT {
				t.Errorf("got %s (Content-Type %q),\nwant %s (%q)", got, reply.Header.Get(binding.ContentTypeHeader), tt.want, tt.wantCT)
			}
		})
	}
}

func TestContentTypeOf(t *testing.T) {
	tests := []struct {
		h    nats.Header
		want string
	}{
		{nil, ""},
		{nats.Header{"X": {"y"}}, ""},
		{nats.Header{"Content-Type": {"application/json"}}, "application/json"},
		{nats.Header{"content-type": {" text/plain ; charset=utf-8"}}, "text/plain"},
		{nats.Header{"CONTENT-TYPE": {""}}, ""},
	}
	for _, tt := range tests {
		if got := binding.ContentTypeOf(tt.h); got != tt.want {
			t.Errorf("ContentTypeOf(%v) = %q, want %q", tt.h, got, tt.want)
		}
	}
}

type numbers struct {
	U   uint8   `json:"u"`
	F32 float32 `json:"f32"`
	F64 float64 `json:"f64"`
	P   *int16  `json:"p"`
	Us  []uint  `json:"us"`
}

// TestNumberOutOfRange: a number too large or too small for its field
// gets the field's range, not "expected integer".
func TestNumberOutOfRange(t *testing.T) {
	h := binding.JSON(func(context.Context, *numbers) (*numbers, error) { return nil, nil })
	tests := []struct{ payload, desc string }{
		{`{"u":-1}`, `field "u": number -1 is out of range [0, 255] (near offset 7)`},
		{`{"u":256}`, `field "u": number 256 is out of range [0, 255] (near offset 8)`},
		{`{"p":40000}`, `field "p": number 40000 is out of range [-32768, 32767] (near offset 10)`},
		{`{"us":[1,-2]}`, `field "us": number -2 is out of range [0, 18446744073709551615] (near offset 11)`},
		{`{"f32":1e39}`, `field "f32": number 1e39 is out of range [-3.4028234663852886e+38, 3.4028234663852886e+38] (near offset 11)`},
		{`{"f64":-1e400}`, `field "f64": number -1e400 is out of range [-1.7976931348623157e+308, 1.7976931348623157e+308] (near offset 13)`},
		{`{"u":1.5}`, `field "u": expected integer, got number 1.5 (near offset 8)`},
	}
	for _, tt := range tests {
		_, err := h.ServeNATS(context.Background(), natsmux.NewRequest("numbers", []byte(tt.payload)))
		var e *natsmux.Error
		if !errors.As(err, &e) || e.Code != 400 || e.Description != "invalid request: "+tt.desc {
			t.Errorf("%s: %v,\nwant 400 invalid request: %s", tt.payload, err, tt.desc)
		}
	}
}
