package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/pflag"
)

// Exit codes of Main.
const (
	exitOK    = 0 // the services ran and stopped cleanly
	exitError = 1 // a service or the connection failed
	exitUsage = 2 // the command line was wrong
)

// Log formats for NewLogger, Main's --log-format and micro run's.
const (
	LogText = "text" // logfmt: time=... level=INFO msg="service ready" service=demo-service
	LogJSON = "json" // one JSON object per line
)

// LogFormatEnv is the environment variable that chooses Main's log format
// when --log-format is not given; `micro run` sets it for its program.
const LogFormatEnv = "NATSMUX_LOG_FORMAT"

// NewLogger returns a logger that writes records to w in format, LogText
// or LogJSON (any case; "" is LogText).
func NewLogger(w io.Writer, format string) (*slog.Logger, error) {
	switch strings.ToLower(format) {
	case LogText, "":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case LogJSON:
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, fmt.Errorf("unknown log format %q: want %s or %s", format, LogText, LogJSON)
}

// Program is how Main runs services: Run's options, fixed by the program's
// author. New makes one.
type Program struct {
	opts []Option
}

// New returns a Program that runs services with opts, such as
// devserver.Fallback() for an embedded server in development, or
// WithLogger.
func New(opts ...Option) Program {
	return Program{opts: slices.Clip(opts)}
}

// Main runs services with no options; see Program.Main.
func Main(services ...Service) {
	New().Main(services...)
}

// Main runs services for a program's main function and exits: it reads the
// connection flags (see ConnOptions; --help lists them), the environment
// and the natscli context, runs the services with Run until SIGINT or
// SIGTERM, and exits 0 after a clean shutdown, 1 on failure, 2 on a bad
// command line. A second signal during shutdown ends the process at once.
//
// Main logs to standard error in the format of --log-format or
// NATSMUX_LOG_FORMAT (text, the default, or json), unless the program gave
// WithLogger; that logger is also made slog's default, so that middleware
// logging to slog.Default(), such as middleware.Logger without
// middleware.WithLogger, follows it: WithLogger with a discarding logger
// silences them too.
//
// Programs with flags of their own call Run instead, with WithConn.
func (p Program) Main(services ...Service) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, the default action is back: a second one kills.
	context.AfterFunc(ctx, stop)
	code := p.main(ctx, os.Args[1:], os.Stderr, services, slog.SetDefault)
	stop()
	os.Exit(code)
}

// main is Main without the process around it; setDefault makes the logger
// slog's default.
func (p Program) main(ctx context.Context, args []string, stderr io.Writer, services []Service, setDefault func(*slog.Logger)) int {
	fs := pflag.NewFlagSet(filepath.Base(os.Args[0]), pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var conn ConnOptions
	conn.AddFlags(fs)
	telemetryOpts := addTelemetryFlags(fs)
	c := newRunConfig(p.opts)
	ownLogger := c.logger != nil
	var logFormat string
	if !ownLogger {
		fs.StringVar(&logFormat, "log-format", "", "log format: text or json (default text) [$"+LogFormatEnv+"]")
	}
	fs.Usage = func() {
		_, _ = fmt.Fprintf(stderr, "Usage: %s [flags]\n\nRuns %s until interrupted.%s\n\nFlags:\n%s",
			fs.Name(), serviceNames(services), c.fallbackHelp(), fs.FlagUsages())
	}
	switch err := fs.Parse(args); {
	case errors.Is(err, pflag.ErrHelp):
		return exitOK
	case err != nil:
		_, _ = fmt.Fprintln(stderr, err)
		fs.Usage()
		return exitUsage
	case fs.NArg() > 0:
		_, _ = fmt.Fprintf(stderr, "unexpected arguments: %q\n", fs.Args())
		fs.Usage()
		return exitUsage
	}
	logger := c.logger
	if !ownLogger {
		var err error
		if logger, err = NewLogger(stderr, cmp.Or(logFormat, os.Getenv(LogFormatEnv))); err != nil {
			_, _ = fmt.Fprintln(stderr, err)
			return exitUsage
		}
	}
	setDefault(logger)
	if err := conn.Load(); err != nil {
		_, _ = fmt.Fprintln(stderr, err)
		return exitError
	}
	if err := Run(ctx, services, slices.Concat(p.opts, telemetryOpts(), []Option{WithConn(conn), WithLogger(logger)})...); err != nil {
		_, _ = fmt.Fprintln(stderr, err)
		return exitError
	}
	return exitOK
}

// fallbackHelp tells --help about the development server, if there is one.
func (c *runConfig) fallbackHelp() string {
	if c.devServer == nil {
		return ""
	}
	return "\n\nWith no server configured (--server, NATS_URL or a natscli context) and none\n" +
		"answering at " + RedactURLs(c.fallback) + ", it starts an embedded NATS server there\n" +
		"for development, which stops with the program."
}
