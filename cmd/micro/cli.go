package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/micro"
)

// Exit codes; `micro run` exits with its program's code instead.
const (
	exitOK           = 0 // success
	exitError        = 1 // failure: no server, no reply, a build error, ...
	exitUsage        = 2 // the command line was wrong
	exitServiceError = 3 // the service replied with an ADR-32 error
)

// cli is one invocation of the command: its streams, how it learns of
// signals and how it finds a terminal. Tests replace the last two.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	// signals starts delivering the signals that `run` forwards and
	// `server` stops on; the returned function stops the delivery.
	signals func() (<-chan os.Signal, func())
	// isTerminal reports whether a stream is an interactive terminal.
	isTerminal func(any) bool
	// defaultURL is where run looks for a server, and starts one, when none
	// is configured.
	defaultURL string

	conn      app.ConnOptions
	logFormat string // micro run's --log-format
}

func newCLI(stdin io.Reader, stdout, stderr io.Writer) *cli {
	return &cli{
		stdin:      stdin,
		stdout:     stdout,
		stderr:     stderr,
		signals:    notifySignals,
		isTerminal: isTerminal,
		defaultURL: app.DefaultURL,
	}
}

func notifySignals() (<-chan os.Signal, func()) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, forwardedSignals...)
	return ch, func() { signal.Stop(ch) }
}

// isTerminal reports whether v is a character device, such as a terminal.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// execute runs the command line args and returns the exit code.
func (c *cli) execute(ctx context.Context, args []string) int {
	root := c.rootCommand()
	root.SetArgs(args)
	return c.report(root.ExecuteContext(ctx))
}

// report prints err, if any, and returns the exit code it calls for.
func (c *cli) report(err error) int {
	var (
		usage  *usageError
		svcErr *micro.ServiceError
		status exitStatus
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &status):
		return int(status) // the program has said why
	case errors.As(err, &usage):
		_, _ = fmt.Fprintf(c.stderr, "micro: %s\nRun '%s --help' for usage.\n", printableText(usage.err.Error()), usage.command)
		return exitUsage
	case errors.As(err, &svcErr):
		_, _ = fmt.Fprintf(c.stderr, "micro: service error %d: %s\n", svcErr.Code, printable(svcErr.Description))
		return exitServiceError
	default:
		// Messages may quote what a server or service sent.
		_, _ = fmt.Fprintf(c.stderr, "micro: %s\n", printableText(err.Error()))
		return exitError
	}
}

// usageError is a mistake in the command line.
type usageError struct {
	command string
	err     error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(cmd *cobra.Command, format string, args ...any) error {
	return &usageError{command: cmd.CommandPath(), err: fmt.Errorf(format, args...)}
}

// usageArgs makes cobra's argument checks report usage errors.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &usageError{command: cmd.CommandPath(), err: err}
		}
		return nil
	}
}

// exitStatus is the exit code of a program that `micro run` ran.
type exitStatus int

func (s exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

func (c *cli) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "micro",
		Short: "Run, call and inspect NATS services (ADR-32)",
		Long: `micro runs NATS services written with natsmux, sends them requests and shows
what the NATS Service API's discovery reports about every service on a NATS
system: PING, INFO and STATS.

It connects as natscli does: --server (default ` + app.DefaultURL + `), --creds,
--nkey, --user and --password, --token, --tlscert, --tlskey and --tlsca, or the
variables NATS_URL, NATS_CREDS, NATS_NKEY, NATS_USER, NATS_PASSWORD,
NATS_TOKEN, NATS_CERT, NATS_KEY and NATS_CA, and then the natscli context that
--context or NATS_CONTEXT names, or the selected one (nats context select).
A flag wins over its variable, both over the context.

Exit codes: 0 success, 1 failure, 2 bad command line, 3 the service replied
with an error; micro run exits with its program's code.`,
		Example: `  micro run ./examples/minimal
  micro request demo.ECHO "Hello, world!"
  micro ping
  micro info demo-service
  micro stats demo-service -o json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q", args[0])
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "; did you mean " + strings.Join(s, " or ") + "?"
			}
			return usageErrorf(cmd, "%s", msg)
		},
		RunE:          func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		Version:       version(),
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SuggestionsMinimumDistance = 2
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &usageError{command: cmd.CommandPath(), err: err}
	})
	root.AddCommand(
		c.runCommand(),
		c.serverCommand(),
		c.requestCommand(),
		c.pingCommand(),
		c.lsCommand(),
		c.infoCommand(),
		c.statsCommand(),
		c.topCommand(),
		c.docsCommand(),
	)
	root.SetIn(c.stdin)
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	addCompletionCommand(root) // after SetOut: it keeps the writer
	return root
}

// connect connects to the configured server, which must be running.
func (c *cli) connect() (*nats.Conn, error) {
	if err := c.conn.Load(); err != nil {
		return nil, err
	}
	if c.conn.Name == "" {
		c.conn.Name = "micro CLI"
	}
	nc, err := c.conn.Connect()
	if errors.Is(err, nats.ErrNoServers) && c.conn.URL == "" {
		return nil, fmt.Errorf("%w\n(start one with `micro server`, or name one with --server or NATS_URL)", err)
	}
	return nc, err
}
