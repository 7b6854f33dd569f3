package codecbench_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/internal/codecbench"
	"github.com/natsmux/natsmux/internal/testdoc"
)

// The decode targets: the type of binding's FuzzCodecAgreesWithEncodingJSON
// (testdoc.CodecProbe), the order of its FuzzDecode (probeOrder), the error body of
// its FuzzFieldErrors, a struct with tag options, and any.

type ProbeTenant struct {
	Tenant string `json:"tenant"`
}

type probeOrder struct {
	ProbeTenant
	Customer string `json:"customer"`
	Email    string `json:"email,omitempty"`
	Priority int8   `json:"priority,omitempty"`
	Address  struct {
		City string `json:"city"`
		Zip  string `json:"zip,omitempty"`
	} `json:"address"`
	Items []struct {
		SKU string `json:"sku"`
		Qty int    `json:"qty"`
	} `json:"items"`
	Note string `json:"note,omitempty"`
}

type fieldErrorsBody struct {
	Errors []binding.FieldError `json:"errors"`
	More   int                  `json:"more,omitempty"`
}

type tagged struct {
	N      int    `json:"n,string"`
	S      string `json:"s,string"`
	B      bool   `json:"b,string"`
	Skip   int    `json:"-"`
	Dash   int    `json:"-,"` //nolint:staticcheck // a field named "-": libraries read this tag differently
	Ptr    *int   `json:"ptr,omitempty"`
	Embed1 `json:"embed1"`
	*Embed2
}

type Embed1 struct {
	X int `json:"x"`
}

type Embed2 struct {
	Y int `json:"y"`
	X int `json:"x"` // conflicts with nothing at this depth: Embed1 is named by its tag
}

var targets = []struct {
	name string
	new  func() any
}{
	{"probe", func() any { return new(testdoc.CodecProbe) }},
	{"order", func() any { return new(probeOrder) }},
	{"field-errors", func() any { return new(fieldErrorsBody) }},
	{"tagged", func() any { return new(tagged) }},
	{"any", func() any { return new(any) }},
}

// input is one payload, named for the report.
type input struct {
	name string
	data []byte
}

// corpus reads binding's fuzz corpus: files of "go test fuzz v1" and one
// []byte literal per line.
func corpus(t *testing.T) []input {
	t.Helper()
	files, err := filepath.Glob("../../binding/testdata/fuzz/*/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fuzz corpus under ../../binding/testdata/fuzz: %v", err)
	}
	var inputs []input
	for _, file := range files {
		text, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(text)), "\n")
		if lines[0] != "go test fuzz v1" {
			t.Fatalf("%s: not a fuzz corpus file", file)
		}
		for _, line := range lines[1:] {
			lit, ok := strings.CutPrefix(line, "[]byte(")
			lit, ok2 := strings.CutSuffix(lit, ")")
			data, err := strconv.Unquote(lit)
			if !ok || !ok2 || err != nil {
				t.Fatalf("%s: %q is not a []byte literal", file, line)
			}
			inputs = append(inputs, input{"corpus/" + filepath.Base(filepath.Dir(file)) + "/" + filepath.Base(file), []byte(data)})
		}
	}
	return inputs
}

func nested(open, closeWith string, depth int) []byte {
	return []byte(strings.Repeat(open, depth) + strings.Repeat(closeWith, depth))
}

