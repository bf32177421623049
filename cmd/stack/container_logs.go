package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/stackhq/stack/runtime"
)

func newContainerLogsCmd() *cobra.Command {
	var o runtime.LogOptions
	var tail, since string
	cmd := &cobra.Command{
		Use:   "logs [flags] CONTAINER",
		Short: "Print a container's output",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Tail = -1
			if tail != "all" {
				n, err := strconv.Atoi(tail)
				if err != nil || n < 0 {
					return fmt.Errorf("--tail %q: want a number or all", tail)
				}
				o.Tail = n
			}
			if since != "" {
				t, err := parseSince(since, time.Now())
				if err != nil {
					return fmt.Errorf("--since %q: %w", since, err)
				}
				o.Since = t
			}
			m, err := openRuntime()
			if err != nil {
				return err
			}
			return m.Logs(cmd.Context(), args[0], o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.Follow, "follow", "f", false, "keep printing new output")
	f.BoolVarP(&o.Timestamps, "timestamps", "t", false, "show timestamps")
	f.StringVarP(&tail, "tail", "n", "all", "number of lines to show from the end")
	f.StringVar(&since, "since", "", "show logs since a time (RFC 3339, Unix seconds) or a duration ago (10m)")
	return cmd
}

// parseSince accepts a duration before now (10m), Unix seconds, or an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Unix(0, int64(secs*1e9)), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a duration, Unix time or RFC 3339 time")
}
