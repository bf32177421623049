// Package runtime is stack's container runtime: containers are created from image layers,
// isolated in their own namespaces, limited by cgroups and supervised by a small monitor
// process each (no daemon).
//
// # Store layout and locking
//
//	<root>/containers/<id>/state.json   the Container (spec, state) — the one source of truth
//	<root>/containers/<id>/lock         flock: serializes every mutation of this container
//	<root>/containers/<id>/upper, work  the overlay's read/write layer
//	<root>/containers/<id>/rootfs       the overlay mount point (mounted while it runs)
//	<root>/containers/<id>/ctr.log      JSON-lines log, ctr.log.1 after rotation
//	<root>/containers/<id>/hosts, resolv.conf, hostname   bind-mounted into /etc
//	<root>/containers/by-name/<name>    symlink to the ID: name reservation and lookup
//	<run>/netns/<id>                    the pinned network namespace (see netns.go)
//	/sys/fs/cgroup[/<controller>]/stack/<id>   the cgroup, while it runs
//
// Processes: `stack container run -d` (or the reconciler) creates and starts, then exits;
// one monitor per running container (monitor.go) is the parent of the container's PID 1
// (forked by the monitor, see init.go); nothing else runs for a container.
//
// Every file is written atomically with internal/statefile (temporary file, then rename),
// without fsync: after a crash the state is re-derived from the kernel (liveness check),
// and run's hot path must not wait on the disk. A reader never sees half a state. Reading is lock-free and cheap (one small JSON file);
// writers take the container's flock, read, change and write. A container exists from its
// state.json on: Create makes the directory, takes the lock and holds it until state.json
// is saved, so the files it writes before (hosts, resolv.conf, hostname, the log) are
// written in place — nobody reads them yet — and a directory without state.json is a
// create at work (lock held) or the leftover of a killed one, which Sweep removes with the
// name reserved for it. A container whose state says
// running is checked against its monitor's PID and process start time (/proc/PID/stat field
// 22), never the PID alone: after the monitor or the host dies the container reads as exited,
// and the next mutation cleans its mounts and cgroup (see reap).
package runtime

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/stackhq/stack/internal/statefile"
	"golang.org/x/sys/unix"
)

// Container statuses, as Docker names them.
const (
	StatusCreated    = "created"
	StatusRunning    = "running"
	StatusPaused     = "paused"
	StatusRestarting = "restarting"
	StatusExited     = "exited"
	StatusDead       = "dead"
)

// Container is a container's persisted record: its spec, what Create resolved from the image,
// and its current state.
type Container struct {
	ID       string
	Name     string
	Created  time.Time
	Spec     Spec
	ImageID  string
	Image    ImageConfig // the image's config at Create (entrypoint, env, user, ...)
	State    State
	Networks map[string]EndpointState `json:",omitempty"` // reported by the NetworkAttacher
	Ports    []PortMapping            `json:",omitempty"` // published ports as bound

	dir string // <root>/containers/<id>
	run string // RunDir(root)
}

// State is the mutable part of a container.
type State struct {
	Status       string
	Pid          int       // the container's PID 1 as seen from the host; 0 when not running
	StartedAt    time.Time `json:",omitzero"`
	FinishedAt   time.Time `json:",omitzero"`
	ExitCode     int
	OOMKilled    bool
	Error        string         `json:",omitempty"` // why the last start failed
	Health       string         `json:",omitempty"` // starting, healthy, unhealthy, "" without a healthcheck
	HealthLog    []HealthResult `json:",omitempty"`
	RestartCount int

	PidStart     uint64 `json:",omitempty"` // start time of Pid (/proc/PID/stat field 22)
	MonitorPid   int    `json:",omitempty"`
	MonitorStart uint64 `json:",omitempty"`
	// StopRequested is set by stop/kill/rm before signalling: the monitor then neither
	// restarts the process nor counts the exit as a failure (unless-stopped remembers it).
	StopRequested bool `json:",omitempty"`
	// Mounted says the overlay and cgroup exist and must be cleaned up (by the monitor, or
	// by reap when the monitor died).
	Mounted bool `json:",omitempty"`
	// NetworkReady says the network namespace is pinned and attached, with the result in
	// Networks and Ports. A pin without it is what a start killed in between leaves (the
	// pin made, the networks half attached, the state not saved): the next start undoes
	// that and sets the namespace up again.
	NetworkReady bool `json:",omitempty"`
}

// HealthResult is one healthcheck run.
type HealthResult struct {
	Start    time.Time
	End      time.Time
	ExitCode int
	Output   string
}

