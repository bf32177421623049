package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/stackhq/stack/reconcile"
)

// planOptions are the flags shared by up and diff: what to plan.
type planOptions struct {
	forceRecreate bool
	noRecreate    bool
	noDeps        bool
	build         bool
	pull          string
	removeOrphans bool
	scale         []string
}

func (o *planOptions) bind(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&o.forceRecreate, "force-recreate", false, "recreate containers even if nothing changed")
	f.BoolVar(&o.noRecreate, "no-recreate", false, "keep existing containers even if their configuration changed")
	f.BoolVar(&o.noDeps, "no-deps", false, "do not start the services the named ones depend on")
	f.BoolVar(&o.build, "build", false, "build images before starting containers")
	f.StringVar(&o.pull, "pull", "missing", "pull images: always, missing or never")
	f.BoolVar(&o.removeOrphans, "remove-orphans", false, "remove containers of services not in the stack file")
	f.StringArrayVar(&o.scale, "scale", nil, "SERVICE=N: run N replicas of a service (overrides the file)")
}

// options validates the flags into the reconciler's options.
func (o *planOptions) options() (reconcile.Options, error) {
	opts := reconcile.Options{ForceRecreate: o.forceRecreate, NoRecreate: o.noRecreate, RemoveOrphans: o.removeOrphans,
		Build: o.build, Pull: reconcile.PullPolicy(o.pull), Scale: map[string]int{}}
	if o.forceRecreate && o.noRecreate {
		return opts, fmt.Errorf("--force-recreate and --no-recreate exclude each other")
	}
	switch opts.Pull {
	case reconcile.PullAlways, reconcile.PullMissing, reconcile.PullNever:
	default:
		return opts, fmt.Errorf("--pull %q: want always, missing or never", o.pull)
	}
	for _, s := range o.scale {
		name, n, ok := strings.Cut(s, "=")
		count, err := strconv.Atoi(n)
		if !ok || name == "" || err != nil || count < 0 {
			return opts, fmt.Errorf("--scale %q: want SERVICE=N with N ≥ 0", s)
		}
		opts.Scale[name] = count
	}
	return opts, nil
}

// plan opens the stack, observes it and plans `up` for the named services.
func (o *planOptions) plan(cmd *cobra.Command, services []string, lock bool) (*stackSession, *reconcile.Plan, error) {
	opts, err := o.options()
	if err != nil {
		return nil, nil, err
	}
	s, err := openStack(cmd, services, lock)
	if err != nil {
		return nil, nil, err
	}
	for name := range opts.Scale {
		if s.project.Service(name) == nil {
			s.close()
			return nil, nil, fmt.Errorf("--scale %s: %w: no such service: %s", name, reconcile.ErrUnknownService, name)
		}
	}
	desired, observed, err := s.observe(services, o.noDeps)
	if err == nil {
		var p *reconcile.Plan
		if p, err = reconcile.PlanUp(desired, observed, opts); err == nil {
			return s, p, nil
		}
	}
	s.close()
	return nil, nil, err
}

type upOptions struct {
	planOptions
	detach      bool
	wait        bool
	waitTimeout int
	timeout     int
	dryRun      bool
	progress    string
	noColor     bool
}

func newUpCmd() *cobra.Command {
	o := &upOptions{}
	cmd := &cobra.Command{
		Use:   "up [SERVICE...]",
		Short: "Create and start the stack's containers, changing only what differs from the file",
		Long: `Observe what runs, plan the difference with the stack file and apply it: networks and
volumes first, images pulled or built, then services in dependency order, in parallel
where the graph allows. Running up again with nothing changed touches nothing.

Attached (without -d), the services' logs are followed with a "service-N |" prefix and
Ctrl-C stops the stack.`,
		RunE: func(cmd *cobra.Command, args []string) error { return runUp(cmd, o, args) },
	}
	o.planOptions.bind(cmd)
	f := cmd.Flags()
	f.BoolVarP(&o.detach, "detach", "d", false, "start the containers and return")
	f.BoolVar(&o.wait, "wait", false, "wait until every service is running and healthy (implies -d)")
	f.IntVar(&o.waitTimeout, "wait-timeout", 0, "give up waiting after this many seconds (0: no limit)")
	f.IntVarP(&o.timeout, "timeout", "t", 10, "seconds to wait for a container to stop before killing it (recreate, Ctrl-C)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the plan and do nothing (as stack diff)")
	f.StringVar(&o.progress, "progress", "auto", "progress output: auto, tty, plain or quiet")
	f.BoolVar(&o.noColor, "no-color", false, "attached logs without colours")
	return cmd
}

