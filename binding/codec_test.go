package binding_test

import (
	"context"
	"encoding/xml"
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
