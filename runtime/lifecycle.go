package runtime

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultStopTimeout is the grace period between the stop signal and SIGKILL.
const DefaultStopTimeout = 10 * time.Second

// stopSignal is the Spec's stop signal, else the image's, else SIGTERM.
func (c *Container) stopSignal() syscall.Signal {
	for _, s := range []string{c.Spec.StopSignal, c.Image.StopSignal} {
		if s == "" {
			continue
		}
		if sig, err := ParseSignal(s); err == nil {
			return sig
		}
	}
	return syscall.SIGTERM
}

// Stop stops a running container: the stop signal to its PID 1, then, after the grace
// period (timeout, else the Spec's, else 10 s), SIGKILL to every process in its cgroup. It
// returns when all of them are gone and the monitor has recorded the exit and cleaned up.
// The restart policy does not restart a stopped container. Stopping a stopped container is
// a no-op.
func (m *Manager) Stop(ctx context.Context, idOrName string, timeout *time.Duration) error {
	c, err := m.requestStop(idOrName)
	if err != nil || c == nil {
		return err
	}
	grace := DefaultStopTimeout
	if c.Spec.StopTimeout != nil {
		grace = *c.Spec.StopTimeout
	}
	if timeout != nil {
		grace = *timeout
	}
	if c.State.Pid != 0 && grace > 0 {
		if err := signalPid(c.State.Pid, c.State.PidStart, c.stopSignal()); err != nil {
			return fmt.Errorf("stop %s: %w", c.Name, err)
		}
		waitGone(ctx, c.State.Pid, c.State.PidStart, time.Now().Add(grace))
	}
	if cg, err := loadCgroup(c.ID); err == nil {
		if err := cg.killAll(time.Now().Add(10 * time.Second)); err != nil {
			return fmt.Errorf("stop %s: %w", c.Name, err)
		}
	}
	return m.waitMonitor(ctx, c)
}

// requestStop marks the container as stopped by the user (so the monitor does not restart
// it), thaws it if paused (a frozen process cannot act on a signal), and wakes a monitor
// that waits to restart. It returns nil when the container is not running.
func (m *Manager) requestStop(idOrName string) (*Container, error) {
	c, unlock, err := m.lock(idOrName)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if !c.Running() {
		return nil, nil
	}
	c.State.StopRequested = true
	if c.State.Status == StatusPaused {
		if cg, err := loadCgroup(c.ID); err == nil {
			if err := cg.thaw(); err != nil {
				return nil, err
			}
		}
		c.State.Status = StatusRunning
	}
	if err := c.save(); err != nil {
		return nil, err
	}
	if c.State.Status == StatusRestarting {
		_ = signalPid(c.State.MonitorPid, c.State.MonitorStart, unix.SIGUSR1)
	}
	return c, nil
}

// signalPid signals pid if it is still the process that started at start.
func signalPid(pid int, start uint64, sig syscall.Signal) error {
	if !processAlive(pid, start) {
		return nil
	}
	if err := unix.Kill(pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("kill(%d, %v): %w", pid, sig, err)
	}
	return nil
}

// waitGone waits until pid (with that start time) is gone or the deadline passes. It uses a
// pidfd, which becomes readable when the process exits, verified against the start time
// after opening (the PID might have been reused just before).
func waitGone(ctx context.Context, pid int, start uint64, deadline time.Time) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return true // ESRCH: already gone
	}
	defer unix.Close(fd)
	if !processAlive(pid, start) {
		return true
	}
	for {
		left := time.Until(deadline)
		if left <= 0 || ctx.Err() != nil {
			return false
		}
		ms := int(min(left, 100*time.Millisecond) / time.Millisecond)
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, max(ms, 1))
		if err != nil && !errors.Is(err, unix.EINTR) {
			return false
		}
		if n > 0 {
			return true
		}
	}
}

// waitMonitor waits for the monitor to record the exit and finish (or die).
func (m *Manager) waitMonitor(ctx context.Context, c *Container) error {
	if c.State.MonitorPid == 0 {
		return nil
	}
	if !waitGone(ctx, c.State.MonitorPid, c.State.MonitorStart, time.Now().Add(30*time.Second)) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("stop %s: the monitor (pid %d) did not finish", c.Name, c.State.MonitorPid)
	}
	// A monitor killed meanwhile leaves the cleanup to reap.
	if _, unlock, err := m.lock(c.ID); err == nil {
		unlock()
	}
	return nil
}

