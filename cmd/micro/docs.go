package main

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/asyncapi"
	"github.com/natsmux/natsmux/micro"
)

// docsFormats are the formats of micro docs, by name and file extension.
var docsFormats = map[string]string{"yaml": "yaml", "yml": "yaml", "json": "json", "html": "html", "htm": "html"}

type docsOptions struct {
	output, format, expect, version string
	html, stats                     bool
	timeout                         time.Duration
}

func (c *cli) docsCommand() *cobra.Command {
	var o docsOptions
	cmd := &cobra.Command{
		Use:   "docs [NAME]",
		Short: "Document services: AsyncAPI 3.0 (YAML or JSON) or an HTML page",
		Long: `Asks the services for their ADR-32 INFO and documents them. Any ADR-32 service
is documented: endpoints, subjects, queue groups and metadata; natsmux services
add subject parameters, request and reply schemas and the error codes they
declare.

The AsyncAPI 3.0 document (YAML unless the file or --format says json)
describes one service: name it when several answer, and choose a version with
--version while two run. The HTML page (--html, or a file ending in .html) is
one self-contained file for people, of every service that answers or of NAME:
endpoints, subjects, parameters, request and reply fields with examples, error
codes, a micro request line per endpoint, and with --stats the live counters.

--expect FILE compares the service with an AsyncAPI document that its callers
were written against (one that micro docs wrote for an earlier release, kept
with the callers' code) and warns on stderr of each change that breaks them:
an endpoint gone, a request schema that accepts less, a reply schema that
promises less, a breaking change without a new major version. The warnings do
not change the exit code.`,
		Example: `  micro docs orders -o asyncapi.yaml
  micro docs orders --format json
  micro docs --html -o services.html --stats
  micro docs orders --expect asyncapi.yaml -o /dev/null`,
		Args: usageArgs(cobra.RangeArgs(0, 1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runDocs(cmd, args, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "-", "file to write; its extension (.yaml, .json, .html) sets the format")
	f.StringVar(&o.format, "format", "", "yaml, json or html (default: from the file's extension, else yaml)")
	f.BoolVar(&o.html, "html", false, "write the HTML page; the same as --format html")
	f.BoolVar(&o.stats, "stats", false, "put the live STATS counters on the HTML page")
	f.StringVar(&o.expect, "expect", "", "AsyncAPI document (YAML or JSON) the callers expect: warn of breaking changes")
	f.StringVar(&o.version, "version", "", "document this version of the service only")
	f.DurationVar(&o.timeout, "timeout", defaultTimeout, "how long to wait for replies at most")
	c.conn.AddFlags(f)
	return cmd
}

// docsFormat decides the output format from the flags and the file name.
func docsFormat(cmd *cobra.Command, o docsOptions) (string, error) {
	format := strings.ToLower(o.format)
	if o.html {
		if format != "" && format != "html" {
			return "", usageErrorf(cmd, "--html and --format %s disagree", o.format)
		}
		format = "html"
	}
	if format == "" && o.output != "-" {
		format = docsFormats[strings.TrimPrefix(strings.ToLower(filepath.Ext(o.output)), ".")]
	}
	if format == "" {
		return "yaml", nil
	}
	if f, ok := docsFormats[format]; ok {
		return f, nil
	}
	return "", usageErrorf(cmd, "unknown format %q: want yaml, json or html", o.format)
}

func (c *cli) runDocs(cmd *cobra.Command, args []string, o docsOptions) error {
	format, err := docsFormat(cmd, o)
	if err != nil {
		return err
	}
	if err := checkTimeout(cmd, o.timeout); err != nil {
		return err
	}
	q := query{verb: micro.InfoVerb, typ: micro.InfoResponseType}
	if len(args) > 0 {
		q.name = args[0]
	}
	raw, err := c.discover(cmd.Context(), q, o.timeout)
	if err != nil {
		return err
	}
	infos, err := decodeAll[micro.Info](raw)
	if err != nil {
		return err
	}
	services := groupServices(infos, o.version)
	if len(services) == 0 {
		return fmt.Errorf("no service answered%s", versionNote(o.version))
	}
	var doc *asyncapi.Document
	if format != "html" || o.expect != "" {
		if doc, err = c.onlyDocument(cmd, services); err != nil {
			return err
		}
	}
	if o.expect != "" {
		if err := c.warnBreaking(o.expect, doc); err != nil {
			return err
		}
	}
	var out []byte
	switch format {
	case "yaml":
		out, err = doc.YAML()
	case "json":
		out, err = doc.JSON()
	case "html":
		var stats []micro.Stats
		if o.stats {
			if stats, err = c.discoverStats(cmd, q, o.timeout); err != nil {
				return err
			}
		}
		var buf bytes.Buffer
		err = renderPage(&buf, services, stats)
		out = buf.Bytes()
	}
	if err != nil {
		return err
	}
	if o.output == "-" {
		_, err = c.stdout.Write(out)
		return err
	}
	return os.WriteFile(o.output, out, 0o644)
}

func versionNote(version string) string {
	if version == "" {
		return ""
	}
	return " in version " + version
}

// service is one version of a service as its instances describe it.
type service struct {
	info      micro.Info // of the first instance by id
	instances []string   // ids
}

// groupServices groups INFO replies, sorted by name and id, into one entry
// per service and version, keeping the given version only if one is given.
func groupServices(infos []micro.Info, version string) []*service {
	var out []*service
	for _, in := range infos {
		if version != "" && in.Version != version {
			continue
		}
		i := slices.IndexFunc(out, func(s *service) bool { return s.info.Name == in.Name && s.info.Version == in.Version })
		if i < 0 {
			out = append(out, &service{info: in})
			i = len(out) - 1
		}
		out[i].instances = append(out[i].instances, in.ID)
	}
	slices.SortStableFunc(out, func(a, b *service) int {
		return cmp.Or(cmp.Compare(a.info.Name, b.info.Name), cmp.Compare(a.info.Version, b.info.Version))
	})
	return out
}

// onlyDocument returns the AsyncAPI document of the one service version
// found, or a usage error that lists them.
func (c *cli) onlyDocument(cmd *cobra.Command, services []*service) (*asyncapi.Document, error) {
	if len(services) > 1 {
		names := make([]string, len(services))
		for i, s := range services {
			names[i] = s.info.Name + " " + s.info.Version
		}
		return nil, usageErrorf(cmd, "an AsyncAPI document describes one service; found %s: name one, and choose a version with --version",
			strings.Join(names, ", "))
	}
	return asyncapi.FromInfo(services[0].info, asyncapi.WithServer(c.serverURL()))
}

// serverURL is the first server the CLI connects to, for documents.
func (c *cli) serverURL() string {
	url, _, _ := strings.Cut(cmp.Or(c.conn.URL, app.DefaultURL), ",")
	return strings.TrimSpace(url)
}

// warnBreaking compares the live document with the expected one and
// prints the breaking changes on stderr.
func (c *cli) warnBreaking(expectFile string, live *asyncapi.Document) error {
	expected, err := os.ReadFile(expectFile)
	if err != nil {
		return fmt.Errorf("reading the expected document: %w", err)
	}
	current, err := live.JSON()
	if err != nil {
		return err
	}
	changes, err := asyncapi.Breaking(expected, current)
	if err != nil {
		return err
	}
	for _, ch := range changes {
		_, _ = fmt.Fprintf(c.stderr, "micro: warning: %s: %s\n", live.Info.Title, ch)
	}
	return nil
}

func (c *cli) discoverStats(cmd *cobra.Command, q query, timeout time.Duration) ([]micro.Stats, error) {
	q.verb, q.typ = micro.StatsVerb, micro.StatsResponseType
	raw, err := c.discover(cmd.Context(), q, timeout)
	if err != nil {
		return nil, err
	}
	return decodeAll[micro.Stats](raw)
}
