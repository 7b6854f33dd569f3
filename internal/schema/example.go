package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Mode says which properties of an object an example holds.
type Mode int

const (
	// Full examples hold every declared property, so that every rule of
	// every field is exercised.
	Full Mode = iota
	// Minimal examples hold the required properties only, so that a rule
	// the schema does not publish ("optional but never empty") shows.
	Minimal
)

// formatExamples are valid values of the formats examples know.
var formatExamples = map[string]string{
	"email":     "ann@example.com",
	"uuid":      "3f2b8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
	"date-time": "2026-05-01T09:30:00Z",
	"date":      "2026-05-01",
	"time":      "09:30:00Z",
	"uri":       "https://example.com/",
	"hostname":  "example.com",
	"ipv4":      "192.0.2.1",
	"ipv6":      "2001:db8::1",
	"duration":  "PT1M",
}

// Example returns a value that s accepts: a schema's own first example,
// else one built from its keywords (types, properties, required, items,
// enum, const, bounds, lengths, counts, the formats email, uuid, date-time,
// date, time, uri, hostname, ipv4, ipv6 and duration, and patterns made of
// literals, classes, alternations and repetitions). Objects are Object
// values, numbers json.Number. It fails on what it cannot satisfy, such as
// allOf with several branches or a pattern with look-around; the result is
// best checked against a validator, since keywords outside that list are
// not honoured.
func Example(s *Schema, mode Mode) (any, error) {
	g := &generator{mode: mode}
	return g.value(s, 0)
}

type generator struct {
	mode  Mode
	stack []string // references being expanded, to stop at cycles
}

func (g *generator) value(s *Schema, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("schema nested too deep")
	}
	if ref := s.Ref(); ref != "" {
		if slices.Contains(g.stack, ref) {
			return nil, errCycle
		}
		target, err := s.Resolve()
		if err != nil {
			return nil, err
		}
		g.stack = append(g.stack, ref)
		defer func() { g.stack = g.stack[:len(g.stack)-1] }()
		return g.value(target, depth+1)
	}
	if s.Never() {
		return nil, errors.New("the schema false accepts no value")
	}
	if v, ok := s.Const(); ok {
		return v, nil
	}
	if values, ok := s.Enum(); ok {
		if len(values) == 0 {
			return nil, errors.New("empty enum")
		}
		return values[0], nil
	}
	if examples := s.Examples(); len(examples) > 0 {
		return examples[0], nil
	}
	for _, keyword := range []string{"anyOf", "oneOf"} {
		if branches := s.Branches(keyword); len(branches) > 0 {
			return g.firstBranch(branches, keyword, depth)
		}
	}
	if branches := s.Branches("allOf"); len(branches) == 1 {
		return g.value(branches[0], depth+1)
	} else if len(branches) > 1 {
		return nil, errors.New("allOf with several branches is not supported")
	}
	switch pickType(s.Types()) {
	case "object":
		return g.object(s, depth)
	case "array":
		return g.array(s, depth)
	case "string":
		return exampleString(s)
	case "integer":
		return exampleNumber(s, true)
	case "number":
		return exampleNumber(s, false)
	case "boolean":
		return true, nil // true passes "required" rules, which reject false
	case "null":
		return nil, nil
	}
	return "example", nil // any value
}

var errCycle = errors.New("recursive schema")

