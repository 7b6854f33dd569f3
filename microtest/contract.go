package microtest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/jsm.go/registry"
	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/internal/schema"
	"github.com/natsmux/natsmux/internal/schema/validate"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
)

// MaxContractCases is how many invalid requests CheckContract sends to one
// endpoint at most, whatever the size of its request schema.
const MaxContractCases = 100

// DefaultParamValue fills a subject parameter that neither the endpoint
// (natsmux.WithParam) nor the test (WithParams) gives an example of, and
// an unnamed wildcard.
const DefaultParamValue = schema.DefaultParam

// ContractOption adjusts CheckContract.
type ContractOption func(*contractConfig)

type contractConfig struct {
	examples map[string][][]byte
	params   map[string]string
	skip     []string
}

// WithExamples gives valid requests for the endpoint named endpoint, as JSON
// payloads, to send instead of the ones CheckContract generates from the
// request schema: for an endpoint whose rules go beyond its schema (a
// check-out after the check-in), or that answers generated data with an
// undeclared error (a 404 for an unknown SKU). The invalid requests are
// then variants of the first of them. Each must match the published
// schema.
func WithExamples(endpoint string, payloads ...string) ContractOption {
	return func(c *contractConfig) {
		for _, p := range payloads {
			c.examples[endpoint] = append(c.examples[endpoint], []byte(p))
		}
	}
}

// WithParams gives values of subject parameters, by name, over the
// examples the endpoints declare.
func WithParams(values map[string]string) ContractOption {
	return func(c *contractConfig) { maps.Copy(c.params, values) }
}

// SkipEndpoints leaves endpoints out of the requests, such as one with
// side effects; their schemas and metadata are still checked.
func SkipEndpoints(names ...string) ContractOption {
	return func(c *contractConfig) { c.skip = append(c.skip, names...) }
}

// CheckContract checks that the running service name keeps the contract it
// publishes, with one subtest per check:
//
//   - discovery: its PING, INFO and STATS replies validate against ADR-32's
//     JSON Schemas (those natscli uses), and its instances agree on their
//     endpoints;
//   - per endpoint, the metadata: published request and response schemas
//     are valid JSON Schemas, and each parameter that natsmux.WithParam
//     describes is one of the endpoint's subject;
//   - per endpoint with a request schema, valid requests (generated from
//     the schema, one with every field and one with the required fields
//     only, or given with WithExamples) get either a reply that validates
//     against the response schema (an empty reply is let through) or an
//     error whose code the endpoint declares with natsmux.WithError;
//   - per endpoint with a request schema, invalid requests, each breaking
//     one rule of the schema at one field (at most MaxContractCases), get a
//     400; those that break a rule on a well-formed value (required, a
//     bound, a length, an enum, a pattern, a format) carry field errors
//     (binding.FieldErrors) that name the field.
//
// Endpoints without a request schema get the metadata checks only.
// Subjects are filled in with WithParams, the endpoint's declared examples,
// or DefaultParamValue. Requests go out one at a time and wait at most
// DefaultTimeout each.
func CheckContract(t *testing.T, nc *nats.Conn, name string, opts ...ContractOption) {
	t.Helper()
	cfg := &contractConfig{examples: map[string][][]byte{}, params: map[string]string{}}
	for _, opt := range opts {
		opt(cfg)
	}
	var infos []micro.Info
	t.Run("discovery", func(t *testing.T) { infos = checkDiscovery(t, nc, name) })
	if len(infos) == 0 {
		t.Fatalf("microtest: no instance of service %s answered INFO", name)
	}
	for _, ep := range infos[0].Endpoints {
		t.Run(ep.Name, func(t *testing.T) {
			checkEndpoint(t, nc, ep, cfg)
		})
	}
}

