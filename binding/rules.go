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

// conditional splits the rules at the first omitempty, omitzero or
// omitnil: the rules before it apply to every value, those after it only
// to values the omit rule lets through. omit is that rule, or "".
func (rs *ruleSet) conditional() (always, ifSet []string, omit string) {
	if rs == nil {
		return nil, nil, ""
	}
	i := slices.IndexFunc(rs.rules, func(r string) bool { return r == "omitempty" || r == "omitzero" || r == "omitnil" })
	if i < 0 {
		return rs.rules, nil, ""
	}
	return rs.rules[:i], rs.rules[i+1:], rs.rules[i]
}

// mappedTag rebuilds the tag of rs for asking the validator about a zero
// value: the mapped rules, the omit rules, what stops the validator at a
// struct, and dive between the levels. The other rules are left out, as
// they may name other fields. withOmit false drops the first level's
// omitempty, to ask whether the zero value passes the rules after it.
func (rs *ruleSet) mappedTag(withOmit bool) string {
	var tag []string
	for level := rs; level != nil; level = level.elems {
		if level != rs {
			tag = append(tag, "dive")
		}
		for _, r := range level.rules {
			switch {
			case r == "omitempty" && level == rs && !withOmit:
			case mapped(r), r == "omitempty", r == "omitzero", r == "omitnil", r == "structonly", r == "nostructlevel":
				tag = append(tag, r)
			}
		}
	}
	return strings.Join(tag, ",")
}

// mapped reports whether rule is one the schema expresses; the others are
// checked by the endpoint but left out of the schema.
func mapped(rule string) bool {
	name, _, _ := strings.Cut(rule, "=")
	switch name {
	case "required", "min", "max", "len", "gte", "lte", "gt", "lt", "oneof", "email", "url", "uuid", "datetime":
		return !strings.Contains(rule, "|")
	}
	return false
}