// tricky are the inputs where JSON libraries are known to part ways, and
// the seeds that binding's fuzz targets add in code.
var tricky = []input{
	{"seed/agree-1", []byte(`{"id":"x","n":1,"items":[{"sku":"a","qty":2}],"m":{"a":1},"any":[1,"a",null],"arr":[1,2],"raw":{"a":1}}`)},
	{"seed/agree-2", []byte(`{"ID":"case","N":-3,"u":70000}`)},
	{"seed/agree-3", []byte(`{"id":"\ud800<&>","f":1e39,"stamp":"2026-11-28T10:00:00Z"}`)},
	{"seed/agree-4", []byte(`{"id":"a","id":"b","p":null,"b":"true"}`)},
	{"seed/decode-1", []byte(`{"tenant":"acme","customer":"ann","address":{"city":"Oslo"},"items":[{"sku":"a","qty":2},{"sku":"b","qty":1}]}`)},
	{"seed/decode-2", []byte(`{}`)},
	{"seed/decode-3", []byte(`{"items":[{"sku":"a","qty":"1"}],"tenant":{"x":1}}`)},
	{"dup/same-type", []byte(`{"id":"a","id":"b","tenant":"x","tenant":"y"}`)},
	{"dup/other-case", []byte(`{"id":"a","ID":"b","customer":"c","Customer":"d"}`)},
	{"dup/object-then-scalar", []byte(`{"m":{"a":1},"m":{"b":2},"any":{"a":1},"any":2}`)},
	{"case/upper", []byte(`{"ID":"x","N":1,"ITEMS":[{"SKU":"s","QTY":2}],"CUSTOMER":"c","Errors":[{"FIELD":"f"}]}`)},
	{"case/long-s", []byte(`{"items":[{"\u017fku":"long s"}],"customer":"x","cu\u017ftomer":"y"}`)},
	{"case/kelvin", []byte(`{"items":[{"s\u212au":"kelvin"}]}`)},
	{"case/underscore", []byte(`{"i_d":"x","c-ustomer":"y"}`)},
	{"utf8/invalid-value", []byte("{\"id\":\"\xff\",\"customer\":\"a\xc3\"}")},
	{"utf8/invalid-key", []byte("{\"\xff\":1,\"id\":\"x\"}")},
	{"utf8/lone-surrogate", []byte(`{"id":"\udc00\ud800x","customer":"\ud83d"}`)},
	{"utf8/pair", []byte(`{"id":"\ud83d\ude00","customer":"\u00e9"}`)},
	{"utf8/overlong", []byte("{\"id\":\"\xc0\xaf\"}")},
	{"num/int8-overflow", []byte(`{"n":128,"priority":200}`)},
	{"num/uint-negative", []byte(`{"u":-1}`)},
	{"num/exponent-into-int", []byte(`{"n":1e2,"priority":1E1}`)},
	{"num/fraction-into-int", []byte(`{"n":1.5}`)},
	{"num/negative-zero", []byte(`{"n":-0,"f":-0.0,"any":-0}`)},
	{"num/float32-overflow", []byte(`{"f":1e39}`)},
	{"num/int-past-int64", []byte(`{"items":[{"qty":9223372036854775808}]}`)},
	{"num/huge-into-any", []byte(`{"any":1e400}`)},
	{"num/long-into-any", []byte(`{"any":12345678901234567890123}`)},
	{"num/leading-zero", []byte(`{"n":01}`)},
	{"num/plus", []byte(`{"n":+1}`)},
	{"num/bare-dot", []byte(`{"f":.5}`)},
	{"num/trailing-dot", []byte(`{"f":1.}`)},
	{"num/string-tag", []byte(`{"n":"12","s":"\"q\"","b":"true"}`)},
	{"num/string-tag-bare", []byte(`{"n":12,"s":"q","b":true}`)},
	{"num/string-tag-spaces", []byte(`{"n":" 12"}`)},
	{"null/non-pointers", []byte(`{"id":null,"n":null,"b":null,"arr":null,"stamp":null,"items":null,"m":null}`)},
	{"null/in-array", []byte(`{"items":[null,{"sku":"a"}],"arr":[null,1]}`)},
	{"null/top", []byte(`null`)},
	{"null/string-tag", []byte(`{"n":"null","b":null}`)},
	{"trail/second-value", []byte(`{"id":"x"} {}`)},
	{"trail/garbage", []byte(`{"id":"x"}x`)},
	{"trail/whitespace", []byte("{\"id\":\"x\"} \r\n\t")},
	{"trail/comma", []byte(`{"id":"x",}`)},
	{"trail/array-comma", []byte(`{"items":[{},]}`)},
	{"top/array", []byte(`[]`)},
	{"top/string", []byte(`"str"`)},
	{"top/number", []byte(`1`)},
	{"top/empty", []byte(``)},
	{"syntax/single-quotes", []byte(`{'id':'x'}`)},
	{"syntax/control-char", []byte("{\"id\":\"a\x01\"}")},
	{"syntax/bad-escape", []byte(`{"id":"\x41"}`)},
	{"syntax/nan", []byte(`{"f":NaN}`)},
	{"syntax/comment", []byte(`{"id":"x" /* c */}`)},
	{"syntax/escapes", []byte(`{"id":"\u0041\/\b\f\n\r\t\"\\"}`)},
	{"unknown/nested", []byte(`{"zzz":{"a":[1,2,{"b":null}]},"id":"x","customer":"y"}`)},
	{"unknown/invalid-inside", []byte(`{"zzz":[1,,2],"id":"x"}`)},
	{"type/string-for-int", []byte(`{"n":"1","priority":"1"}`)},
	{"type/int-for-string", []byte(`{"id":1,"customer":2}`)},
	{"type/string-for-bool", []byte(`{"b":"true"}`)},
	{"type/object-for-slice", []byte(`{"items":{},"errors":{}}`)},
	{"type/wrong-map-value", []byte(`{"m":{"a":"1","b":2}}`)},
	{"type/then-valid", []byte(`{"n":"x","id":"after"}`)},
	{"type/embedded-object", []byte(`{"tenant":{"name":"acme"},"customer":"c"}`)},
	{"array/too-long", []byte(`{"arr":[1,2,3]}`)},
	{"array/too-short", []byte(`{"arr":[1]}`)},
	{"raw/spaces", []byte(`{"raw": { "a" : [ 1 , 2 ] } }`)},
	{"raw/null", []byte(`{"raw":null}`)},
	{"time/offset", []byte(`{"stamp":"2026-11-28T10:00:00+01:00"}`)},
	{"time/lowercase", []byte(`{"stamp":"2026-11-28t10:00:00z"}`)},
	{"time/space", []byte(`{"stamp":"2026-11-28 10:00:00Z"}`)},
	{"time/long-fraction", []byte(`{"stamp":"2026-11-28T10:00:00.1234567891Z"}`)},
	{"time/hour-24", []byte(`{"stamp":"2026-11-28T24:00:00Z"}`)},
	{"time/offset-no-colon", []byte(`{"stamp":"2026-11-28T10:00:00+0100"}`)},
	{"embed/fields", []byte(`{"embed1":{"x":1},"x":2,"y":3,"Embed2":{"y":4}}`)},
	{"map/keys", []byte(`{"m":{"":1,"1":2,"é":3}}`)},
	{"deep/10000-arrays", nested("[", "]", 10000)},
	{"deep/10001-arrays", nested("[", "]", 10001)},
	{"deep/10001-objects", nested(`{"any":`, "}", 10001)},
	{"deep/unknown-10001", []byte(`{"zzz":` + string(nested("[", "]", 10001)) + `}`)},
}