// checkDiscovery validates the discovery replies of the service's
// instances and returns their INFO, sorted by instance id.
func checkDiscovery(t *testing.T, nc *nats.Conn, name string) []micro.Info {
	var infos []micro.Info
	want := 1 // replies: then as many as answered PING
	for _, verb := range []micro.Verb{micro.PingVerb, micro.InfoVerb, micro.StatsVerb} {
		// A loaded machine may answer later than discovery's quiet
		// interval: ask again until every instance has.
		var raw []json.RawMessage
		testutil.Eventually(t, DefaultTimeout, func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
			defer cancel()
			raw, _ = micro.Discover(ctx, nc, verb, micro.WithDiscoveryService(name))
			return len(raw) >= want
		}, "%s of service %s: %d replies", verb, name, want)
		want = len(raw)
		for _, doc := range raw {
			if err := validateDiscovery(doc); err != nil {
				t.Errorf("%s reply does not match ADR-32's schema: %v\n%s", verb, err, doc)
			}
			if verb == micro.InfoVerb {
				var info micro.Info
				if err := json.Unmarshal(doc, &info); err != nil {
					t.Fatalf("decoding INFO: %v", err)
				}
				infos = append(infos, info)
			}
		}
	}
	slices.SortFunc(infos, func(a, b micro.Info) int { return cmp.Compare(a.ID, b.ID) })
	for _, other := range infos[1:] {
		a, _ := json.Marshal(infos[0].Endpoints)
		b, _ := json.Marshal(other.Endpoints)
		if string(a) != string(b) {
			t.Errorf("instances %s (version %s) and %s (version %s) publish different endpoints",
				infos[0].ID, infos[0].Version, other.ID, other.Version)
		}
	}
	return infos
}

// discoverySchemas are ADR-32's schemas by reply type, compiled once.
var discoverySchemas sync.Map

func validateDiscovery(doc []byte) error {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(doc, &head); err != nil {
		return err
	}
	v, ok := discoverySchemas.Load(head.Type)
	if !ok {
		raw, err := registry.Schema(head.Type)
		if err != nil {
			return fmt.Errorf("no schema for type %q: %w", head.Type, err)
		}
		compiled, err := validate.Compile(raw)
		if err != nil {
			return err
		}
		v, _ = discoverySchemas.LoadOrStore(head.Type, compiled)
	}
	return v.(*validate.Validator).ValidateJSON(doc)
}

// endpointContract is what an endpoint publishes, read and compiled.
type endpointContract struct {
	ep                micro.EndpointInfo
	subject           string
	request, response *validate.Validator
	requestSchema     *schema.Schema
	declared          map[int]string
}

func checkEndpoint(t *testing.T, nc *nats.Conn, ep micro.EndpointInfo, cfg *contractConfig) {
	c := &endpointContract{ep: ep, declared: natsmux.DeclaredErrors(ep.Metadata)}
	template := cmp.Or(ep.Metadata[natsmux.TemplateMetadataKey], ep.Subject)
	params := schema.TemplateParams(template)
	declared := natsmux.DeclaredParams(ep.Metadata)
	for name := range declared {
		if !slices.Contains(params, name) {
			t.Errorf("metadata describes parameter %q, which subject %s lacks; declare it on the group whose prefix holds {%s}", name, template, name)
		}
	}
	c.subject = schema.FillTemplate(template, func(name string) string {
		return cmp.Or(cfg.params[name], declared[name].Example)
	})
	for key, dst := range map[string]**validate.Validator{schema.RequestKey: &c.request, schema.ResponseKey: &c.response} {
		published, ok := ep.Metadata[key]
		if !ok {
			continue
		}
		v, err := validate.Compile([]byte(published))
		if err != nil {
			t.Errorf("metadata %s is no valid JSON Schema: %v", key, err)
			return
		}
		*dst = v
	}
	if c.request == nil {
		t.Logf("no request schema: requests to %s are not checked", c.subject)
		return
	}
	if slices.Contains(cfg.skip, ep.Name) {
		t.Logf("skipped: no requests to %s", c.subject)
		return
	}
	c.requestSchema, _ = schema.Parse([]byte(ep.Metadata[schema.RequestKey])) // compiled above, so it parses
	valid := c.validExamples(t, cfg.examples[ep.Name])
	for i, payload := range valid {
		t.Run(fmt.Sprintf("valid %d", i+1), func(t *testing.T) { c.checkValid(t, nc, payload) })
	}
	if len(valid) == 0 {
		return
	}
	base, err := schema.Decode(valid[0])
	if err != nil {
		t.Fatalf("example %s: %v", valid[0], err)
	}
	for _, cs := range schema.Invalid(c.requestSchema, base, MaxContractCases) {
		name := strings.TrimSpace(fmt.Sprintf("invalid %s %s", cs.Keyword, cs.Path))
		t.Run(name, func(t *testing.T) { c.checkInvalid(t, nc, cs) })
	}
}

