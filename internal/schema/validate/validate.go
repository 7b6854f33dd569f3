// Package validate checks values against JSON Schemas. It is apart from
// package schema so that programs that only read schemas, such as the micro
// CLI, do not link a validator.
package validate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/natsmux/natsmux/internal/schema"
)

// Validator checks values against a compiled JSON Schema.
type Validator struct {
	compiled *jsonschema.Schema
	doc      *schema.Schema // to read keywords for Violations; nil if unreadable
}

// Compile compiles a JSON Schema document, draft 2020-12 unless its
// "$schema" names another draft, with formats asserted (email, uuid,
// date-time, ...), not only annotated. It fails on a document that is no
// valid schema.
func Compile(data []byte) (*Validator, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat = true
	c.LoadURL = func(url string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("schemas may not load %s: references must stay inside the schema", url)
	}
	const url = "published.json"
	if err := c.AddResource(url, bytes.NewReader(data)); err != nil {
		return nil, err
	}
	compiled, err := c.Compile(url)
	if err != nil {
		return nil, err
	}
	doc, _ := schema.Parse(data) // a schema it cannot read gets violations without parameters
	return &Validator{compiled: compiled, doc: doc}, nil
}

// Schema returns the compiled document as package schema reads it, or nil
// when it cannot read it.
func (v *Validator) Schema() *schema.Schema { return v.doc }

// Validate checks a Go value (schema.Object included); ValidateJSON checks
// a JSON text.
func (v *Validator) Validate(value any) error {
	data, err := schema.Marshal(value)
	if err != nil {
		return err
	}
	return v.ValidateJSON(data)
}

// ValidateJSON checks a JSON text.
func (v *Validator) ValidateJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // the validator compares numbers exactly
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	return v.compiled.Validate(doc)
}
