package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"
	"github.com/stackhq/stack/runtime"
)

type lsOptions struct {
	all, quiet, size, noTrunc bool
	format                    string
	filters                   []string
}

func newContainerLsCmd() *cobra.Command {
	var o lsOptions
	cmd := &cobra.Command{
		Use:     "ls [flags]",
		Aliases: []string{"ps", "list"},
		Short:   "List containers",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return runContainerLs(cmd, o) },
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "show stopped containers too")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print IDs only")
	f.BoolVarP(&o.size, "size", "s", false, "show the read/write layer's size (and the virtual size)")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "do not truncate IDs and commands")
	f.StringVar(&o.format, "format", "table", "output format: table or json")
	f.StringArrayVarP(&o.filters, "filter", "f", nil, "filter: name=, id=, label=KEY[=VALUE], status=, ancestor=")
	return cmd
}

// psEntry is one line of `ls --format json` (docker's field names).
type psEntry struct {
	ID      string `json:"ID"`
	Names   string `json:"Names"`
	Image   string `json:"Image"`
	Command string `json:"Command"`
	Created string `json:"CreatedAt"`
	State   string `json:"State"`
	Status  string `json:"Status"`
	Ports   string `json:"Ports"`
	Labels  string `json:"Labels"`
	Size    string `json:"Size,omitempty"`
}

func runContainerLs(cmd *cobra.Command, o lsOptions) error {
	if o.format != "table" && o.format != "json" {
		return fmt.Errorf("--format %q: want table or json", o.format)
	}
	lo := runtime.ListOptions{All: o.all, Labels: map[string]string{}}
	type filter struct{ key, val string }
	var filters []filter
	for _, f := range o.filters {
		k, v, ok := strings.Cut(f, "=")
		switch {
		case !ok:
			return fmt.Errorf("--filter %q: want KEY=VALUE", f)
		case k == "label":
			lk, lv, _ := strings.Cut(v, "=")
			lo.Labels[lk] = lv
		case k == "name", k == "id", k == "status", k == "ancestor":
			filters = append(filters, filter{k, v})
			if k == "status" {
				lo.All = true
			}
		default:
			return fmt.Errorf("--filter %q: unknown key %q", f, k)
		}
	}
	m, err := openRuntime()
	if err != nil {
		return err
	}
	cs, err := m.List(lo)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	var entries []psEntry
	for _, c := range cs {
		keep := true
		for _, f := range filters {
			switch f.key {
			case "name":
				keep = keep && strings.Contains(c.Name, f.val)
			case "id":
				keep = keep && strings.HasPrefix(c.ID, f.val)
			case "status":
				keep = keep && c.State.Status == f.val
			case "ancestor":
				keep = keep && (c.Spec.Image == f.val || strings.HasPrefix(strings.TrimPrefix(c.ImageID, "sha256:"), strings.TrimPrefix(f.val, "sha256:")))
			}
		}
		if !keep {
			continue
		}
		if o.quiet {
			fmt.Fprintln(out, shortID(c.ID, o.noTrunc))
			continue
		}
		e := psEntry{
			ID: shortID(c.ID, o.noTrunc), Names: c.Name, Image: c.Spec.Image,
			Command: quoteCommand(c, o.noTrunc), Created: c.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"),
			State: c.State.Status, Status: statusText(c), Ports: portsText(c.Ports), Labels: labelsText(c.Spec.Labels),
		}
		if o.size {
			rw, virt, err := m.Size(c)
			if err != nil {
				return err
			}
			e.Size = fmt.Sprintf("%s (virtual %s)", units.HumanSize(float64(rw)), units.HumanSize(float64(virt)))
		}
		entries = append(entries, e)
	}
	if o.quiet {
		return nil
	}
	if o.format == "json" {
		return writeJSONLines(out, entries)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
	header := "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES"
	if o.size {
		header += "\tSIZE"
	}
	fmt.Fprintln(tw, header)
	for _, e := range entries {
		c := findCreated(cs, e)
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", e.ID, e.Image, e.Command, units.HumanDuration(time.Since(c))+" ago", e.Status, e.Ports, e.Names)
		if o.size {
			line += "\t" + e.Size
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

func findCreated(cs []*runtime.Container, e psEntry) time.Time {
	for _, c := range cs {
		if c.Name == e.Names {
			return c.Created
		}
	}
	return time.Now()
}

func shortID(id string, full bool) string {
	if full {
		return id
	}
	return id[:12]
}

func quoteCommand(c *runtime.Container, full bool) string {
	s := strings.Join(c.Command(), " ")
	if !full && len(s) > 20 {
		s = s[:19] + "…"
	}
	return `"` + s + `"`
}

// statusText is docker's STATUS column: "Up 5 minutes", "Exited (0) 3 seconds ago", ...
func statusText(c *runtime.Container) string {
	st := c.State
	switch st.Status {
	case runtime.StatusRunning, runtime.StatusPaused:
		s := "Up " + units.HumanDuration(time.Since(st.StartedAt))
		if st.Status == runtime.StatusPaused {
			s += " (Paused)"
		} else if st.Health != "" {
			s += " (" + st.Health + ")"
		}
		return s
	case runtime.StatusRestarting:
		return fmt.Sprintf("Restarting (%d) %s ago", st.ExitCode, units.HumanDuration(time.Since(st.FinishedAt)))
	case runtime.StatusExited:
		return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, units.HumanDuration(time.Since(st.FinishedAt)))
	}
	return "Created"
}

func portsText(ps []runtime.PortMapping) string {
	var out []string
	for _, p := range ps {
		proto := p.Protocol
		if proto == "" {
			proto = "tcp"
		}
		host := p.HostIP
		if host == "" {
			host = "0.0.0.0"
		}
		out = append(out, fmt.Sprintf("%s:%d->%d/%s", host, p.HostPort, p.ContainerPort, proto))
	}
	return strings.Join(out, ", ")
}

func labelsText(l map[string]string) string {
	var out []string
	for k, v := range l {
		out = append(out, k+"="+v)
	}
	return strings.Join(out, ",")
}