func runUp(cmd *cobra.Command, o *upOptions, services []string) error {
	if o.dryRun {
		return runDiff(cmd, &diffOptions{planOptions: o.planOptions, format: "text"}, services)
	}
	s, p, err := o.plan(cmd, services, true)
	if err != nil {
		return err
	}
	defer s.close()
	if o.progress != "quiet" {
		s.buildOutput = cmd.ErrOrStderr()
	}
	ctx := cmd.Context()
	if o.wait && o.waitTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(o.waitTimeout)*time.Second)
		defer cancel()
	}
	err = applyPlan(ctx, cmd, s.host(), p, o.progress, reconcile.ApplyOptions{
		StopTimeout: durationFlag(cmd, "timeout", o.timeout), Wait: o.wait,
	})
	if err != nil || o.detach || o.wait {
		return err
	}
	// Attached: the lock is released so that `stack ps` or `stack down` from another
	// terminal are not blocked while the logs are followed.
	s.close()
	return followStack(cmd, s, services, o)
}

// followStack prints the logs of the stack's containers until they all exit or the user
// presses Ctrl-C, which stops them (a second Ctrl-C kills them).
func followStack(cmd *cobra.Command, s *stackSession, services []string, o *upOptions) error {
	_, observed, err := s.observe(services, o.noDeps)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	done := make(chan error, 1)
	go func() {
		done <- followLogs(ctx, cmd, s, observed.Containers, logsOptions{follow: true, tail: -1, noColor: o.noColor})
	}()
	select {
	case err := <-done:
		return err
	case <-sigs:
	}
	fmt.Fprintln(cmd.ErrOrStderr(), "Gracefully stopping... (press Ctrl+C again to force)")
	go func() {
		<-sigs
		for _, c := range observed.Containers {
			_ = s.engine.Containers.Kill(context.Background(), c.ID, syscall.SIGKILL)
		}
	}()
	timeout := time.Duration(o.timeout) * time.Second
	errs := make([]error, len(observed.Containers))
	var wg sync.WaitGroup
	for i, c := range observed.Containers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.engine.Containers.Stop(context.Background(), c.ID, &timeout)
		}()
	}
	wg.Wait()
	cancel()
	<-done
	return errors.Join(errs...)
}

type diffOptions struct {
	planOptions
	format string
}

func newDiffCmd() *cobra.Command {
	o := &diffOptions{}
	cmd := &cobra.Command{
		Use:     "diff [SERVICE...]",
		Aliases: []string{"plan"},
		Short:   "Print what up would change, and change nothing (exit 0: nothing, 2: changes, 1: error)",
		Long: `Plan up against what runs and print the plan. diff never takes an action: it has no
driver to act with, only the planner, which is a pure function of the stack file and the
observed state. Exit status: 0 when up would change nothing, 2 when it would, 1 on error,
so CI can gate on it.`,
		RunE: func(cmd *cobra.Command, args []string) error { return runDiff(cmd, o, args) },
	}
	o.planOptions.bind(cmd)
	cmd.Flags().StringVar(&o.format, "format", "text", "output: text or json")
	return cmd
}

func runDiff(cmd *cobra.Command, o *diffOptions, services []string) error {
	if o.format != "text" && o.format != "json" {
		return fmt.Errorf("--format %q: want text or json", o.format)
	}
	s, p, err := o.plan(cmd, services, false)
	if err != nil {
		return err
	}
	defer s.close()
	out := cmd.OutOrStdout()
	if o.format == "json" {
		if err := writeJSON(out, p); err != nil {
			return err
		}
	} else {
		fmt.Fprint(out, p.String())
	}
	if !p.Empty() {
		return &exitError{code: 2}
	}
	return nil
}
