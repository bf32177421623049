package runtime

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/stackhq/stack/internal/statefile"

	"github.com/stackhq/stack/runtime/image"
	"golang.org/x/sys/unix"
)

// NetworkAttacher connects a container's pinned network namespace to networks and publishes
// its ports; the network package implements it and the caller sets it on the Manager.
// Without one a container has only lo (like --network none).
type NetworkAttacher interface {
	// Attach runs once the namespace at netnsPath exists and before the container's first
	// process starts. It reads c.Spec.Networks and c.Spec.Ports, fills c.Networks and
	// c.Ports with what it set up (addresses, host ports chosen for -P), and may rewrite
	// the files at c.HostsPath() and c.ResolvConfPath().
	Attach(ctx context.Context, c *Container, netnsPath string) error
	// Detach undoes Attach when the container is removed; the namespace still exists.
	Detach(ctx context.Context, c *Container) error
}

// Manager creates and controls the containers of one store root. It holds no state of its
// own beyond paths: every call reads the store, so several processes (CLI invocations,
// `stack up`, monitors) share one truth.
//
// A program using it must lock its main goroutine to the main thread in an init function
// (cmd/stack does): Start and Exec move locked threads into other namespaces and let them
// die, and Go cannot retire the main thread, whose namespaces /proc/self reflects.
type Manager struct {
	root   string
	dir    string // <root>/containers
	run    string // RunDir(root)
	images *image.Store

	spareMu sync.Mutex
	spare   *spareMonitor // Prefork's, for the container with its ID

	// Network, when set, attaches containers to networks at their first start and detaches
	// them at removal.
	Network NetworkAttacher
}

// New opens the container store under root (root/containers) and the image store
// (root/images), creating the directories as needed.
func New(root string) (*Manager, error) {
	imgs, err := image.Open(filepath.Join(root, "images"))
	if err != nil {
		return nil, fmt.Errorf("open image store: %w", err)
	}
	return NewWithImages(root, imgs)
}

// NewWithImages is New with the root's image store already open (engine.Open shares its own).
func NewWithImages(root string, images *image.Store) (*Manager, error) {
	m := &Manager{root: root, dir: filepath.Join(root, "containers"), run: RunDir(root), images: images}
	if err := os.MkdirAll(filepath.Join(m.dir, "by-name"), 0o700); err != nil {
		return nil, fmt.Errorf("create container store: %w", err)
	}
	return m, nil
}

// Get finds a container by full ID, name, or unique ID prefix.
func (m *Manager) Get(idOrName string) (*Container, error) {
	id, err := m.resolve(idOrName)
	if err != nil {
		return nil, err
	}
	return loadContainer(filepath.Join(m.dir, id), m.run)
}

func (m *Manager) resolve(idOrName string) (string, error) {
	if idOrName == "" {
		return "", fmt.Errorf("%w: empty name", ErrNotFound)
	}
	if isID(idOrName) && fileExists(filepath.Join(m.dir, idOrName, "state.json")) {
		return idOrName, nil
	}
	if validName(idOrName) {
		if id, err := os.Readlink(filepath.Join(m.dir, "by-name", idOrName)); err == nil {
			return id, nil
		}
	}
	ents, err := os.ReadDir(m.dir)
	if err != nil {
		return "", fmt.Errorf("list containers: %w", err)
	}
	found := ""
	for _, e := range ents {
		if isID(e.Name()) && strings.HasPrefix(e.Name(), idOrName) {
			if found != "" {
				return "", fmt.Errorf("%w: %s", ErrAmbiguous, idOrName)
			}
			found = e.Name()
		}
	}
	if found == "" {
		return "", fmt.Errorf("%w: %s", ErrNotFound, idOrName)
	}
	return found, nil
}

// List returns the containers, newest first: running ones, or all with opts.All, filtered
// by labels. It reads one small file per container.
func (m *Manager) List(opts ListOptions) ([]*Container, error) {
	ents, err := os.ReadDir(m.dir)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	dropOldExitRecords(m.run)
	var out []*Container
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), removedPrefix) {
			_ = purgeRemoved(filepath.Join(m.dir, e.Name()), m.run) // its remover died (see unlinkStore)
		}
		if !isID(e.Name()) {
			continue
		}
		c, err := loadContainer(filepath.Join(m.dir, e.Name()), m.run)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				continue // removed meanwhile
			}
			return nil, err
		}
		if !c.Running() && c.State.Mounted {
			c.tryReap() // its monitor died: clean up now, unless someone holds the lock
		}
		if !opts.All && !c.Running() {
			continue
		}
		if !matchLabels(c.Spec.Labels, opts.Labels) {
			continue
		}
		out = append(out, c)
	}
	sortByCreated(out)
	return out, nil
}

