package reconcile

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// Walk calls fn once for every service of d, concurrently where the depends_on graph
// allows. In dependency order (`stack start`, `restart`) a service waits until every
// service it depends on is done; with reverse (`stack stop`) a service waits until every
// service that depends on it is done, so nothing loses a dependency while it still runs.
//
// Failures: in dependency order, a service whose required dependency failed is not
// attempted (its error wraps ErrDependencyFailed) and the rest go on; in reverse order a
// failure holds nothing back, because stopping a dependency whose dependent failed to stop
// is still what the user asked for. Every failure is returned, joined.
//
// Dependencies on services that are not in d (not selected) are ignored. One goroutine per
// service; none waits on one that waits on it, since checkGraph rejects cycles first.
func Walk(ctx context.Context, d *Desired, reverse bool, fn func(ctx context.Context, s *DesiredService) error) error {
	// Cycles are checked on the graph of the selected services only.
	present := map[string]bool{}
	for _, s := range d.Services {
		present[s.Name] = true
	}
	selected := &Desired{Project: d.Project}
	for _, s := range d.Services {
		ns := &DesiredService{Name: s.Name}
		for _, dep := range s.DependsOn {
			if present[dep.Service] {
				ns.DependsOn = append(ns.DependsOn, dep)
			}
		}
		selected.Services = append(selected.Services, ns)
	}
	if err := checkGraph(selected); err != nil {
		return err
	}
	type result struct {
		done chan struct{}
		err  error // written before done is closed, read after
	}
	results := make(map[string]*result, len(d.Services))
	for _, s := range d.Services {
		results[s.Name] = &result{done: make(chan struct{})}
	}
	waitOn := map[string][]Dependency{}
	for _, s := range d.Services {
		for _, dep := range s.DependsOn {
			if results[dep.Service] == nil {
				continue
			}
			if reverse {
				waitOn[dep.Service] = append(waitOn[dep.Service], Dependency{Service: s.Name})
			} else {
				waitOn[s.Name] = append(waitOn[s.Name], dep)
			}
		}
	}
	var g errgroup.Group
	for _, s := range d.Services {
		r := results[s.Name]
		g.Go(func() error {
			defer close(r.done)
			for _, w := range waitOn[s.Name] {
				other := results[w.Service]
				select {
				case <-other.done:
				case <-ctx.Done():
					r.err = fmt.Errorf("service %s: %w", s.Name, ctx.Err())
					return nil
				}
				if !reverse && w.Required && other.err != nil {
					r.err = fmt.Errorf("%w: service %s needs %s, which failed", ErrDependencyFailed, s.Name, w.Service)
					return nil
				}
			}
			r.err = fn(ctx, s)
			return nil
		})
	}
	_ = g.Wait()
	var errs []error
	for _, s := range d.Services {
		errs = append(errs, results[s.Name].err)
	}
	return errors.Join(errs...)
}
