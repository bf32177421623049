package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/stackhq/stack/engine"
	"github.com/stackhq/stack/network"
	"github.com/stackhq/stack/reconcile"
	"github.com/stackhq/stack/runtime/build"
	"github.com/stackhq/stack/spec"
)

// stackSession is what a stack verb works with: the loaded project and the stores of the
// root, with the project's lock held from open to close.
type stackSession struct {
	project *spec.Project
	engine  *engine.Engine
	unlock  func()
	// buildOutput receives the steps of image builds (nil: silent), each line prefixed with
	// the service's name, since builds run in parallel.
	buildOutput io.Writer
	outputMu    sync.Mutex // one build line at a time on buildOutput
	// buildArgs override the build args of the stack file; buildNoCache runs every step
	// (`stack build --build-arg`, `--no-cache`).
	buildArgs    map[string]string
	buildNoCache bool
}

// openStack loads the stack file (activating the named services whatever their profiles),
// opens the stores and, when lock is set, takes the project's lock and sweeps what a
// crashed command left (leases, ports, volume users of containers that are gone).
func openStack(cmd *cobra.Command, services []string, lock bool) (*stackSession, error) {
	p, err := loadProject(cmd, services)
	if err != nil {
		return nil, err
	}
	e, err := engine.Open(global.root)
	if err != nil {
		return nil, err
	}
	s := &stackSession{project: p, engine: e, unlock: func() {}}
	if lock {
		if s.unlock, err = reconcile.Lock(global.root, p.Name); err != nil {
			return nil, err
		}
		if err := e.Sweep(cmd.Context()); err != nil {
			s.unlock()
			return nil, err
		}
	}
	return s, nil
}

func (s *stackSession) close() { s.unlock() }

// host is the reconciler's driver for this project.
func (s *stackSession) host() *reconcile.Host {
	return &reconcile.Host{Engine: s.engine, Project: s.project, BuildImage: s.buildService}
}

// observe reads the project's state and narrows it, with the desired state, to the named
// services (with their dependencies unless noDeps).
func (s *stackSession) observe(services []string, noDeps bool) (*reconcile.Desired, *reconcile.Observed, error) {
	desired := reconcile.DesiredFrom(s.project, reconcile.ImageID(s.engine.Images))
	observed, err := reconcile.Observe(s.engine, s.project.Name)
	if err != nil {
		return nil, nil, err
	}
	if err := reconcile.Select(desired, observed, services, noDeps); err != nil {
		return nil, nil, err
	}
	return desired, observed, nil
}

// durationFlag is a -t/--timeout in seconds, as compose takes it; nil when not given.
func durationFlag(cmd *cobra.Command, name string, seconds int) *time.Duration {
	if !cmd.Flags().Changed(name) {
		return nil
	}
	d := time.Duration(seconds) * time.Second
	return &d
}

// applyPlan carries out a plan with the progress view the flags ask for.
func applyPlan(ctx context.Context, cmd *cobra.Command, h *reconcile.Host, p *reconcile.Plan, progress string, opts reconcile.ApplyOptions) error {
	sink, stop, err := newProgress(cmd.ErrOrStderr(), progress)
	if err != nil {
		return err
	}
	opts.Progress = sink
	err = reconcile.Apply(ctx, h, p, opts)
	stop()
	for _, n := range p.Notes {
		fmt.Fprintln(cmd.ErrOrStderr(), "note:", n)
	}
	return err
}

// buildService builds a service's image from its build section and tags it with the
// service's image name. RUN steps join stack's default network, so they reach what the
// host reaches (a package mirror).
func (s *stackSession) buildService(ctx context.Context, svc *spec.Service) error {
	dockerfile := svc.Build.Dockerfile
	if dockerfile != "" && !filepath.IsAbs(dockerfile) {
		dockerfile = filepath.Join(svc.Build.Context, dockerfile)
	}
	args := maps.Clone(svc.Build.Args)
	if len(s.buildArgs) > 0 && args == nil {
		args = map[string]string{}
	}
	maps.Copy(args, s.buildArgs)
	opts := build.Options{
		Root: global.root, Store: s.engine.Images, Runtime: s.engine.Containers,
		Network: network.DefaultNetwork, ContextDir: svc.Build.Context, Dockerfile: dockerfile,
		Args: args, Target: svc.Build.Target, Tags: []string{svc.Image}, NoCache: s.buildNoCache,
		Mode: build.ProgressPlain,
	}
	if s.buildOutput != nil {
		pw := &prefixWriter{mu: &s.outputMu, w: s.buildOutput, prefix: svc.Name + " | "}
		defer pw.flush()
		opts.Progress = pw
	}
	_, err := build.Build(ctx, opts)
	if err != nil {
		return fmt.Errorf("build %s: %w", svc.Name, err)
	}
	return nil
}
