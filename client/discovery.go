package client

import (
	"context"

	"github.com/natsmux/natsmux/micro"
)

// Ping asks services for their identity (ADR-32 PING), by default all of
// them; micro.WithDiscoveryService and micro.WithDiscoveryInstance narrow
// the question, and the other micro.DiscoveryOpt options bound the wait.
// It collects the replies as micro.DiscoverPing does, at most
// micro.DefaultDiscoveryMax of them unless micro.WithDiscoveryMax says
// otherwise, and for at most the client's timeout when ctx has no deadline
// (a responder that answers more often than the quiet interval would keep
// it waiting forever).
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

// discoveryOpts puts the client's prefix first, so that the caller's
// options may override it.
func (c *Client) discoveryOpts(opts []micro.DiscoveryOpt) []micro.DiscoveryOpt {
	return append(append([]micro.DiscoveryOpt(nil), c.discovery...), opts...)
}
