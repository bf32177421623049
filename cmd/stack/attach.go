package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newAttachCmd() *cobra.Command {
	var o attachOptions
	var index int
	cmd := &cobra.Command{
		Use:   "attach [flags] SERVICE",
		Short: "Attach this terminal to a running container of a service, as container attach does",
		Long: `Attach to replica --index (default 1) of a service: its output from now on, standard
input when the service has stdin_open, signals forwarded unless --sig-proxy=false or it has
a tty. The detach keys (Ctrl-P Ctrl-Q, with a tty) leave it running; otherwise attach exits
with the container's exit code when it stops.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if index < 1 {
				return fmt.Errorf("--index %d: replicas are numbered from 1", index)
			}
			if err := o.check(); err != nil {
				return err
			}
			s, err := openStack(cmd, args, false)
			if err != nil {
				return err
			}
			c, err := s.runningServiceContainer(args[0], index)
			if err != nil {
				return err
			}
			return runAttach(cmd, s.engine.Containers, c.ID, o)
		},
	}
	o.bindAttach(cmd.Flags())
	cmd.Flags().IntVar(&index, "index", 1, "replica of the service, when it has several")
	return cmd
}
