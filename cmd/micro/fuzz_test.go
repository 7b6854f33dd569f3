package main

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
)

// FuzzParseHeader: parseHeader never panics; what it accepts is a header
// NATS can carry, parses back to itself, and survives a round trip through
// a real message's header encoding rules (no line breaks, no colon or
// space in the key). Seeds are in testdata/fuzz/FuzzParseHeader.
func FuzzParseHeader(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		key, value, err := parseHeader(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "header ") {
				t.Errorf("error %q does not name the header", err)
			}
			return
		}
		if key == "" || strings.ContainsAny(key, ": \t\r\n") || strings.ContainsAny(value, "\r\n") {
			t.Fatalf("accepted %q as key %q, value %q", s, key, value)
		}
		k2, v2, err := parseHeader(key + ":" + value)
		if err != nil || k2 != key || v2 != value {
			t.Fatalf("%q parsed as (%q, %q), re-parsed as (%q, %q, %v)", s, key, value, k2, v2, err)
		}
		h, err := parseHeaders([]string{s, s})
		if err != nil || len(h.Values(key)) != 2 {
			t.Fatalf("parseHeaders(%q twice): %v, %v", s, h, err)
		}
		msg := nats.NewMsg("subject")
		msg.Header = h
		if got := msg.Header.Get(key); got != value {
			t.Fatalf("header %q holds %q, want %q", key, got, value)
		}
	})
}

// FuzzOutputFormat: every input either names a format, whose String
// parses back to it, or is refused with the list of valid names. Seeds are
// in testdata/fuzz/FuzzOutputFormat.
func FuzzOutputFormat(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		var format outputFormat
		if err := format.Set(s); err != nil {
			if !strings.Contains(err.Error(), "want auto, table, json") {
				t.Errorf("error %q lists no formats", err)
			}
			return
		}
		if !strings.EqualFold(format.String(), s) {
			t.Fatalf("%q parsed as %q", s, format.String())
		}
		var again outputFormat
		if err := again.Set(format.String()); err != nil || again != format {
			t.Fatalf("%q does not parse back: %v", format.String(), err)
		}
	})
}

// FuzzPrintable: whatever a service sends, printable's result is valid
// UTF-8 without a character a terminal acts on, and printableText's keeps
// only line feeds and tabs besides; text without such characters comes
// back unchanged. Seeds are in testdata/fuzz/FuzzPrintable.
func FuzzPrintable(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		for _, keepLines := range []bool{false, true} {
			got := escapeControls(s, keepLines)
			if !utf8.ValidString(got) {
				t.Fatalf("escapeControls(%q, %t) = %q: not UTF-8", s, keepLines, got)
			}
			clean := true
			for _, r := range s {
				clean = clean && r != utf8.RuneError && !needsEscape(r, keepLines)
			}
			for _, r := range got {
				if needsEscape(r, keepLines) {
					t.Fatalf("escapeControls(%q, %t) = %q keeps %U", s, keepLines, got, r)
				}
			}
			if clean && utf8.ValidString(s) && got != s {
				t.Fatalf("escapeControls(%q, %t) = %q changed clean text", s, keepLines, got)
			}
		}
	})
}
