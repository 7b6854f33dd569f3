package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/natsmux/natsmux/internal/adr32"
	"github.com/natsmux/natsmux/micro"
)

const defaultTimeout = 5 * time.Second

func (c *cli) requestCommand() *cobra.Command {
	var (
		headers      []string
		timeout      time.Duration
		replyHeaders bool
	)
	cmd := &cobra.Command{
		Use:   "request SUBJECT [DATA]",
		Short: "Send a request and print the reply",
		Long: `Sends DATA to SUBJECT as a request and prints the reply's payload.

Without DATA, or with DATA "-", the payload is read from standard input,
unless that is a terminal (then the payload is empty). The request carries
the timeout in a Nats-Service-Timeout header, so that natsmux services know
when the caller stops waiting.

The payload is printed as it is when standard output is piped; on a
terminal, control characters in it are escaped (\x1b) and a final newline
is added. --reply-headers prints the reply's headers on standard error, one
"Key: Value" line each, so that standard output keeps the payload alone.

An ADR-32 error reply (Nats-Service-Error and Nats-Service-Error-Code
headers) prints its payload, if any, writes the code and description to
standard error and exits 3. No service listening on SUBJECT, or no reply
within the timeout, exits 1. A SUBJECT that no request can be sent to
(empty, with white space, an empty token or a wildcard) exits 2.`,
		Example: `  micro request demo.ECHO "Hello, world!"
  echo '{"items":{"apple":2}}' | micro request orders.create
  micro request -H X-Request-Id:42 -H "Accept: text/plain" --timeout 2s demo.ECHO hi
  micro request --reply-headers hello Ann`,
		Args: usageArgs(cobra.RangeArgs(1, 2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := adr32.CheckSubject(args[0], false); err != nil {
				return usageErrorf(cmd, "invalid subject: %v", err)
			}
			header, err := parseHeaders(headers)
			if err != nil {
				return &usageError{command: cmd.CommandPath(), err: err}
			}
			if err := checkTimeout(cmd, timeout); err != nil {
				return err
			}
			data, err := c.payload(args[1:])
			if err != nil {
				return err
			}
			msg := &nats.Msg{Subject: args[0], Header: header, Data: data}
			if msg.Header.Get(micro.TimeoutHeader) == "" {
				msg.Header.Set(micro.TimeoutHeader, timeout.String())
			}
			return c.request(cmd.Context(), msg, timeout, replyHeaders)
		},
	}
	cmd.Flags().StringArrayVarP(&headers, "header", "H", nil, "add a header, as KEY:VALUE (repeatable)")
	cmd.Flags().BoolVar(&replyHeaders, "reply-headers", false, "print the reply's headers on standard error")
	cmd.Flags().DurationVar(&timeout, "timeout", defaultTimeout, "how long to wait for the reply")
	c.conn.AddFlags(cmd.Flags())
	return cmd
}

// checkTimeout refuses a --timeout that would end before it starts.
func checkTimeout(cmd *cobra.Command, timeout time.Duration) error {
	if timeout <= 0 {
		return usageErrorf(cmd, "--timeout must be positive, got %s", timeout)
	}
	return nil
}

// payload returns the request's payload: the DATA argument, or standard
// input when DATA is absent (and stdin is no terminal) or "-".
func (c *cli) payload(args []string) ([]byte, error) {
	switch {
	case len(args) == 1 && args[0] != "-":
		return []byte(args[0]), nil
	case len(args) == 0 && c.isTerminal(c.stdin):
		return nil, nil
	}
	data, err := io.ReadAll(c.stdin)
	if err != nil {
		return nil, fmt.Errorf("reading the payload from standard input: %w", err)
	}
	return data, nil
}

func (c *cli) request(ctx context.Context, msg *nats.Msg, timeout time.Duration, replyHeaders bool) error {
	nc, err := c.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	reply, err := nc.RequestMsgWithContext(ctx, msg)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return fmt.Errorf("no service listens on %q (no responders)", msg.Subject)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("no reply on %q within %s", msg.Subject, timeout)
	case err != nil:
		return fmt.Errorf("request on %q: %w", msg.Subject, err)
	}
	if replyHeaders {
		if err := writeHeaders(c.stderr, reply.Header); err != nil {
			return err
		}
	}
	if err := c.writePayload(reply.Data); err != nil {
		return err
	}
	return micro.ResponseError(reply)
}

// writeHeaders prints headers as "Key: Value" lines, sorted by key, the
// values of a key in their order, escaped (see printable).
func writeHeaders(w io.Writer, h nats.Header) error {
	var b strings.Builder
	for _, key := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[key] {
			b.WriteString(printable(key) + ": " + printable(v) + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writePayload prints a reply's payload. Piped, it is written byte for
// byte. On a terminal, control characters are escaped, so that a reply
// cannot drive the terminal, and a final newline is added.
func (c *cli) writePayload(data []byte) error {
	if c.isTerminal(c.stdout) && len(data) > 0 {
		text := printableText(string(data))
		if !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		data = []byte(text)
	}
	_, err := c.stdout.Write(data)
	return err
}

// parseHeaders parses -H flags; a key may repeat.
func parseHeaders(flags []string) (nats.Header, error) {
	h := nats.Header{}
	for _, f := range flags {
		key, value, err := parseHeader(f)
		if err != nil {
			return nil, err
		}
		h.Add(key, value)
	}
	return h, nil
}

// parseHeader splits "KEY:VALUE" at its first colon and trims the spaces
// around both parts. The key must be a valid header name (printable ASCII,
// no spaces or colons), the value must stay on one line: NATS headers are
// sent as text lines.
func parseHeader(s string) (key, value string, err error) {
	key, value, ok := strings.Cut(s, ":")
	if !ok {
		return "", "", fmt.Errorf("header %q: want KEY:VALUE", s)
	}
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	if key == "" {
		return "", "", fmt.Errorf("header %q: empty key", s)
	}
	for _, r := range key {
		if r <= ' ' || r >= 0x7f {
			return "", "", fmt.Errorf("header %q: the key may hold only printable ASCII without spaces", s)
		}
	}
	if strings.ContainsAny(value, "\r\n") {
		return "", "", fmt.Errorf("header %q: the value may not hold a line break", s)
	}
	return key, value, nil
}
