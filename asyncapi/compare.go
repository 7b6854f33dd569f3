package asyncapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/natsmux/natsmux/internal/schema"
)

// Change is a difference between two documents of a service that breaks
// callers written against the older one.
type Change struct {
	// Address is the channel address (the subject template) of the
	// endpoint concerned, empty for the service as a whole.
	Address string
	Message string
}

func (c Change) String() string {
	if c.Address == "" {
		return c.Message
	}
	return c.Address + ": " + c.Message
}

// Breaking compares two AsyncAPI 3.0 documents of one service, in JSON or
// YAML, and returns the changes from old to new that break callers of old:
// an endpoint gone (matched by channel address), a request schema that
// accepts less (a new required field, a tighter bound, a narrower type or
// enum, a closed object), a reply schema that promises less (a field no
// longer always sent, a wider type or enum), and, when there are such
// changes, a version whose major number stayed the same. It reads the
// documents this package makes, and others that describe request/reply
// with "receive" operations and replies.
func Breaking(old, new []byte) ([]Change, error) {
	o, err := readDocument(old)
	if err != nil {
		return nil, fmt.Errorf("asyncapi: old document: %w", err)
	}
	n, err := readDocument(new)
	if err != nil {
		return nil, fmt.Errorf("asyncapi: new document: %w", err)
	}
	var changes []Change
	oldOps, newOps := o.endpoints(), n.endpoints()
	for _, address := range slices.Sorted(maps.Keys(oldOps)) {
		before := oldOps[address]
		after, ok := newOps[address]
		if !ok {
			changes = append(changes, Change{address, "the endpoint is gone"})
			continue
		}
		changes = append(changes, payloadChanges(address, "request", before.request, after.request, schema.Request)...)
		changes = append(changes, payloadChanges(address, "reply", before.reply, after.reply, schema.Response)...)
	}
	if len(changes) > 0 && major(o.version()) == major(n.version()) {
		changes = append(changes, Change{"", fmt.Sprintf("version %s to %s keeps the major version across breaking changes",
			o.version(), n.version())})
	}
	return changes, nil
}

func payloadChanges(address, what string, before, after *schema.Schema, dir schema.Direction) []Change {
	switch {
	case before == nil:
		return nil // callers expected nothing in particular
	case after == nil:
		return []Change{{address, "the " + what + " schema is gone"}}
	}
	var out []Change
	for _, c := range schema.Breaking(before, after, dir) {
		out = append(out, Change{address, what + " " + c.String()})
	}
	return out
}

// major returns the major number of a version: "1" of "v1.2.3".
func major(version string) string {
	v := strings.TrimPrefix(version, "v")
	m, _, _ := strings.Cut(v, ".")
	return m
}

// document is a decoded AsyncAPI document.
type document struct {
	root any
}

// readDocument decodes JSON or YAML. YAML is read into Go values and
// re-encoded as JSON, which loses the order of members, not their meaning.
func readDocument(data []byte) (*document, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	text, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("not a JSON-compatible document: %w", err)
	}
	root, err := schema.Decode(text)
	if err != nil {
		return nil, err
	}
	if _, ok := root.(schema.Object); !ok {
		return nil, fmt.Errorf("not an AsyncAPI document")
	}
	if v, _ := schema.Pointer(root, "/asyncapi"); v == nil {
		return nil, fmt.Errorf("not an AsyncAPI document: no asyncapi field")
	}
	return &document{root: root}, nil
}

func (d *document) version() string {
	v, _ := schema.Pointer(d.root, "/info/version")
	s, _ := v.(string)
	return s
}

// payloads are the request and reply schemas of an endpoint, nil where
// the document has none.
type payloads struct {
	request, reply *schema.Schema
}

// endpoints returns the request/reply operations' payloads by channel
// address.
func (d *document) endpoints() map[string]payloads {
	out := map[string]payloads{}
	ops, _ := schema.Pointer(d.root, "/operations")
	for _, m := range asObject(ops) {
		op := asObject(m.Value)
		if action, _ := op.Get("action"); action != "receive" {
			continue
		}
		chValue, _ := op.Get("channel")
		ch, _ := d.deref(chValue)
		address, _ := asObject(ch).Get("address")
		addr, ok := address.(string)
		if !ok {
			continue
		}
		var p payloads
		if msgs, _ := op.Get("messages"); len(asList(msgs)) > 0 {
			p.request = d.payload(asList(msgs)[0])
		}
		if reply, _ := op.Get("reply"); reply != nil {
			replyObj, _ := d.deref(reply)
			if msgs, _ := asObject(replyObj).Get("messages"); len(asList(msgs)) > 0 {
				p.reply = d.payload(asList(msgs)[0])
			}
		}
		out[addr] = p
	}
	return out
}

// payload returns the payload schema of a message (or a reference to one).
func (d *document) payload(message any) *schema.Schema {
	m, pointer := d.deref(message)
	if _, ok := asObject(m).Get("payload"); !ok || pointer == "" {
		return nil
	}
	s, err := schema.FromValue(d.root)
	if err != nil {
		return nil
	}
	return s.At(pointer + "/payload")
}

// deref follows references from v and returns what they lead to, with its
// JSON pointer ("" when v is not reached through one).
func (d *document) deref(v any) (any, string) {
	pointer := ""
	for range 16 {
		ref, ok := asObject(v).Get("$ref")
		s, isString := ref.(string)
		if !ok || !isString || !strings.HasPrefix(s, "#") {
			return v, pointer
		}
		pointer = strings.TrimPrefix(s, "#")
		if v, ok = schema.Pointer(d.root, pointer); !ok {
			return nil, ""
		}
	}
	return nil, ""
}

func asObject(v any) schema.Object {
	o, _ := v.(schema.Object)
	return o
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
