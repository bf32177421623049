package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stackhq/stack/reconcile"
)

type downOptions struct {
	volumes       bool
	rmi           string
	timeout       int
	removeOrphans bool
	progress      string
}

func newDownCmd() *cobra.Command {
	o := &downOptions{}
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop and remove the stack's containers and networks (and volumes with -v)",
		Long: `Remove the stack's containers in reverse dependency order, in parallel where the graph
allows, then its networks. Named volumes stay unless -v is given; external networks and
volumes are never removed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDown(cmd, o) },
	}
	f := cmd.Flags()
	f.BoolVarP(&o.volumes, "volumes", "v", false, "also remove the named volumes declared in the stack file")
	f.StringVar(&o.rmi, "rmi", "", "also remove images: local (those built for the stack) or all")
	f.IntVarP(&o.timeout, "timeout", "t", 10, "seconds to wait for a container to stop before killing it")
	f.BoolVar(&o.removeOrphans, "remove-orphans", false, "also remove containers of services not in the stack file")
	f.StringVar(&o.progress, "progress", "auto", "progress output: auto, tty, plain or quiet")
	return cmd
}

func runDown(cmd *cobra.Command, o *downOptions) error {
	if o.rmi != "" && o.rmi != "local" && o.rmi != "all" {
		return fmt.Errorf("--rmi %q: want local or all", o.rmi)
	}
	s, err := openStack(cmd, nil, true)
	if err != nil {
		return err
	}
	defer s.close()
	desired, observed, err := s.observe(nil, false)
	if err != nil {
		return err
	}
	// Containers of services that profiles leave out are the stack's too: down removes them.
	for _, svc := range s.project.DisabledServices {
		desired.Services = append(desired.Services, &reconcile.DesiredService{Name: svc.Name})
	}
	opts := reconcile.DownOptions{RemoveVolumes: o.volumes, RemoveOrphans: o.removeOrphans}
	seen := map[string]bool{}
	for _, svc := range s.project.Services {
		if seen[svc.Image] || (o.rmi == "local" && svc.Build == nil) || o.rmi == "" {
			continue
		}
		seen[svc.Image] = true
		opts.RemoveImages = append(opts.RemoveImages, svc.Image)
	}
	p := reconcile.PlanDown(desired, observed, opts)
	return applyPlan(cmd.Context(), cmd, s.host(), p, o.progress, reconcile.ApplyOptions{StopTimeout: durationFlag(cmd, "timeout", o.timeout)})
}
