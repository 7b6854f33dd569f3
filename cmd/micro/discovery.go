package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/natsmux/natsmux/micro"
)

// query is one discovery request: the verb, the service and instance it
// narrows to, and the type of reply it expects.
type query struct {
	verb     micro.Verb
	typ      string
	name, id string
}

// discoveryCommand builds a discovery command; render writes the replies
// as a table.
func (c *cli) discoveryCommand(cmd *cobra.Command, verb micro.Verb, typ string, render func(io.Writer, []json.RawMessage) error) *cobra.Command {
	var (
		output  outputFormat
		timeout time.Duration
	)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := checkTimeout(cmd, timeout); err != nil {
			return err
		}
		q := query{verb: verb, typ: typ}
		if len(args) > 0 {
			q.name = args[0]
		}
		if len(args) > 1 {
			q.id = args[1]
		}
		docs, err := c.discover(cmd.Context(), q, timeout)
		if err != nil {
			return err
		}
		if output == formatJSON || output == formatAuto && !c.isTerminal(c.stdout) {
			return writeJSON(c.stdout, docs)
		}
		if len(docs) == 0 {
			_, err := fmt.Fprintln(c.stdout, "No services found.")
			return err
		}
		return render(c.stdout, docs)
	}
	cmd.Flags().VarP(&output, "output", "o", "output format: table, json, or auto (a table on a terminal, else JSON)")
	cmd.Flags().DurationVar(&timeout, "timeout", defaultTimeout, "how long to wait for replies at most")
	c.conn.AddFlags(cmd.Flags())
	return cmd
}

func (c *cli) pingCommand() *cobra.Command {
	return c.discoveryCommand(&cobra.Command{
		Use:   "ping [NAME]",
		Short: "Ping every service, or every instance of NAME",
		Long: `Sends an ADR-32 PING to every service, or to the instances of service NAME,
and lists the instances that answer.` + discoveryOutputHelp,
		Example: `  micro ping
  micro ping demo-service -o json`,
		Args: usageArgs(cobra.RangeArgs(0, 1)),
	}, micro.PingVerb, micro.PingResponseType, renderPing)
}

func (c *cli) lsCommand() *cobra.Command {
	return c.discoveryCommand(&cobra.Command{
		Use:   "ls",
		Short: "List the services and how many instances each runs",
		Long: `Asks every service for its INFO and lists each service and version once,
with its number of instances and its description. JSON output is the INFO
documents.` + discoveryOutputHelp,
		Args: usageArgs(cobra.NoArgs),
	}, micro.InfoVerb, micro.InfoResponseType, renderList)
}

func (c *cli) infoCommand() *cobra.Command {
	return c.discoveryCommand(&cobra.Command{
		Use:   "info [NAME [ID]]",
		Short: "Show services' endpoints, subjects, queue groups and metadata",
		Long: `Asks every service, the instances of service NAME, or its instance ID, for
their ADR-32 INFO: description, metadata and endpoints with their subjects,
queue groups and metadata.` + discoveryOutputHelp,
		Example: `  micro info demo-service
  micro info demo-service 4Q0PcxtmDaoZOlCBHHDDvU -o json`,
		Args: usageArgs(cobra.RangeArgs(0, 2)),
	}, micro.InfoVerb, micro.InfoResponseType, renderInfo)
}

func (c *cli) statsCommand() *cobra.Command {
	return c.discoveryCommand(&cobra.Command{
		Use:   "stats [NAME [ID]]",
		Short: "Show services' request counts, errors and processing times",
		Long: `Asks every service, the instances of service NAME, or its instance ID, for
their ADR-32 STATS: per endpoint, the requests, the errors, the last error
and the total and average processing time; for natsmux services also the
p50 and p99 latency, the requests in flight and those shed (429/503).
` + "`micro top`" + ` shows the same live.` + discoveryOutputHelp,
		Example: `  micro stats demo-service
  micro stats -o json`,
		Args: usageArgs(cobra.RangeArgs(0, 2)),
	}, micro.StatsVerb, micro.StatsResponseType, renderStats)
}

const discoveryOutputHelp = `

Replies are collected until none has come for a moment (300ms) or the
timeout passes. Output is a table on a terminal and otherwise, or with
-o json, the replies as an indented JSON array of the ADR-32 documents,
sorted by service name and instance id.`

