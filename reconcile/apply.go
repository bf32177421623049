package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// Driver is what Apply needs from the runtime, the network and volume managers and the
// image store. It is declared here, by its consumer, and kept to the operations a plan has;
// the CLI passes the real implementation, the tests an in-memory one.
type Driver interface {
	CreateNetwork(ctx context.Context, name string) error
	RemoveNetwork(ctx context.Context, name string) error
	CreateVolume(ctx context.Context, name string) error
	RemoveVolume(ctx context.Context, name string) error
	Pull(ctx context.Context, ref string) error
	Build(ctx context.Context, service string) error
	RemoveImage(ctx context.Context, ref string) error
	// CreateContainer creates (does not start) replica number of service under name.
	CreateContainer(ctx context.Context, service string, number int, name string) (id string, err error)
	RenameContainer(ctx context.Context, id, name string) error
	StartContainer(ctx context.Context, id string) error
	StopContainer(ctx context.Context, id string, timeout *time.Duration) error
	RemoveContainer(ctx context.Context, id string) error
	// Wait returns when the container meets cond: started (at once), healthy, or exited
	// with code 0. It fails when the condition can no longer be met (unhealthy, exited
	// non-zero, removed) or ctx ends.
	Wait(ctx context.Context, id string, cond Condition) error
	// ContainerName is the name replica number of service runs under.
	ContainerName(service string, number int) string
	// ImageID is the ID of the image the store has for ref now, "" when it has none.
	ImageID(ref string) string
}

// Event reports progress of one resource to the CLI, which renders it as compose does.
type Event struct {
	Resource string // "service:web:1", "network:demo_default"
	Name     string // what the user sees: container, network or volume name
	Status   string // "Creating", "Created", "Starting", "Started", "Healthy", "Removed", "Error", ...
	Err      error
	Elapsed  time.Duration
}

// ApplyOptions are the flags of up and down that change how a plan is carried out.
type ApplyOptions struct {
	StopTimeout *time.Duration // -t
	// Wait makes Apply return only when every service is running (and healthy where it has
	// a healthcheck), or has completed successfully when a dependent waits for that.
	Wait bool
	// Progress receives one event per state change; it must be safe for concurrent use.
	Progress func(Event)
	// Parallel bounds concurrent pulls and builds (default 4).
	Parallel int
}

// Apply carries out the plan. Everything that can run in parallel does: networks, volumes
// and images first; then each service as soon as its dependencies meet their condition;
// removals of scaled-down replicas and orphans at once. A failure stops what depends on it,
// lets the rest finish, and every failure is returned (joined).
//
// The graph is walked with one goroutine per node; a node waits on its prerequisites' done
// channels. No node ever waits on one that waits on it: Plan rejected cycles.
func Apply(ctx context.Context, d Driver, p *Plan, opts ApplyOptions) error {
	ex := newExecutor(d, p, opts)
	if p.down {
		return ex.runDown(ctx)
	}
	return ex.runUp(ctx)
}

// node is one unit of work in the graph; done closes when it ended, err says how.
type node struct {
	done chan struct{}
	err  error
	// containers are the IDs of the service's replicas once the node is done, for
	// dependents' conditions.
	containers []string
}

type executor struct {
	d     Driver
	p     *Plan
	opts  ApplyOptions
	mu    sync.Mutex
	nodes map[string]*node // by resource name; services as "service:NAME"
	pulls chan struct{}    // semaphore for pulls and builds
	errs  []error
}

func newExecutor(d Driver, p *Plan, opts ApplyOptions) *executor {
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	if opts.Progress == nil {
		opts.Progress = func(Event) {}
	}
	return &executor{d: d, p: p, opts: opts, nodes: map[string]*node{}, pulls: make(chan struct{}, opts.Parallel)}
}

func (ex *executor) node(key string) *node {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	n := ex.nodes[key]
	if n == nil {
		n = &node{done: make(chan struct{})}
		ex.nodes[key] = n
	}
	return n
}

// finish records a node's result and wakes everything waiting on it.
func (ex *executor) finish(n *node, err error) {
	n.err = err
	if err != nil {
		ex.mu.Lock()
		ex.errs = append(ex.errs, err)
		ex.mu.Unlock()
	}
	close(n.done)
}

