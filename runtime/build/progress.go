package build

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// ProgressMode is how a build reports its steps.
type ProgressMode string

// Progress modes, as `--progress` names them.
const (
	// ProgressPlain prints buildkit's plain format, one line per event, for logs and CI:
	//	#3 [2/5] COPY app /app
	//	#3 CACHED
	//	#4 [3/5] RUN make
	//	#4 0.412 cc -o app main.c
	//	#4 DONE 1.3s
	ProgressPlain ProgressMode = "plain"
	// ProgressTTY prints one line per finished step with its time, for terminals; command
	// output is kept back and shown (its last lines) only when the step fails:
	//	 => CACHED [2/5] COPY app /app          0.0s
	//	 => [3/5] RUN make                      1.3s
	ProgressTTY ProgressMode = "tty"
	// ProgressQuiet prints nothing; a failing RUN still returns its output in the error.
	ProgressQuiet ProgressMode = "quiet"
)

// ParseProgressMode validates a --progress value.
func ParseProgressMode(s string) (ProgressMode, error) {
	switch m := ProgressMode(s); m {
	case ProgressPlain, ProgressTTY, ProgressQuiet:
		return m, nil
	}
	return "", fmt.Errorf("progress mode %q (want plain, tty or quiet): %w", s, ErrUnsupported)
}

// progress writes the step events of one build.
type progress struct {
	mu   sync.Mutex
	w    io.Writer
	mode ProgressMode
	n    int
}

func newProgress(w io.Writer, mode ProgressMode) *progress {
	switch {
	case w == nil:
		mode = ProgressQuiet
	case mode == "":
		mode = ProgressPlain
	}
	return &progress{w: w, mode: mode}
}

func (p *progress) printf(format string, args ...any) {
	if p.mode == ProgressQuiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format, args...)
}

// stepLog is one numbered step of the output.
type stepLog struct {
	p      *progress
	id     int
	name   string
	start  time.Time
	cached bool
	buf    []byte   // partial output line
	tail   []string // TTY: last output lines, shown if the step fails
	notes  []string // TTY: details, shown under the step line
}

// tailLines is how many output lines of a failed step TTY mode shows.
const tailLines = 10

// step starts a step called name ("[2/5] COPY app /app").
func (p *progress) step(name string) *stepLog {
	p.mu.Lock()
	p.n++
	s := &stepLog{p: p, id: p.n, name: name, start: time.Now()}
	p.mu.Unlock()
	if p.mode == ProgressPlain {
		p.printf("#%d %s\n", s.id, name)
	}
	return s
}

// Write takes command output and prints it line by line.
func (s *stepLog) Write(b []byte) (int, error) {
	s.buf = append(s.buf, b...)
	for {
		i := bytes.IndexByte(s.buf, '\n')
		if i < 0 {
			break
		}
		s.line(string(s.buf[:i]))
		s.buf = s.buf[i+1:]
	}
	return len(b), nil
}

func (s *stepLog) line(l string) {
	switch s.p.mode {
	case ProgressPlain:
		s.p.printf("#%d %.3f %s\n", s.id, time.Since(s.start).Seconds(), l)
	case ProgressTTY:
		s.tail = append(s.tail, l)
		if len(s.tail) > tailLines {
			s.tail = s.tail[1:]
		}
	}
}

func (s *stepLog) flush() {
	if len(s.buf) > 0 {
		s.line(string(s.buf))
		s.buf = nil
	}
}

// note prints a detail of the step ("writing image sha256:... done").
func (s *stepLog) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	switch s.p.mode {
	case ProgressPlain:
		s.p.printf("#%d %s\n", s.id, msg)
	case ProgressTTY:
		s.notes = append(s.notes, msg)
	}
}

// markCached ends the step as a cache hit.
func (s *stepLog) markCached() {
	s.cached = true
	s.done()
}

// done ends the step.
func (s *stepLog) done() {
	s.flush()
	d := time.Since(s.start).Seconds()
	switch s.p.mode {
	case ProgressPlain:
		if s.cached {
			s.p.printf("#%d CACHED\n", s.id)
		} else {
			s.p.printf("#%d DONE %.1fs\n", s.id, d)
		}
	case ProgressTTY:
		name := s.name
		if s.cached {
			name = "CACHED " + name
		}
		s.p.printf(" => %-60s %5.1fs\n", name, d)
		for _, n := range s.notes {
			s.p.printf(" => => %s\n", n)
		}
	}
}

// fail ends the step with an error.
func (s *stepLog) fail(err error) {
	s.flush()
	msg := strings.SplitN(err.Error(), "\n", 2)[0]
	switch s.p.mode {
	case ProgressPlain:
		s.p.printf("#%d ERROR: %s\n", s.id, msg)
	case ProgressTTY:
		s.p.printf(" => ERROR %s  %.1fs\n", s.name, time.Since(s.start).Seconds())
		for _, l := range s.tail {
			s.p.printf(" => => # %s\n", l)
		}
		s.p.printf(" => => %s\n", msg)
	}
}
