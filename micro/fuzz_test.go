package micro

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

// FuzzResponseError reads replies with arbitrary error headers: it never
// panics, it returns nil exactly when neither error header has a value, and
// otherwise a *ServiceError whose code is the header's number, or 500 with
// the header's text kept in the description when it is not a number from 100
// to 999.
func FuzzResponseError(f *testing.F) {
	f.Fuzz(func(t *testing.T, description, code string, hasDescription, hasCode bool, data []byte) {
		msg := &nats.Msg{Header: nats.Header{}, Data: data}
		if hasDescription {
			msg.Header[ErrorHeader] = []string{description}
		}
		if hasCode {
			msg.Header[ErrorCodeHeader] = []string{code}
		}
		err := ResponseError(msg)
		if !hasDescription && !hasCode {
			if err != nil {
				t.Fatalf("a reply without error headers is an error: %v", err)
			}
			return
		}
		var serr *ServiceError
		if !errors.As(err, &serr) {
			t.Fatalf("error headers %v gave %v, want a *ServiceError", msg.Header, err)
		}
		// A missing header reads as an empty one.
		if !hasCode {
			code = ""
		}
		if !hasDescription {
			description = ""
		}
		if n, convErr := strconv.Atoi(code); convErr == nil && n >= 100 && n <= 999 {
			if serr.Code != n || serr.Description != description {
				t.Errorf("code %q, description %q: got %d %q", code, description, serr.Code, serr.Description)
			}
		} else if serr.Code != 500 || !strings.Contains(serr.Description, fmt.Sprintf("%q", code)) {
			t.Errorf("invalid code %q: got %d %q, want 500 naming the code", code, serr.Code, serr.Description)
		}
		if !bytes.Equal(serr.Data, data) {
			t.Errorf("data %q, want %q", serr.Data, data)
		}
		if !strings.HasPrefix(serr.Error(), "service error "+strconv.Itoa(serr.Code)+": ") {
			t.Errorf("Error() = %q", serr.Error())
		}
	})
}