// Kill sends sig to the container's PID 1. SIGKILL and the stop signal count as a stop
// for the restart policy, as in Docker.
func (m *Manager) Kill(ctx context.Context, idOrName string, sig syscall.Signal) error {
	c, unlock, err := m.lock(idOrName)
	if err != nil {
		return err
	}
	if !c.Running() || c.State.Pid == 0 {
		unlock()
		return fmt.Errorf("kill %s: %w", c.Name, ErrNotRunning)
	}
	if sig == syscall.SIGKILL || sig == c.stopSignal() {
		c.State.StopRequested = true
		if err := c.save(); err != nil {
			unlock()
			return err
		}
	}
	if c.State.Status == StatusPaused && sig == syscall.SIGKILL {
		if cg, err := loadCgroup(c.ID); err == nil {
			_ = cg.thaw()
		}
	}
	unlock()
	return signalPid(c.State.Pid, c.State.PidStart, sig)
}

// Restart stops (with the grace period) and starts the container.
func (m *Manager) Restart(ctx context.Context, idOrName string, timeout *time.Duration) error {
	if err := m.Stop(ctx, idOrName, timeout); err != nil {
		return err
	}
	return m.Start(ctx, idOrName)
}

// Pause freezes every process of the container (cgroup freezer); they keep their PIDs and
// memory and do not run until Unpause.
func (m *Manager) Pause(ctx context.Context, idOrName string) error {
	c, unlock, err := m.lock(idOrName)
	if err != nil {
		return err
	}
	defer unlock()
	switch c.State.Status {
	case StatusRunning:
	case StatusPaused:
		return fmt.Errorf("pause %s: %w", c.Name, ErrPaused)
	default:
		return fmt.Errorf("pause %s: %w", c.Name, ErrNotRunning)
	}
	cg, err := loadCgroup(c.ID)
	if err != nil {
		return err
	}
	if err := cg.freeze(); err != nil {
		return err
	}
	c.State.Status = StatusPaused
	return c.save()
}

// Unpause thaws a paused container.
func (m *Manager) Unpause(ctx context.Context, idOrName string) error {
	c, unlock, err := m.lock(idOrName)
	if err != nil {
		return err
	}
	defer unlock()
	if c.State.Status != StatusPaused {
		return fmt.Errorf("unpause %s: %w", c.Name, ErrNotPaused)
	}
	cg, err := loadCgroup(c.ID)
	if err != nil {
		return err
	}
	if err := cg.thaw(); err != nil {
		return err
	}
	c.State.Status = StatusRunning
	return c.save()
}

// RemoveOptions control Remove.
type RemoveOptions struct {
	Force   bool // stop a running container first (SIGKILL)
	Volumes bool // also remove anonymous volumes (the volume package acts on it via the caller)
}

// Remove deletes a container: network detached, namespace unpinned, rootfs unmounted,
// cgroup removed, directory and name gone. A running container needs Force.
func (m *Manager) Remove(ctx context.Context, idOrName string, opts RemoveOptions) error {
	c, err := m.Get(idOrName)
	if err != nil {
		return err
	}
	if c.Running() {
		if !opts.Force {
			return fmt.Errorf("remove %s: %w: stop it first or force the removal", c.Name, ErrRunning)
		}
		zero := time.Duration(0)
		if err := m.Stop(ctx, c.ID, &zero); err != nil {
			return err
		}
	}
	c, unlock, err := m.lock(c.ID)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil // removed meanwhile (--rm)
		}
		return err
	}
	defer unlock()
	if c.Running() {
		return fmt.Errorf("remove %s: %w: it was started again", c.Name, ErrRunning)
	}
	if m.Network != nil && fileExists(c.NetNSPath()) {
		if err := m.Network.Detach(ctx, c); err != nil {
			return fmt.Errorf("remove %s: detach network: %w", c.Name, err)
		}
	}
	return removeStore(c)
}

