package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stackhq/stack/reconcile"
	"github.com/stackhq/stack/runtime"
)

func newKillCmd() *cobra.Command {
	var signal string
	cmd := &cobra.Command{
		Use:   "kill [SERVICE...]",
		Short: "Send a signal (default SIGKILL) to the main process of the stack's running containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			sig, err := runtime.ParseSignal(signal)
			if err != nil {
				return fmt.Errorf("--signal: %w", err)
			}
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
				applies: reconcile.ObservedContainer.Running,
				do: func(ctx context.Context, c reconcile.ObservedContainer) error {
					return s.engine.Containers.Kill(ctx, c.ID, sig)
				},
				doing: "Killing", done: "Killed",
				none: "no running container to kill",
			})
		},
	}
	cmd.Flags().StringVarP(&signal, "signal", "s", "SIGKILL", "signal to send: name (SIGTERM, TERM) or number")
	return cmd
}
