package client_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/client"
	"github.com/natsmux/natsmux/micro"
)

// FuzzResponseError parses arbitrary replies: no panic; an error exactly
// when an ADR-32 error header is present, always a *natsmux.Error that
// keeps the payload and the other headers, and not the ADR-32 ones.
func FuzzResponseError(f *testing.F) {
	f.Add(true, "404", true, "not found", []byte(`{"id":7}`))
	f.Add(true, "", false, "", []byte(nil))
	f.Add(false, "", true, "no code", []byte("x"))
	f.Fuzz(func(t *testing.T, hasCode bool, code string, hasDesc bool, desc string, data []byte) {
		msg := &nats.Msg{Data: data, Header: nats.Header{"X-Other": {"kept"}}}
		if hasCode {
			msg.Header.Set(micro.ErrorCodeHeader, code)
		}
		if hasDesc {
			msg.Header.Set(micro.ErrorHeader, desc)
		}
		err := client.ResponseError(msg)
		if (err != nil) != (hasCode || hasDesc) {
			t.Fatalf("headers %v gave %v", msg.Header, err)
		}
		if err == nil {
			return
		}
		var e *natsmux.Error
		if !errors.As(err, &e) || !bytes.Equal(e.Data, data) || e.Header.Get("X-Other") != "kept" ||
			e.Header[micro.ErrorHeader] != nil || e.Header[micro.ErrorCodeHeader] != nil {
			t.Fatalf("headers %v, data %q gave %#v", msg.Header, data, err)
		}
		if natsmux.CodeOf(err) != e.Code {
			t.Fatalf("CodeOf %d, Code %d", natsmux.CodeOf(err), e.Code)
		}
	})
}
