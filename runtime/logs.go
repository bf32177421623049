package runtime

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
	"unicode/utf8"
)

// Logs are JSON lines, Docker's json-file format: {"log":"line\n","stream":"stdout",
// "time":"RFC 3339 with nanoseconds"}. A line longer than maxLogLine is split (the first
// parts have no trailing newline, as in Docker). When the file passes maxLogSize it is
// renamed to ctr.log.1 (replacing the previous one) and a new file is started, so a container
// keeps at most twice maxLogSize of logs.
const (
	maxLogSize = 16 << 20
	maxLogLine = 16 << 10
)

// logWriter is the monitor's side: one per container, shared by the stdout and stderr
// copiers.
type logWriter struct {
	mu   sync.Mutex
	path string
	f    *os.File
	size int64
	buf  []byte
}

func openLogWriter(path string) (*logWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open log: %w", err)
	}
	return &logWriter{path: path, f: f, size: st.Size()}, nil
}

// writeLines appends complete lines (each ending in \n, except a split long line) of one
// stream, in one write per call so lines of stdout and stderr never interleave mid-line.
func (w *logWriter) writeLines(stream string, lines [][]byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	w.buf = w.buf[:0]
	for _, l := range lines {
		w.buf = append(w.buf, `{"log":`...)
		w.buf = appendJSONString(w.buf, l)
		w.buf = append(w.buf, `,"stream":"`...)
		w.buf = append(w.buf, stream...)
		w.buf = append(w.buf, `","time":"`...)
		w.buf = append(w.buf, now...)
		w.buf = append(w.buf, "\"}\n"...)
	}
	if w.size > 0 && w.size+int64(len(w.buf)) > maxLogSize {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	n, err := w.f.Write(w.buf)
	w.size += int64(n)
	if err != nil {
		return fmt.Errorf("write log: %w", err)
	}
	return nil
}

func (w *logWriter) rotate() error {
	if err := os.Rename(w.path, w.path+".1"); err != nil {
		return fmt.Errorf("rotate log: %w", err)
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("rotate log: %w", err)
	}
	w.f.Close()
	w.f, w.size = f, 0
	return nil
}

func (w *logWriter) close() error { return w.f.Close() }

// copyStream reads one of the container's output streams until EOF (or EIO from a terminal
// whose last slave closed) and logs it line by line.
func (w *logWriter) copyStream(stream string, r io.Reader) {
	buf := make([]byte, 32<<10)
	var pending []byte
	for {
		n, err := r.Read(buf)
		if n > 0 {
			pending = append(pending, buf[:n]...)
			var lines [][]byte
			for {
				i := bytes.IndexByte(pending, '\n')
				if i < 0 {
					if len(pending) >= maxLogLine {
						lines = append(lines, pending[:maxLogLine])
						pending = pending[maxLogLine:]
						continue
					}
					break
				}
				lines = append(lines, pending[:i+1])
				pending = pending[i+1:]
			}
			if len(lines) > 0 {
				_ = w.writeLines(stream, lines) // a full disk must not block the container
				pending = append([]byte(nil), pending...)
			}
		}
		if err != nil {
			if len(pending) > 0 {
				_ = w.writeLines(stream, [][]byte{pending})
			}
			return
		}
	}
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// LogOptions select and shape what Logs prints.
type LogOptions struct {
	Follow     bool      // keep printing until the container stops (or ctx ends)
	Timestamps bool      // prefix each line with its RFC 3339 time
	Tail       int       // only the last N lines; < 0 = all
	Since      time.Time // only lines at or after this time
}

// logEntry is one decoded log line.
type logEntry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// Logs writes the container's logs to stdout and stderr by stream. With Follow it keeps
// reading as the monitor appends (and across a rotation) until the container is no longer
// running and the file is drained.
func (m *Manager) Logs(ctx context.Context, idOrName string, opts LogOptions, stdout, stderr io.Writer) error {
	c, err := m.Get(idOrName)
	if err != nil {
		return err
	}
	f, err := os.Open(c.LogPath())
	if errors.Is(err, os.ErrNotExist) {
		f, err = os.Open(os.DevNull) // a container made before logs were created at Create
	}
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	return followLogs(ctx, f, opts, stdout, stderr, nil, func() bool {
		cur, err := m.Get(c.ID)
		return err == nil && cur.Running()
	})
}

// FollowLogs prints the log file at path (Container.LogPath) like Logs, following it until
// done is closed (StartWait's exit notification), then draining what is left.
func FollowLogs(ctx context.Context, path string, opts LogOptions, stdout, stderr io.Writer, done <-chan struct{}) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		f, err = os.Open(os.DevNull) // never started: no log yet
	}
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	return FollowLogFile(ctx, f, opts, stdout, stderr, done)
}

