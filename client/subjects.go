package client

import (
	"cmp"
	"iter"
	"slices"
	"strings"

	"github.com/natsmux/natsmux/internal/adr32"
)

// subjectIndex finds the values filed under the subscription subjects that
// match a subject: literal subjects in a map, those with wildcards in a
// list, most specific first.
type subjectIndex[V any] struct {
	literal  map[string]V
	wildcard []patternValue[V]
}

type patternValue[V any] struct {
	pattern string
	value   V
}

func newSubjectIndex[V any](bySubject map[string]V) *subjectIndex[V] {
	ix := &subjectIndex[V]{literal: map[string]V{}}
	for subject, v := range bySubject {
		if strings.ContainsAny(subject, "*>") {
			ix.wildcard = append(ix.wildcard, patternValue[V]{subject, v})
		} else {
			ix.literal[subject] = v
		}
	}
	slices.SortFunc(ix.wildcard, func(a, b patternValue[V]) int {
		return cmp.Or(cmp.Compare(wildcards(a.pattern), wildcards(b.pattern)), strings.Compare(a.pattern, b.pattern))
	})
	return ix
}

// wildcards ranks a pattern by how much it matches: a '>' more than any
// number of '*'.
func wildcards(subject string) int {
	return strings.Count(subject, "*") + 1000*strings.Count(subject, ">")
}

// matches yields the values of the subjects that match subject, the most
// specific first: the literal one, then the patterns. A nil index has none.
func (ix *subjectIndex[V]) matches(subject string) iter.Seq[V] {
	return func(yield func(V) bool) {
		if ix == nil {
			return
		}
		if v, ok := ix.literal[subject]; ok && !yield(v) {
			return
		}
		for _, pv := range ix.wildcard {
			if adr32.Matches(pv.pattern, subject) && !yield(pv.value) {
				return
			}
		}
	}
}

// first returns the value of the most specific subject that matches.
func (ix *subjectIndex[V]) first(subject string) (V, bool) {
	for v := range ix.matches(subject) {
		return v, true
	}
	var zero V
	return zero, false
}
