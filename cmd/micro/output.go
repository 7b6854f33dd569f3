package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/natsmux/natsmux/micro"
)

// outputFormat is the value of the -o flag.
type outputFormat int

const (
	formatAuto outputFormat = iota // a table on a terminal, else JSON
	formatTable
	formatJSON
)

var formatNames = []string{formatAuto: "auto", formatTable: "table", formatJSON: "json"}

// String returns the format's name.
func (f *outputFormat) String() string { return formatNames[*f] }

// Set parses a format name, in any case.
func (f *outputFormat) Set(s string) error {
	i := slices.Index(formatNames, strings.ToLower(s))
	if i < 0 {
		return fmt.Errorf("unknown output format %q: want %s", s, strings.Join(formatNames, ", "))
	}
	*f = outputFormat(i)
	return nil
}

// Type names the flag's value in help.
func (f *outputFormat) Type() string { return "format" }

// writeJSON writes discovery replies as an indented JSON array, keeping
// each document as the service sent it (field order, unknown fields).
func writeJSON(w io.Writer, docs []json.RawMessage) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if docs == nil {
		docs = []json.RawMessage{}
	}
	return enc.Encode(docs)
}

// table writes aligned columns, without trailing spaces after an empty
// last cell.
type table struct {
	w   io.Writer
	buf bytes.Buffer
	tw  *tabwriter.Writer
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{w: w}
	t.tw = tabwriter.NewWriter(&t.buf, 0, 0, 2, ' ', 0)
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) {
	_, _ = fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error {
	if err := t.tw.Flush(); err != nil {
		return err
	}
	for line := range strings.Lines(t.buf.String()) {
		if _, err := io.WriteString(t.w, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

func renderPing(w io.Writer, docs []json.RawMessage) error {
	pings, err := decodeAll[micro.Ping](docs)
	if err != nil {
		return err
	}
	t := newTable(w, "NAME", "ID", "VERSION", "METADATA")
	for _, p := range pings {
		t.row(p.Name, p.ID, p.Version, formatMetadata(p.Metadata))
	}
	return t.flush()
}

// renderList shows one row per service and version.
func renderList(w io.Writer, docs []json.RawMessage) error {
	infos, err := decodeAll[micro.Info](docs)
	if err != nil {
		return err
	}
	t := newTable(w, "NAME", "VERSION", "INSTANCES", "DESCRIPTION")
	// Replies are sorted by name, so a service's instances are adjacent;
	// versions may interleave during an upgrade, hence the lookup.
	type key struct{ name, version string }
	var order []key
	count := map[key]int{}
	description := map[key]string{}
	for _, in := range infos {
		k := key{in.Name, in.Version}
		if count[k] == 0 {
			order = append(order, k)
			description[k] = in.Description
		}
		count[k]++
	}
	for _, k := range order {
		t.row(k.name, k.version, fmt.Sprint(count[k]), description[k])
	}
	return t.flush()
}

func renderInfo(w io.Writer, docs []json.RawMessage) error {
	infos, err := decodeAll[micro.Info](docs)
	if err != nil {
		return err
	}
	for i, in := range infos {
		if i > 0 {
			_, _ = fmt.Fprintln(w)
		}
		_, _ = fmt.Fprintf(w, "Service:     %s %s\nID:          %s\nDescription: %s\nMetadata:    %s\n\n",
			in.Name, in.Version, in.ID, in.Description, formatMetadata(in.Metadata))
		t := newTable(w, "ENDPOINT", "SUBJECT", "QUEUE GROUP", "METADATA")
		for _, ep := range in.Endpoints {
			t.row(ep.Name, ep.Subject, cellOr(ep.QueueGroup, "(none)"), formatMetadata(ep.Metadata))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	return nil
}

// formatMetadata shows metadata as sorted key=value pairs.
func formatMetadata(md map[string]string) string {
	if len(md) == 0 {
		return "-"
	}
	pairs := make([]string, 0, len(md))
	for _, k := range slices.Sorted(maps.Keys(md)) {
		pairs = append(pairs, k+"="+md[k])
	}
	return strings.Join(pairs, ", ")
}

func cellOr(s, empty string) string {
	if s == "" {
		return empty
	}
	return s
}

// formatDuration rounds to a precision a person reads: microseconds below
// a second, milliseconds above.
func formatDuration(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}