// removeStore removes what the runtime keeps for a container (after the network is
// detached): the netns pin, mounts, cgroup, name and directory.
func removeStore(c *Container) error {
	if err := RemoveNetNS(c.NetNSPath()); err != nil {
		return err
	}
	if err := c.teardown(); err != nil {
		return err
	}
	purge, err := unlinkStore(c)
	if err != nil {
		return err
	}
	return purge()
}

// exitRecordTTL is how long the exit code of an auto-removed container stays readable
// after the container is gone (see writeExitRecord).
const exitRecordTTL = time.Minute

// writeExitRecord keeps the final exit code of a --rm container that was removed, for the
// Wait (`container wait`, `attach`) that learns of the exit only after the container is
// gone: the monitor writes it before it ends. Records older than exitRecordTTL are deleted
// by List.
func writeExitRecord(run, id string, code int) error {
	dir := filepath.Join(run, "exits")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, id), []byte(strconv.Itoa(code)), 0o600)
}

func readExitRecord(run, id string) (int, bool) {
	data, err := os.ReadFile(filepath.Join(run, "exits", id))
	if err != nil {
		return 0, false
	}
	code, err := strconv.Atoi(string(data))
	return code, err == nil
}

// dropOldExitRecords deletes the exit records older than exitRecordTTL.
func dropOldExitRecords(run string) {
	dir := filepath.Join(run, "exits")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > exitRecordTTL {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// removedPrefix names a container directory that was taken out of the store and is being
// deleted (see unlinkStore).
const removedPrefix = ".removed-"

// unlinkStore takes a container out of the store: its name, then its directory, moved
// aside in one rename — from then on the container is gone for every reader. purge does
// the rest: the netns pin, the mounts and the cgroup (if still there) and the files. The
// monitor of a --rm container reports the exit between the two, so `run --rm` waits for
// neither the kernel's teardown nor the disk; a directory left by a process that died
// before purging is purged by the next List.
func unlinkStore(c *Container) (purge func() error, err error) {
	link := filepath.Join(filepath.Dir(c.dir), "by-name", c.Name)
	if owner, err := os.Readlink(link); err == nil && owner == c.ID {
		if err := os.Remove(link); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("remove name %s: %w", c.Name, err)
		}
	}
	removed := filepath.Join(filepath.Dir(c.dir), removedPrefix+c.ID)
	if err := os.Rename(c.dir, removed); err != nil {
		return nil, fmt.Errorf("remove container dir: %w", err)
	}
	return func() error { return purgeRemoved(removed, c.run) }, nil
}

// purgeRemoved deletes what is left of a container whose directory unlinkStore moved to
// dir: the netns pin, the rootfs mount, the cgroup, the files.
func purgeRemoved(dir, run string) error {
	c := &Container{ID: strings.TrimPrefix(filepath.Base(dir), removedPrefix), dir: dir, run: run}
	if err := RemoveNetNS(c.NetNSPath()); err != nil {
		return err
	}
	if err := c.teardown(); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove container dir: %w", err)
	}
	return nil
}

// Wait blocks until the container is not running and returns its exit code. A container
// that restarts by policy is waited for until it stops for good.
func (m *Manager) Wait(ctx context.Context, idOrName string) (int, error) {
	c, err := m.Get(idOrName)
	if err != nil {
		return 0, err
	}
	for c.Running() || (c.State.Status == StatusExited && c.State.MonitorPid != 0) {
		if c.State.MonitorPid != 0 {
			waitGone(ctx, c.State.MonitorPid, c.State.MonitorStart, time.Now().Add(time.Second))
		} else {
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		next, err := m.Get(c.ID)
		if err != nil {
			if errors.Is(err, ErrNotFound) { // auto-removed: its monitor leaves the code, then ends
				if c.State.MonitorPid != 0 {
					waitGone(ctx, c.State.MonitorPid, c.State.MonitorStart, time.Now().Add(5*time.Second))
				}
				if code, ok := readExitRecord(m.run, c.ID); ok {
					return code, nil
				}
				return c.State.ExitCode, nil
			}
			return 0, err
		}
		c = next
	}
	return c.State.ExitCode, nil
}
