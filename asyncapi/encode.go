package asyncapi

import (
	"bytes"
	"encoding/json"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// JSON returns the document as indented JSON.
func (d *Document) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("asyncapi: encoding JSON: %w", err)
	}
	return buf.Bytes(), nil
}

// YAML returns the document as YAML, its members in the order of JSON's.
func (d *Document) YAML() ([]byte, error) {
	data, err := d.JSON()
	if err != nil {
		return nil, err
	}
	return jsonToYAML(data)
}

// jsonToYAML re-encodes a JSON document as block-style YAML. JSON is YAML,
// so the YAML parser reads it into nodes that keep the order of members;
// clearing the nodes' flow and quoting styles lets the encoder choose
// block style, and quote strings only where YAML would read them as
// something else ("1.0", "true", "null").
func jsonToYAML(data []byte) ([]byte, error) {
	var node yaml.Node
	if err := yaml.Unmarshal(data, &node); err != nil {
		return nil, fmt.Errorf("asyncapi: reading JSON as YAML: %w", err)
	}
	plain(&node)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&node); err != nil {
		return nil, fmt.Errorf("asyncapi: encoding YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("asyncapi: encoding YAML: %w", err)
	}
	return buf.Bytes(), nil
}

func plain(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		plain(c)
	}
}
