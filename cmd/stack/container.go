package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stackhq/stack/engine"
	"github.com/stackhq/stack/runtime"
)

// newContainerCmd groups the docker-style container verbs; they work on every container of
// the store, including those `stack up` made. Only the verb args name is built (see
// newRootCmdFor).
func newContainerCmd(args []string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "container",
		Short: "Manage containers (run, ps, logs, exec, stop, rm, ...)",
	}
	addVerbs(cmd, containerVerbs, args)
	return cmd
}

// containerVerbs are the commands of `container`, in the order they are added.
var containerVerbs = []verb{
	{names: []string{"run"}, build: leaf(newContainerRunCmd)},
	{names: []string{"create"}, build: leaf(newContainerCreateCmd)},
	{names: []string{"start"}, build: leaf(newContainerStartCmd)},
	{names: []string{"stop"}, build: leaf(newContainerStopCmd)},
	{names: []string{"restart"}, build: leaf(newContainerRestartCmd)},
	{names: []string{"kill"}, build: leaf(newContainerKillCmd)},
	{names: []string{"pause"}, build: leaf(newContainerPauseCmd)},
	{names: []string{"unpause"}, build: leaf(newContainerUnpauseCmd)},
	{names: []string{"rm", "remove"}, build: leaf(newContainerRmCmd)},
	{names: []string{"exec"}, build: leaf(newContainerExecCmd)},
	{names: []string{"attach"}, build: leaf(newContainerAttachCmd)},
	{names: []string{"logs"}, build: leaf(newContainerLogsCmd)},
	{names: []string{"ls", "ps", "list"}, build: leaf(newContainerLsCmd)},
	{names: []string{"inspect"}, build: leaf(newContainerInspectCmd)},
	{names: []string{"wait"}, build: leaf(newContainerWaitCmd)},
	{names: []string{"top"}, build: leaf(newContainerTopCmd)},
	{names: []string{"stats"}, build: leaf(newContainerStatsCmd)},
	{names: []string{"port"}, build: leaf(newContainerPortCmd)},
}

// openRuntime opens the container runtime on the global store root.
func openRuntime() (*runtime.Manager, error) {
	e, err := openEngine()
	if err != nil {
		return nil, err
	}
	return e.Containers, nil
}

// openEngine opens the stores of the root (--root), wired together.
func openEngine() (*engine.Engine, error) { return engine.Open(global.root) }

// startFailure turns a failed start into the exit code Docker uses (125, 126, 127) with a
// hint.
func startFailure(err error) error {
	msg := err
	switch {
	case errors.Is(err, runtime.ErrExecNotFound):
		msg = fmt.Errorf("%w (check the command and the image's PATH)", err)
	case errors.Is(err, runtime.ErrImage):
		msg = fmt.Errorf("%w (pull, import or build the image first)", err)
	case errors.Is(err, runtime.ErrNameInUse):
		return &exitError{code: 125, err: err}
	}
	return &exitError{code: runtime.ExitCode(err), err: msg}
}

// forEach runs fn on every named container, prints each name that succeeded, and reports
// all failures at once (docker's behaviour for stop, rm, kill, ...).
func forEach(cmd *cobra.Command, names []string, fn func(name string) error) error {
	var errs []error
	for _, n := range names {
		if err := fn(n); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(cmd.OutOrStdout(), n)
	}
	return errors.Join(errs...)
}

// sweepEngine drops what containers that no longer exist left in the network and volume
// stores, so that "in use" means used by a container that exists (rm and prune run it first).
func sweepEngine(ctx context.Context) error {
	e, err := openEngine()
	if err != nil {
		return err
	}
	return e.Sweep(ctx)
}
