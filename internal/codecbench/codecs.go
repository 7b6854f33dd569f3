// Package codecbench measures the JSON libraries that binding.JSON could
// decode and encode with, and holds each to encoding/json's behaviour.
//
// # Overview
//
// It is a module of its own, so that the libraries it compares stay out of
// natsmux's go.mod and out of the root's `go test ./...`. Each library is
// wrapped as a binding.Codec (Codecs); the benchmarks time them on the
// order document of binding's benchmarks and on a larger one, alone and
// through binding.JSON in memory; TestCodecsAgreeWithEncodingJSON counts
// where each decodes, rejects or encodes otherwise than encoding/json. The
// results are in docs/binding.md, "Which JSON library, and why".
//
// # Example
//
//	cd internal/codecbench && go test -run . -bench . -count 5
package codecbench

import (
	"encoding/json"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
	goccy "github.com/goccy/go-json"
	segmentio "github.com/segmentio/encoding/json"

	"github.com/natsmux/natsmux/binding"
)

// Named is a codec with the short name the benchmarks and the agreement
// test report it under.
type Named struct {
	Name string
	binding.Codec
}

// Std is encoding/json, the baseline the others are measured against.
var Std = Named{"std", funcCodec{json.Marshal, json.Unmarshal}}

// Codecs are the contenders, Std first. goccy is binding.JSONCodec itself,
// with its fallback to encoding/json for errors; v2compat is
// go-json-experiment with the options that make it behave as v1
// (jsonv1.DefaultOptionsV1, which its v1 package's Marshal and Unmarshal
// pass), v2 the same library with its own defaults.
var Codecs = []Named{
	Std,
	{"goccy", binding.JSONCodec{}},
	{"v2compat", funcCodec{jsonv1.Marshal, jsonv1.Unmarshal}},
	{"v2", funcCodec{marshalV2, unmarshalV2}},
	{"segmentio", funcCodec{segmentio.Marshal, segmentio.Unmarshal}},
}

// GoccyRaw is goccy/go-json without JSONCodec's fallback: the agreement
// test shows what the fallback hides.
var GoccyRaw = Named{"goccy-raw", funcCodec{goccy.Marshal, goccy.Unmarshal}}

// funcCodec is a codec made of a library's two functions. Its errors are
// the library's own: these codecs are measured, not served to callers.
type funcCodec struct {
	marshal   func(any) ([]byte, error)
	unmarshal func([]byte, any) error
}

func (funcCodec) ContentType() string                  { return "application/json" }
func (c funcCodec) Marshal(v any) ([]byte, error)      { return c.marshal(v) }
func (c funcCodec) Unmarshal(data []byte, v any) error { return c.unmarshal(data, v) }

// marshalV2 and unmarshalV2 drop jsonv2's variadic options, so that the
// functions fit funcCodec.
func marshalV2(v any) ([]byte, error)      { return jsonv2.Marshal(v) }
func unmarshalV2(data []byte, v any) error { return jsonv2.Unmarshal(data, v) }
