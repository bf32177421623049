package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/stackhq/stack/reconcile"
)

func newStopCmd() *cobra.Command {
	var timeout int
	cmd := newActionCmd("stop [SERVICE...]", "Stop the stack's running containers, in reverse dependency order",
		`Stop the running containers of the services (all when none are named): the stop
signal, then SIGKILL after the grace period. A service stops after every service that
depends on it; the rest stop in parallel. The containers are kept: start runs them again.`,
		func(cmd *cobra.Command, s *stackSession, _ *selection) containerAction {
			t := durationFlag(cmd, "timeout", timeout)
			return containerAction{
				order:   reverseDependency,
				applies: reconcile.ObservedContainer.Running,
				do: func(ctx context.Context, c reconcile.ObservedContainer) error {
					return s.engine.Containers.Stop(ctx, c.ID, t)
				},
				doing: "Stopping", done: "Stopped",
				none: "no running container to stop",
			}
		})
	cmd.Flags().IntVarP(&timeout, "timeout", "t", 10, "seconds to wait for a container to stop before killing it (default: the service's stop_grace_period)")
	return cmd
}
