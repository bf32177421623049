package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/stackhq/stack/reconcile"
)

func newStartCmd() *cobra.Command {
	return newActionCmd("start [SERVICE...]", "Start the stack's stopped containers, in dependency order",
		`Start the existing containers of the services (all when none are named) that are not
running. A service starts once the services it depends on meet their depends_on condition
(started, healthy, completed successfully), as with up; services that do not depend on
each other start in parallel. start creates nothing: use up for that.`,
		func(_ *cobra.Command, s *stackSession, sel *selection) containerAction {
			return containerAction{
				order:   dependencyOrder,
				applies: func(c reconcile.ObservedContainer) bool { return !c.Running() },
				before:  sel.dependenciesReady(s.host()),
				do: func(ctx context.Context, c reconcile.ObservedContainer) error {
					if err := s.engine.Containers.Start(ctx, c.ID); err != nil {
						return startFailure(err)
					}
					return nil
				},
				needContainers: true,
				doing:          "Starting", done: "Started",
				none: "no stopped container to start",
			}
		})
}
