package binding

import (
	"reflect"
	"slices"
	"strings"
)

// ruleSet is a `validate` tag as the validator reads it: the rules of one
// level of a value and, after "dive", those of its elements. Key rules
// ("keys" ... "endkeys") are left out: no schema keyword carries them and
// the limits do not need them.
type ruleSet struct {
	rules []string // in tag order, each "name" or "name=param"
	elems *ruleSet // the elements' rules; nil when this level does not dive
}

// parseRules splits a `validate` tag into its levels.
func parseRules(tag string) *ruleSet {
	top := &ruleSet{}
	level, inKeys := top, false
	for rule := range strings.SplitSeq(tag, ",") {
		switch {
		case inKeys:
			inKeys = rule != "endkeys"
		case rule == "keys":
			inKeys = true
		case rule == "dive":
			level.elems = &ruleSet{}
			level = level.elems
		case rule != "":
			level.rules = append(level.rules, rule)
		}
	}
	return top
}

// ruleSetOf returns the rules of a struct field.
func ruleSetOf(f reflect.StructField) *ruleSet { return parseRules(f.Tag.Get("validate")) }

// skipped reports whether the validator ignores the value altogether
// (`validate:"-"`).
func (rs *ruleSet) skipped() bool { return rs != nil && slices.Contains(rs.rules, "-") }

// entersStruct reports whether the validator checks the fields of a
// struct value under these rules: structonly and nostructlevel stop it.
func (rs *ruleSet) entersStruct() bool {
	return rs == nil || !slices.ContainsFunc(rs.rules, func(r string) bool { return r == "structonly" || r == "nostructlevel" })
}
