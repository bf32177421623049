package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/stackhq/stack/reconcile"
)

func newStartCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "start [SERVICE...]",
		Short: "Start the stack's stopped containers, in dependency order",
		Long: `Start the existing containers of the services (all when none are named) that are not
running. A service starts once the services it depends on meet their depends_on condition
(started, healthy, completed successfully), as with up; services that do not depend on
each other start in parallel. start creates nothing: use up for that.`,
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
			h := s.host()
			return sel.run(cmd, containerAction{
				order:   dependencyOrder,
				applies: func(c reconcile.ObservedContainer) bool { return !c.Running() },
				before: func(ctx context.Context, svc *reconcile.DesiredService) error {
					return sel.waitDependencies(ctx, h, svc)
				},
				do: func(ctx context.Context, c reconcile.ObservedContainer) error {
					if err := s.engine.Containers.Start(ctx, c.ID); err != nil {
						return startFailure(err)
					}
					return nil
				},
				needContainers: true,
				doing:          "Starting", done: "Started",
				none: "no stopped container to start",
			})
		},
	}
}
