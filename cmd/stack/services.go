package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/stackhq/stack/reconcile"
)

// selection is what the container verbs of a stack (start, stop, kill, rm, ...) act on: the
// named services, or all of them, with their depends_on kept for ordering (dependencies
// that are not selected are not acted on), and their containers found by label. One-offs
// of `stack run` are not part of it.
type selection struct {
	desired    *reconcile.Desired
	containers map[string][]reconcile.ObservedContainer // by service, by replica number
	named      bool                                     // services were named on the command line
}

// selectServices reads the project's containers and narrows them to the named services. A
// name that is not a service of the stack is an error that lists the services there are.
func (s *stackSession) selectServices(names []string) (*selection, error) {
	d := reconcile.DesiredFrom(s.project, func(string) string { return "" })
	observed, err := reconcile.Observe(s.engine, s.project.Name)
	if err != nil {
		return nil, err
	}
	sel := &selection{desired: d, containers: map[string][]reconcile.ObservedContainer{}, named: len(names) > 0}
	if len(names) > 0 {
		want := map[string]bool{}
		for _, n := range names {
			if s.project.Service(n) == nil {
				return nil, fmt.Errorf("%w: no such service: %s (the stack has: %s)", reconcile.ErrUnknownService, n, strings.Join(s.project.ServiceNames(), ", "))
			}
			want[n] = true
		}
		var keep []*reconcile.DesiredService
		for _, ds := range d.Services {
			if want[ds.Name] {
				keep = append(keep, ds)
			}
		}
		d.Services = keep
	}
	for _, c := range observed.Containers {
		sel.containers[c.Service] = append(sel.containers[c.Service], c)
	}
	for _, cs := range sel.containers {
		sort.Slice(cs, func(i, j int) bool { return cs[i].Number < cs[j].Number })
	}
	return sel, nil
}

// openSelection opens the stack (locked when lock is set, for verbs that change state) and
// selects the named services.
func openSelection(cmd *cobra.Command, services []string, lock bool) (*stackSession, *selection, error) {
	s, err := openStack(cmd, services, lock)
	if err != nil {
		return nil, nil, err
	}
	sel, err := s.selectServices(services)
	if err != nil {
		s.close()
		return nil, nil, err
	}
	return s, sel, nil
}

// newActionCmd is a stack verb that applies one containerAction to the containers of the
// named services (all when none are named), with the project locked.
func newActionCmd(use, short, long string, action func(cmd *cobra.Command, s *stackSession, sel *selection) containerAction) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Long: long,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, sel, err := openSelection(cmd, args, true)
			if err != nil {
				return err
			}
			defer s.close()
			return sel.run(cmd, action(cmd, s, sel))
		},
	}
}

// byID adapts a runtime operation on a container ID to containerAction.do.
func byID(f func(ctx context.Context, id string) error) func(context.Context, reconcile.ObservedContainer) error {
	return func(ctx context.Context, c reconcile.ObservedContainer) error { return f(ctx, c.ID) }
}

// order says how containerAction walks the services.
type order int

const (
	inParallel        order = iota // every container at once (kill, pause, rm)
	dependencyOrder                // a service after those it depends on (start, restart)
	reverseDependency              // a service after those that depend on it (stop)
)

// containerAction is one verb applied to containers: which ones it applies to, what it does
// to one, and the words of its progress events ("Stopping", "Stopped").
type containerAction struct {
	order   order
	applies func(c reconcile.ObservedContainer) bool
	do      func(ctx context.Context, c reconcile.ObservedContainer) error
	doing   string
	done    string
	none    string // the note when nothing applies: "no running container to stop"
	// needContainers makes a selection without any container an error (start, restart:
	// the user must create them with up first).
	needContainers bool
	// before, when set, runs once per service before its containers are acted on.
	before func(ctx context.Context, s *reconcile.DesiredService) error
}

