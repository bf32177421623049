package runtime

import (
	"bytes"
	"context"
	"strings"
	"time"
)

// Healthcheck defaults, as Docker's.
const (
	defaultHealthInterval = 30 * time.Second
	defaultHealthTimeout  = 30 * time.Second
	defaultHealthRetries  = 3
	healthLogKeep         = 5
	healthOutputMax       = 4096
)

// healthRunner runs a container's healthcheck from the monitor until stopped.
type healthRunner struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (h *healthRunner) stop() {
	if h == nil {
		return
	}
	h.cancel()
	<-h.done
}

// startHealthcheck runs the test every Interval (StartInterval during StartPeriod) by exec in
// the container, with Timeout. Health goes starting → healthy on the first success and →
// unhealthy after Retries consecutive failures; failures during StartPeriod do not count.
func (m *monitor) startHealthcheck(s *started) *healthRunner {
	hc := m.c.healthcheck()
	if hc == nil {
		return nil
	}
	interval, timeout, retries := hc.Interval, hc.Timeout, hc.Retries
	if interval <= 0 {
		interval = defaultHealthInterval
	}
	if timeout <= 0 {
		timeout = defaultHealthTimeout
	}
	if retries <= 0 {
		retries = defaultHealthRetries
	}
	startInterval := hc.StartInterval
	if startInterval <= 0 {
		startInterval = interval
	}
	var cmd []string
	switch hc.Test[0] {
	case "CMD":
		cmd = hc.Test[1:]
	case "CMD-SHELL":
		cmd = []string{"/bin/sh", "-c", strings.Join(hc.Test[1:], " ")}
	default:
		cmd = hc.Test
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &healthRunner{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		failures := 0
		for {
			wait := interval
			inStart := time.Since(s.at) < hc.StartPeriod
			if inStart {
				wait = startInterval
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			c, err := readContainer(m.dir, m.run)
			if err != nil || c.State.Status != StatusRunning || c.State.Pid != s.pid {
				continue // paused, or being stopped
			}
			var out bytes.Buffer
			start := time.Now()
			tctx, tcancel := context.WithTimeout(ctx, timeout)
			code, err := execIn(tctx, c, ExecOptions{Cmd: cmd, Stdout: &limitWriter{&out, healthOutputMax}, Stderr: &limitWriter{&out, healthOutputMax}}, m.seccomp)
			tcancel()
			if ctx.Err() != nil {
				return
			}
			if err != nil && code == 0 {
				code = 1
				out.WriteString(err.Error())
			}
			res := HealthResult{Start: start.UTC(), End: time.Now().UTC(), ExitCode: code, Output: out.String()}
			inStart = time.Since(s.at) < hc.StartPeriod
			if code == 0 {
				failures = 0
			} else if !inStart {
				failures++
			}
			_ = m.update(func(c *Container) {
				if c.State.Pid != s.pid {
					return
				}
				c.State.HealthLog = append(c.State.HealthLog, res)
				if len(c.State.HealthLog) > healthLogKeep {
					c.State.HealthLog = c.State.HealthLog[len(c.State.HealthLog)-healthLogKeep:]
				}
				switch {
				case code == 0:
					c.State.Health = "healthy"
				case failures >= retries:
					c.State.Health = "unhealthy"
				}
			})
		}
	}()
	return h
}

// limitWriter keeps at most n bytes in total.
type limitWriter struct {
	b *bytes.Buffer
	n int
}

// Write keeps what fits and reports everything written, so a chatty check never fails.
func (w *limitWriter) Write(p []byte) (int, error) {
	if room := w.n - w.b.Len(); room > 0 {
		w.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
