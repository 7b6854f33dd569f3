// Package compat is the client side of the NATS client compatibility suite
// for the Service API ("service core"), the equivalent of the harness in
// nats.go's test/compat_test.go, built on natsmux's micro.
//
// The suite's tester drives a harness over subjects tests.service.core.*:
// it sends a "command" with a service configuration, exercises the service
// the harness built (discovery, echo, a faulty endpoint, stats), then sends
// "destroy" and publishes a pass or fail result. Serve plays the harness;
// the package's tests also play the tester, so the protocol is checked
// without the suite's private tester binary.
package compat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/micro"
)

// Subjects of the protocol.
const (
	CommandSubjects = "tests.service.core.>"
	DoneSubject     = "tests.done"
)

// Command is the payload of a tests.service.core.<step>.command message.
type Command struct {
	Suite   string        `json:"suite"`
	Test    string        `json:"test"`
	Command string        `json:"command"`
	Config  ServiceConfig `json:"config"`
}

// ServiceConfig describes the service the tester wants.
type ServiceConfig struct {
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	Description string            `json:"description"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	QueueGroup  string            `json:"queue_group,omitempty"`
	Groups      []GroupConfig     `json:"groups,omitempty"`
	Endpoints   []EndpointConfig  `json:"endpoints,omitempty"`
}

// GroupConfig is a group of ServiceConfig.
type GroupConfig struct {
	Name       string `json:"name"`
	QueueGroup string `json:"queue_group,omitempty"`
}

// EndpointConfig is an endpoint of ServiceConfig; Group names a group of
// the same config, if any.
type EndpointConfig struct {
	Name       string            `json:"name"`
	Subject    string            `json:"subject"`
	Metadata   map[string]string `json:"metadata,omitempty"`
	QueueGroup string            `json:"queue_group,omitempty"`
	Group      string            `json:"group,omitempty"`
}

// FaultyEndpoint is the endpoint that answers every request with an error.
const FaultyEndpoint = "faulty"

// Canonical is the configuration the tester sends (as the Ruby harness,
// which hard-codes it, shows).
func Canonical() ServiceConfig {
	return ServiceConfig{
		Name:        "demo",
		Version:     "1.0.0",
		Description: "demo service",
		Metadata:    map[string]string{"workload": "cpu"},
		Groups:      []GroupConfig{{Name: "g1"}, {Name: "g2", QueueGroup: "group-queue"}},
		Endpoints: []EndpointConfig{
			{Name: "demo-default-queue", Subject: "demo.default", Metadata: map[string]string{"key": "value"}},
			{Name: "demo-custom-queue", Subject: "demo.default", QueueGroup: "endpoint-group"},
			{Name: "g1-parent-queue", Subject: "parent.queue", Group: "g1"},
			{Name: "g1-custom-queue", Subject: "custom.queue", QueueGroup: "endpoint-group", Group: "g1"},
			{Name: "g2-parent-queue", Subject: "parent.queue", Group: "g2"},
			{Name: "g2-custom-queue", Subject: "custom.queue", QueueGroup: "endpoint-group", Group: "g2"},
			{Name: FaultyEndpoint, Subject: "faulty"},
		},
	}
}

// Build creates the service cfg describes: echo endpoints, the faulty one
// answering 500 "handler error", and stats data {"endpoint": <name>}.
func Build(nc *nats.Conn, cfg ServiceConfig) (micro.Service, error) {
	svc, err := micro.AddService(nc, micro.Config{
		Name:        cfg.Name,
		Version:     cfg.Version,
		Description: cfg.Description,
		Metadata:    cfg.Metadata,
		QueueGroup:  cfg.QueueGroup,
		// The suite's tester compares each endpoint's data with what the
		// StatsHandler returns, so the harness publishes no load stats.
		LoadStatsDisabled: true,
		StatsHandler: func(e *micro.Endpoint) any {
			return map[string]string{"endpoint": e.Name}
		},
	})
	if err != nil {
		return nil, err
	}
	groups := map[string]micro.Group{}
	for _, g := range cfg.Groups {
		var opts []micro.GroupOpt
		if g.QueueGroup != "" {
			opts = append(opts, micro.WithGroupQueueGroup(g.QueueGroup))
		}
		groups[g.Name] = svc.AddGroup(g.Name, opts...)
	}
	for _, e := range cfg.Endpoints {
		opts := []micro.EndpointOpt{micro.WithEndpointSubject(e.Subject)}
		if e.Metadata != nil {
			opts = append(opts, micro.WithEndpointMetadata(e.Metadata))
		}
		if e.QueueGroup != "" {
			opts = append(opts, micro.WithEndpointQueueGroup(e.QueueGroup))
		}
		var adder interface {
			AddEndpoint(string, micro.Handler, ...micro.EndpointOpt) error
		} = svc
		if e.Group != "" {
			g, ok := groups[e.Group]
			if !ok {
				_ = svc.Stop()
				return nil, fmt.Errorf("endpoint %q names unknown group %q", e.Name, e.Group)
			}
			adder = g
		}
		if err := adder.AddEndpoint(e.Name, handlerFor(e.Name), opts...); err != nil {
			_ = svc.Stop()
			return nil, err
		}
	}
	return svc, nil
}

func handlerFor(name string) micro.Handler {
	if name == FaultyEndpoint {
		return micro.HandlerFunc(func(r micro.Request) { _ = r.Error("500", "handler error", nil) })
	}
	return micro.HandlerFunc(func(r micro.Request) { _ = r.Respond(r.Data()) })
}

// ErrFailed is returned by Serve when the tester reports a failure.
var ErrFailed = errors.New("compatibility test failed")

// Serve plays the harness until the tester publishes a result, a
// tests.done message arrives, or ctx ends. It returns nil on a pass.
func Serve(ctx context.Context, nc *nats.Conn) error {
	msgs := make(chan *nats.Msg, 64)
	sub, err := nc.ChanSubscribe(CommandSubjects, msgs)
	if err != nil {
		return err
	}
	defer func() { _ = sub.Unsubscribe() }()
	done, err := nc.ChanSubscribe(DoneSubject, msgs)
	if err != nil {
		return err
	}
	defer func() { _ = done.Unsubscribe() }()
	if err := nc.Flush(); err != nil {
		return err
	}

	var services []micro.Service
	defer func() {
		for _, s := range services {
			_ = s.Stop()
		}
	}()
	for {
		var msg *nats.Msg
		select {
		case <-ctx.Done():
			return ctx.Err()
		case msg = <-msgs:
		}
		switch {
		case msg.Subject == DoneSubject:
			return nil
		case strings.HasSuffix(msg.Subject, ".result"):
			if strings.Contains(msg.Subject, ".fail.") {
				return fmt.Errorf("%w: %s", ErrFailed, msg.Data)
			}
			return nil
		case strings.HasSuffix(msg.Subject, ".destroy.command"):
			for _, s := range services {
				_ = s.Stop()
			}
			services = nil
			_ = msg.Respond(nil)
		case strings.HasSuffix(msg.Subject, ".command"):
			var cmd Command
			if err := json.Unmarshal(msg.Data, &cmd); err != nil {
				return fmt.Errorf("decoding command on %s: %w", msg.Subject, err)
			}
			svc, err := Build(nc, cmd.Config)
			if err != nil {
				return fmt.Errorf("building service %q: %w", cmd.Config.Name, err)
			}
			services = append(services, svc)
			_ = msg.Respond(nil)
		}
	}
}
