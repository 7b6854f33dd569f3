package adr32

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

var nameRegexp = regexp.MustCompile(`^[A-Za-z0-9\-_]+$`)

// NameRule says what a service or endpoint name may hold, in the words of
// nats.go's validation errors.
const NameRule = "name should not be empty and should consist of alphanumerical characters, dashes and underscores"

// ValidName reports whether name is a valid service or endpoint name:
// letters, digits, dashes and underscores, at least one.
func ValidName(name string) bool {
	return nameRegexp.MatchString(name)
}

// CheckName returns an error for an invalid service or endpoint name.
func CheckName(name string) error {
	if !ValidName(name) {
		return fmt.Errorf("invalid name %q: %s", name, NameRule)
	}
	return nil
}

// CheckSubject reports what is wrong with a subject: empty, white space, an
// empty token, or a wildcard that is not a whole token ('>' only as the
// last). Without wildcards, '*' and '>' are refused altogether.
func CheckSubject(subject string, wildcards bool) error {
	if subject == "" {
		return errors.New("subject is empty")
	}
	if i := strings.IndexAny(subject, " \t\r\n"); i >= 0 {
		return fmt.Errorf("subject %q contains white space at offset %d", subject, i)
	}
	tokens := strings.Split(subject, ".")
	for i, tok := range tokens {
		switch {
		case tok == "":
			return fmt.Errorf("subject %q has an empty token (a leading, trailing or double dot)", subject)
		case !wildcards && (tok == "*" || tok == ">"):
			return fmt.Errorf("subject %q may not contain wildcards", subject)
		case tok == ">" && i != len(tokens)-1:
			return fmt.Errorf("subject %q has '>' before its last token", subject)
		case len(tok) > 1 && strings.ContainsAny(tok, "*>"):
			return fmt.Errorf("subject %q has a wildcard inside the token %q; '*' and '>' must stand alone", subject, tok)
		}
	}
	return nil
}

// CheckQueueGroup reports what is wrong with a queue group name: white
// space, or '>' anywhere but at the end (the rule of nats.go's micro).
func CheckQueueGroup(queueGroup string) error {
	if i := strings.IndexAny(queueGroup, " \t\r\n"); i >= 0 {
		return fmt.Errorf("queue group %q contains white space at offset %d", queueGroup, i)
	}
	if i := strings.IndexByte(queueGroup, '>'); i >= 0 && i != len(queueGroup)-1 {
		return fmt.Errorf("queue group %q has '>' before its end", queueGroup)
	}
	return nil
}

// JoinSubject joins a group prefix and a subject as ADR-32 groups do: with a
// dot, leaving out an empty part.
func JoinSubject(prefix, name string) string {
	switch {
	case prefix == "":
		return name
	case name == "":
		return prefix
	default:
		return prefix + "." + name
	}
}
