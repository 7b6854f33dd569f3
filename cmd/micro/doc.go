// Command micro runs, calls and inspects NATS services: the services of
// natsmux and any other implementation of the NATS Service API (ADR-32).
//
// # Overview
//
// The commands:
//
//	micro run PACKAGE [ARGS...]   build and run a service, with an embedded NATS server if none runs
//	micro server                  run a NATS server for development
//	micro request SUBJECT [DATA]  send a request, print the reply
//	micro ping [NAME]             list the instances that answer a PING
//	micro ls                      list the services, their versions and instance counts
//	micro info [NAME [ID]]        show endpoints, subjects, queue groups and metadata
//	micro stats [NAME [ID]]       show request counts, errors and processing times
//	micro completion SHELL        print the completion script for bash, zsh, fish or powershell
//
// Connection flags, environment variables and contexts are natscli's
// (--server/-s and NATS_URL, --creds, --nkey, --user, --password, --token,
// --tlscert, --tlskey, --tlsca, --context and NATS_CONTEXT, and the selected
// context). Discovery commands print tables on a terminal, with what
// services send escaped, and an indented JSON array of the ADR-32 documents
// otherwise, or with -o json.
// Exit codes: 0 success, 1 failure, 2 bad command line, 3 a service error
// reply; micro run exits with its program's code. docs/cli.md has the
// details.
//
// # Example
//
// In one terminal:
//
//	micro run ./examples/minimal
//
// In another:
//
//	micro request demo.ECHO "Hello, world!"
//	micro info demo-service
//	micro stats demo-service -o json
package main
