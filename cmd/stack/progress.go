package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/stackhq/stack/reconcile"
)

// newProgress (--progress auto|tty|plain|quiet; auto = tty on a terminal) returns the event sink for reconcile.Apply and a function that ends the view.
// plain: one line per event ("container demo-web-1  Started  0.1s"), for CI and pipes;
// tty: compose's live view, one line per resource redrawn in place; quiet: nothing.
func newProgress(w io.Writer, mode string) (func(reconcile.Event), func(), error) {
	switch mode {
	case "", "auto":
		mode = "plain"
		if writerIsTerminal(w) {
			mode = "tty"
		}
	case "tty", "plain", "quiet":
	default:
		return nil, nil, fmt.Errorf("--progress %q: want auto, tty, plain or quiet", mode)
	}
	switch mode {
	case "quiet":
		return func(reconcile.Event) {}, func() {}, nil
	case "plain":
		var mu sync.Mutex
		return func(e reconcile.Event) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintln(w, eventLine(e))
		}, func() {}, nil
	}
	v := &liveView{w: w, index: map[string]int{}, done: make(chan struct{})}
	go v.tick()
	return v.event, v.stop, nil
}

// eventLine renders one event: kind, name, status, elapsed, and the error if any.
func eventLine(e reconcile.Event) string {
	kind, _, _ := strings.Cut(e.Resource, ":")
	if kind == "service" {
		kind = "container"
	}
	line := fmt.Sprintf("%-9s %-28s %-10s %5.1fs", kind, e.Name, e.Status, e.Elapsed.Seconds())
	if e.Err != nil {
		line += "  " + e.Err.Error()
	}
	return line
}

// liveView redraws one line per resource in place, with a running clock for those still
// in progress, as compose does on a terminal.
type liveView struct {
	mu     sync.Mutex
	w      io.Writer
	lines  []reconcile.Event
	start  []time.Time
	final  []bool
	index  map[string]int
	drawn  int
	done   chan struct{}
	closed bool
}

func (v *liveView) event(e reconcile.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	i, ok := v.index[e.Resource]
	if !ok {
		i = len(v.lines)
		v.index[e.Resource] = i
		v.lines = append(v.lines, e)
		v.start = append(v.start, time.Now().Add(-e.Elapsed))
		v.final = append(v.final, false)
	}
	v.lines[i] = e
	v.final[i] = finalStatus(e)
	v.redraw()
}

// finalStatus reports whether e ends its resource's work: its clock stops and it gets a mark.
func finalStatus(e reconcile.Event) bool {
	switch e.Status {
	case "Started", "Removed", "Pulled", "Built", "Healthy", "Error",
		"Stopped", "Paused", "Unpaused", "Killed":
		return true
	case "Created":
		return !strings.HasPrefix(e.Resource, "service:") // a container goes on to start
	}
	return false
}

func (v *liveView) redraw() {
	var b strings.Builder
	if v.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", v.drawn)
	}
	for i, e := range v.lines {
		if !v.final[i] {
			e.Elapsed = time.Since(v.start[i])
		}
		mark := " "
		switch {
		case e.Status == "Error":
			mark = "\x1b[31m✘\x1b[0m"
		case v.final[i]:
			mark = "\x1b[32m✔\x1b[0m"
		}
		fmt.Fprintf(&b, "\x1b[2K %s %s\n", mark, eventLine(e))
	}
	v.drawn = len(v.lines)
	io.WriteString(v.w, b.String())
}

func (v *liveView) tick() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-v.done:
			return
		case <-t.C:
			v.mu.Lock()
			if len(v.lines) > 0 {
				v.redraw()
			}
			v.mu.Unlock()
		}
	}
}

func (v *liveView) stop() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.closed {
		v.closed = true
		close(v.done)
	}
}