func matchLabels(have, want map[string]string) bool {
	for k, v := range want {
		hv, ok := have[k]
		if !ok || (v != "" && hv != v) {
			return false
		}
	}
	return true
}

// Create makes a container from spec: it resolves the image, reserves the name, and lays
// out the container's directory (read/write layer, /etc files, state). Nothing runs yet.
//
// Order, so that a kill at any point leaves what Sweep removes: the directory is made and
// its lock taken first, and held until state.json exists. A directory without state.json
// is then either a create at work (its lock held) or the leftover of one that died (its
// lock free), and the name is reserved only once the directory exists, so a name linking to
// no directory is a leftover too.
func (m *Manager) Create(ctx context.Context, spec Spec) (_ *Container, retErr error) {
	if err := spec.validate(); err != nil {
		return nil, err
	}
	img, err := m.images.RunConfig(spec.Image)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrImage, spec.Image, err)
	}
	cfg := img.Config
	c := &Container{
		ID:      m.nextID(),
		Created: time.Now().UTC(),
		Spec:    spec,
		ImageID: img.ID,
		Image: ImageConfig{
			Entrypoint: cfg.Entrypoint, Cmd: cfg.Cmd, Env: cfg.Env, WorkingDir: cfg.WorkingDir,
			User: cfg.User, StopSignal: cfg.StopSignal, LowerDirs: img.LowerDirs,
		},
		State: State{Status: StatusCreated},
		run:   m.run,
	}
	for v := range cfg.Volumes {
		c.Image.Volumes = append(c.Image.Volumes, v)
	}
	for p := range cfg.ExposedPorts {
		c.Image.ExposedPorts = append(c.Image.ExposedPorts, p)
	}
	if hc := cfg.Healthcheck; hc != nil {
		c.Image.Healthcheck = &Healthcheck{Test: hc.Test, Interval: hc.Interval, Timeout: hc.Timeout,
			StartPeriod: hc.StartPeriod, Retries: hc.Retries}
	}
	if len(c.Command()) == 0 {
		return nil, fmt.Errorf("%w: no command specified (the image has none)", ErrInvalidSpec)
	}
	c.dir = filepath.Join(m.dir, c.ID)
	if err := mkdirMode(c.dir, 0o700); err != nil { // the container directory stays private
		os.Remove(c.dir)
		return nil, err
	}
	unlock, err := statefile.Lock(filepath.Join(c.dir, "lock"))
	if err != nil {
		os.RemoveAll(c.dir)
		return nil, err
	}
	defer unlock() // after the cleanup below: Sweep must not see the directory unlocked first
	defer func() {
		if retErr != nil {
			if c.Name != "" {
				os.Remove(filepath.Join(m.dir, "by-name", c.Name))
			}
			os.RemoveAll(c.dir)
		}
	}()
	if err := m.reserveName(c, spec.Name == ""); err != nil {
		return nil, err
	}
	// The merged root takes its mode from upper, so upper (and the mount point) are 0755
	// like a root directory.
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{filepath.Join(c.dir, "upper"), 0o755}, {filepath.Join(c.dir, "work"), 0o700}, {c.rootfs(), 0o755}} {
		if err := mkdirMode(d.path, d.mode); err != nil {
			return nil, err
		}
	}
	if err := c.writeEtcFiles(); err != nil {
		return nil, err
	}
	// The log exists from Create on, so a caller can open it before the start (FollowLogFile).
	if err := os.WriteFile(c.LogPath(), nil, 0o640); err != nil {
		return nil, fmt.Errorf("create log: %w", err)
	}
	// The one file written atomically: once state.json exists, every command reads it.
	if err := c.save(); err != nil {
		return nil, err
	}
	return c, nil
}

// mkdirMode makes a directory with exactly mode (whatever the umask).
func mkdirMode(path string, mode os.FileMode) error {
	if err := os.Mkdir(path, mode); err != nil {
		return fmt.Errorf("create container dir: %w", err)
	}
	if err := os.Chmod(path, mode); err != nil { // umask
		return fmt.Errorf("create container dir: %w", err)
	}
	return nil
}

