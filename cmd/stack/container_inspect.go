package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"
	"github.com/stackhq/stack/runtime"
)

func newContainerInspectCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] CONTAINER...",
		Short: "Show containers' configuration and state as JSON (docker-shaped) or through a Go template",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tmpl, err := parseFormat(format)
			if err != nil {
				return err
			}
			m, err := openRuntime()
			if err != nil {
				return err
			}
			var out []map[string]any
			var errs []error
			for _, n := range args {
				c, err := m.Get(n)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				out = append(out, c.Inspect())
			}
			if err := printInspect(cmd.OutOrStdout(), tmpl, out); err != nil {
				return err
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "json", "json, or a Go template applied to each container (e.g. '{{.State.Status}}', '{{json .NetworkSettings.Ports}}')")
	return cmd
}

func newContainerTopCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "top CONTAINER",
		Short: "List the processes of a running container",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := openRuntime()
			if err != nil {
				return err
			}
			ps, err := m.Top(args[0])
			if err != nil {
				return err
			}
			return printTop(cmd.OutOrStdout(), ps)
		},
	}
}

// printTop prints processes as `top` shows them: UID, PID, PPID, CPU time, command line.
func printTop(w io.Writer, ps []runtime.Process) error {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "UID\tPID\tPPID\tTIME\tCMD")
	for _, p := range ps {
		t := p.CPUTime.Round(time.Second)
		fmt.Fprintf(tw, "%d\t%d\t%d\t%02d:%02d:%02d\t%s\n", p.UID, p.PID, p.PPID,
			int(t.Hours()), int(t.Minutes())%60, int(t.Seconds())%60, p.Command)
	}
	return tw.Flush()
}

type statsOptions struct {
	noStream bool
	format   string
}

func newContainerStatsCmd() *cobra.Command {
	var o statsOptions
	cmd := &cobra.Command{
		Use:   "stats [flags] [CONTAINER...]",
		Short: "Show containers' CPU, memory and process counts from their cgroups",
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.format != "table" && o.format != "json" {
				return fmt.Errorf("--format %q: want table or json", o.format)
			}
			m, err := openRuntime()
			if err != nil {
				return err
			}
			return runStats(cmd, m, args, o)
		},
	}
	cmd.Flags().BoolVar(&o.noStream, "no-stream", false, "print one sample and exit")
	cmd.Flags().StringVar(&o.format, "format", "table", "output format: table or json")
	return cmd
}

// statsEntry is one line of `stats --format json` (docker's field names).
type statsEntry struct {
	ID       string `json:"ID"`
	Name     string `json:"Name"`
	CPUPerc  string `json:"CPUPerc"`
	MemUsage string `json:"MemUsage"`
	MemPerc  string `json:"MemPerc"`
	PIDs     string `json:"PIDs"`
}

// runStats samples CPU time twice, a second apart (CPU % is the share of one core over that
// second, as docker shows it), and prints one table per second until interrupted.
func runStats(cmd *cobra.Command, m *runtime.Manager, names []string, o statsOptions) error {
	ctx := cmd.Context()
	if len(names) == 0 {
		cs, err := m.List(runtime.ListOptions{})
		if err != nil {
			return err
		}
		for _, c := range cs {
			names = append(names, c.ID)
		}
	}
	type sample struct {
		st runtime.Stats
		at time.Time
	}
	prev := map[string]sample{}
	take := func() map[string]sample {
		now := map[string]sample{}
		for _, n := range names {
			if st, err := m.Stats(n); err == nil {
				now[n] = sample{st, time.Now()}
			}
		}
		return now
	}
	prev = take()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
		cur := take()
		var entries []statsEntry
		for _, n := range names {
			s, ok := cur[n]
			if !ok {
				continue
			}
			c, err := m.Get(n)
			if err != nil {
				continue
			}
			cpu := 0.0
			if p, ok := prev[n]; ok && s.at.After(p.at) && s.st.CPUUsage >= p.st.CPUUsage {
				cpu = float64(s.st.CPUUsage-p.st.CPUUsage) / float64(s.at.Sub(p.at).Nanoseconds()) * 100
			}
			memPerc := 0.0
			if s.st.MemoryLimit > 0 {
				memPerc = float64(s.st.MemoryUsage) / float64(s.st.MemoryLimit) * 100
			}
			entries = append(entries, statsEntry{
				ID: c.ID[:12], Name: c.Name, CPUPerc: fmt.Sprintf("%.2f%%", cpu),
				MemUsage: units.BytesSize(float64(s.st.MemoryUsage)) + " / " + units.BytesSize(float64(s.st.MemoryLimit)),
				MemPerc:  fmt.Sprintf("%.2f%%", memPerc), PIDs: fmt.Sprint(s.st.Pids),
			})
		}
		prev = cur
		out := cmd.OutOrStdout()
		if o.format == "json" {
			if err := writeJSONLines(out, entries); err != nil {
				return err
			}
		} else {
			if !o.noStream {
				fmt.Fprint(out, "\033[2J\033[H")
			}
			tw := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
			fmt.Fprintln(tw, "CONTAINER ID\tNAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tPIDS")
			for _, e := range entries {
				fmt.Fprintln(tw, strings.Join([]string{e.ID, e.Name, e.CPUPerc, e.MemUsage, e.MemPerc, e.PIDs}, "\t"))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
		if o.noStream {
			return nil
		}
	}
}
