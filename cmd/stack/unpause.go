package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/stackhq/stack/reconcile"
	"github.com/stackhq/stack/runtime"
)

func newUnpauseCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "unpause [SERVICE...]",
		Short: "Thaw the stack's paused containers",
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
				applies: func(c reconcile.ObservedContainer) bool { return c.State == runtime.StatusPaused },
				do: func(ctx context.Context, c reconcile.ObservedContainer) error {
					return s.engine.Containers.Unpause(ctx, c.ID)
				},
				doing: "Unpausing", done: "Unpaused",
				none: "no paused container to unpause",
			})
		},
	}
}