// discover sends q and returns the replies of q's type, sorted by service
// name and instance id. A query for a named service that nobody answers is
// an error; one for all services finds an empty list.
func (c *cli) discover(ctx context.Context, q query, timeout time.Duration) ([]json.RawMessage, error) {
	var opts []micro.DiscoveryOpt
	switch {
	case q.id != "":
		opts = append(opts, micro.WithDiscoveryInstance(q.name, q.id))
	case q.name != "":
		opts = append(opts, micro.WithDiscoveryService(q.name))
	}
	nc, err := c.connect()
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	raw, err := micro.Discover(ctx, nc, q.verb, opts...)
	if err != nil {
		return nil, err
	}

	type doc struct {
		head identity
		raw  json.RawMessage
	}
	docs := make([]doc, 0, len(raw))
	for _, r := range raw {
		var head identity
		if json.Unmarshal(r, &head) != nil || head.Type != q.typ {
			_, _ = fmt.Fprintf(c.stderr, "micro: skipping a reply that is no %s: %.200s\n", q.typ, printable(string(r)))
			continue
		}
		docs = append(docs, doc{head, r})
	}
	slices.SortFunc(docs, func(a, b doc) int {
		return cmp.Or(cmp.Compare(a.head.Name, b.head.Name), cmp.Compare(a.head.ID, b.head.ID))
	})
	switch {
	case len(docs) == 0 && q.id != "":
		return nil, fmt.Errorf("no instance %s of service %s answered", q.id, q.name)
	case len(docs) == 0 && q.name != "":
		return nil, fmt.Errorf("no instance of service %s answered", q.name)
	}
	out := make([]json.RawMessage, len(docs))
	for i, d := range docs {
		out[i] = d.raw
	}
	return out, nil
}

// identity is what sorting and filtering need of a discovery reply.
type identity struct {
	Type string `json:"type"`
	Name string `json:"name"`
	ID   string `json:"id"`
}

// decodeAll decodes discovery replies that discover has already checked.
func decodeAll[T any](docs []json.RawMessage) ([]T, error) {
	out := make([]T, len(docs))
	for i, d := range docs {
		if err := json.Unmarshal(d, &out[i]); err != nil {
			return nil, fmt.Errorf("decoding a reply: %w", err)
		}
	}
	return out, nil
}

// renderStats shows a row per endpoint of each instance. When any endpoint
// publishes load stats (micro.LoadStats), the table has their columns too,
// with "-" for endpoints without them.
func renderStats(w io.Writer, docs []json.RawMessage) error {
	all, err := decodeAll[micro.Stats](docs)
	if err != nil {
		return err
	}
	withLoad := slices.ContainsFunc(all, func(s micro.Stats) bool {
		return slices.ContainsFunc(s.Endpoints, func(ep *micro.EndpointStats) bool {
			_, ok := ep.LoadStats()
			return ok
		})
	})
	header := []string{"SERVICE", "ID", "ENDPOINT", "SUBJECT", "REQUESTS", "ERRORS", "AVERAGE"}
	if withLoad {
		header = append(header, "P50", "P99", "IN FLIGHT", "SHED")
	}
	t := newTable(w, append(header, "TOTAL", "LAST ERROR")...)
	for _, s := range all {
		for _, ep := range s.Endpoints {
			row := []string{s.Name, s.ID, ep.Name, ep.Subject, fmt.Sprint(ep.NumRequests), fmt.Sprint(ep.NumErrors),
				formatDuration(ep.AverageProcessingTime)}
			if withLoad {
				row = append(row, loadCells(ep)...)
			}
			t.row(append(row, formatDuration(ep.ProcessingTime), ep.LastError)...)
		}
	}
	return t.flush()
}

// loadCells are the load stats columns of an endpoint: p50, p99, in
// flight, shed.
func loadCells(ep *micro.EndpointStats) []string {
	load, ok := ep.LoadStats()
	if !ok {
		return []string{"-", "-", "-", "-"}
	}
	return []string{formatDuration(load.Latency.P50), formatDuration(load.Latency.P99), fmt.Sprint(load.InFlight), fmt.Sprint(load.Shed)}
}