// encodeValues are values whose encoding libraries are known to differ on.
var encodeValues = []struct {
	name  string
	value any
}{
	{"string/html", "<a href=\"x\">&</a>"},
	{"string/line-separators", "\u2028\u2029"},
	{"string/invalid-utf8", "a\xffb\xc3"},
	{"string/control", "\x00\x01\x1f\x7f"},
	{"string/non-ascii", "Zürich 東京 😀"},
	{"float/1e20", 1e20},
	{"float/1e21", 1e21},
	{"float/1e-6", 1e-6},
	{"float/1e-7", 1e-7},
	{"float/negative-zero", math.Copysign(0, -1)},
	{"float/max", math.MaxFloat64},
	{"float/smallest", math.SmallestNonzeroFloat64},
	{"float32/0.1", float32(0.1)},
	{"float32/1e21", float32(1e21)},
	{"float32/max", float32(math.MaxFloat32)},
	{"float/nan", math.NaN()},
	{"float/inf", math.Inf(1)},
	{"int/min", int64(math.MinInt64)},
	{"uint/max", uint64(math.MaxUint64)},
	{"map/int-keys", map[int]string{10: "a", 2: "b", -1: "c"}},
	{"map/string-keys", map[string]int{"b": 1, "a": 2, "A": 3, "<k>": 4, "é": 5}},
	{"map/nil", map[string]int(nil)},
	{"map/text-keys", map[textKey]int{{"b"}: 1, {"a"}: 2}},
	{"slice/nil", []int(nil)},
	{"slice/empty", []int{}},
	{"bytes", []byte{0, 1, 2, 250}},
	{"bytes/nil", []byte(nil)},
	{"array/bytes", [3]byte{1, 2, 3}},
	{"time", time.Date(2026, 11, 28, 10, 0, 0, 1000, time.FixedZone("x", 3600))},
	{"time/zero", time.Time{}},
	{"time/year-10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	{"duration", 90 * time.Second},
	{"raw/spaces", json.RawMessage(` { "a" : 1 } `)},
	{"raw/invalid", json.RawMessage(`{`)},
	{"raw/nil", json.RawMessage(nil)},
	{"marshaler/spaces", spacedMarshaler{}},
	{"marshaler/invalid", invalidMarshaler{}},
	{"marshaler/pointer-in-map", map[string]ptrMarshaler{"a": {}}},
	{"marshaler/pointer-in-slice", []ptrMarshaler{{}}},
	{"marshaler/nil-pointer", (*ptrMarshaler)(nil)},
	{"omitempty", omitted{}},
	{"tags", tagged{N: 1, S: "s", B: true, Skip: 2, Dash: 3, Embed2: &Embed2{Y: 4, X: 5}}},
	{"tags/nil-embedded", tagged{}},
	{"interface/struct", map[string]any{"x": omitted{}, "n": nil}},
	{"invoice", newInvoice()},
}

type textKey struct{ s string }

func (k textKey) MarshalText() ([]byte, error) { return []byte(k.s), nil }

type spacedMarshaler struct{}

func (spacedMarshaler) MarshalJSON() ([]byte, error) { return []byte(` { "a" : [ 1 , 2 ] } `), nil }

type invalidMarshaler struct{}

func (invalidMarshaler) MarshalJSON() ([]byte, error) { return []byte(`{`), nil }

type ptrMarshaler struct{}

func (*ptrMarshaler) MarshalJSON() ([]byte, error) { return []byte(`"pointer method"`), nil }

type omitted struct {
	Struct struct{ A int } `json:"struct,omitempty"`
	Time   time.Time       `json:"time,omitempty"`
	Ptr    *int            `json:"ptr,omitempty"`
	Int    int             `json:"int,omitempty"`
	Array  [0]int          `json:"array,omitempty"`
	Any    any             `json:"any,omitempty"`
	Zero   int             `json:"zero,omitzero"`
}

// tally collects one codec's disagreements with encoding/json by kind.
type tally struct {
	cases    int
	examples map[string][]string
}

func (t *tally) add(kind, format string, args ...any) {
	t.examples[kind] = append(t.examples[kind], fmt.Sprintf(format, args...))
}

// guard calls f and turns a panic into a test error: a codec may disagree,
// but not crash the service.
func guard(t *testing.T, codec, what string, f func()) (ok bool) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("%s panicked on %s: %v", codec, what, p)
			ok = false
		}
	}()
	f()
	return true
}