func (g *generator) firstBranch(branches []*Schema, keyword string, depth int) (any, error) {
	var errs []error
	for _, b := range branches {
		v, err := g.value(b, depth+1)
		if err == nil {
			return v, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("no branch of %s: %w", keyword, errors.Join(errs...))
}

// pickType prefers a type other than null, whose example says more.
func pickType(types []string) string {
	for _, t := range types {
		if t != "null" {
			return t
		}
	}
	if len(types) > 0 {
		return types[0]
	}
	return ""
}

func (g *generator) object(s *Schema, depth int) (any, error) {
	obj := Object{}
	for _, p := range s.Properties() {
		required := s.IsRequired(p.Name)
		if g.mode == Minimal && !required {
			continue
		}
		v, err := g.value(p.Schema, depth+1)
		if errors.Is(err, errCycle) && !required {
			continue // an optional property that recurses ends the example
		}
		if err != nil {
			return nil, fmt.Errorf("property %s: %w", p.Name, err)
		}
		obj = append(obj, Member{p.Name, v})
	}
	for _, name := range s.Required() {
		if _, ok := obj.Get(name); !ok {
			obj = append(obj, Member{name, "example"}) // required but not declared
		}
	}
	if add := s.Additional(); add != nil && !add.Never() && len(s.Properties()) == 0 && g.mode == Full {
		v, err := g.value(add, depth+1)
		if err == nil {
			obj = append(obj, Member{"key", v})
		}
	}
	return obj, nil
}

func (g *generator) array(s *Schema, depth int) (any, error) {
	n, _ := s.Count("minItems")
	if g.mode == Full {
		n = max(n, 1)
	}
	if most, ok := s.Count("maxItems"); ok {
		n = min(n, most)
	}
	items := s.Items()
	out := make([]any, 0, n)
	for range n {
		v := any("example")
		if items != nil {
			var err error
			if v, err = g.value(items, depth+1); err != nil {
				return nil, fmt.Errorf("items: %w", err)
			}
		}
		out = append(out, v)
	}
	return out, nil
}

func exampleString(s *Schema) (any, error) {
	pattern, format := s.Text("pattern"), s.Text("format")
	var v string
	switch known, ok := formatExamples[format]; {
	case pattern != "":
		var err error
		if v, err = fromPattern(pattern); err != nil {
			return nil, err
		}
	case ok:
		v = known
	default:
		// "example", fitted to the length bounds; never empty unless the
		// bounds ask, since "required" rules reject the empty string.
		v = "example"
		if least, ok := s.Count("minLength"); ok && least > len(v) {
			v += strings.Repeat("x", least-len(v))
		}
		if most, ok := s.Count("maxLength"); ok && most < len(v) {
			v = v[:most]
		}
	}
	n := utf8.RuneCountInString(v)
	least, _ := s.Count("minLength")
	most, hasMost := s.Count("maxLength")
	if n < least || hasMost && n > most {
		return nil, fmt.Errorf("no example of %d to %d characters for format %q or pattern %q", least, most, format, pattern)
	}
	return v, nil
}

// fromPattern returns a short string that pattern matches, built from the
// pattern's syntax tree: the first alternative, the fewest repetitions, the
// first printable character of a class.
func fromPattern(pattern string) (string, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return "", fmt.Errorf("pattern %q: %w", pattern, err)
	}
	var b strings.Builder
	if !writeMatch(&b, re.Simplify()) {
		return "", fmt.Errorf("pattern %q: no example for it", pattern)
	}
	if ok, _ := regexp.MatchString(pattern, b.String()); !ok {
		return "", fmt.Errorf("pattern %q: no example for it", pattern)
	}
	return b.String(), nil
}

func writeMatch(b *strings.Builder, re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpLiteral:
		b.WriteString(string(re.Rune))
	case syntax.OpCharClass:
		r, ok := classRune(re.Rune)
		if !ok {
			return false
		}
		b.WriteRune(r)
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte('x')
	case syntax.OpCapture, syntax.OpPlus:
		return writeMatch(b, re.Sub[0])
	case syntax.OpRepeat:
		for range re.Min {
			if !writeMatch(b, re.Sub[0]) {
				return false
			}
		}
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			if !writeMatch(b, sub) {
				return false
			}
		}
	case syntax.OpAlternate:
		return writeMatch(b, re.Sub[0])
	case syntax.OpNoMatch:
		return false
	}
	return true // anchors, boundaries, empty matches, star and quest add nothing
}

// classRune picks a printable ASCII rune of a class if it has one.
func classRune(ranges []rune) (rune, bool) {
	if len(ranges) == 0 {
		return 0, false
	}
	for i := 0; i+1 < len(ranges); i += 2 {
		lo, hi := max(ranges[i], '!'), min(ranges[i+1], '~')
		if lo <= hi {
			return lo, true
		}
	}
	return ranges[0], true
}

// bounds are a number schema's limits.
type bounds struct {
	lo, hi         float64
	loOpen, hiOpen bool // exclusive
	hasLo, hasHi   bool
	multipleOf     float64
	integer        bool
}

func boundsOf(s *Schema, integer bool) bounds {
	b := bounds{lo: math.Inf(-1), hi: math.Inf(1), integer: integer}
	if v, ok := s.Number("minimum"); ok {
		b.lo, b.hasLo = v, true
	}
	if v, ok := s.Number("exclusiveMinimum"); ok && (!b.hasLo || v >= b.lo) {
		b.lo, b.loOpen, b.hasLo = v, true, true
	}
	if v, ok := s.Number("maximum"); ok {
		b.hi, b.hasHi = v, true
	}
	if v, ok := s.Number("exclusiveMaximum"); ok && (!b.hasHi || v <= b.hi) {
		b.hi, b.hiOpen, b.hasHi = v, true, true
	}
	b.multipleOf, _ = s.Number("multipleOf")
	return b
}

func (b bounds) accepts(v float64) bool {
	switch {
	case b.integer && v != math.Trunc(v),
		v < b.lo || b.loOpen && v == b.lo,
		v > b.hi || b.hiOpen && v == b.hi,
		b.multipleOf > 0 && math.Abs(math.Remainder(v, b.multipleOf)) > 1e-9:
		return false
	}
	return true
}

func exampleNumber(s *Schema, integer bool) (any, error) {
	b := boundsOf(s, integer)
	candidates := []float64{1, b.lo, b.hi, math.Ceil(b.lo), math.Floor(b.hi), b.lo + 1, b.hi - 1,
		math.Floor(b.lo) + 1, math.Ceil(b.hi) - 1, (b.lo + b.hi) / 2}
	if b.multipleOf > 0 {
		first := b.multipleOf
		if b.hasLo {
			first = b.multipleOf * math.Ceil(b.lo/b.multipleOf)
		}
		candidates = append(candidates, first, first+b.multipleOf)
	}
	for _, c := range candidates {
		if !math.IsInf(c, 0) && !math.IsNaN(c) && b.accepts(c) {
			return number(c), nil
		}
	}
	return nil, fmt.Errorf("no number within the bounds %v to %v", b.lo, b.hi)
}

func number(f float64) json.Number {
	return json.Number(strconv.FormatFloat(f, 'f', -1, 64))
}