// ImageConfig is the part of an image's configuration the runtime uses.
type ImageConfig struct {
	Entrypoint   []string     `json:",omitempty"`
	Cmd          []string     `json:",omitempty"`
	Env          []string     `json:",omitempty"`
	WorkingDir   string       `json:",omitempty"`
	User         string       `json:",omitempty"`
	StopSignal   string       `json:",omitempty"`
	Healthcheck  *Healthcheck `json:",omitempty"`
	Volumes      []string     `json:",omitempty"`
	ExposedPorts []string     `json:",omitempty"`
	LowerDirs    []string     // unpacked layers, top first (overlay lowerdir order)
}

// Dir is the container's directory in the store.
func (c *Container) Dir() string { return c.dir }

// HostsPath is the file bind-mounted at /etc/hosts; the NetworkAttacher may rewrite it.
func (c *Container) HostsPath() string { return filepath.Join(c.dir, "hosts") }

// ResolvConfPath is the file bind-mounted at /etc/resolv.conf; the NetworkAttacher may
// rewrite it.
func (c *Container) ResolvConfPath() string { return filepath.Join(c.dir, "resolv.conf") }

// HostnamePath is the file bind-mounted at /etc/hostname.
func (c *Container) HostnamePath() string { return filepath.Join(c.dir, "hostname") }

// LogPath is the container's JSON-lines log file.
func (c *Container) LogPath() string { return filepath.Join(c.dir, "ctr.log") }

// NetNSPath is where the container's network namespace is pinned while it exists.
func (c *Container) NetNSPath() string { return filepath.Join(c.run, "netns", c.ID) }

func (c *Container) rootfs() string    { return filepath.Join(c.dir, "rootfs") }
func (c *Container) statePath() string { return filepath.Join(c.dir, "state.json") }

// Running reports whether the container's process is alive (running, paused or restarting).
func (c *Container) Running() bool {
	switch c.State.Status {
	case StatusRunning, StatusPaused, StatusRestarting:
		return true
	}
	return false
}

// RunDir is the volatile state directory for a store root: /run/stack for the default root
// /var/lib/stack, else <root>/run, so tests with a temporary root stay isolated.
func RunDir(root string) string {
	if filepath.Clean(root) == "/var/lib/stack" {
		return "/run/stack"
	}
	return filepath.Join(root, "run")
}

// save writes the container's record atomically.
func (c *Container) save() error {
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode container %s: %w", c.ID, err)
	}
	return statefile.Write(c.statePath(), data, 0o600)
}

// loadContainer reads a container record from its directory, with its liveness checked.
func loadContainer(dir, run string) (*Container, error) {
	c, err := readContainer(dir, run)
	if err != nil {
		return nil, err
	}
	c.checkAlive()
	return c, nil
}

// readContainer reads a container record as written.
func readContainer(dir, run string) (*Container, error) {
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, filepath.Base(dir))
		}
		return nil, fmt.Errorf("read container state: %w", err)
	}
	c := &Container{}
	if err := json.Unmarshal(data, c); err != nil {
		return nil, fmt.Errorf("decode %s: %w", filepath.Join(dir, "state.json"), err)
	}
	c.dir, c.run = dir, run
	return c, nil
}

// checkAlive downgrades a running-looking state whose monitor is gone (or whose PID now
// belongs to another process) to exited, in memory only; reap persists it and cleans up.
func (c *Container) checkAlive() {
	if !c.Running() && !(c.State.Status == StatusCreated && c.State.MonitorPid != 0) {
		return
	}
	if c.State.MonitorPid != 0 && processAlive(c.State.MonitorPid, c.State.MonitorStart) {
		return
	}
	c.State.Status = StatusExited
	c.State.Pid = 0
	if c.State.ExitCode == 0 {
		c.State.ExitCode = 137 // the container died with its monitor (SIGKILL by PDEATHSIG)
	}
	if c.State.FinishedAt.IsZero() {
		c.State.FinishedAt = time.Now().UTC()
	}
	if c.State.Health != "" {
		c.State.Health = "unhealthy"
	}
}

// newID returns 64 random hex digits, never all digits (a name-like ID would be ambiguous
// with short prefixes in docker's tooling).
func newID() string {
	for {
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			panic(err) // crypto/rand never fails on Linux ≥ 3.17
		}
		id := hex.EncodeToString(b[:])
		if strings.Trim(id[:12], "0123456789") != "" {
			return id
		}
	}
}

