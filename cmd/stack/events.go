package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/stackhq/stack/reconcile"
	"github.com/stackhq/stack/runtime"
)

// containerEvent is one event of `stack events` (compose's field names with --json).
type containerEvent struct {
	Time       time.Time         `json:"time"`
	Type       string            `json:"type"`
	Action     string            `json:"action"`
	ID         string            `json:"id"`
	Service    string            `json:"service"`
	Attributes map[string]string `json:"attributes"`
}

func newEventsCmd() *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "events [SERVICE...]",
		Short: "Print the events of the stack's containers as they happen",
		Long: `Print an event each time a container of the stack (or of the named services) is
created, started, dies, is paused or unpaused, renamed, changes health status, or is
destroyed, until interrupted. There is no daemon to ask: events are derived from the
containers' state files, watched with inotify (and re-read every second, which also
catches a container whose monitor died).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, sel, err := openSelection(cmd, args, false)
			if err != nil {
				return err
			}
			want := map[string]bool{}
			for _, svc := range sel.desired.Services {
				want[svc.Name] = true
			}
			w := &eventWatcher{m: s.engine.Containers, dir: filepath.Join(global.root, "containers"),
				keep: func(c *runtime.Container) bool {
					return c.Spec.Labels[reconcile.LabelProject] == s.project.Name && want[c.Spec.Labels[reconcile.LabelService]]
				}}
			out := cmd.OutOrStdout()
			return w.run(cmd, func(e containerEvent) error { return writeEvent(out, e, jsonOut) })
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "one JSON object per line")
	return cmd
}

// writeEvent prints an event as compose does: "2006-01-02 15:04:05.000000 container start
// ID (name=..., service=...)", or one JSON object per line.
func writeEvent(w io.Writer, e containerEvent, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(e)
	}
	keys := make([]string, 0, len(e.Attributes))
	for k := range e.Attributes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	attrs := make([]string, len(keys))
	for i, k := range keys {
		attrs[i] = k + "=" + e.Attributes[k]
	}
	_, err := fmt.Fprintf(w, "%s container %s %s (%s)\n", e.Time.Local().Format("2006-01-02 15:04:05.000000"), e.Action, e.ID, strings.Join(attrs, ", "))
	return err
}

// containerSnap is what events compares between two readings of a container's state.
type containerSnap struct {
	ID, Name, Service, Image string
	Created                  time.Time
	Status, Health           string
	StartedAt, FinishedAt    time.Time
	ExitCode                 int
}

func snapOf(c *runtime.Container) *containerSnap {
	return &containerSnap{ID: c.ID, Name: c.Name, Service: c.Spec.Labels[reconcile.LabelService], Image: c.Spec.Image,
		Created: c.Created, Status: c.State.Status, Health: c.State.Health,
		StartedAt: c.State.StartedAt, FinishedAt: c.State.FinishedAt, ExitCode: c.State.ExitCode}
}

// diffEvents returns the events that take a container from prev to next, in time order:
// prev nil means it is new (create, then whatever it did since), next nil that it is gone
// (destroy). now stamps events whose time the state does not record.
func diffEvents(prev, next *containerSnap, now time.Time) []containerEvent {
	ref := next
	if ref == nil {
		ref = prev
	}
	var evs []containerEvent
	add := func(action string, t time.Time, extra ...string) {
		if t.IsZero() {
			t = now
		}
		e := containerEvent{Time: t, Type: "container", Action: action, ID: ref.ID, Service: ref.Service,
			Attributes: map[string]string{"name": ref.Name, "image": ref.Image}}
		for i := 0; i+1 < len(extra); i += 2 {
			e.Attributes[extra[i]] = extra[i+1]
		}
		evs = append(evs, e)
	}
	if next == nil {
		add("destroy", now)
		return evs
	}
	if prev == nil {
		add("create", next.Created)
		prev = &containerSnap{Status: runtime.StatusCreated}
	}
	if next.FinishedAt.After(prev.FinishedAt) {
		add("die", next.FinishedAt, "exitCode", strconv.Itoa(next.ExitCode))
	}
	if next.StartedAt.After(prev.StartedAt) {
		add("start", next.StartedAt)
	}
	switch {
	case next.Status == runtime.StatusPaused && prev.Status != runtime.StatusPaused:
		add("pause", now)
	case prev.Status == runtime.StatusPaused && next.Status == runtime.StatusRunning:
		add("unpause", now)
	}
	if next.Health != prev.Health && next.Health != "" {
		add("health_status: "+next.Health, now, "healthStatus", next.Health)
	}
	if prev.Name != "" && next.Name != prev.Name {
		add("rename", now, "oldName", prev.Name)
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time.Before(evs[j].Time) })
	return evs
}

// eventWatcher follows the containers directory of the store. Every state change is an
// atomic rename of <id>/state.json, which inotify reports as IN_MOVED_TO; a container
// directory appears (IN_CREATE) at create and goes at removal (IN_MOVED_FROM: it is renamed
// out of the store before it is deleted). Only the
// changed container is read again. A full re-read every second catches what no file
// change shows: a container whose monitor died reads as exited from then on.
type eventWatcher struct {
	m    *runtime.Manager
	dir  string
	keep func(c *runtime.Container) bool
	fd   int
	wds  map[int]string // watch descriptor → container ID ("" for the containers directory)
	seen map[string]*containerSnap
}

func (w *eventWatcher) run(cmd *cobra.Command, emit func(containerEvent) error) error {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return fmt.Errorf("inotify_init1: %w", err)
	}
	defer unix.Close(fd)
	w.fd, w.wds, w.seen = fd, map[int]string{}, map[string]*containerSnap{}
	wd, err := unix.InotifyAddWatch(fd, w.dir, unix.IN_CREATE|unix.IN_DELETE|unix.IN_MOVED_FROM|unix.IN_MOVED_TO|unix.IN_ONLYDIR)
	if err != nil {
		return fmt.Errorf("inotify_add_watch %s: %w", w.dir, err)
	}
	w.wds[wd] = ""
	// The current state is the baseline: only what happens from now on is printed.
	if err := w.rescan(func(containerEvent) error { return nil }); err != nil {
		return err
	}
	ctx := cmd.Context()
	buf := make([]byte, 64*1024)
	lastScan := time.Now()
	for ctx.Err() == nil {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 1000)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("poll inotify: %w", err)
		}
		if n > 0 {
			if err := w.readEvents(buf, emit); err != nil {
				return err
			}
		}
		if time.Since(lastScan) >= time.Second {
			lastScan = time.Now()
			if err := w.rescan(emit); err != nil {
				return err
			}
		}
	}
	return nil
}

// readEvents drains the inotify queue and re-reads the containers it names.
func (w *eventWatcher) readEvents(buf []byte, emit func(containerEvent) error) error {
	for {
		n, err := unix.Read(w.fd, buf)
		if errors.Is(err, unix.EAGAIN) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read inotify: %w", err)
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := strings.TrimRight(string(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+int(ev.Len)]), "\x00")
			off += unix.SizeofInotifyEvent + int(ev.Len)
			id, known := w.wds[int(ev.Wd)]
			switch {
			case ev.Mask&unix.IN_Q_OVERFLOW != 0:
				if err := w.rescan(emit); err != nil {
					return err
				}
			case ev.Mask&unix.IN_IGNORED != 0:
				delete(w.wds, int(ev.Wd))
			case known && id == "" && ev.Mask&(unix.IN_DELETE|unix.IN_MOVED_FROM) != 0:
				if err := w.update(name, emit); err != nil {
					return err
				}
			case known && id == "":
				w.watch(name)
				if err := w.update(name, emit); err != nil {
					return err
				}
			case known && name == "state.json":
				if err := w.update(id, emit); err != nil {
					return err
				}
			}
		}
	}
}

// watch adds a watch on a container's directory (not by-name/ or temporaries).
func (w *eventWatcher) watch(id string) {
	if len(id) != 64 || strings.Trim(id, "0123456789abcdef") != "" {
		return
	}
	if wd, err := unix.InotifyAddWatch(w.fd, filepath.Join(w.dir, id), unix.IN_MOVED_TO|unix.IN_ONLYDIR); err == nil {
		w.wds[wd] = id
	}
}

// update reads one container again and emits what changed since it was last seen.
func (w *eventWatcher) update(id string, emit func(containerEvent) error) error {
	if len(id) != 64 {
		return nil
	}
	var next *containerSnap
	c, err := w.m.Get(id)
	switch {
	case errors.Is(err, runtime.ErrNotFound):
	case err != nil:
		return err
	case w.keep(c):
		next = snapOf(c)
	}
	return w.emitDiff(id, next, emit)
}

func (w *eventWatcher) emitDiff(id string, next *containerSnap, emit func(containerEvent) error) error {
	prev := w.seen[id]
	if prev == nil && next == nil {
		return nil
	}
	for _, e := range diffEvents(prev, next, time.Now()) {
		if err := emit(e); err != nil {
			return err
		}
	}
	if next == nil {
		delete(w.seen, id)
	} else {
		w.seen[id] = next
	}
	return nil
}

// rescan reads every container, watches the new ones and emits what changed.
func (w *eventWatcher) rescan(emit func(containerEvent) error) error {
	cs, err := w.m.List(runtime.ListOptions{All: true})
	if err != nil {
		return err
	}
	now := map[string]bool{}
	for _, c := range cs {
		if !w.keep(c) {
			continue
		}
		now[c.ID] = true
		if w.seen[c.ID] == nil {
			w.watch(c.ID)
		}
		if err := w.emitDiff(c.ID, snapOf(c), emit); err != nil {
			return err
		}
	}
	for id := range w.seen {
		if !now[id] {
			if err := w.emitDiff(id, nil, emit); err != nil {
				return err
			}
		}
	}
	return nil
}
