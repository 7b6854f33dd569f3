package asyncapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/internal/schema"
	"github.com/natsmux/natsmux/micro"
)

// Option configures a document.
type Option func(*config) error

type config struct {
	servers []string
}

// WithServer adds a NATS server through which the service is reached, as a
// URL ("nats://nats.example.com:4222") or host and port. Without one, the
// document names localhost:4222.
func WithServer(address string) Option {
	return func(c *config) error {
		host := address
		if strings.Contains(address, "://") {
			u, err := url.Parse(address)
			if err != nil || u.Host == "" {
				return fmt.Errorf("asyncapi: server %q: not a URL with a host", address)
			}
			host = u.Host
		}
		if host == "" || strings.ContainsAny(host, " /,") {
			return fmt.Errorf("asyncapi: server %q: not a host and port", address)
		}
		c.servers = append(c.servers, host)
		return nil
	}
}

// FromInfo builds the document of the service that an ADR-32 INFO reply
// describes, whatever library the service is written with. Each endpoint
// becomes a channel (its subject, or the template natsmux publishes, with
// its parameters), a request/reply operation with the endpoint's queue
// group as its NATS binding, and messages: the request, the reply and the
// error replies, with payload schemas where the endpoint publishes them.
// A schema that cannot be read is left out and said so in the message's
// description.
func FromInfo(info micro.Info, opts ...Option) (*Document, error) {
	var cfg config
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	b := &builder{
		doc: &Document{
			AsyncAPI: Version,
			Info: Info{Title: info.Name, Version: info.Version, Description: info.Description,
				Metadata: nonEmpty(info.Metadata)},
			Servers:    servers(cfg.servers),
			Channels:   map[string]*Channel{},
			Operations: map[string]*Operation{},
			Components: &Components{Messages: map[string]*Message{}, Schemas: map[string]json.RawMessage{}},
		},
		schemas: newEmbedder(),
	}
	ids := operationIDs(info.Endpoints)
	for i, ep := range info.Endpoints {
		b.endpoint(ids[i], ep)
	}
	b.doc.Components.Schemas = b.schemas.components
	return b.doc, nil
}

// FromRouter builds the document of the service that cfg and r make, as
// FromInfo does from INFO, without starting it. Endpoints are as
// Router.Endpoints reports them: queue groups and metadata that only cfg
// sets are not on them; FromInfo(svc.Info()) describes a running service
// exactly.
func FromRouter(r *natsmux.Router, cfg micro.Config, opts ...Option) (*Document, error) {
	info := micro.Info{
		ServiceIdentity: micro.ServiceIdentity{Name: cfg.Name, Version: cfg.Version, Metadata: cfg.Metadata},
		Type:            micro.InfoResponseType,
		Description:     cfg.Description,
	}
	for _, ep := range r.Endpoints() {
		info.Endpoints = append(info.Endpoints, micro.EndpointInfo{
			Name: ep.Name, Subject: ep.Subject, QueueGroup: ep.QueueGroup, Metadata: ep.Metadata,
		})
	}
	return FromInfo(info, opts...)
}

func servers(hosts []string) map[string]*Server {
	if len(hosts) == 0 {
		return map[string]*Server{"nats": {Host: "localhost:4222", Protocol: "nats",
			Description: "A NATS server the service is connected to."}}
	}
	out := map[string]*Server{}
	for i, host := range hosts {
		name := "nats"
		if i > 0 {
			name += "-" + strconv.Itoa(i+1)
		}
		out[name] = &Server{Host: host, Protocol: "nats"}
	}
	return out
}

func nonEmpty(md map[string]string) map[string]string {
	if len(md) == 0 {
		return nil
	}
	return md
}

// operationIDs names each endpoint's operation after the endpoint, with a
// number after a name that an earlier endpoint has, so that ids are unique
// and stable for a given INFO.
func operationIDs(eps []micro.EndpointInfo) []string {
	ids := make([]string, len(eps))
	used := map[string]bool{}
	for i, ep := range eps {
		base := componentName(ep.Name)
		id := base
		for n := 2; used[id]; n++ {
			id = base + "_" + strconv.Itoa(n)
		}
		used[id] = true
		ids[i] = id
	}
	return ids
}

