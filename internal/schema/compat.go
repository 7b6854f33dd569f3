package schema

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Direction says which way a schema's values travel, which decides what a
// compatible change is.
type Direction int

const (
	// Request schemas describe what callers send: a new version must accept
	// everything the old one accepted.
	Request Direction = iota
	// Response schemas describe what callers receive: a new version must
	// send only what the old one promised.
	Response
)

// Change is a difference between two versions of a schema that breaks
// callers written against the old one.
type Change struct {
	// Path is the JSON path of the field ("items[].sku"), empty for the
	// payload itself.
	Path    string
	Message string
}

func (c Change) String() string {
	if c.Path == "" {
		return c.Message
	}
	return c.Path + ": " + c.Message
}

// Breaking returns the changes from old to new that break callers, for
// values that travel in direction dir. It compares the keywords Example
// knows; a change it cannot judge (a pattern for another) counts as
// breaking.
func Breaking(old, new *Schema, dir Direction) []Change {
	c := &comparer{seen: map[string]bool{}}
	// wide must accept every value that narrow accepts.
	wide, narrow := new, old
	if dir == Response {
		wide, narrow = old, new
	}
	c.compare(wide, narrow, "", dir, 0)
	return c.changes
}

type comparer struct {
	changes []Change
	seen    map[string]bool // pairs of references already compared
}

func (c *comparer) addf(path, format string, args ...any) {
	c.changes = append(c.changes, Change{path, fmt.Sprintf(format, args...)})
}

