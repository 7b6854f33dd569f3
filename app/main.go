package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/spf13/pflag"
)

// Exit codes of Main.
const (
	exitOK    = 0 // the services ran and stopped cleanly
	exitError = 1 // a service or the connection failed
	exitUsage = 2 // the command line was wrong
)

// Main runs services for a program's main function and exits: it reads the
// connection flags (see ConnOptions; --help lists them) and environment,
// runs the services with Run until SIGINT or SIGTERM, and exits 0 after a
// clean shutdown, 1 on failure, 2 on a bad command line. A second signal
// during shutdown ends the process at once.
//
// Programs with flags of their own call Run instead, with WithConn.
func Main(services ...Service) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, the default action is back: a second one kills.
	context.AfterFunc(ctx, stop)
	code := mainCode(ctx, os.Args[1:], os.Stderr, services, WithLogger(slog.Default()))
	stop()
	os.Exit(code)
}

// mainCode is Main without the process around it.
func mainCode(ctx context.Context, args []string, stderr io.Writer, services []Service, opts ...Option) int {
	fs := pflag.NewFlagSet(filepath.Base(os.Args[0]), pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var conn ConnOptions
	conn.AddFlags(fs)
	telemetryOpts := addTelemetryFlags(fs)
	fs.Usage = func() {
		_, _ = fmt.Fprintf(stderr, "Usage: %s [flags]\n\nRuns %s until interrupted.\n\nFlags:\n%s",
			fs.Name(), serviceNames(services), fs.FlagUsages())
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
	conn.LoadEnv()
	if err := Run(ctx, services, slices.Concat(opts, telemetryOpts(), []Option{WithConn(conn)})...); err != nil {
		_, _ = fmt.Fprintln(stderr, err)
		return exitError
	}
	return exitOK
}