// waitFor blocks until every node in keys is done; the first failure among them is returned.
func (ex *executor) waitFor(ctx context.Context, keys []string) error {
	for _, k := range keys {
		n := ex.node(k)
		select {
		case <-n.done:
			if n.err != nil {
				// The failure itself is reported once, by its own node.
				return fmt.Errorf("%w: %s failed", ErrDependencyFailed, strings.TrimPrefix(k, "image:"))
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (ex *executor) event(resource, name, status string, err error, start time.Time) {
	ex.opts.Progress(Event{Resource: resource, Name: name, Status: status, Err: err, Elapsed: time.Since(start)})
}

// runUp: the resource nodes (networks, volumes, images) and one node per service.
func (ex *executor) runUp(ctx context.Context) error {
	var g errgroup.Group
	serviceOps := map[string][]Op{}
	for _, op := range ex.p.Ops {
		op := op
		switch op.Action {
		case ActionCreateNetwork, ActionCreateVolume, ActionPull, ActionBuild:
			n := ex.node(op.Resource)
			g.Go(func() error { ex.finish(n, ex.resourceOp(ctx, op)); return nil })
		case ActionRemove:
			if ex.p.desired.service(op.Service) == nil { // orphan
				n := ex.node(op.Resource)
				g.Go(func() error { ex.finish(n, ex.removeContainer(ctx, op)); return nil })
				continue
			}
			serviceOps[op.Service] = append(serviceOps[op.Service], op)
		default:
			serviceOps[op.Service] = append(serviceOps[op.Service], op)
		}
	}
	for _, s := range ex.p.desired.Services {
		s := s
		n := ex.node("service:" + s.Name)
		g.Go(func() error { ex.finish(n, ex.runService(ctx, s, serviceOps[s.Name])); return nil })
	}
	_ = g.Wait()
	return errors.Join(ex.errs...)
}

// resourceOp creates a network or volume, or pulls or builds an image.
func (ex *executor) resourceOp(ctx context.Context, op Op) error {
	start := time.Now()
	var err error
	switch op.Action {
	case ActionCreateNetwork:
		ex.event(op.Resource, op.Name, "Creating", nil, start)
		err = ex.d.CreateNetwork(ctx, op.Name)
	case ActionCreateVolume:
		ex.event(op.Resource, op.Name, "Creating", nil, start)
		err = ex.d.CreateVolume(ctx, op.Name)
	case ActionPull, ActionBuild:
		ex.pulls <- struct{}{}
		defer func() { <-ex.pulls }()
		if op.Action == ActionPull {
			ex.event(op.Resource, op.Name, "Pulling", nil, start)
			err = ex.d.Pull(ctx, op.Name)
		} else {
			ex.event(op.Resource, op.Name, "Building", nil, start)
			err = ex.d.Build(ctx, op.Service)
		}
	}
	if err != nil {
		if op.Action != ActionPull && op.Action != ActionBuild { // those errors name their image
			err = fmt.Errorf("%s %s: %w", op.Action, op.Name, err)
		}
		ex.event(op.Resource, op.Name, "Error", err, start)
		return err
	}
	status := map[Action]string{ActionCreateNetwork: "Created", ActionCreateVolume: "Created", ActionPull: "Pulled", ActionBuild: "Built"}[op.Action]
	ex.event(op.Resource, op.Name, status, nil, start)
	return nil
}

// runService waits for what the service needs, then carries out its operations, replicas
// in parallel. Its node is done when every replica is started; dependents then wait for
// their own condition on those containers.
func (ex *executor) runService(ctx context.Context, s *DesiredService, ops []Op) error {
	containers := ex.p.containersOf(s.Name)
	if len(ops) == 0 {
		ex.node("service:" + s.Name).containers = containers
		if ex.opts.Wait {
			return ex.waitReady(ctx, s, containers)
		}
		return nil
	}
	// Resources first: networks, volumes and the image this service uses.
	var needs []string
	for _, n := range s.Networks {
		needs = append(needs, "network:"+n)
	}
	for _, v := range s.Volumes {
		needs = append(needs, "volume:"+v)
	}
	needs = append(needs, "image:"+s.Image)
	err := ex.waitFor(ctx, ex.existing(needs))
	if err != nil {
		err = fmt.Errorf("service %s: %w", s.Name, err)
	} else {
		err = ex.waitDependencies(ctx, s)
	}
	if err != nil {
		for _, op := range ops {
			ex.event(op.Resource, ex.d.ContainerName(s.Name, op.Number), "Error", err, time.Now())
		}
		return err
	}

	// Removals first (scale-down, and duplicates an interrupted recreate left), then the
	// rest, each phase in parallel: a replica being recreated may need the name that a
	// duplicate being removed holds.
	ids := make([]string, len(ops))
	for _, removals := range []bool{true, false} {
		var g errgroup.Group
		for i, op := range ops {
			if (op.Action == ActionRemove) != removals {
				continue
			}
			i, op := i, op
			g.Go(func() error {
				id, err := ex.containerOp(ctx, s, op)
				ids[i] = id
				return err
			})
		}
		if err = g.Wait(); err != nil {
			break
		}
	}
	ex.node("service:" + s.Name).containers = mergeIDs(containers, ops, ids)
	if err == nil && ex.opts.Wait {
		err = ex.waitReady(ctx, s, ex.node("service:"+s.Name).containers)
	}
	return err
}

// existing filters keys to the nodes that some operation created (a network that exists
// already has no node and needs no waiting).
func (ex *executor) existing(keys []string) []string {
	var out []string
	for _, op := range ex.p.Ops {
		for _, k := range keys {
			if op.Resource == k {
				out = append(out, k)
			}
		}
	}
	return out
}

// waitDependencies blocks until each depends_on entry meets its condition. A dependency
// that is not required and fails, or is absent, does not hold the service back.
func (ex *executor) waitDependencies(ctx context.Context, s *DesiredService) error {
	for _, dep := range s.DependsOn {
		if ex.p.desired.service(dep.Service) == nil {
			continue
		}
		n := ex.node("service:" + dep.Service)
		select {
		case <-n.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		err := n.err
		if err == nil {
			for _, id := range n.containers {
				if err = ex.d.Wait(ctx, id, dep.Condition); err != nil {
					break
				}
			}
		}
		if err != nil && dep.Required {
			return fmt.Errorf("%w: service %s needs %s (%s): %v", ErrDependencyFailed, s.Name, dep.Service, dep.Condition, err)
		}
	}
	return nil
}

// waitReady is --wait: every replica running and healthy. A one-shot that a dependent waits
// on with service_completed_successfully counts as ready once it exited 0.
func (ex *executor) waitReady(ctx context.Context, s *DesiredService, ids []string) error {
	cond := ConditionHealthy
	if completedOneShots(ex.p.desired)[s.Name] {
		cond = ConditionCompletedSuccessfully
	}
	for _, id := range ids {
		if err := ex.d.Wait(ctx, id, cond); err != nil {
			return fmt.Errorf("service %s: %w", s.Name, err)
		}
	}
	return nil
}

// containerOp carries out one replica's operation and returns the container ID that
// replica has afterwards ("" when it was removed).
func (ex *executor) containerOp(ctx context.Context, s *DesiredService, op Op) (string, error) {
	name := ex.d.ContainerName(s.Name, op.Number)
	start := time.Now()
	fail := func(err error) (string, error) {
		err = fmt.Errorf("service %s: %s %s: %w", s.Name, op.Action, name, err)
		ex.event(op.Resource, name, "Error", err, start)
		return "", err
	}
	switch op.Action {
	case ActionCreate:
		ex.event(op.Resource, name, "Creating", nil, start)
		id, err := ex.d.CreateContainer(ctx, s.Name, op.Number, name)
		if err != nil {
			return fail(err)
		}
		ex.event(op.Resource, name, "Created", nil, start)
		return id, ex.start(ctx, op, name, id, start)
	case ActionRecreate:
		if op.UnlessImage != "" && ex.d.ImageID(s.Image) == op.UnlessImage {
			// The pull or build gave the same image: the container stays.
			if op.wasRunning {
				ex.event(op.Resource, name, "Running", nil, start)
				return op.Container, nil
			}
			return op.Container, ex.start(ctx, op, name, op.Container, start)
		}
		// The new container is created first under a temporary name, so a failed create
		// leaves the old one running; then the old one goes and the new one takes its name.
		ex.event(op.Resource, name, "Recreating", nil, start)
		id, err := ex.d.CreateContainer(ctx, s.Name, op.Number, shortID(op.Container)+"_"+name)
		if err != nil {
			return fail(err)
		}
		if err := ex.d.StopContainer(ctx, op.Container, ex.opts.StopTimeout); err != nil {
			return fail(err)
		}
		if err := ex.d.RemoveContainer(ctx, op.Container); err != nil {
			return fail(err)
		}
		if err := ex.d.RenameContainer(ctx, id, name); err != nil {
			return fail(err)
		}
		ex.event(op.Resource, name, "Recreated", nil, start)
		return id, ex.start(ctx, op, name, id, start)
	case ActionStart:
		return op.Container, ex.start(ctx, op, name, op.Container, start)
	case ActionRestart:
		ex.event(op.Resource, name, "Restarting", nil, start)
		if err := ex.d.StopContainer(ctx, op.Container, ex.opts.StopTimeout); err != nil {
			return fail(err)
		}
		return op.Container, ex.start(ctx, op, name, op.Container, start)
	case ActionRemove:
		return "", ex.removeContainer(ctx, op)
	}
	return fail(fmt.Errorf("unexpected operation %s", op.Action))
}

func (ex *executor) start(ctx context.Context, op Op, name, id string, start time.Time) error {
	ex.event(op.Resource, name, "Starting", nil, start)
	if err := ex.d.StartContainer(ctx, id); err != nil {
		err = fmt.Errorf("service %s: start %s: %w", op.Service, name, err)
		ex.event(op.Resource, name, "Error", err, start)
		return err
	}
	ex.event(op.Resource, name, "Started", nil, start)
	return nil
}

// removeContainer stops then removes one container.
func (ex *executor) removeContainer(ctx context.Context, op Op) error {
	name := op.Name
	if name == "" {
		name = ex.d.ContainerName(op.Service, op.Number)
	}
	start := time.Now()
	ex.event(op.Resource, name, "Stopping", nil, start)
	err := ex.d.StopContainer(ctx, op.Container, ex.opts.StopTimeout)
	if err == nil {
		ex.event(op.Resource, name, "Stopped", nil, start)
		err = ex.d.RemoveContainer(ctx, op.Container)
	}
	if err != nil {
		err = fmt.Errorf("remove %s: %w", name, err)
		ex.event(op.Resource, name, "Error", err, start)
		return err
	}
	ex.event(op.Resource, name, "Removed", nil, start)
	return nil
}

// runDown removes containers in reverse dependency order (a service goes after every
// service that depends on it), in parallel where the graph allows, then networks, volumes
// and images once no container needs them.
func (ex *executor) runDown(ctx context.Context) error {
	dependents := map[string][]string{}
	for _, s := range ex.p.desired.Services {
		for _, dep := range s.DependsOn {
			dependents[dep.Service] = append(dependents[dep.Service], "service:"+s.Name)
		}
	}
	byService := map[string][]Op{}
	var last []Op
	for _, op := range ex.p.Ops {
		if op.Action == ActionRemove {
			byService[op.Service] = append(byService[op.Service], op)
		} else {
			last = append(last, op)
		}
	}
	var g errgroup.Group
	for service, ops := range byService {
		service, ops := service, ops
		n := ex.node("service:" + service)
		g.Go(func() error {
			// Dependents first; their failure does not keep this service running.
			for _, k := range dependents[service] {
				if _, ok := byService[k[len("service:"):]]; ok {
					<-ex.node(k).done
				}
			}
			var rg errgroup.Group
			for _, op := range ops {
				op := op
				rg.Go(func() error { return ex.removeContainer(ctx, op) })
			}
			ex.finish(n, rg.Wait())
			return nil
		})
	}
	_ = g.Wait()
	for _, op := range last {
		start := time.Now()
		var err error
		switch op.Action {
		case ActionRemoveNetwork:
			err = ex.d.RemoveNetwork(ctx, op.Name)
		case ActionRemoveVolume:
			err = ex.d.RemoveVolume(ctx, op.Name)
		case ActionRemoveImage:
			err = ex.d.RemoveImage(ctx, op.Name)
		}
		if err != nil {
			err = fmt.Errorf("%s %s: %w", op.Action, op.Name, err)
			ex.event(op.Resource, op.Name, "Error", err, start)
			if !op.BestEffort {
				ex.errs = append(ex.errs, err)
			}
			continue
		}
		ex.event(op.Resource, op.Name, "Removed", nil, start)
	}
	return errors.Join(ex.errs...)
}

func (d *Desired) service(name string) *DesiredService {
	for _, s := range d.Services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// containersOf lists the IDs of the replicas of service that exist before the plan.
func (p *Plan) containersOf(service string) []string {
	var ids []string
	for _, c := range p.observed {
		if c.Service == service {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// mergeIDs returns the service's container IDs after its operations: replaced ones swapped
// for their new IDs, removed ones dropped, created ones added.
func mergeIDs(before []string, ops []Op, after []string) []string {
	gone := map[string]bool{}
	for _, op := range ops {
		if op.Container != "" {
			gone[op.Container] = true
		}
	}
	var out []string
	for _, id := range before {
		if !gone[id] {
			out = append(out, id)
		}
	}
	for _, id := range after {
		if id != "" {
			out = append(out, id)
		}
	}
	return out
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
