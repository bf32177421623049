package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/stackhq/stack/reconcile"
	"github.com/stackhq/stack/runtime"
)

type stackLsOptions struct {
	all     bool
	quiet   bool
	format  string
	filters []string
}

// stackSummary is one line of `stack ls` (compose's field names in --format json).
type stackSummary struct {
	Name        string `json:"Name"`
	Status      string `json:"Status"`
	ConfigFiles string `json:"ConfigFiles"`
}

func newLsCmd() *cobra.Command {
	o := &stackLsOptions{}
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List the stacks on this host with the state of their containers",
		Long: `List every stack (project) that has containers in the store: its name, how many of
its containers are in each state ("exited(1), running(3)") and the stack files it was
brought up from. Without -a, only stacks with a running container are listed, and only
running containers are counted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runStackLs(cmd, o) },
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "also stacks whose containers are all stopped, and stopped containers in the counts")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "only the names")
	f.StringVar(&o.format, "format", "table", "output: table or json")
	f.StringArrayVar(&o.filters, "filter", nil, "name=TEXT: only stacks whose name contains TEXT")
	return cmd
}

func runStackLs(cmd *cobra.Command, o *stackLsOptions) error {
	if o.format != "table" && o.format != "json" {
		return fmt.Errorf("--format %q: want table or json", o.format)
	}
	var names []string
	for _, f := range o.filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k != "name" {
			return fmt.Errorf("--filter %q: want name=TEXT", f)
		}
		names = append(names, v)
	}
	m, err := runtime.New(global.root)
	if err != nil {
		return err
	}
	cs, err := m.List(runtime.ListOptions{All: o.all, Labels: map[string]string{reconcile.LabelProject: ""}})
	if err != nil {
		return err
	}
	var stacks []stackSummary
	for _, st := range summarizeStacks(cs) {
		keep := true
		for _, n := range names {
			keep = keep && strings.Contains(st.Name, n)
		}
		if keep {
			stacks = append(stacks, st)
		}
	}
	out := cmd.OutOrStdout()
	switch {
	case o.quiet:
		for _, st := range stacks {
			fmt.Fprintln(out, st.Name)
		}
		return nil
	case o.format == "json":
		if stacks == nil {
			stacks = []stackSummary{}
		}
		return json.NewEncoder(out).Encode(stacks)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATUS\tCONFIG FILES")
	for _, st := range stacks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", st.Name, st.Status, st.ConfigFiles)
	}
	return tw.Flush()
}

// summarizeStacks groups containers by their project label into one summary per stack,
// sorted by name: the count of containers per state, states in alphabetical order as
// compose prints them ("exited(1), running(3)"), and the stack files of the most recently
// created container (the last up).
func summarizeStacks(cs []*runtime.Container) []stackSummary {
	type acc struct {
		states map[string]int
		files  string
		newest *runtime.Container
	}
	byName := map[string]*acc{}
	for _, c := range cs {
		name := c.Spec.Labels[reconcile.LabelProject]
		if name == "" {
			continue
		}
		a := byName[name]
		if a == nil {
			a = &acc{states: map[string]int{}}
			byName[name] = a
		}
		a.states[c.State.Status]++
		if files := c.Spec.Labels[reconcile.LabelConfigFiles]; files != "" && (a.newest == nil || c.Created.After(a.newest.Created)) {
			a.newest, a.files = c, files
		}
	}
	out := make([]stackSummary, 0, len(byName))
	for name, a := range byName {
		states := make([]string, 0, len(a.states))
		for st := range a.states {
			states = append(states, st)
		}
		sort.Strings(states)
		for i, st := range states {
			states[i] = fmt.Sprintf("%s(%d)", st, a.states[st])
		}
		out = append(out, stackSummary{Name: name, Status: strings.Join(states, ", "), ConfigFiles: a.files})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