// run applies a to the selected containers, replicas of one service in parallel, services
// in a's order, with compose's progress lines on standard error. Every failure is reported;
// each names its container and service.
func (sel *selection) run(cmd *cobra.Command, a containerAction) error {
	exist, count := 0, 0
	for _, s := range sel.desired.Services {
		for _, c := range sel.containers[s.Name] {
			exist++
			if a.applies(c) {
				count++
			}
		}
	}
	switch {
	case exist == 0 && a.needContainers:
		return fmt.Errorf("no containers for the services of project %s (create them with `stack up -d`)", sel.desired.Project)
	case count == 0:
		// Nothing to do is success: stop, kill and rm are idempotent.
		fmt.Fprintln(cmd.ErrOrStderr(), a.none)
		return nil
	}
	sink, stop, err := newProgress(cmd.ErrOrStderr(), "auto")
	if err != nil {
		return err
	}
	defer stop()
	d := sel.desired
	if a.order == inParallel {
		d = &reconcile.Desired{Project: d.Project}
		for _, s := range sel.desired.Services {
			d.Services = append(d.Services, &reconcile.DesiredService{Name: s.Name})
		}
	}
	event := func(c reconcile.ObservedContainer, status string, err error, start time.Time) {
		sink(reconcile.Event{Resource: fmt.Sprintf("service:%s:%d", c.Service, c.Number), Name: c.Name, Status: status, Err: err, Elapsed: time.Since(start)})
	}
	return reconcile.Walk(cmd.Context(), d, a.order == reverseDependency, func(ctx context.Context, s *reconcile.DesiredService) error {
		var todo []reconcile.ObservedContainer
		for _, c := range sel.containers[s.Name] {
			if a.applies(c) {
				todo = append(todo, c)
			}
		}
		if len(todo) == 0 {
			return nil
		}
		if a.before != nil {
			if err := a.before(ctx, s); err != nil {
				return err
			}
		}
		var g errgroup.Group
		errs := make([]error, len(todo))
		for i, c := range todo {
			g.Go(func() error {
				start := time.Now()
				event(c, a.doing, nil, start)
				if err := a.do(ctx, c); err != nil {
					errs[i] = fmt.Errorf("service %s: %s: %w", s.Name, c.Name, err)
					event(c, "Error", errs[i], start)
					return nil
				}
				event(c, a.done, nil, start)
				return nil
			})
		}
		_ = g.Wait()
		return errors.Join(errs...)
	})
}

// dependenciesReady is containerAction.before for start and restart: waitDependencies.
func (sel *selection) dependenciesReady(h *reconcile.Host) func(context.Context, *reconcile.DesiredService) error {
	return func(ctx context.Context, s *reconcile.DesiredService) error { return sel.waitDependencies(ctx, h, s) }
}

// waitDependencies blocks until the containers of the selected services s depends on meet
// the depends_on condition (started, healthy, completed successfully), as `up` waits.
func (sel *selection) waitDependencies(ctx context.Context, h *reconcile.Host, s *reconcile.DesiredService) error {
	for _, dep := range s.DependsOn {
		for _, c := range sel.containers[dep.Service] {
			if err := h.Wait(ctx, c.ID, dep.Condition); err != nil && dep.Required {
				return fmt.Errorf("%w: service %s needs %s (%s): %v", reconcile.ErrDependencyFailed, s.Name, dep.Service, dep.Condition, err)
			}
		}
	}
	return nil
}

// serviceContainer returns replica index of service (exec, port: --index), or an error
// that says what the user can do about it.
func (s *stackSession) serviceContainer(service string, index int) (reconcile.ObservedContainer, error) {
	if s.project.Service(service) == nil {
		return reconcile.ObservedContainer{}, fmt.Errorf("%w: no such service: %s (the stack has: %s)", reconcile.ErrUnknownService, service, strings.Join(s.project.ServiceNames(), ", "))
	}
	observed, err := reconcile.Observe(s.engine, s.project.Name)
	if err != nil {
		return reconcile.ObservedContainer{}, err
	}
	n := 0
	for _, c := range observed.Containers {
		if c.Service != service {
			continue
		}
		n++
		if c.Number == index {
			return c, nil
		}
	}
	if n == 0 {
		return reconcile.ObservedContainer{}, fmt.Errorf("service %s has no container (start it with `stack up -d %s`)", service, service)
	}
	return reconcile.ObservedContainer{}, fmt.Errorf("--index %d: service %s has no replica %d (it has %d)", index, service, index, n)
}

// runningServiceContainer is serviceContainer for the verbs that need its process (exec,
// attach): a stopped container is an error that says how to start it.
func (s *stackSession) runningServiceContainer(service string, index int) (reconcile.ObservedContainer, error) {
	c, err := s.serviceContainer(service, index)
	if err == nil && !c.Running() {
		err = fmt.Errorf("service %s: container %s is %s (start it with `stack start %s`)", service, c.Name, c.State, service)
	}
	return c, err
}
