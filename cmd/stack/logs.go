package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/stackhq/stack/reconcile"
	"github.com/stackhq/stack/runtime"
)

type logsOptions struct {
	follow     bool
	timestamps bool
	tail       int
	since      string
	noColor    bool
	noPrefix   bool
}

func newLogsCmd() *cobra.Command {
	o := &logsOptions{}
	cmd := &cobra.Command{
		Use:   "logs [SERVICE...]",
		Short: "Print the logs of the stack's containers, each line prefixed with service-N",
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStack(cmd, args, false)
			if err != nil {
				return err
			}
			_, observed, err := s.observe(args, true)
			if err != nil {
				return err
			}
			return followLogs(cmd.Context(), cmd, s, observed.Containers, *o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.follow, "follow", "f", false, "keep printing new lines")
	f.BoolVarP(&o.timestamps, "timestamps", "t", false, "prefix each line with its time")
	f.IntVarP(&o.tail, "tail", "n", -1, "only the last N lines of each container (-1: all)")
	f.StringVar(&o.since, "since", "", "only lines since a time (RFC 3339) or a duration ago (10m)")
	f.BoolVar(&o.noColor, "no-color", false, "no colours in the prefixes")
	f.BoolVar(&o.noPrefix, "no-log-prefix", false, "no service-N | prefix")
	return cmd
}

// colours for the service prefixes, as compose cycles through them.
var prefixColours = []string{"36", "33", "32", "35", "34", "96", "93", "92", "95", "94"}

// followLogs prints the logs of containers concurrently, one writer per container that
// prefixes whole lines with "service-N |" (coloured per service unless noColor).
func followLogs(ctx context.Context, cmd *cobra.Command, s *stackSession, containers []reconcile.ObservedContainer, o logsOptions) error {
	ro := runtime.LogOptions{Follow: o.follow, Timestamps: o.timestamps, Tail: o.tail}
	if o.since != "" {
		t, err := parseSince(o.since, time.Now())
		if err != nil {
			return fmt.Errorf("--since %q: %w", o.since, err)
		}
		ro.Since = t
	}
	sort.Slice(containers, func(i, j int) bool {
		if containers[i].Service != containers[j].Service {
			return containers[i].Service < containers[j].Service
		}
		return containers[i].Number < containers[j].Number
	})
	width := 0
	for _, c := range containers {
		width = max(width, len(fmt.Sprintf("%s-%d", c.Service, c.Number)))
	}
	colour := map[string]string{}
	var mu sync.Mutex // one line at a time on the terminal
	var wg sync.WaitGroup
	errs := make([]error, len(containers))
	for i, c := range containers {
		if _, ok := colour[c.Service]; !ok {
			colour[c.Service] = prefixColours[len(colour)%len(prefixColours)]
		}
		prefix := ""
		if !o.noPrefix {
			prefix = fmt.Sprintf("%-*s | ", width, fmt.Sprintf("%s-%d", c.Service, c.Number))
			if !o.noColor && writerIsTerminal(cmd.OutOrStdout()) {
				prefix = "\x1b[" + colour[c.Service] + "m" + prefix + "\x1b[0m"
			}
		}
		out := &prefixWriter{mu: &mu, w: cmd.OutOrStdout(), prefix: prefix}
		errOut := &prefixWriter{mu: &mu, w: cmd.ErrOrStderr(), prefix: prefix}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.engine.Containers.Logs(ctx, c.ID, ro, out, errOut)
			out.flush()
			errOut.flush()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && ctx.Err() == nil {
			return err
		}
	}
	return nil
}

// prefixWriter writes whole lines, each behind prefix; a partial line waits for its end
// (or flush), so lines of different containers never interleave mid-line.
type prefixWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		p.mu.Lock()
		_, err := fmt.Fprintf(p.w, "%s%s", p.prefix, p.buf[:i+1])
		p.mu.Unlock()
		p.buf = p.buf[i+1:]
		if err != nil {
			return len(b), err
		}
	}
}

func (p *prefixWriter) flush() {
	if len(p.buf) > 0 {
		p.Write([]byte("\n"))
	}
}

// writerIsTerminal tells whether w is a terminal (colours and live views only go there).
func writerIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}