// reserveName takes the name with an atomic symlink by-name/<name> → ID; a generated name
// that is taken is generated again.
func (m *Manager) reserveName(c *Container, generate bool) error {
	for i := 0; ; i++ {
		name := c.Spec.Name
		if generate {
			name = generateName()
			if i > 10 {
				name = fmt.Sprintf("%s_%d", name, i)
			}
		}
		err := os.Symlink(c.ID, filepath.Join(m.dir, "by-name", name))
		if err == nil {
			c.Name = name
			return nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("reserve name %s: %w", name, err)
		}
		if !generate {
			owner, _ := os.Readlink(filepath.Join(m.dir, "by-name", name))
			if owner != "" && m.staleName(owner, name) {
				// A leftover of a crash (between reservation and removal, or in the middle
				// of a Rename): take it over.
				if os.Remove(filepath.Join(m.dir, "by-name", name)) == nil {
					continue
				}
			}
			return fmt.Errorf("%w: the name %q is already used by container %.12s; remove or rename it", ErrNameInUse, name, owner)
		}
	}
}

// staleName reports whether the by-name link name → owner is a leftover: its container is
// gone (no state, and no Create holds its lock), or no longer carries that name (a Rename
// that crashed before dropping the old link).
// The moment inside Rename between reserving the new name and saving the state also looks
// stale; the project lock keeps the reconciler's own renames and creates from racing there.
func (m *Manager) staleName(owner, name string) bool {
	dir := filepath.Join(m.dir, owner)
	if !fileExists(filepath.Join(dir, "state.json")) {
		return !lockHeld(dir) // held: a Create at work, which has not saved the state yet
	}
	c, err := readContainer(dir, m.run)
	return err == nil && c.Name != name
}

// Command is the process's argv: the image's Entrypoint and Cmd with the Spec's overrides
// (an overridden entrypoint drops the image's Cmd, as in Docker).
func (c *Container) Command() []string {
	ep, cmd := c.Image.Entrypoint, c.Image.Cmd
	if c.Spec.Entrypoint != nil {
		ep, cmd = c.Spec.Entrypoint, nil
	}
	if c.Spec.Cmd != nil {
		cmd = c.Spec.Cmd
	}
	return append(append([]string{}, ep...), cmd...)
}