// componentName makes s a valid key of AsyncAPI's components and channels:
// letters, digits, '.', '-' and '_'.
func componentName(s string) string {
	out := strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, s)
	if out == "" {
		return "_"
	}
	return out
}

type builder struct {
	doc     *Document
	schemas *embedder
}

func ref(parts ...string) Reference {
	for i, p := range parts {
		parts[i] = strings.NewReplacer("~", "~0", "/", "~1").Replace(p)
	}
	return Reference{Ref: "#/" + strings.Join(parts, "/")}
}

// endpoint adds the channels, messages and operation of one endpoint.
func (b *builder) endpoint(id string, ep micro.EndpointInfo) {
	template := cmpOr(ep.Metadata[natsmux.TemplateMetadataKey], ep.Subject)
	request := b.requestMessage(id, ep)
	replies := b.replyMessages(id, ep)

	ch := &Channel{Address: &template, Title: ep.Name, Parameters: parameters(template, ep.Metadata),
		Messages: map[string]*Reference{"request": request}}
	replyID := id + ".reply"
	replyCh := &Channel{Address: nil, Title: ep.Name + " reply",
		Description: "The requester's inbox: the reply subject of each request, known only at run time.",
		Messages:    map[string]*Reference{}}
	var replyRefs []Reference
	for _, r := range replies {
		replyCh.Messages[r.key] = r.ref
		replyRefs = append(replyRefs, ref("channels", replyID, "messages", r.key))
	}
	b.doc.Channels[id] = ch
	b.doc.Channels[replyID] = replyCh

	op := &Operation{
		Action:   "receive",
		Channel:  ref("channels", id),
		Title:    ep.Name,
		Summary:  "Request/reply on " + template,
		Messages: []Reference{ref("channels", id, "messages", "request")},
		Reply:    &Reply{Channel: &Reference{Ref: ref("channels", replyID).Ref}, Messages: replyRefs},
		Metadata: UserMetadata(ep.Metadata),
	}
	if ep.QueueGroup != "" {
		op.Bindings = &OperationBindings{NATS: &NATSOperationBinding{Queue: ep.QueueGroup, BindingVersion: "0.1.0"}}
	} else {
		op.Description = "No queue group: every instance of the service receives each request, and the requester takes the first reply."
	}
	b.doc.Operations[id] = op
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// parameters describes the template's parameters, with what the metadata
// declares of them (natsmux.WithParam).
func parameters(template string, md map[string]string) map[string]*Parameter {
	docs := natsmux.DeclaredParams(md)
	out := map[string]*Parameter{}
	for _, name := range schema.TemplateParams(template) {
		p := &Parameter{Description: docs[name].Description}
		if ex := docs[name].Example; ex != "" {
			p.Examples = []string{ex}
		}
		out[name] = p
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// UserMetadata returns endpoint metadata less the keys that documents show
// in their own terms: the subject template, the schemas, the declared
// errors and parameters.
func UserMetadata(md map[string]string) map[string]string {
	out := maps.Clone(md)
	maps.DeleteFunc(out, func(key, _ string) bool {
		return key == natsmux.TemplateMetadataKey || key == schema.RequestKey || key == schema.ResponseKey ||
			strings.HasPrefix(key, natsmux.ErrorMetadataPrefix) || strings.HasPrefix(key, natsmux.ParamMetadataPrefix)
	})
	return nonEmpty(out)
}

func (b *builder) message(id string, m *Message) *Reference {
	b.doc.Components.Messages[id] = m
	r := ref("components", "messages", id)
	return &r
}

// payload sets m's payload and example from a published schema.
func (b *builder) payload(m *Message, published, component string) {
	if published == "" {
		m.Description = strings.TrimSpace(m.Description + " The endpoint publishes no schema of this payload.")
		return
	}
	embedded, err := b.schemas.embed([]byte(published), component)
	if err != nil {
		m.Description = strings.TrimSpace(m.Description + " The published schema could not be read: " + err.Error())
		return
	}
	m.ContentType = "application/json"
	m.Payload = embedded
	if s, err := schema.Parse([]byte(published)); err == nil {
		if v, err := schema.Example(s, schema.Full); err == nil {
			if data, err := schema.Marshal(v); err == nil {
				m.Examples = []MessageExample{{Name: "example", Payload: data}}
			}
		}
	}
}

func (b *builder) requestMessage(id string, ep micro.EndpointInfo) *Reference {
	m := &Message{Name: id + ".request", Title: ep.Name + " request"}
	b.payload(m, ep.Metadata[schema.RequestKey], id+".request")
	return b.message(id+".request", m)
}

type replyMessage struct {
	key string
	ref *Reference
}

func (b *builder) replyMessages(id string, ep micro.EndpointInfo) []replyMessage {
	reply := &Message{Name: id + ".reply", Title: ep.Name + " reply"}
	b.payload(reply, ep.Metadata[schema.ResponseKey], id+".reply")
	out := []replyMessage{{"reply", b.message(id+".reply", reply)}}

	declared := ErrorCodes(ep.Metadata)
	typed := ep.Metadata[schema.RequestKey] != ""
	for _, code := range slices.Sorted(maps.Keys(declared)) {
		key := "error." + strconv.Itoa(code)
		m := &Message{Name: id + "." + key, Title: fmt.Sprintf("%s error %d", ep.Name, code), Summary: declared[code],
			Headers: errorHeaders(strconv.Itoa(code))}
		m.Examples = []MessageExample{{Name: key, Headers: map[string]string{
			micro.ErrorHeader: declared[code], micro.ErrorCodeHeader: strconv.Itoa(code)}}}
		if code == 400 && typed {
			m.Description = "Requests that fail validation list their field errors in the payload."
			m.ContentType = "application/json"
			m.Payload = b.schemas.fieldErrors()
		}
		out = append(out, replyMessage{key, b.message(id+"."+key, m)})
	}
	other := &Message{Name: id + ".error", Title: ep.Name + " error",
		Summary: "Any other error: ADR-32 error headers with the code and a description.",
		Headers: errorHeaders("")}
	out = append(out, replyMessage{"error", b.message(id+".error", other)})
	return out
}

// ErrorCodes returns the error codes an endpoint's metadata tells of, with
// what each means: those it declares (natsmux.WithError) and, for an
// endpoint that publishes a request schema, 400 for a request that does
// not match it.
func ErrorCodes(md map[string]string) map[int]string {
	codes := natsmux.DeclaredErrors(md)
	if _, ok := codes[400]; !ok && md[schema.RequestKey] != "" {
		codes[400] = "The request does not match the request schema; the payload lists the field errors."
	}
	return codes
}

// errorHeaders is the schema of ADR-32's error headers, for one code or,
// given "", any.
func errorHeaders(code string) json.RawMessage {
	codeSchema := schema.Object{{Name: "type", Value: "string"}, {Name: "description", Value: "The error's code, a number as text."}}
	if code != "" {
		codeSchema = append(codeSchema, schema.Member{Name: "const", Value: code})
	} else {
		codeSchema = append(codeSchema, schema.Member{Name: "pattern", Value: "^[0-9]{3}$"})
	}
	headers := schema.Object{
		{Name: "type", Value: "object"},
		{Name: "required", Value: []any{micro.ErrorHeader, micro.ErrorCodeHeader}},
		{Name: "properties", Value: schema.Object{
			{Name: micro.ErrorHeader, Value: schema.Object{{Name: "type", Value: "string"},
				{Name: "description", Value: "What went wrong, for people."}}},
			{Name: micro.ErrorCodeHeader, Value: codeSchema},
		}},
	}
	data, _ := schema.Marshal(headers) // strings only: cannot fail
	return data
}
