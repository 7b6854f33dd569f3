package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

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
// last cell. Cells pass through printable: they hold services' text.
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
	escaped := make([]string, len(cells))
	for i, c := range cells {
		escaped[i] = printable(c)
	}
	_, _ = fmt.Fprintln(t.tw, strings.Join(escaped, "\t"))
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
	var md metadataFormat
	t := newTable(w, "NAME", "ID", "VERSION", "METADATA")
	for _, p := range pings {
		t.row(p.Name, p.ID, p.Version, md.format(p.Metadata))
	}
	return errors.Join(t.flush(), md.note(w))
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
	var md metadataFormat
	for i, in := range infos {
		if i > 0 {
			_, _ = fmt.Fprintln(w)
		}
		_, _ = fmt.Fprintf(w, "Service:     %s %s\nID:          %s\nDescription: %s\nMetadata:    %s\n\n",
			printable(in.Name), printable(in.Version), printable(in.ID), printable(in.Description), md.format(in.Metadata))
		t := newTable(w, "ENDPOINT", "SUBJECT", "QUEUE GROUP", "METADATA")
		for _, ep := range in.Endpoints {
			t.row(ep.Name, ep.Subject, cellOr(ep.QueueGroup, "(none)"), md.format(ep.Metadata))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	return md.note(w)
}

// maxMetadataValue is how many characters of a metadata value a table
// shows, such as the start of a JSON Schema; JSON output has them whole.
const maxMetadataValue = 40

// metadataFormat shows metadata in tables and remembers whether it cut a
// value short, to say so under the tables.
type metadataFormat struct{ cut bool }

// format shows md as sorted key=value pairs, escaped (see printable), each
// value cut to maxMetadataValue characters.
func (f *metadataFormat) format(md map[string]string) string {
	if len(md) == 0 {
		return "-"
	}
	pairs := make([]string, 0, len(md))
	for _, k := range slices.Sorted(maps.Keys(md)) {
		v := printable(md[k])
		if utf8.RuneCountInString(v) > maxMetadataValue {
			v = string([]rune(v)[:maxMetadataValue-1]) + "…"
			f.cut = true
		}
		pairs = append(pairs, printable(k)+"="+v)
	}
	return strings.Join(pairs, ", ")
}

// note tells the reader of the tables that values were cut, and where to
// see them whole.
func (f *metadataFormat) note(w io.Writer) error {
	if !f.cut {
		return nil
	}
	_, err := fmt.Fprintf(w, "\nMetadata values longer than %d characters are cut short (…); -o json shows them whole.\n", maxMetadataValue)
	return err
}

// printable returns s with what a terminal would act on escaped, so that
// a service's text (names, descriptions, metadata, errors) cannot move the
// cursor, recolour or rewrite the screen: C0 and C1 control characters,
// DEL, Unicode's bidirectional controls and bytes that are not UTF-8
// become Go escapes (\x1b, \n, \u009b, \u202e, \xff). Table cells go through
// it; JSON output and piped payloads stay exact.
func printable(s string) string {
	return escapeControls(s, false)
}

// printableText is printable for text shown as lines, such as a payload or
// an error message on a terminal: line feeds and tabs stay.
func printableText(s string) string {
	return escapeControls(s, true)
}

func escapeControls(s string, keepLines bool) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"): // a byte that is not UTF-8
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case needsEscape(r, keepLines):
			b.WriteString(escapeRune(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// needsEscape reports whether r is shown escaped: a control character,
// unless keepLines keeps line feeds and tabs.
func needsEscape(r rune, keepLines bool) bool {
	if keepLines && (r == '\n' || r == '\t') {
		return false
	}
	return isControl(r)
}

// isControl reports whether a terminal may act on r instead of showing it:
// C0 and C1 controls, DEL, and the bidirectional controls that reorder the
// text around them.
func isControl(r rune) bool {
	return r < 0x20 || r >= 0x7f && r <= 0x9f || unicode.Is(unicode.Bidi_Control, r)
}

func escapeRune(r rune) string {
	switch {
	case r == '\n':
		return `\n`
	case r == '\t':
		return `\t`
	case r == '\r':
		return `\r`
	case r < 0x80:
		return fmt.Sprintf(`\x%02x`, r)
	default:
		return fmt.Sprintf(`\u%04x`, r)
	}
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
