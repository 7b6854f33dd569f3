package asyncapi

import (
	"encoding/json"
)

// Version is the AsyncAPI version of the documents this package builds.
const Version = "3.0.0"

// Document is an AsyncAPI 3.0 document, with the objects and fields that
// NATS services need. Schemas are JSON values as published.
type Document struct {
	AsyncAPI           string                `json:"asyncapi"`
	Info               Info                  `json:"info"`
	Servers            map[string]*Server    `json:"servers,omitempty"`
	DefaultContentType string                `json:"defaultContentType,omitempty"`
	Channels           map[string]*Channel   `json:"channels,omitempty"`
	Operations         map[string]*Operation `json:"operations,omitempty"`
	Components         *Components           `json:"components,omitempty"`
}

// Info describes the service.
type Info struct {
	Title       string `json:"title"`
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
	// Metadata is the service's ADR-32 metadata (extension
	// x-nats-metadata).
	Metadata map[string]string `json:"x-nats-metadata,omitempty"`
}

// Server is a NATS server that the service may be reached through.
type Server struct {
	Host        string `json:"host"`
	Protocol    string `json:"protocol"`
	Description string `json:"description,omitempty"`
}

// Channel is a subject, or for replies the requester's inbox, whose
// address is null: it is known only at run time.
type Channel struct {
	Address     *string               `json:"address"`
	Title       string                `json:"title,omitempty"`
	Description string                `json:"description,omitempty"`
	Messages    map[string]*Reference `json:"messages,omitempty"`
	Parameters  map[string]*Parameter `json:"parameters,omitempty"`
}

// Parameter is a subject template parameter ("{id}"): a whole token of
// the subject.
type Parameter struct {
	Description string   `json:"description,omitempty"`
	Examples    []string `json:"examples,omitempty"`
}

// Operation is an endpoint: the service receives requests on a channel
// and replies on the requester's inbox.
type Operation struct {
	Action      string             `json:"action"`
	Channel     Reference          `json:"channel"`
	Title       string             `json:"title,omitempty"`
	Summary     string             `json:"summary,omitempty"`
	Description string             `json:"description,omitempty"`
	Messages    []Reference        `json:"messages,omitempty"`
	Reply       *Reply             `json:"reply,omitempty"`
	Bindings    *OperationBindings `json:"bindings,omitempty"`
	// Metadata is the endpoint's ADR-32 metadata beyond what the document
	// says otherwise (extension x-nats-metadata).
	Metadata map[string]string `json:"x-nats-metadata,omitempty"`
}

// Reply is the reply part of a request/reply operation.
type Reply struct {
	Channel  *Reference  `json:"channel,omitempty"`
	Messages []Reference `json:"messages,omitempty"`
}

// OperationBindings holds the NATS binding of an operation.
type OperationBindings struct {
	NATS *NATSOperationBinding `json:"nats,omitempty"`
}

// NATSOperationBinding is AsyncAPI's NATS operation binding 0.1.0: the
// endpoint's queue group.
type NATSOperationBinding struct {
	Queue          string `json:"queue,omitempty"`
	BindingVersion string `json:"bindingVersion"`
}

// Reference points to an object elsewhere in the document.
type Reference struct {
	Ref string `json:"$ref"`
}

// Components holds the messages and schemas that channels and payloads
// refer to.
type Components struct {
	Messages map[string]*Message        `json:"messages,omitempty"`
	Schemas  map[string]json.RawMessage `json:"schemas,omitempty"`
}

// Message is a request, a reply or an error reply.
type Message struct {
	Name        string           `json:"name,omitempty"`
	Title       string           `json:"title,omitempty"`
	Summary     string           `json:"summary,omitempty"`
	Description string           `json:"description,omitempty"`
	ContentType string           `json:"contentType,omitempty"`
	Headers     json.RawMessage  `json:"headers,omitempty"`
	Payload     json.RawMessage  `json:"payload,omitempty"`
	Examples    []MessageExample `json:"examples,omitempty"`
}

// MessageExample is an example of a message.
type MessageExample struct {
	Name    string            `json:"name,omitempty"`
	Summary string            `json:"summary,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Payload json.RawMessage   `json:"payload,omitempty"`
}