// FollowLogFile is FollowLogs on a log the caller opened (os.Open(c.LogPath()) after
// Create: the file exists from then on) and that it closes. `run --rm` opens it before the
// start, so a container that ends at once, and takes its files with it, is still read whole.
func FollowLogFile(ctx context.Context, f *os.File, opts LogOptions, stdout, stderr io.Writer, done <-chan struct{}) error {
	return followLogs(ctx, f, opts, stdout, stderr, done, func() bool {
		select {
		case <-done:
			return false
		default:
			return true
		}
	})
}

// followLogs prints the log f (named by its path, which rotation replaces); with
// opts.Follow it polls for more while running() reports true, then drains once more. A
// close of stop (may be nil) cuts a poll short. It closes f.
func followLogs(ctx context.Context, f *os.File, opts LogOptions, stdout, stderr io.Writer, stop <-chan struct{}, running func() bool) error {
	path := f.Name()
	emit := func(e *logEntry) error {
		if !opts.Since.IsZero() && e.Time.Before(opts.Since) {
			return nil
		}
		w := stdout
		if e.Stream == "stderr" {
			w = stderr
		}
		var err error
		if opts.Timestamps {
			_, err = io.WriteString(w, e.Time.Format(time.RFC3339Nano)+" "+e.Log)
		} else {
			_, err = io.WriteString(w, e.Log)
		}
		return err
	}
	defer func() { f.Close() }()
	if opts.Tail >= 0 {
		// Tail: keep the last N lines of the rotated file and the current one.
		var ring []logEntry
		for _, p := range []string{path + ".1", ""} {
			var r io.Reader = f
			if p != "" {
				rf, err := os.Open(p)
				if err != nil {
					continue
				}
				defer rf.Close()
				r = rf
			}
			sc := bufio.NewScanner(r)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				var e logEntry
				if json.Unmarshal(sc.Bytes(), &e) != nil {
					continue
				}
				ring = append(ring, e)
				if len(ring) > opts.Tail {
					ring = ring[1:]
				}
			}
		}
		for i := range ring {
			if err := emit(&ring[i]); err != nil {
				return err
			}
		}
		if !opts.Follow {
			return nil
		}
	} else if off, _ := f.Seek(0, io.SeekCurrent); off > 0 {
		// The caller positioned f (start -a: this run's output only): no rotated history.
	} else if old, err := os.Open(path + ".1"); err == nil {
		err = (&lineReader{f: old}).emitAll(emit)
		old.Close()
		if err != nil {
			return err
		}
	}
	rd := &lineReader{f: f}
	delay := time.Millisecond
	for {
		if err := rd.emitAll(emit); err != nil {
			return err
		}
		if !opts.Follow {
			return nil
		}
		// Rotated? The rest of the old file is read above; continue with the new one.
		if st, err := os.Stat(path); err == nil {
			if fst, err := rd.f.Stat(); err == nil && !os.SameFile(st, fst) {
				if nf, err := os.Open(path); err == nil {
					if err := rd.emitAll(emit); err != nil {
						return err
					}
					rd.f.Close()
					f = nf
					rd = &lineReader{f: nf}
					continue
				}
			}
		}
		if !running() {
			return rd.emitAll(emit)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-stop:
		case <-time.After(delay):
		}
		if delay < 50*time.Millisecond {
			delay *= 2
		}
		if delay > 50*time.Millisecond {
			delay = 50 * time.Millisecond
		}
	}
}

// lineReader reads complete lines from a file that is still being appended to; a partial
// last line waits in carry for the rest.
type lineReader struct {
	f     *os.File
	carry []byte
	buf   [64 << 10]byte
}

// emitAll emits every complete line available now.
func (r *lineReader) emitAll(emit func(*logEntry) error) error {
	for {
		n, err := r.f.Read(r.buf[:])
		if n == 0 || err != nil {
			return nil
		}
		data := append(r.carry, r.buf[:n]...)
		for {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				break
			}
			var e logEntry
			if json.Unmarshal(data[:i], &e) == nil {
				if err := emit(&e); err != nil {
					return err
				}
			}
			data = data[i+1:]
		}
		r.carry = append(r.carry[:0], data...)
	}
}