func isID(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// Docker-style generated names: adjective_scientist.
var (
	nameLeft  = []string{"admiring", "bold", "brave", "busy", "calm", "clever", "cool", "eager", "elegant", "epic", "focused", "gallant", "gentle", "happy", "hopeful", "jolly", "keen", "kind", "lucid", "modest", "nifty", "quirky", "serene", "sharp", "stoic", "tender", "upbeat", "vibrant", "wizardly", "zen"}
	nameRight = []string{"babbage", "bell", "bohr", "curie", "darwin", "dijkstra", "einstein", "euler", "fermat", "feynman", "galileo", "gauss", "hopper", "hypatia", "kepler", "knuth", "lamarr", "lovelace", "maxwell", "meitner", "newton", "noether", "pascal", "ritchie", "shannon", "tesla", "thompson", "torvalds", "turing", "wozniak"}
)

func generateName() string {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return fmt.Sprintf("%s_%s", nameLeft[int(b[0])%len(nameLeft)], nameRight[int(b[1])%len(nameRight)])
}

// ListOptions filters List.
type ListOptions struct {
	All    bool              // include stopped containers
	Labels map[string]string // every label must match; an empty value matches any value
}

// sortByCreated orders newest first, as docker ps does.
func sortByCreated(cs []*Container) {
	sort.Slice(cs, func(i, j int) bool { return cs[i].Created.After(cs[j].Created) })
}

// lockHeld reports whether someone holds the lock of the container directory dir (a
// missing lock file is not held). It takes the lock for a moment when it is free.
func lockHeld(dir string) bool {
	fd, err := unix.Open(filepath.Join(dir, "lock"), unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) != nil
}

// incompleteAge is how old a container directory without a lock file, or a name linked to
// no directory, must be for Sweep to remove it: Create makes the lock right after the
// directory, and the directory before the name, so older ones are leftovers.
const incompleteAge = time.Minute

// Sweep removes what creates that were killed midway left: container directories without
// state.json whose lock is free (Create holds it until the state is saved), and the names
// reserved for them or for no directory. A container exists from its state.json on, so
// nothing Sweep removes was ever visible as a container. engine.Sweep runs it (rm, prune,
// up).
func (m *Manager) Sweep() error {
	ents, err := os.ReadDir(m.dir)
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	names := map[string][]string{} // ID → names linked to it
	links, err := os.ReadDir(filepath.Join(m.dir, "by-name"))
	if err != nil {
		return fmt.Errorf("list container names: %w", err)
	}
	for _, l := range links {
		if id, err := os.Readlink(filepath.Join(m.dir, "by-name", l.Name())); err == nil {
			names[id] = append(names[id], l.Name())
		}
	}
	var errs []error
	for _, e := range ents {
		if !isID(e.Name()) {
			continue
		}
		id := e.Name()
		if err := m.sweepIncomplete(id, names[id]); err != nil {
			errs = append(errs, err)
		}
	}
	for id, ns := range names {
		if _, err := os.Lstat(filepath.Join(m.dir, id)); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		for _, n := range ns {
			if fi, err := os.Lstat(filepath.Join(m.dir, "by-name", n)); err == nil && time.Since(fi.ModTime()) > incompleteAge {
				if err := m.removeName(n, id); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// sweepIncomplete removes the container directory id and its names if a create that died
// left it: no state.json, and its lock free (or, without a lock file, old).
func (m *Manager) sweepIncomplete(id string, names []string) error {
	dir := filepath.Join(m.dir, id)
	if fileExists(filepath.Join(dir, "state.json")) {
		return nil
	}
	fd, err := unix.Open(filepath.Join(dir, "lock"), unix.O_RDWR|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ENOENT):
		fi, err := os.Lstat(dir)
		if err != nil || time.Since(fi.ModTime()) < incompleteAge {
			return nil // gone meanwhile, or a create between its mkdir and its lock
		}
	case err != nil:
		return fmt.Errorf("open lock of container %.12s: %w", id, err)
	default:
		defer unix.Close(fd)
		if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) != nil {
			return nil // a create at work (or a removal)
		}
		if fileExists(filepath.Join(dir, "state.json")) {
			return nil // the create finished before the lock was ours
		}
	}
	for _, n := range names {
		if err := m.removeName(n, id); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove incomplete container %.12s: %w", id, err)
	}
	return nil
}

// removeName removes the link by-name/name if it still names the container id: another
// create may have taken the name over since it was read.
func (m *Manager) removeName(name, id string) error {
	link := filepath.Join(m.dir, "by-name", name)
	if owner, err := os.Readlink(link); err != nil || owner != id {
		return nil
	}
	if err := os.Remove(link); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove name %s: %w", name, err)
	}
	return nil
}