// env is the image's environment with the Spec's merged over it by key, plus PATH,
// HOSTNAME and (with a terminal) TERM.
func (c *Container) env() []string {
	var out []string
	idx := map[string]int{}
	add := func(kv string) {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := idx[k]; ok {
			out[i] = kv
			return
		}
		idx[k] = len(out)
		out = append(out, kv)
	}
	add("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	add("HOSTNAME=" + c.hostname())
	if c.Spec.Tty {
		add("TERM=xterm")
	}
	for _, e := range c.Image.Env {
		add(e)
	}
	for _, e := range c.Spec.Env {
		if !strings.Contains(e, "=") {
			continue // a bare KEY was resolved from the caller's environment by cmd, or dropped
		}
		add(e)
	}
	return out
}

func (c *Container) hostname() string {
	if c.Spec.Hostname != "" {
		return c.Spec.Hostname
	}
	return c.ID[:12]
}

// healthcheck is the effective healthcheck: the Spec's, else the image's; nil when none or
// disabled with NONE.
func (c *Container) healthcheck() *Healthcheck {
	hc := c.Spec.Healthcheck
	if hc == nil {
		hc = c.Image.Healthcheck
	}
	if hc == nil || len(hc.Test) == 0 || hc.Test[0] == "NONE" {
		return nil
	}
	return hc
}

// writeEtcFiles writes the hosts, resolv.conf and hostname files the container's /etc gets.
// resolv.conf is the host's without loopback name servers (unreachable from the container's
// own loopback).
func (c *Container) writeEtcFiles() error {
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
	for _, h := range c.Spec.ExtraHosts {
		host, ip, _ := strings.Cut(h, ":")
		if strings.HasPrefix(ip, "[") { // docker's [v6]:host form is host:ip with brackets
			ip = strings.Trim(ip, "[]")
		}
		hosts += ip + "\t" + host + "\n"
	}
	resolv := containerResolvConf("/etc/resolv.conf", "/run/systemd/resolve/resolv.conf")
	for _, f := range []struct {
		path, data string
	}{{c.HostsPath(), hosts}, {c.ResolvConfPath(), resolv}, {c.HostnamePath(), c.hostname() + "\n"}} {
		if err := writeNewFile(f.path, f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeNewFile creates path (which must not exist) with data and exactly perm. It writes in
// place, without the temporary file and rename of statefile.Write, which only Create may
// do: the container directory is its own, new, and locked, and nothing reads it before
// state.json exists — commands find a container by its state, Sweep removes a directory
// without one once its lock is free — so a file cut short by a crash is never read.
func writeNewFile(path, data string, perm os.FileMode) (retErr error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && retErr == nil {
			retErr = fmt.Errorf("write %s: %w", path, cerr)
		}
	}()
	if _, err := f.WriteString(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil { // umask
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// containerResolvConf is the resolv.conf of a container that its networks give no DNS
// server, as Docker makes it: the host's (hostConf) without loopback nameservers, which are
// the host's own and unreachable from the container's network namespace; when they were all
// there is (systemd-resolved's stub), the upstream servers resolvedConf lists instead; and
// when still no nameserver is left, Google's public ones, Docker's fallback.
func containerResolvConf(hostConf, resolvedConf string) string {
	out, n := withoutLoopbackNameservers(hostConf)
	if n == 0 {
		if alt, m := withoutLoopbackNameservers(resolvedConf); m > 0 {
			return alt
		}
		out += "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
	}
	return out
}

// withoutLoopbackNameservers reads a resolv.conf (a missing one is empty) and returns it
// without its loopback nameservers, and how many nameservers are left.
func withoutLoopbackNameservers(path string) (string, int) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", 0
	}
	var out strings.Builder
	n := 0
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if fs := strings.Fields(line); len(fs) >= 2 && fs[0] == "nameserver" {
			if strings.HasPrefix(fs[1], "127.") || fs[1] == "::1" {
				continue
			}
			n++
		}
		out.WriteString(line + "\n")
	}
	return out.String(), n
}

// initConfig resolves what init needs from the container's spec and image.
func (c *Container) initConfig() (initConfig, error) {
	caps, err := capabilitySet(c.Spec.CapAdd, c.Spec.CapDrop, c.Spec.Privileged)
	if err != nil {
		return initConfig{}, err
	}
	sec, err := securityOpts(c.Spec.SecurityOpt)
	if err != nil {
		return initConfig{}, err
	}
	cwd := c.Spec.WorkingDir
	if cwd == "" {
		cwd = c.Image.WorkingDir
	}
	if cwd == "" {
		cwd = "/"
	}
	user := c.Spec.User
	if user == "" {
		user = c.Image.User
	}
	return initConfig{
		Args: c.Command(), Env: c.env(), Cwd: cwd, User: user,
		Hostname: c.hostname(), Domainname: c.Spec.Domainname,
		Tty: c.Spec.Tty, Reaper: c.Spec.Init, ReadOnly: c.Spec.ReadOnly, Privileged: c.Spec.Privileged,
		Caps: caps, NoNewPrivs: sec.noNewPrivs,
		Ulimits: c.Spec.Ulimits, Sysctls: c.Spec.Sysctls, Mounts: c.Spec.Mounts,
		Rootfs: c.rootfs(), Hosts: c.HostsPath(), ResolvConf: c.ResolvConfPath(), HostnameF: c.HostnamePath(),
	}, nil
}

// mountRootfs mounts the overlay: the image's layers read-only below, the store's init
// layer over them (see ensureInitLayer), the container's own upper (read/write) and work
// directories on top.
func (c *Container) mountRootfs() error {
	if len(c.Image.LowerDirs) == 0 {
		return fmt.Errorf("%w: image %s has no layers", ErrImage, c.ImageID)
	}
	init, err := ensureInitLayer(filepath.Dir(c.dir))
	if err != nil {
		return err
	}
	data := "lowerdir=" + init + ":" + strings.Join(c.Image.LowerDirs, ":") +
		",upperdir=" + filepath.Join(c.dir, "upper") + ",workdir=" + filepath.Join(c.dir, "work")
	if c.Spec.AutoRemove {
		// A --rm container's layer is deleted when it exits, never mounted again: skip the
		// syncs of the upper filesystem (which make unmounting take milliseconds).
		data += ",volatile"
	}
	if len(data) >= os.Getpagesize() {
		return fmt.Errorf("%w: overlay options for %d layers exceed a page", ErrImage, len(c.Image.LowerDirs))
	}
	return mount("overlay", c.rootfs(), "overlay", 0, data)
}

// initLayerDirs and initLayerFiles are the mount points every container needs, which
// many images lack (as Docker's init layer has them).
var (
	initLayerDirs  = []string{"dev", "etc", "proc", "sys"}
	initLayerFiles = []string{"etc/hosts", "etc/hostname", "etc/resolv.conf"}
)

// ensureInitLayer returns the store's init layer (<containers>/.init), making it on first
// use: a read-only overlay layer above every image with the mount points of /proc, /sys,
// /dev and the /etc files the runtime binds, so a start creates none of them in the
// container's own layer (a directory and three files each time, about a millisecond on
// ext4). The same for every container, it is made once per store, atomically (built aside,
// then renamed into place).
func ensureInitLayer(containers string) (string, error) {
	dir := filepath.Join(containers, ".init")
	if fileExists(dir) {
		return dir, nil
	}
	tmp, err := os.MkdirTemp(containers, ".init-")
	if err != nil {
		return "", fmt.Errorf("create init layer: %w", err)
	}
	defer os.RemoveAll(tmp) // left only if the rename lost a race
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("create init layer: %w", err)
	}
	for _, d := range initLayerDirs {
		if err := os.Mkdir(filepath.Join(tmp, d), 0o755); err != nil {
			return "", fmt.Errorf("create init layer: %w", err)
		}
	}
	for _, f := range initLayerFiles {
		if err := os.WriteFile(filepath.Join(tmp, f), nil, 0o644); err != nil {
			return "", fmt.Errorf("create init layer: %w", err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil && !fileExists(dir) {
		return "", fmt.Errorf("create init layer: %w", err)
	}
	return dir, nil
}

// teardown undoes what a start set up on the host: the rootfs mount and the cgroup (killing
// whatever is left in it). It is idempotent.
func (c *Container) teardown() error {
	var errs []error
	if !removeEmptyCgroup(c.ID) { // processes left (or an odd hierarchy): the full way
		if cg, err := loadCgroup(c.ID); err == nil {
			deadline := time.Now().Add(5 * time.Second)
			if err := cg.killAll(deadline); err != nil {
				errs = append(errs, err)
			}
			if err := cg.delete(deadline); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := unix.Unmount(c.rootfs(), unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		errs = append(errs, &MountError{Op: "umount", Target: c.rootfs(), Flags: unix.MNT_DETACH, Err: err})
	}
	c.State.Mounted = false
	return errors.Join(errs...)
}

// clearInterruptedStart undoes what a start killed midway left of a container that is not
// running: a monitor that runs the container although the state never said so (the start
// died before recording it), a mounted rootfs or a cgroup it did not record. The monitor is
// killed (its container dies with it, by PDEATHSIG) and the host side torn down, so the
// start that follows begins from nothing and never runs the container twice. Runs under
// the lock; teardown is idempotent and cheap when there is nothing to undo.
func (c *Container) clearInterruptedStart() error {
	if pid := c.State.MonitorPid; pid != 0 && processAlive(pid, c.State.MonitorStart) {
		if err := unix.Kill(pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("kill monitor %d of an interrupted start: %w", pid, err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for processAlive(pid, c.State.MonitorStart) {
			if time.Now().After(deadline) {
				return fmt.Errorf("kill monitor %d of an interrupted start: still alive after 5s", pid)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	c.State.MonitorPid, c.State.MonitorStart = 0, 0
	return c.teardown()
}

// lock takes the container's flock and returns it freshly read; reap has run, so a
// container whose monitor died is recorded as exited and cleaned.
func (m *Manager) lock(idOrName string) (*Container, func(), error) {
	id, err := m.resolve(idOrName)
	if err != nil {
		return nil, nil, err
	}
	dir := filepath.Join(m.dir, id)
	if !fileExists(filepath.Join(dir, "state.json")) {
		return nil, nil, fmt.Errorf("%w: %s", ErrNotFound, idOrName)
	}
	unlock, err := statefile.Lock(filepath.Join(dir, "lock"))
	if err != nil {
		return nil, nil, err
	}
	c, err := loadContainer(dir, m.run)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	if err := c.reap(); err != nil {
		unlock()
		return nil, nil, err
	}
	return c, unlock, nil
}

// tryReap reaps the container if its lock is free at once (List must not block).
func (c *Container) tryReap() {
	fd, err := unix.Open(filepath.Join(c.dir, "lock"), unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) != nil {
		return
	}
	if cur, err := loadContainer(c.dir, c.run); err == nil {
		_ = cur.reap()
		c.State = cur.State
	}
}

// reap cleans up after a monitor that died without doing it (killed, or the host went down):
// checkAlive already reports the container exited; this persists that and removes the
// rootfs mount and the cgroup. Runs under the lock.
func (c *Container) reap() error {
	if c.Running() || !(c.State.Mounted || c.State.MonitorPid != 0) {
		return nil
	}
	if c.State.MonitorPid != 0 && processAlive(c.State.MonitorPid, c.State.MonitorStart) {
		return nil // a monitor finishing up (it holds no lock while it waits for one)
	}
	err := c.teardown()
	c.State.MonitorPid, c.State.MonitorStart = 0, 0
	if err != nil {
		c.State.Status = StatusDead // its leftovers could not be removed; rm -f tries again
		c.State.Error = err.Error()
	}
	if serr := c.save(); serr != nil {
		return serr
	}
	if err != nil {
		return fmt.Errorf("clean up container %.12s: %w", c.ID, err)
	}
	return nil
}

// Start starts a created or exited container (reusing its read/write layer) and returns
// once its program runs, or with init's error (ErrExecNotFound, ErrExecPermission,
// ErrUnknownUser, ErrStart) after undoing the start. Starting a running container is a
// no-op.
func (m *Manager) Start(ctx context.Context, idOrName string) error {
	w, err := m.start(ctx, idOrName)
	if w != nil {
		w.Close()
	}
	return err
}

// StartWait starts the container like Start and returns a function that waits for its first
// exit and returns the exit code. It is for `run` in the foreground: the monitor reports
// the exit over a pipe before it removes a --rm container.
func (m *Manager) StartWait(ctx context.Context, idOrName string) (wait func(context.Context) (int, error), err error) {
	r, err := m.start(ctx, idOrName)
	if err != nil {
		if r != nil {
			r.Close()
		}
		return nil, err
	}
	id, _ := m.resolve(idOrName)
	return func(ctx context.Context) (int, error) {
		defer r.Close()
		lines := make(chan monitorReport, 1)
		go func() {
			var rep monitorReport
			if err := json.NewDecoder(r.reader).Decode(&rep); err == nil && rep.Exit != nil {
				lines <- rep
			}
			close(lines)
		}()
		select {
		case rep, ok := <-lines:
			if ok {
				return *rep.Exit, nil
			}
			return m.Wait(ctx, id) // the monitor died before reporting: the state says it
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}, nil
}

// reportReader is the read end of the monitor's report pipe, with the decoder's buffer.
type reportReader struct {
	f      *os.File
	reader *bufio.Reader
}

// Close closes the pipe; the monitor's later reports then meet EPIPE, which it ignores.
func (r *reportReader) Close() error { return r.f.Close() }

// start is Start; it returns the report pipe, positioned after the start report.
//
// Order, and why: the container's lock is held throughout, so two starts cannot race.
//  1. reap what a dead monitor left, and undo what an interrupted start left (see
//     clearInterruptedStart);
//  2. take the monitor Prefork started for this container, or fork one now (setsid,
//     detached from the terminal), so its process start-up overlaps with the next steps;
//     it waits for the start message on a pipe, and exits quietly if the pipe closes
//     without one (this start failed or was killed). Its PID is saved right away, so a
//     start killed from here on leaves a monitor the next start can find;
//  3. mount the overlay and create the cgroup with its limits (the monitor forks the
//     container's process into it), and meanwhile pin a new network namespace if the
//     container has none; the attacher plugs it in, so the program finds its network
//     ready; the pin lives until rm;
//  4. send the start message (see startMessage): the monitor starts the container's
//     process and reports its PID or the error;
//  5. record the running state with the monitor's and PID 1's start times (liveness).
//
// Failure at any step undoes the earlier ones (the pinned netns stays for the next try).
func (m *Manager) start(ctx context.Context, idOrName string) (_ *reportReader, retErr error) {
	c, unlock, err := m.lock(idOrName)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if c.Running() {
		if c.State.Status == StatusPaused {
			return nil, fmt.Errorf("start %s: %w", c.Name, ErrPaused)
		}
		return nil, nil
	}
	mon, err := m.takeSpare(c.dir)
	if mon == nil && err == nil {
		mon, err = spawnMonitor(c.dir, m.run)
	}
	if err != nil {
		return nil, err
	}
	defer mon.config.Close() // unsent: the monitor gives up
	recorded := false        // the new monitor is in the state: a failure is recorded too
	defer func() {
		if retErr == nil {
			return
		}
		mon.discard()
		_ = mon.cmd.Process.Kill()
		if !recorded {
			return
		}
		_ = c.teardown()
		c.State.Status = StatusExited
		c.State.FinishedAt = time.Now().UTC()
		c.State.Error = retErr.Error()
		c.State.MonitorPid, c.State.MonitorStart = 0, 0
		if code := exitCodeOf(retErr); code != 0 {
			c.State.ExitCode = code
		}
		_ = c.save()
	}()
	if err := c.clearInterruptedStart(); err != nil {
		return nil, err
	}
	cfg, err := c.initConfig()
	if err != nil {
		return nil, err
	}
	// Compiled while the container is prepared, for the message to the monitor.
	type compiled struct {
		filter []unix.SockFilter
		err    error
	}
	seccomp := make(chan compiled, 1)
	go func() {
		f, err := c.seccompProgram()
		seccomp <- compiled{f, err}
	}()
	// Recorded before mounting: if this process dies midway, the next command reaps it.
	monStart, _ := procStartTime(mon.cmd.Process.Pid)
	c.State.MonitorPid, c.State.MonitorStart = mon.cmd.Process.Pid, monStart
	c.State.Mounted = true
	if err := c.save(); err != nil {
		return nil, err
	}
	recorded = true
	if fileExists(c.NetNSPath()) && !c.State.NetworkReady {
		// Left by a start that was killed: detach what it attached, then start over.
		if m.Network != nil {
			if err := m.Network.Detach(ctx, c); err != nil {
				return nil, fmt.Errorf("detach network of an interrupted start: %w", err)
			}
		}
		if err := RemoveNetNS(c.NetNSPath()); err != nil {
			return nil, err
		}
	}
	// A new network namespace is made while the rootfs is mounted and the cgroup created
	// (a millisecond or two of kernel work each, independent).
	newNetNS := !fileExists(c.NetNSPath())
	netnsMade := make(chan error, 1)
	if newNetNS {
		go func() { netnsMade <- CreateNetNS(c.NetNSPath()) }()
	}
	err = c.mountRootfs()
	if err == nil {
		_, err = createCgroup(c.ID, &c.Spec)
	}
	if newNetNS {
		if nerr := <-netnsMade; err == nil {
			err = nerr
		} else if nerr == nil {
			_ = RemoveNetNS(c.NetNSPath())
		}
	}
	if err != nil {
		return nil, err
	}
	if newNetNS {
		if m.Network != nil {
			if err := m.Network.Attach(ctx, c, c.NetNSPath()); err != nil {
				_ = RemoveNetNS(c.NetNSPath())
				return nil, fmt.Errorf("attach network: %w", err)
			}
		}
		c.State.NetworkReady = true // saved with the running state (a start killed before: see above)
	}
	filter := <-seccomp
	if filter.err != nil {
		return nil, filter.err
	}
	config, err := json.Marshal(startMessage{Container: c, Init: cfg, Filter: filterBytes(filter.filter)})
	if err != nil {
		return nil, fmt.Errorf("encode init config: %w", err)
	}
	if _, err := mon.config.Write(config); err != nil {
		return nil, fmt.Errorf("start %s: send the init config to the monitor: %w", c.Name, err)
	}
	mon.config.Close()

	var rep monitorReport
	line, err := mon.report.reader.ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &rep)
	}
	if err != nil {
		return nil, fmt.Errorf("start %s: the monitor exited without a report: %w", c.Name, err)
	}
	if rep.Err != nil {
		return nil, &startError{*rep.Err}
	}
	c.State.Status = StatusRunning
	c.State.Pid, c.State.PidStart = rep.Pid, rep.Start
	c.State.StartedAt = time.Now().UTC()
	c.State.FinishedAt = time.Time{}
	c.State.ExitCode, c.State.OOMKilled, c.State.Error = 0, false, ""
	c.State.StopRequested = false
	c.State.Health = ""
	if c.healthcheck() != nil {
		c.State.Health = "starting"
	}
	c.State.HealthLog = nil
	if err := c.save(); err != nil {
		return nil, err
	}
	return mon.report, nil
}

// startMessage is what start sends the monitor once the container is ready: the container
// as it is about to be saved running (the monitor need not read it back) and what its
// process needs.
type startMessage struct {
	Container *Container
	Init      initConfig
	Filter    []byte // the seccomp program (see filterBytes), compiled here: the monitor stays small
}

// monitorProcess is a started monitor and the pipes to it.
type monitorProcess struct {
	cmd    *exec.Cmd
	report *reportReader // its reports
	config *os.File      // where the init config goes
}

// spawnMonitor starts the monitor of the container in dir (setsid: detached from the
// terminal). It waits for the init config before it touches anything.
func spawnMonitor(dir, run string) (*monitorProcess, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("create report pipe: %w", err)
	}
	defer w.Close()
	configR, configW, err := os.Pipe()
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("create config pipe: %w", err)
	}
	defer configR.Close()
	cmd := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        []string{"stack", "monitor", dir, run},
		Env:         append(os.Environ(), monitorEnv...),
		ExtraFiles:  []*os.File{w, configR},
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	if err := cmd.Start(); err != nil {
		r.Close()
		configW.Close()
		return nil, fmt.Errorf("start monitor: %w", err)
	}
	go cmd.Wait() //nolint:errcheck // reaps the monitor if this process outlives it
	return &monitorProcess{cmd: cmd, report: &reportReader{f: r, reader: bufio.NewReader(r)}, config: configW}, nil
}

// spareMonitor is a monitor Prefork is starting (or started) for the container in dir.
type spareMonitor struct {
	dir   string
	ready chan struct{} // closed once the spawn is done: mon or err is set
	mon   *monitorProcess
	err   error
}

// Prefork starts the monitor for the next container Create makes, before it exists, so the
// monitor's process start-up (a few milliseconds) overlaps with creating the container and
// preparing its start instead of following them (`run`). Even the fork and exec run on
// another thread (the forking thread waits until the exec is done, ~2 ms here). Create gives
// that container the ID the monitor was started for; the next start of it uses the monitor
// (and reports a failure to start it). A monitor left unused exits when this process does
// (its config pipe closes).
func (m *Manager) Prefork() {
	s := &spareMonitor{dir: filepath.Join(m.dir, newID()), ready: make(chan struct{})}
	go func() {
		s.mon, s.err = spawnMonitor(s.dir, m.run)
		close(s.ready)
	}()
	m.spareMu.Lock()
	old := m.spare
	m.spare = s
	m.spareMu.Unlock()
	if old != nil {
		<-old.ready
		if old.mon != nil {
			old.mon.discard()
		}
	}
}

// nextID is the ID for a new container: the preforked monitor's, if one waits.
func (m *Manager) nextID() string {
	m.spareMu.Lock()
	defer m.spareMu.Unlock()
	if m.spare != nil {
		return filepath.Base(m.spare.dir)
	}
	return newID()
}

// takeSpare hands over the preforked monitor if it was started for dir (nil, nil if not).
func (m *Manager) takeSpare(dir string) (*monitorProcess, error) {
	m.spareMu.Lock()
	s := m.spare
	if s == nil || s.dir != dir {
		m.spareMu.Unlock()
		return nil, nil
	}
	m.spare = nil
	m.spareMu.Unlock()
	<-s.ready
	return s.mon, s.err
}

// discard lets an unused monitor go: it exits at the closed config pipe.
func (p *monitorProcess) discard() {
	p.config.Close()
	p.report.Close()
}

// ExitCode maps an error of Start/StartWait/Exec to the process exit code Docker uses:
// 127 command not found, 126 not executable, 125 any other failure to start; 0 for nil.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	if code := exitCodeOf(err); code != 0 {
		return code
	}
	return 125
}

func exitCodeOf(err error) int {
	switch {
	case errors.Is(err, ErrExecNotFound):
		return 127
	case errors.Is(err, ErrExecPermission):
		return 126
	}
	var se *startError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}