const (
	kindAccepts = "accepts what encoding/json rejects"
	kindRejects = "rejects what encoding/json accepts"
	kindValue   = "decodes another value"
	kindEncode  = "encodes the decoded value otherwise"
	kindTable   = "encodes a table value otherwise"
)

// TestCodecsAgreeWithEncodingJSON runs every codec over binding's fuzz
// corpus and the tables above and reports, for each, where it parts from
// encoding/json: the verdict, the decoded value, the encoding. It fails
// only when a codec panics; run it with -v to read the report.
func TestCodecsAgreeWithEncodingJSON(t *testing.T) {
	inputs := append(corpus(t), tricky...)
	codecs := append(append([]codecbench.Named{}, codecbench.Codecs[1:]...), codecbench.GoccyRaw)
	tallies := make(map[string]*tally, len(codecs))
	for _, c := range codecs {
		tl := &tally{examples: map[string][]string{}}
		tallies[c.Name] = tl
		for _, in := range inputs {
			for _, tg := range targets {
				tl.cases++
				decodeAgainst(t, c, in, tg.name, tg.new, tl)
			}
		}
		for _, ev := range encodeValues {
			tl.cases++
			wantBytes, wantErr := json.Marshal(ev.value)
			var gotBytes []byte
			var err error
			if !guard(t, c.Name, "encoding "+ev.name, func() { gotBytes, err = c.Marshal(ev.value) }) {
				continue
			}
			if (wantErr == nil) != (err == nil) || !bytes.Equal(wantBytes, gotBytes) {
				tl.add(kindTable, "%s: std %s (%v), %s %s (%v)", ev.name, clip(wantBytes), wantErr, c.Name, clip(gotBytes), err)
			}
		}
	}
	report(t, codecs, tallies)
}

