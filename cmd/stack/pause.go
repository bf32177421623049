package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/stackhq/stack/reconcile"
	"github.com/stackhq/stack/runtime"
)

func newPauseCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "pause [SERVICE...]",
		Short: "Freeze every process of the stack's running containers",
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
			return sel.run(cmd, containerAction{
				order:   inParallel,
				applies: func(c reconcile.ObservedContainer) bool { return c.State == runtime.StatusRunning },
				do: func(ctx context.Context, c reconcile.ObservedContainer) error {
					return s.engine.Containers.Pause(ctx, c.ID)
				},
				doing: "Pausing", done: "Paused",
				none: "no running container to pause",
			})
		},
	}
}
