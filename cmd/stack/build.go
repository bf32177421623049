package main

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/stackhq/stack/reconcile"
)

type buildOptions struct {
	noCache   bool
	buildArgs []string
	quiet     bool
}

func newBuildCmd() *cobra.Command {
	o := &buildOptions{}
	cmd := &cobra.Command{
		Use:   "build [SERVICE...]",
		Short: "Build the images of the services that have a build section, in parallel",
		Long: `Build the image of every service with build: (or of the named ones) from its
Dockerfile and tag it with the service's image name; up to 4 build at a time, each step's
output prefixed with the service's name. Each step is cached: a rebuild with nothing
changed reuses every step. Running containers are not touched: stack up recreates the
ones whose image changed.`,
		RunE: func(cmd *cobra.Command, args []string) error { return runBuild(cmd, o, args) },
	}
	f := cmd.Flags()
	f.BoolVar(&o.noCache, "no-cache", false, "do not use the build cache")
	f.StringArrayVar(&o.buildArgs, "build-arg", nil, "set a build-time variable NAME=VALUE, or NAME to take it from the environment (over the file's build args)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print nothing but errors")
	return cmd
}

func runBuild(cmd *cobra.Command, o *buildOptions, services []string) error {
	args, err := parseBuildArgs(o.buildArgs)
	if err != nil {
		return err
	}
	s, err := openStack(cmd, services, false)
	if err != nil {
		return err
	}
	s.buildArgs, s.buildNoCache = args, o.noCache
	// The steps' output and the progress lines share standard error: plain lines, no live view.
	progress := "quiet"
	if !o.quiet {
		s.buildOutput, progress = cmd.ErrOrStderr(), "plain"
	}
	var todo []string
	for _, svc := range s.project.Services {
		switch {
		case len(services) > 0 && !slices.Contains(services, svc.Name):
		case svc.Build == nil && len(services) > 0:
			return fmt.Errorf("service %s has no build section: nothing to build (stack pull gets its image)", svc.Name)
		case svc.Build != nil:
			todo = append(todo, svc.Name)
		}
	}
	if len(todo) == 0 {
		fmt.Fprintln(cmd.ErrOrStderr(), "no service of the stack has a build section: nothing to build")
		return nil
	}
	sink, stop, err := newProgress(cmd.ErrOrStderr(), progress)
	if err != nil {
		return err
	}
	var g errgroup.Group
	g.SetLimit(pullParallel)
	errs := make([]error, len(todo))
	for i, name := range todo {
		svc := s.project.Service(name)
		g.Go(func() error {
			start := time.Now()
			ev := reconcile.Event{Resource: "image:" + svc.Image, Name: svc.Image, Status: "Building"}
			sink(ev)
			errs[i] = s.buildService(cmd.Context(), svc)
			ev.Status, ev.Err, ev.Elapsed = "Built", errs[i], time.Since(start)
			if errs[i] != nil {
				ev.Status = "Error"
			}
			sink(ev)
			return nil
		})
	}
	_ = g.Wait()
	stop()
	return errors.Join(errs...)
}
