package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/stackhq/stack/reconcile"
)

func newRestartCmd() *cobra.Command {
	var timeout int
	var noDeps bool
	cmd := newActionCmd("restart [SERVICE...]", "Restart the stack's containers (stopped ones are started), in dependency order",
		`Stop and start again every container of the services (all when none are named).
A service restarts once the services it depends on are back and meet their depends_on
condition. The containers keep their configuration: after editing the stack file, use up.`,
		func(cmd *cobra.Command, s *stackSession, sel *selection) containerAction {
			t := durationFlag(cmd, "timeout", timeout)
			a := containerAction{
				order:   dependencyOrder,
				applies: func(reconcile.ObservedContainer) bool { return true },
				before:  sel.dependenciesReady(s.host()),
				do: func(ctx context.Context, c reconcile.ObservedContainer) error {
					if err := s.engine.Containers.Restart(ctx, c.ID, t); err != nil {
						return startFailure(err)
					}
					return nil
				},
				needContainers: true,
				doing:          "Restarting", done: "Started",
				none: "no container to restart",
			}
			if noDeps {
				a.order, a.before = inParallel, nil
			}
			return a
		})
	cmd.Flags().IntVarP(&timeout, "timeout", "t", 10, "seconds to wait for a container to stop before killing it (default: the service's stop_grace_period)")
	cmd.Flags().BoolVar(&noDeps, "no-deps", false, "do not order by or wait for dependencies: restart everything at once")
	return cmd
}
