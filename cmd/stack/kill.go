package main

import (
	"context"
	"fmt"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/stackhq/stack/reconcile"
	"github.com/stackhq/stack/runtime"
)

func newKillCmd() *cobra.Command {
	var signal string
	var sig syscall.Signal
	cmd := newActionCmd("kill [SERVICE...]", "Send a signal (default SIGKILL) to the main process of the stack's running containers", "",
		func(_ *cobra.Command, s *stackSession, _ *selection) containerAction {
			return containerAction{
				order:   inParallel,
				applies: reconcile.ObservedContainer.Running,
				do: func(ctx context.Context, c reconcile.ObservedContainer) error {
					return s.engine.Containers.Kill(ctx, c.ID, sig)
				},
				doing: "Killing", done: "Killed",
				none: "no running container to kill",
			}
		})
	cmd.PreRunE = func(*cobra.Command, []string) error {
		var err error
		if sig, err = runtime.ParseSignal(signal); err != nil {
			return fmt.Errorf("--signal: %w", err)
		}
		return nil
	}
	cmd.Flags().StringVarP(&signal, "signal", "s", "SIGKILL", "signal to send: name (SIGTERM, TERM) or number")
	return cmd
}
