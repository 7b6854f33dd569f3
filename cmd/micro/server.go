package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/natsmux/natsmux/app/devserver"
)

func (c *cli) serverCommand() *cobra.Command {
	var o devserver.Options
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a NATS server for development until interrupted",
		Long: `Runs an embedded nats-server until SIGINT or SIGTERM: no authentication, no
JetStream, no clustering, listening on the loopback interface unless --host
says otherwise. A port of -1 picks a free one.`,
		Example: `  micro server
  micro server --port 4333 --monitor 8222`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			signals, stop := c.signals()
			defer stop()
			srv, err := devserver.Start(o)
			if err != nil {
				return err
			}
			defer func() {
				srv.Shutdown()
				srv.WaitForShutdown()
			}()
			msg := "micro: NATS server listening on " + srv.ClientURL()
			if mon := srv.MonitorAddr(); mon != nil {
				msg += ", monitoring on http://" + mon.String()
			}
			_, _ = fmt.Fprintln(c.stderr, msg+"; Ctrl-C stops it")
			select {
			case <-signals:
			case <-cmd.Context().Done():
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Host, "host", "127.0.0.1", "address to listen on")
	cmd.Flags().IntVarP(&o.Port, "port", "p", 4222, "client port")
	cmd.Flags().IntVarP(&o.MonitorPort, "monitor", "m", 0, "HTTP monitoring port (/varz, /connz, ...); 0 for none")
	return cmd
}
