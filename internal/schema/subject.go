package schema

import "strings"

// DefaultParam fills a subject token for which nothing gives an example:
// a template parameter without a declared example, or an unnamed wildcard.
const DefaultParam = "1"

// TemplateParams returns the names of a subject template's parameters, the
// tokens written {name}, in order.
func TemplateParams(template string) []string {
	var names []string
	for tok := range strings.SplitSeq(template, ".") {
		if name, ok := paramName(tok); ok {
			names = append(names, name)
		}
	}
	return names
}

func paramName(tok string) (string, bool) {
	if len(tok) > 2 && tok[0] == '{' && tok[len(tok)-1] == '}' {
		return tok[1 : len(tok)-1], true
	}
	return "", false
}

// FillTemplate makes a subject of a template: each parameter takes the
// value that value returns for its name, or DefaultParam when it returns
// "", as do the wildcards "*" and ">".
func FillTemplate(template string, value func(param string) string) string {
	tokens := strings.Split(template, ".")
	for i, tok := range tokens {
		if name, ok := paramName(tok); ok {
			tokens[i] = value(name)
		}
		if tokens[i] == "" || tok == "*" || tok == ">" {
			tokens[i] = DefaultParam
		}
	}
	return strings.Join(tokens, ".")
}
