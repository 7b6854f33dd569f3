package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/spf13/cobra"

	"github.com/natsmux/natsmux/app"
)

func (c *cli) runCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run [flags] PACKAGE [ARGS...]",
		Short: "Build and run a service, with a NATS server if there is none",
		Long: `Builds the Go main package PACKAGE (go build, into a temporary directory)
and runs it with ARGS until it exits, forwarding SIGINT, SIGTERM and SIGHUP
to it; its standard input is empty. micro run exits with the program's exit
code (128+N when signal N ended it).

The program connects with the settings given to micro run (flags or the
NATS_* variables), passed on to it as NATS_* variables. When none names a
server and nothing listens on ` + app.DefaultURL + `, micro run starts an
embedded nats-server there for as long as the program runs and points the
program at it: a service runs on a machine with nothing but Go.

Flags for micro run come before PACKAGE; everything after it is the
program's.`,
		Example: `  micro run ./examples/minimal
  micro run --server nats://nats.example.com:4222 ./examples/groups
  micro run ./cmd/myservice --verbose`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.run(cmd.Context(), args[0], args[1:])
		},
	}
	cmd.Flags().SetInterspersed(false)
	c.conn.AddFlags(cmd.Flags())
	return cmd
}

func (c *cli) run(ctx context.Context, pkg string, args []string) error {
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
	if c.conn.URL == "" {
		srv, err := c.ensureServer()
		if err != nil {
			return err
		}
		if srv != nil {
			defer func() {
				srv.Shutdown()
				srv.WaitForShutdown()
			}()
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
// embedded one when nothing does; srv is that server, or nil.
func (c *cli) ensureServer() (srv *server.Server, err error) {
	nc, srv, err := app.ConnectOrStart(c.conn, c.defaultURL, c.logger())
	if err != nil {
		return nil, err
	}
	nc.Close()
	return srv, nil
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
