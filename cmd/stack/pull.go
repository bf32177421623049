package main

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/stackhq/stack/reconcile"
	"github.com/stackhq/stack/runtime/image"
)

type pullOptions struct {
	quiet          bool
	ignoreFailures bool
}

func newPullCmd() *cobra.Command {
	o := &pullOptions{}
	cmd := &cobra.Command{
		Use:   "pull [SERVICE...]",
		Short: "Pull the images of the stack's services, in parallel",
		Long: `Pull the image of every service (or the named ones) that does not build its own:
services with build: are skipped (stack build makes their images). Each image is pulled
once however many services use it, up to 4 at a time.`,
		RunE: func(cmd *cobra.Command, args []string) error { return runPull(cmd, o, args) },
	}
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "print nothing but errors")
	cmd.Flags().BoolVar(&o.ignoreFailures, "ignore-pull-failures", false, "report images that fail to pull, and exit 0")
	return cmd
}

// pullParallel bounds concurrent pulls (and builds), as up does.
const pullParallel = 4

func runPull(cmd *cobra.Command, o *pullOptions, services []string) error {
	s, err := openStack(cmd, services, false)
	if err != nil {
		return err
	}
	users := map[string][]string{} // image → services
	for _, svc := range s.project.Services {
		if len(services) > 0 && !slices.Contains(services, svc.Name) {
			continue
		}
		if svc.Build != nil {
			if len(services) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "note: service %s builds its image: skipped (stack build %s)\n", svc.Name, svc.Name)
			}
			continue
		}
		users[svc.Image] = append(users[svc.Image], svc.Name)
	}
	refs := make([]string, 0, len(users))
	for ref := range users {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	progress := "auto"
	if o.quiet {
		progress = "quiet"
	}
	sink, stop, err := newProgress(cmd.ErrOrStderr(), progress)
	if err != nil {
		return err
	}
	var g errgroup.Group
	g.SetLimit(pullParallel)
	errs := make([]error, len(refs))
	for i, ref := range refs {
		g.Go(func() error {
			start := time.Now()
			ev := reconcile.Event{Resource: "image:" + ref, Name: ref}
			ev.Status = "Pulling"
			sink(ev)
			_, err := s.engine.Images.Pull(cmd.Context(), ref, image.PullOptions{})
			ev.Elapsed = time.Since(start)
			if err != nil {
				errs[i] = fmt.Errorf("service %s: %w", strings.Join(users[ref], ", "), err)
				ev.Status, ev.Err = "Error", errs[i]
			} else {
				ev.Status = "Pulled"
			}
			sink(ev)
			return nil
		})
	}
	_ = g.Wait()
	stop()
	err = errors.Join(errs...)
	if err != nil && o.ignoreFailures {
		fmt.Fprintln(cmd.ErrOrStderr(), "warning: some images were not pulled (--ignore-pull-failures):", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w\n(check the image names and that the registry is reachable; --ignore-pull-failures goes on without them)", err)
	}
	return nil
}
