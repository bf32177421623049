package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/stackhq/stack/reconcile"
)

func newRestartCmd() *cobra.Command {
	var timeout int
	var noDeps bool
	cmd := &cobra.Command{
		Use:   "restart [SERVICE...]",
		Short: "Restart the stack's containers (stopped ones are started), in dependency order",
		Long: `Stop and start again every container of the services (all when none are named).
A service restarts once the services it depends on are back and meet their depends_on
condition. The containers keep their configuration: after editing the stack file, use up.`,
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
			h := s.host()
			a := containerAction{
				order:   dependencyOrder,
				applies: func(reconcile.ObservedContainer) bool { return true },
				before: func(ctx context.Context, svc *reconcile.DesiredService) error {
					return sel.waitDependencies(ctx, h, svc)
				},
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
			return sel.run(cmd, a)
		},
	}
	cmd.Flags().IntVarP(&timeout, "timeout", "t", 10, "seconds to wait for a container to stop before killing it (default: the service's stop_grace_period)")
	cmd.Flags().BoolVar(&noDeps, "no-deps", false, "do not order by or wait for dependencies: restart everything at once")
	return cmd
}
