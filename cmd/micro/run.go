package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/app/devserver"
)

func (c *cli) runCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run [flags] PACKAGE [ARGS...]",
		Short: "Build and run a service, with a NATS server if there is none",
		Long: `Builds the Go main package PACKAGE (go build, into a temporary directory)
and runs it with ARGS until it exits, forwarding SIGINT, SIGTERM and SIGHUP
to it; its standard input is empty. micro run exits with the program's exit
code (128+N when signal N ended it). PACKAGE is an import path, a directory
(examples/minimal and ./examples/minimal alike) or a .go file; a package
that is not a main package is refused before anything starts.

The program connects with the settings given to micro run (flags, the
NATS_* variables or a natscli context), passed on to it as NATS_*
variables. When none names a server and nothing listens on
` + app.DefaultURL + `, micro run starts an embedded nats-server there for as
long as the program runs and points the program at it: a service runs on a
machine with nothing but Go.

micro run logs in the format of --log-format, text or json, and has the
program log in the same (` + app.LogFormatEnv + `, which app.Main reads).

Flags for micro run come before PACKAGE; everything after it is the
program's.`,
		Example: `  micro run ./examples/minimal
  micro run --server nats://nats.example.com:4222 ./examples/groups
  micro run ./cmd/myservice --verbose`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := c.setLogFormat(cmd); err != nil {
				return err
			}
			pkg, err := mainPackage(cmd, args[0])
			if err != nil {
				return err
			}
			return c.run(cmd.Context(), pkg, args[1:])
		},
	}
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().StringVar(&c.logFormat, "log-format", "", "log format of micro run and its program: text or json (default text) [$"+app.LogFormatEnv+"]")
	c.conn.AddFlags(cmd.Flags())
	return cmd
}

// setLogFormat settles the log format: the flag, else the variable, else
// text; the logger must accept it.
func (c *cli) setLogFormat(cmd *cobra.Command) error {
	c.logFormat = cmp.Or(c.logFormat, os.Getenv(app.LogFormatEnv), app.LogText)
	if _, err := app.NewLogger(io.Discard, c.logFormat); err != nil {
		return &usageError{command: cmd.CommandPath(), err: err}
	}
	return nil
}

// mainPackage checks with go list that pkg names one main package, before
// anything is built or started, and returns it as go build takes it. A
// relative directory without "./" (examples/minimal) means that directory,
// not an import path.
func mainPackage(cmd *cobra.Command, pkg string) (string, error) {
	if !strings.HasPrefix(pkg, ".") && !filepath.IsAbs(pkg) {
		if info, err := os.Stat(pkg); err == nil && info.IsDir() {
			pkg = "./" + pkg
		}
	}
	var stderr strings.Builder
	list := exec.CommandContext(cmd.Context(), "go", "list", "-e", "-f", "{{.Name}}", pkg)
	list.Stderr = &stderr
	out, err := list.Output()
	if err != nil {
		return "", fmt.Errorf("looking up %s: %w\n%s", pkg, err, strings.TrimSpace(stderr.String()))
	}
	switch names := strings.Fields(string(out)); {
	case len(names) > 1:
		return "", usageErrorf(cmd, "%s names %d packages; micro run runs one main package", pkg, len(names))
	case len(names) == 1 && names[0] != "main":
		return "", usageErrorf(cmd, "%s is package %s, not a main package: micro run builds and runs programs", pkg, names[0])
	}
	return pkg, nil // a main package, or one go build will say is broken
}

func (c *cli) run(ctx context.Context, pkg string, args []string) error {
	if err := c.conn.Load(); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "micro-run-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, programName(pkg))
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
	build.Stdout, build.Stderr = c.stderr, c.stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building %s: %w", pkg, err)
	}

	env := append(os.Environ(), c.conn.Environ()...)
	env = append(env, app.LogFormatEnv+"="+c.logFormat)
	if c.conn.URL == "" {
		stopServer, err := c.ensureServer()
		if err != nil {
			return err
		}
		if stopServer != nil {
			defer stopServer()
		}
		env = append(env, "NATS_URL="+c.defaultURL)
	}

	prog := exec.Command(bin, args...)
	prog.Stdout, prog.Stderr, prog.Env = c.stdout, c.stderr, env
	prog.SysProcAttr = ownProcessGroup()
	signals, stop := c.signals()
	defer stop()
	if err := prog.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", pkg, err)
	}
	waited := make(chan error, 1)
	go func() { waited <- prog.Wait() }()
	for {
		select {
		case sig := <-signals:
			_ = prog.Process.Signal(sig)
		case err := <-waited:
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) {
				return exitStatus(exitCode(exitErr.ProcessState))
			}
			return err
		}
	}
}

// ensureServer makes sure a server answers at the default URL, starting an
// embedded one when nothing does; stop stops that server, or is nil.
func (c *cli) ensureServer() (stop func(), err error) {
	logger, err := app.NewLogger(c.stderr, c.logFormat)
	if err != nil {
		return nil, err
	}
	nc, stop, err := app.ConnectOrStart(c.conn, c.defaultURL, devserver.StartAt, logger)
	if err != nil {
		return nil, err
	}
	nc.Close()
	return stop, nil
}

// programName names the built program after its package, as go build does.
func programName(pkg string) string {
	name := strings.TrimSuffix(filepath.Base(filepath.Clean(pkg)), ".go")
	if name == "." || name == ".." || name == string(filepath.Separator) {
		if wd, err := os.Getwd(); err == nil {
			name = filepath.Base(wd)
		}
	}
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	return name
}
