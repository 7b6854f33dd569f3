package client

import (
	"context"

	"github.com/natsmux/natsmux/micro"
)

// DefaultDiscoveryMax bounds how many replies Ping, Info and Stats collect,
// unless a micro.WithDiscoveryMax option says otherwise: a responder that
// keeps answering cannot make the reply list grow without limit.
const DefaultDiscoveryMax = 1000

// Ping asks services for their identity (ADR-32 PING), by default all of
// them; micro.WithDiscoveryService and micro.WithDiscoveryInstance narrow
// the question, and the other micro.DiscoveryOpt options bound the wait.
// It collects the replies as micro.DiscoverPing does, at most
// DefaultDiscoveryMax of them, and for at most the client's timeout when
// ctx has no deadline (a responder that answers more often than the quiet
// interval would keep it waiting forever). Because of that cap, a question
// to one instance ends after the quiet interval rather than at its reply;
// add micro.WithDiscoveryMax(1) to stop at the reply.
func (c *Client) Ping(ctx context.Context, opts ...micro.DiscoveryOpt) ([]micro.Ping, error) {
	ctx, cancel := c.withDeadline(ctx)
	defer cancel()
	return micro.DiscoverPing(ctx, c.nc, c.discoveryOpts(opts)...)
}

// Info asks services for their description and endpoints (ADR-32 INFO),
// schemas of typed endpoints included (binding.RequestSchemaKey); options
// as for Ping.
func (c *Client) Info(ctx context.Context, opts ...micro.DiscoveryOpt) ([]micro.Info, error) {
	ctx, cancel := c.withDeadline(ctx)
	defer cancel()
	return micro.DiscoverInfo(ctx, c.nc, c.discoveryOpts(opts)...)
}

// Stats asks services for their statistics (ADR-32 STATS); options as for
// Ping. The latency percentiles and load of natsmux endpoints (requests in
// flight, shed, timed out) come typed from EndpointStats.LoadStats:
//
//	load, ok := stats[0].Endpoints[0].LoadStats()
//	if ok && load.Shed > 0 { ... }
func (c *Client) Stats(ctx context.Context, opts ...micro.DiscoveryOpt) ([]micro.Stats, error) {
	ctx, cancel := c.withDeadline(ctx)
	defer cancel()
	return micro.DiscoverStats(ctx, c.nc, c.discoveryOpts(opts)...)
}

// discoveryOpts puts the reply cap and the client's prefix first, so that
// the caller's options may override them.
func (c *Client) discoveryOpts(opts []micro.DiscoveryOpt) []micro.DiscoveryOpt {
	return append(append([]micro.DiscoveryOpt{micro.WithDiscoveryMax(DefaultDiscoveryMax)}, c.discovery...), opts...)
}