// decodeAgainst decodes in into a new target with encoding/json and with c,
// and tallies how c's verdict, value and encoding of the value differ.
func decodeAgainst(t *testing.T, c codecbench.Named, in input, target string, newTarget func() any, tl *tally) {
	t.Helper()
	what := in.name + " into " + target
	want, got := newTarget(), newTarget()
	wantErr := json.Unmarshal(in.data, want)
	var err error
	if !guard(t, c.Name, "decoding "+what, func() { err = c.Unmarshal(in.data, got) }) {
		return
	}
	switch {
	case wantErr != nil && err == nil:
		tl.add(kindAccepts, "%s: std: %s", what, clip([]byte(wantErr.Error())))
		return
	case wantErr == nil && err != nil:
		tl.add(kindRejects, "%s: %s", what, clip([]byte(err.Error())))
		return
	case wantErr != nil:
		return
	}
	// reflect.DeepEqual first: go-cmp takes minutes over 10,000 levels of
	// nesting, and it only needs to explain a difference.
	if !reflect.DeepEqual(want, got) {
		if diff := cmp.Diff(want, got); diff != "" {
			tl.add(kindValue, "%s: -std +%s: %s", what, c.Name, clip([]byte(strings.Join(strings.Fields(diff), " "))))
		}
	}
	wantBytes, wantErr := json.Marshal(want)
	var gotBytes []byte
	if !guard(t, c.Name, "encoding "+what, func() { gotBytes, err = c.Marshal(want) }) {
		return
	}
	if (wantErr == nil) != (err == nil) || !bytes.Equal(wantBytes, gotBytes) {
		tl.add(kindEncode, "%s: std %s, %s %s (%v)", what, clip(wantBytes), c.Name, clip(gotBytes), err)
	}
}

func report(t *testing.T, codecs []codecbench.Named, tallies map[string]*tally) {
	kinds := []string{kindAccepts, kindRejects, kindValue, kindEncode, kindTable}
	for _, c := range codecs {
		tl := tallies[c.Name]
		counts := make([]string, len(kinds))
		for i, k := range kinds {
			counts[i] = fmt.Sprintf("%s %d", k, len(tl.examples[k]))
		}
		t.Logf("%s: %d cases; %s", c.Name, tl.cases, strings.Join(counts, "; "))
	}
	for _, c := range codecs {
		tl := tallies[c.Name]
		keys := make([]string, 0, len(tl.examples))
		for k := range tl.examples {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			for _, ex := range tl.examples[k] {
				t.Logf("%s %s: %s", c.Name, k, ex)
			}
		}
	}
}

// clip shortens long payloads and messages for the report.
func clip(b []byte) string {
	const most = 160
	if len(b) <= most {
		return string(b)
	}
	return string(b[:most]) + "..."
}
