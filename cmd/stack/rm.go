package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stackhq/stack/reconcile"
	"github.com/stackhq/stack/runtime"
)

type rmOptions struct {
	force   bool
	stop    bool
	volumes bool
}

func newRmCmd() *cobra.Command {
	o := &rmOptions{}
	cmd := newActionCmd("rm [SERVICE...]", "Remove the stack's stopped containers (running ones too with -s or -f)",
		`Remove the stopped containers of the services (all when none are named). Running
containers are left alone unless -s stops them first (gracefully) or -f kills them. rm
never asks for confirmation. Named volumes stay; -v removes the anonymous ones.`,
		func(cmd *cobra.Command, s *stackSession, sel *selection) containerAction {
			if !o.force && !o.stop {
				for _, svc := range sel.desired.Services {
					for _, c := range sel.containers[svc.Name] {
						if c.Running() {
							fmt.Fprintf(cmd.ErrOrStderr(), "note: %s is running and is kept (-s stops it first)\n", c.Name)
						}
					}
				}
			}
			return containerAction{
				order:   inParallel,
				applies: func(c reconcile.ObservedContainer) bool { return o.force || o.stop || !c.Running() },
				do: func(ctx context.Context, c reconcile.ObservedContainer) error {
					if o.stop && c.Running() {
						if err := s.engine.Containers.Stop(ctx, c.ID, nil); err != nil {
							return err
						}
					}
					return s.engine.Remove(ctx, c.ID, runtime.RemoveOptions{Force: o.force, Volumes: o.volumes})
				},
				doing: "Removing", done: "Removed",
				none: "no stopped container to remove",
			}
		})
	cmd.Aliases = []string{"remove"}
	f := cmd.Flags()
	f.BoolVarP(&o.force, "force", "f", false, "also remove running containers (killed at once); the stack file is then --file")
	f.BoolVarP(&o.stop, "stop", "s", false, "stop running containers first (the stop signal, then SIGKILL after their grace period)")
	f.BoolVarP(&o.volumes, "volumes", "v", false, "remove the containers' anonymous volumes")
	return cmd
}
