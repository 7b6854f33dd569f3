package natsmux_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/natsmux/natsmux"
)

// TestDeclarations: a group's declared errors and parameters reach each of
// its endpoints' metadata, an endpoint adds its own or overrides one, and
// DeclaredErrors and DeclaredParams read them back.
func TestDeclarations(t *testing.T) {
	r := natsmux.NewRouter()
	r.Route("orders.{id}", func(r *natsmux.Router) {
		r.HandleFunc("get", ok)
		r.HandleFunc("cancel", ok,
			natsmux.WithError(409, "the order has shipped"),
			natsmux.WithError(404, "no such order, or not yours"))
	}, natsmux.WithError(404, "no such order"), natsmux.WithParam("id", "the order's number", "42"))
	r.HandleFunc("ping", ok, natsmux.WithParam("unused", "", "x"))

	eps := r.Endpoints()
	want := []struct {
		errors map[int]string
		params map[string]natsmux.ParamDoc
	}{
		{map[int]string{404: "no such order"}, map[string]natsmux.ParamDoc{"id": {"the order's number", "42"}}},
		{map[int]string{404: "no such order, or not yours", 409: "the order has shipped"},
			map[string]natsmux.ParamDoc{"id": {"the order's number", "42"}}},
		{map[int]string{}, map[string]natsmux.ParamDoc{"unused": {Example: "x"}}},
	}
	for i, ep := range eps {
		if diff := cmp.Diff(want[i].errors, natsmux.DeclaredErrors(ep.Metadata)); diff != "" {
			t.Errorf("%s errors (-want +got):\n%s", ep.Name, diff)
		}
		if diff := cmp.Diff(want[i].params, natsmux.DeclaredParams(ep.Metadata)); diff != "" {
			t.Errorf("%s params (-want +got):\n%s", ep.Name, diff)
		}
	}
	if got := eps[0].Metadata["natsmux.error.404"]; got != "no such order" {
		t.Errorf("metadata key natsmux.error.404 = %q", got)
	}
}

// TestDeclaredErrorsIgnoresOtherKeys: keys that are no error code, or a
// code out of range, are not declarations.
func TestDeclaredErrorsIgnoresOtherKeys(t *testing.T) {
	got := natsmux.DeclaredErrors(map[string]string{
		"natsmux.error.404": "a", "natsmux.error.200": "b", "natsmux.error.x": "c", "natsmux.error.": "d", "other": "e",
	})
	if diff := cmp.Diff(map[int]string{404: "a"}, got); diff != "" {
		t.Error(diff)
	}
}

func TestDeclarationPanics(t *testing.T) {
	tests := []struct {
		name string
		fn   func()
		want string
	}{
		{"code too low", func() { natsmux.WithError(200, "fine") }, "WithError(200): an error code must be from 400 to 599"},
		{"code too high", func() { natsmux.WithError(600, "x") }, "from 400 to 599"},
		{"no description", func() { natsmux.WithError(404, " ") }, "say what the error means"},
		{"bad name", func() { natsmux.WithParam("a.b", "x", "") }, `WithParam("a.b"): not a parameter name`},
		{"nothing", func() { natsmux.WithParam("id", "", "") }, "give a description, an example or both"},
		{"dotted example", func() { natsmux.WithParam("id", "", "a.b") }, "must be one subject token"},
		{"wildcard example", func() { natsmux.WithParam("id", "", "*") }, "must be one subject token"},
		{"space example", func() { natsmux.WithParam("id", "", "a b") }, "must be one subject token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := panicMessage(tt.fn); !strings.Contains(got, tt.want) {
				t.Errorf("panic %q, want %q", got, tt.want)
			}
		})
	}
}
