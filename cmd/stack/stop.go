package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/stackhq/stack/reconcile"
)

func newStopCmd() *cobra.Command {
	var timeout int
	cmd := &cobra.Command{
		Use:   "stop [SERVICE...]",
		Short: "Stop the stack's running containers, in reverse dependency order",
		Long: `Stop the running containers of the services (all when none are named): the stop
signal, then SIGKILL after the grace period. A service stops after every service that
depends on it; the rest stop in parallel. The containers are kept: start runs them again.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStack(cmd, args, true)
			if err != nil {
				return err
			}
			defer s.close()
			sel, err := s.selectServices(args)
			if err != nil {
				return err
			}
			t := durationFlag(cmd, "timeout", timeout)
			return sel.run(cmd, containerAction{
				order:   reverseDependency,
				applies: reconcile.ObservedContainer.Running,
				do: func(ctx context.Context, c reconcile.ObservedContainer) error {
					return s.engine.Containers.Stop(ctx, c.ID, t)
				},
				doing: "Stopping", done: "Stopped",
				none: "no running container to stop",
			})
		},
	}
	cmd.Flags().IntVarP(&timeout, "timeout", "t", 10, "seconds to wait for a container to stop before killing it (default: the service's stop_grace_period)")
	return cmd
}