// validExamples returns the test's examples, checked against the schema,
// or examples generated from it.
func (c *endpointContract) validExamples(t *testing.T, given [][]byte) [][]byte {
	if len(given) > 0 {
		for _, p := range given {
			if err := c.request.ValidateJSON(p); err != nil {
				t.Errorf("the example %s does not match the published request schema: %v", p, err)
			}
		}
		return given
	}
	var out [][]byte
	for _, mode := range []schema.Mode{schema.Full, schema.Minimal} {
		v, err := schema.Example(c.requestSchema, mode)
		if err == nil {
			var data []byte
			if data, err = schema.Marshal(v); err == nil {
				err = c.request.Validate(v)
			}
			if err == nil && !slices.ContainsFunc(out, func(d []byte) bool { return string(d) == string(data) }) {
				out = append(out, data)
			}
		}
		if err != nil {
			t.Logf("no generated example (give one with microtest.WithExamples): %v", err)
		}
	}
	return out
}

func (c *endpointContract) send(t *testing.T, nc *nats.Conn, payload []byte) (*nats.Msg, *micro.ServiceError) {
	t.Helper()
	reply := Request(t, nc, c.subject, payload)
	var svcErr *micro.ServiceError
	errors.As(micro.ResponseError(reply), &svcErr)
	return reply, svcErr
}

func (c *endpointContract) checkValid(t *testing.T, nc *nats.Conn, payload []byte) {
	reply, svcErr := c.send(t, nc, payload)
	switch {
	case svcErr != nil && c.declared[svcErr.Code] != "":
		t.Logf("%s %s: declared error %d %s", c.subject, payload, svcErr.Code, svcErr.Description)
	case svcErr != nil:
		t.Errorf("%s %s: error %d %q, which the endpoint does not declare; declare it (natsmux.WithError), "+
			"or give requests that succeed (microtest.WithExamples)", c.subject, payload, svcErr.Code, svcErr.Description)
	case c.response != nil && len(reply.Data) > 0:
		if err := c.response.ValidateJSON(reply.Data); err != nil {
			t.Errorf("%s %s: the reply %s does not match the published response schema: %v", c.subject, payload, reply.Data, err)
		}
	}
}

func (c *endpointContract) checkInvalid(t *testing.T, nc *nats.Conn, cs schema.Case) {
	payload, err := schema.Marshal(cs.Value)
	if err != nil {
		t.Fatal(err)
	}
	_, svcErr := c.send(t, nc, payload)
	if svcErr == nil || svcErr.Code != 400 {
		t.Errorf("%s %s (breaks %s at %q): got %v, want a 400", c.subject, payload, cs.Keyword, cs.Path, svcErr)
		return
	}
	if !cs.FieldRule() {
		return
	}
	fields := binding.FieldErrors(&natsmux.Error{Code: svcErr.Code, Description: svcErr.Description, Data: svcErr.Data})
	var named []string
	for _, f := range fields {
		named = append(named, f.Field)
	}
	if !slices.Contains(named, cs.Path) {
		t.Errorf("%s %s (breaks %s at %q): the 400 names fields %q, want %q among them (description %q)",
			c.subject, payload, cs.Keyword, cs.Path, named, cs.Path, svcErr.Description)
	}
}