func (c *comparer) compare(wide, narrow *Schema, path string, dir Direction, depth int) {
	if depth > maxDepth {
		return
	}
	if wide.Ref() != "" || narrow.Ref() != "" {
		pair := wide.Ref() + "\x00" + narrow.Ref()
		if c.seen[pair] {
			return
		}
		c.seen[pair] = true
		w, errW := wide.Resolve()
		n, errN := narrow.Resolve()
		if errW != nil || errN != nil {
			c.addf(path, "cannot compare: %v", firstErr(errW, errN))
			return
		}
		wide, narrow = w, n
	}
	if narrow.Never() {
		return
	}
	if wide.Never() {
		c.addf(path, "%s", said(dir, "no longer accepts any value", "may now send a value"))
		return
	}
	c.compareTypes(wide, narrow, path, dir)
	c.compareValues(wide, narrow, path, dir)
	c.compareObjects(wide, narrow, path, dir, depth)
	c.compareBounds(wide, narrow, path, dir)
	for _, keyword := range []string{"pattern", "format"} {
		if w := wide.Text(keyword); w != "" && w != narrow.Text(keyword) {
			c.addf(path, "%s %q %s", keyword, w, said(dir, "is new or changed", "was dropped or changed"))
		}
	}
	if items := wide.Items(); items != nil {
		narrowItems := narrow.Items()
		if narrowItems == nil {
			narrowItems = &Schema{root: narrow.root, node: true}
		}
		c.compare(items, narrowItems, path+"[]", dir, depth+1)
	}
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// said picks the words for a change by its direction.
func said(dir Direction, request, response string) string {
	if dir == Request {
		return request
	}
	return response
}

func (c *comparer) compareTypes(wide, narrow *Schema, path string, dir Direction) {
	w := wide.Types()
	if len(w) == 0 {
		return
	}
	n := narrow.Types()
	if len(n) == 0 {
		c.addf(path, "type %s %s", strings.Join(w, " or "), said(dir, "is new: other types are refused", "is narrower than before"))
		return
	}
	for _, t := range n {
		widened := t == "integer" && slices.Contains(w, "number")
		if !slices.Contains(w, t) && !widened {
			c.addf(path, "type %s %s", t, said(dir, "is no longer accepted", "may now be sent"))
		}
	}
}

func (c *comparer) compareValues(wide, narrow *Schema, path string, dir Direction) {
	allowed, restricted := wide.Enum()
	if v, ok := wide.Const(); ok {
		allowed, restricted = []any{v}, true
	}
	if !restricted {
		return
	}
	values, listed := narrow.Enum()
	if v, ok := narrow.Const(); ok {
		values, listed = []any{v}, true
	}
	if !listed {
		c.addf(path, "%s", said(dir, "values are now restricted to a list", "values were restricted to a list"))
		return
	}
	for _, v := range values {
		if !slices.ContainsFunc(allowed, func(a any) bool { return sameJSON(a, v) }) {
			text, _ := Marshal(v)
			c.addf(path, "value %s %s", text, said(dir, "is no longer accepted", "may now be sent"))
		}
	}
}

func sameJSON(a, b any) bool {
	x, errX := Marshal(a)
	y, errY := Marshal(b)
	return errX == nil && errY == nil && string(x) == string(y)
}

func (c *comparer) compareObjects(wide, narrow *Schema, path string, dir Direction, depth int) {
	for _, name := range wide.Required() {
		if !narrow.IsRequired(name) {
			c.addf(join(path, name), "%s", said(dir, "is now required", "is no longer always sent"))
		}
	}
	closed := wide.Additional() != nil && wide.Additional().Never()
	if closed && (narrow.Additional() == nil || !narrow.Additional().Never()) {
		c.addf(path, "%s", said(dir, "no longer accepts properties beyond the declared ones", "may now send properties beyond the declared ones"))
	}
	for _, p := range narrow.Properties() {
		w := wide.Property(p.Name)
		switch {
		case w != nil:
			c.compare(w, p.Schema, join(path, p.Name), dir, depth+1)
		case closed:
			c.addf(join(path, p.Name), "%s", said(dir, "is no longer accepted", "may now be sent, and callers refuse unknown properties"))
		}
	}
}

// lengthBounds are pairs of keywords that bound a size from below and above.
var lengthBounds = [][2]string{{"minLength", "maxLength"}, {"minItems", "maxItems"}, {"minProperties", "maxProperties"}}

func (c *comparer) compareBounds(wide, narrow *Schema, path string, dir Direction) {
	// Messages tell the change from the old value to the new one.
	oldNew := func(w, n string) (string, string) {
		if dir == Request {
			return n, w
		}
		return w, n
	}
	w, n := boundsOf(wide, false), boundsOf(narrow, false)
	if w.lo > n.lo || w.lo == n.lo && w.loOpen && !n.loOpen {
		from, to := oldNew(formatBound(w.lo, w.loOpen), formatBound(n.lo, n.loOpen))
		c.addf(path, "lower bound changed from %s to %s", from, to)
	}
	if w.hi < n.hi || w.hi == n.hi && w.hiOpen && !n.hiOpen {
		from, to := oldNew(formatBound(w.hi, w.hiOpen), formatBound(n.hi, n.hiOpen))
		c.addf(path, "upper bound changed from %s to %s", from, to)
	}
	for _, pair := range lengthBounds {
		wLo, _ := wide.Count(pair[0])
		nLo, _ := narrow.Count(pair[0])
		if wLo > nLo {
			from, to := oldNew(fmt.Sprint(wLo), fmt.Sprint(nLo))
			c.addf(path, "%s changed from %s to %s", pair[0], from, to)
		}
		wHi, wHas := wide.Count(pair[1])
		nHi, nHas := narrow.Count(pair[1])
		if wHas && (!nHas || wHi < nHi) {
			from, to := oldNew(fmt.Sprint(wHi), countText(nHi, nHas))
			c.addf(path, "%s changed from %s to %s", pair[1], from, to)
		}
	}
}

func countText(n int, ok bool) string {
	if !ok {
		return "none"
	}
	return fmt.Sprint(n)
}

func formatBound(f float64, exclusive bool) string {
	if math.IsInf(f, 0) {
		return "none"
	}
	if exclusive {
		return string(number(f)) + " (exclusive)"
	}
	return string(number(f))
}
