package main

import (
	"fmt"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/stackhq/stack/reconcile"
	"github.com/stackhq/stack/runtime"
)

type psOptions struct {
	all      bool
	quiet    bool
	services bool
	format   string
	status   []string
}

// stackPsEntry is one line of `ps --format json` (compose's field names).
type stackPsEntry struct {
	ID         string `json:"ID"`
	Name       string `json:"Name"`
	Image      string `json:"Image"`
	Command    string `json:"Command"`
	Project    string `json:"Project"`
	Service    string `json:"Service"`
	Number     string `json:"Number"`
	State      string `json:"State"`
	Health     string `json:"Health"`
	ExitCode   int    `json:"ExitCode"`
	Status     string `json:"Status"`
	Ports      string `json:"Ports"`
	CreatedAt  string `json:"CreatedAt"`
	RunningFor string `json:"RunningFor"`
}

func newPsCmd() *cobra.Command {
	o := &psOptions{}
	cmd := &cobra.Command{
		Use:   "ps [SERVICE...]",
		Short: "List the stack's containers with their service, state, health and ports",
		RunE:  func(cmd *cobra.Command, args []string) error { return runPs(cmd, o, args) },
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "also stopped containers")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "only IDs")
	f.BoolVar(&o.services, "services", false, "only the service names")
	f.StringVar(&o.format, "format", "table", "output: table or json")
	f.StringArrayVar(&o.status, "status", nil, "only containers in this state (created, running, paused, restarting, exited, dead)")
	return cmd
}

func runPs(cmd *cobra.Command, o *psOptions, services []string) error {
	if o.format != "table" && o.format != "json" {
		return fmt.Errorf("--format %q: want table or json", o.format)
	}
	s, err := openStack(cmd, services, false)
	if err != nil {
		return err
	}
	cs, err := s.engine.Containers.List(runtime.ListOptions{All: o.all || len(o.status) > 0, Labels: map[string]string{reconcile.LabelProject: s.project.Name}})
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, name := range services {
		if s.project.Service(name) == nil {
			return fmt.Errorf("%w: no such service: %s", reconcile.ErrUnknownService, name)
		}
		want[name] = true
	}
	status := map[string]bool{}
	for _, st := range o.status {
		status[st] = true
	}
	var entries []stackPsEntry
	seen := map[string]bool{}
	var names []string
	for _, c := range cs {
		l := c.Spec.Labels
		if (len(want) > 0 && !want[l[reconcile.LabelService]]) || (len(status) > 0 && !status[c.State.Status]) {
			continue
		}
		if !seen[l[reconcile.LabelService]] {
			seen[l[reconcile.LabelService]] = true
			names = append(names, l[reconcile.LabelService])
		}
		entries = append(entries, stackPsEntry{
			ID: c.ID, Name: c.Name, Image: c.Spec.Image, Command: quoteCommand(c, false),
			Project: s.project.Name, Service: l[reconcile.LabelService], Number: l[reconcile.LabelNumber],
			State: c.State.Status, Health: c.State.Health, ExitCode: c.State.ExitCode,
			Status: statusText(c), Ports: portsText(c.Ports),
			CreatedAt: c.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"), RunningFor: units.HumanDuration(time.Since(c.Created)) + " ago",
		})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	out := cmd.OutOrStdout()
	switch {
	case o.services:
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintln(out, n)
		}
		return nil
	case o.quiet:
		for _, e := range entries {
			fmt.Fprintln(out, e.ID)
		}
		return nil
	case o.format == "json":
		return writeJSONLines(out, entries)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tIMAGE\tCOMMAND\tSERVICE\tCREATED\tSTATUS\tPORTS")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Name, e.Image, e.Command, e.Service, e.RunningFor, e.Status, e.Ports)
	}
	return tw.Flush()
}
