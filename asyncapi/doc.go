// Package asyncapi describes NATS services as AsyncAPI 3.0 documents: the
// contract of each endpoint (its subject, parameters, request, reply and
// error replies) in the format that AsyncAPI tools read, to render, to
// generate code from, or to compare.
//
// # Overview
//
// FromInfo builds a document from an ADR-32 INFO reply, so any service
// gets one, whatever library it is written with; FromRouter builds one
// from a natsmux router before it serves. In the document:
//
//   - each endpoint is a channel whose address is its subject, or the
//     template natsmux publishes ("orders.{id}.get"), with a parameter for
//     each {name}, described as natsmux.WithParam declares;
//   - each endpoint is a "receive" operation with a reply: the reply
//     channel is the requester's inbox (address null, known at run time),
//     and its messages are the reply, one error reply per code the
//     endpoint declares (natsmux.WithError; 400 for typed endpoints, with
//     binding's field errors as payload) and one for any other code, all
//     with ADR-32's Nats-Service-Error and Nats-Service-Error-Code headers;
//   - request and reply payloads are the JSON Schemas that typed endpoints
//     publish (binding), their definitions moved to components/schemas,
//     with a generated example;
//   - the queue group is the operation's NATS binding; the service's and
//     the endpoint's other metadata are x-nats-metadata extensions; the
//     server's protocol is nats.
//
// Documents are checked against the official AsyncAPI 3.0 JSON Schema and
// read by the reference parser (@asyncapi/parser) in this package's tests.
//
// # Example
//
//	doc, err := asyncapi.FromRouter(r, micro.Config{Name: "orders", Version: "1.2.0"},
//		asyncapi.WithServer("nats://nats.example.com:4222"))
//	if err != nil {
//		return err
//	}
//	yaml, err := doc.YAML()
package asyncapi
