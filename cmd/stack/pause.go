package main

import (
	"github.com/spf13/cobra"

	"github.com/stackhq/stack/reconcile"
	"github.com/stackhq/stack/runtime"
)

func newPauseCmd() *cobra.Command { return newFreezeCmd(true) }

func newUnpauseCmd() *cobra.Command { return newFreezeCmd(false) }

// newFreezeCmd is pause (freeze every process of the running containers) or unpause (thaw
// the paused ones): one verb and its mirror image.
func newFreezeCmd(pause bool) *cobra.Command {
	verb, from, doing, done := "unpause", runtime.StatusPaused, "Unpausing", "Unpaused"
	short := "Thaw the stack's paused containers"
	if pause {
		verb, from, doing, done = "pause", runtime.StatusRunning, "Pausing", "Paused"
		short = "Freeze every process of the stack's running containers"
	}
	return newActionCmd(verb+" [SERVICE...]", short, "", func(_ *cobra.Command, s *stackSession, _ *selection) containerAction {
		do := s.engine.Containers.Unpause
		if pause {
			do = s.engine.Containers.Pause
		}
		return containerAction{
			order:   inParallel,
			applies: func(c reconcile.ObservedContainer) bool { return c.State == from },
			do:      byID(do),
			doing:   doing, done: done,
			none: "no " + from + " container to " + verb,
		}
	})
}
