package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"syscall"
	"time"

	"github.com/stackhq/stack/internal/statefile"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// monitorReport is what the monitor tells the process that started it, one JSON line each:
// first the start (Pid) or its failure (Err), later the first exit (Exit), if the starter
// still listens.
type monitorReport struct {
	Pid   int        `json:",omitempty"`
	Start uint64     `json:",omitempty"`
	Err   *initError `json:",omitempty"`
	Exit  *int       `json:",omitempty"`
}

// The monitor's descriptors besides stdio: the report pipe to its starter, and the pipe the
// starter sends the init config over once the container is ready to start (EOF without a
// config: the start was abandoned).
const (
	monitorReportFd = 3
	monitorConfigFd = 4
)

// monitorEnv tunes the Go runtime of the monitor before it starts (it reads it at start-up):
// one P, so one set of per-P caches and fewer threads. The GC is left alone on purpose: a
// monitor's heap stays under the first GC goal, and a forced or more frequent collection
// costs more in GC metadata than the start-up garbage it would free (measured).
var monitorEnv = []string{"GOMAXPROCS=1"}

// monitor supervises one container: it is the parent of the container's first process.
//
//	start ──► running ──exit──► (policy says restart?) ──yes──► restarting
//	  ▲                               │ no / stop requested          │ back-off
//	  │                               ▼                              │ (SIGUSR1
//	  └─────────────────────────── exited ◄── stop requested ────────┘  cuts it)
//
// It keeps the container's output in the log, records each exit atomically under the
// container's lock, applies the restart policy with exponential back-off (100 ms doubling
// to 1 min, reset after 10 s of good running), runs the healthcheck, and on the final exit
// unmounts the rootfs and removes the cgroup (auto-removing the container with --rm).
type monitor struct {
	dir, run string
	hooks    Hooks
	cfg      initConfig
	filter   []unix.SockFilter // the seccomp program (nil: none), compiled by the starter
	host     hostNamespaces
	c        *Container
	log      *logWriter
	report   *os.File
	wake     chan os.Signal // SIGUSR1: stop requested during back-off
	backoff  uint           // restarts in a row without 10 s of good running
	stdin    *os.File       // write end of the container's stdin (OpenStdin), or the pty master
	attach   *attachServer  // with OpenStdin: feeds stdin from `run -i` and `attach`
	orphan   bool           // another monitor runs the container now (see update)
	purge    func()         // deletes the files of a removed --rm container (see remove)
}

// runMonitor is the "monitor" role. It keeps its footprint small (see monitorEnv): no
// goroutine pools, and nothing initialised that supervision does not use.
func runMonitor(dir, run string, hooks Hooks) {
	// Not dumpable: the healthcheck's pre-exec child, inside the container's PID namespace,
	// must not expose /proc/PID/exe (the host binary) to the container.
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	goruntime.LockOSThread() // never unlocked: this thread forks the container (see startOnce)
	// The pipes must not leak into the container's process.
	syscall.CloseOnExec(monitorReportFd)
	syscall.CloseOnExec(monitorConfigFd)
	report := os.NewFile(monitorReportFd, "report")
	m := &monitor{dir: dir, run: run, hooks: hooks, report: report, wake: make(chan os.Signal, 1)}
	signal.Notify(m.wake, unix.SIGUSR1)
	signal.Ignore(unix.SIGPIPE, unix.SIGHUP, unix.SIGINT, unix.SIGTERM)
	// What needs no container comes first: the starter is still preparing it meanwhile.
	// Building encoding/json's caches for the start message's types takes about a
	// millisecond: done while this thread waits for the message.
	go json.Marshal(startMessage{Container: &Container{}}) //nolint:errcheck // warm-up only
	host, err := openHostNamespaces()
	if err == nil {
		m.host = host
		var ok bool
		if ok, err = m.readConfig(); !ok && err == nil {
			os.Exit(0) // the start was abandoned before it asked for the container
		}
	}
	if err == nil {
		err = m.init()
	}
	if err != nil {
		m.send(monitorReport{Err: &initError{Code: 125, Msg: err.Error()}})
		os.Exit(1)
	}
	first := true
	for {
		res, err := m.startOnce()
		if err != nil {
			if first {
				// Start, which holds the lock, rolls the start back; touching the state
				// after it could undo a next start.
				m.send(monitorReport{Err: asInitError(err)})
				os.Exit(1)
			}
			m.finish(err)
			return
		}
		if first {
			m.send(monitorReport{Pid: res.pid, Start: res.start})
		} else if err := m.recordStart(res); err != nil {
			m.finish(err)
			return
		}
		health := m.startHealthcheck(res)
		code, oom, ranFor := m.waitExit(res)
		health.stop()
		// A --rm container is gone when recordExit returns the final exit (its files may
		// still be on their way out): `run --rm` returns when it is gone.
		restart, delay := m.recordExit(code, oom, ranFor)
		if !restart {
			m.log.close()
		}
		if first {
			m.send(monitorReport{Exit: &code})
			first = false
		}
		if !restart {
			m.wrapUp()
			return
		}
		select {
		case <-time.After(delay):
		case <-m.wake:
		}
		if m.stopRequested() {
			m.finish(nil)
			return
		}
	}
}

func (m *monitor) send(r monitorReport) {
	data, _ := json.Marshal(r)
	_, _ = m.report.Write(append(data, '\n')) // EPIPE: nobody listens any more
}

func asInitError(err error) *initError {
	var ie *startError
	if errors.As(err, &ie) {
		return &ie.initError
	}
	return &initError{Code: 125, Msg: err.Error()}
}

// startError is init's failure as an error.
type startError struct{ initError }

// Error is init's message.
func (e *startError) Error() string { return e.Msg }

// Unwrap maps init's error kind back to the runtime's sentinel errors.
func (e *startError) Unwrap() error {
	switch e.Kind {
	case "notfound":
		return ErrExecNotFound
	case "permission":
		return ErrExecPermission
	case "user":
		return ErrUnknownUser
	}
	return ErrStart
}

// readConfig waits for the start message on its pipe (see startMessage); false when the
// starter closed it without one.
func (m *monitor) readConfig() (bool, error) {
	f := os.NewFile(monitorConfigFd, "config")
	defer f.Close()
	buf := bytes.NewBuffer(make([]byte, 0, 16<<10)) // the usual message's size: one allocation
	if _, err := buf.ReadFrom(f); err != nil {
		return false, fmt.Errorf("read init config: %w", err)
	}
	data := buf.Bytes()
	if len(data) == 0 {
		return false, nil
	}
	msg := startMessage{Container: &Container{}}
	if err := json.Unmarshal(data, &msg); err != nil {
		return false, fmt.Errorf("decode init config: %w", err)
	}
	m.c, m.cfg, m.filter = msg.Container, msg.Init, filterFromBytes(msg.Filter)
	m.c.dir, m.c.run = m.dir, m.run
	return true, nil
}

func (m *monitor) init() error {
	c := m.c
	var err error
	if m.log, err = openLogWriter(c.LogPath()); err != nil {
		return err
	}
	if c.Spec.OpenStdin {
		l, err := net.ListenUnix("unix", &net.UnixAddr{Name: attachAddr(c.ID), Net: "unix"})
		if err != nil {
			return fmt.Errorf("listen for attach: %w", err)
		}
		m.attach = &attachServer{tty: c.Spec.Tty}
		go m.attach.serve(l)
	}
	return nil
}

// started is a running container process.
type started struct {
	pid    int
	start  uint64
	at     time.Time
	waited chan exitResult // the locked thread's Wait result
	copied chan struct{}   // closed when the output streams reached EOF
	oom    uint64          // OOM kills before this start
}

type exitResult struct {
	ws  syscall.WaitStatus
	err error
}

// hostNamespaces are the monitor's own mount, UTS, IPC and network namespaces, which its
// main thread returns to after preparing a container's (see startOnce): what it does
// afterwards (a --rm container's network cleanup) acts on the host's.
type hostNamespaces struct{ mnt, uts, ipc, net int }

// openHostNamespaces unshares the main thread's filesystem attributes (a thread sharing them
// with others may not change its mount namespace) and opens its namespaces.
func openHostNamespaces() (hostNamespaces, error) {
	var h hostNamespaces
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return h, fmt.Errorf("unshare(CLONE_FS): %w", err)
	}
	for _, ns := range []struct {
		name string
		fd   *int
	}{{"mnt", &h.mnt}, {"uts", &h.uts}, {"ipc", &h.ipc}, {"net", &h.net}} {
		fd, err := unix.Open("/proc/thread-self/ns/"+ns.name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return h, fmt.Errorf("open %s namespace: %w", ns.name, err)
		}
		*ns.fd = fd
	}
	return h, nil
}

// enter gives the calling (main) thread fresh copies of the mount, UTS and IPC namespaces;
// leave returns it to the host's. A thread that cannot go back would prepare the next
// container on top of this one's mounts, so that ends the monitor.
func (h hostNamespaces) enter() error {
	if err := unix.Unshare(unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC); err != nil {
		return fmt.Errorf("unshare(CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWIPC): %w", err)
	}
	return nil
}

func (h hostNamespaces) leave() {
	for _, fd := range []int{h.mnt, h.uts, h.ipc, h.net} {
		if err := unix.Setns(fd, 0); err != nil {
			fmt.Fprintf(os.Stderr, "monitor: return to the host's namespaces: %v\n", err)
			os.Exit(1)
		}
	}
}

// startOnce starts the container's process: it prepares the rootfs on the monitor's main
// thread and forks the child that finishes the setup and execs (see init.go).
//
// The thread is locked for the monitor's life and joins the pinned network namespace for
// the fork: the child inherits the thread's namespaces, so a restarted process keeps the
// container's network. PDEATHSIG fires when the parent *thread* exits, which is what kills
// the container when the monitor dies (reported as exited by the next command). New Go
// threads are made by the runtime's template thread, not this one, so they stay in the
// host's namespaces.
func (m *monitor) startOnce() (_ *started, retErr error) {
	errR, errW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("create error pipe: %w", err)
	}
	defer errR.Close()
	defer errW.Close()

	type output struct {
		stream string
		r      *os.File
	}
	var outputs []output
	var childEnds []*os.File
	closeChildEnds := func() {
		for _, f := range childEnds {
			f.Close()
		}
	}
	defer closeChildEnds()
	var stdio [3]*os.File
	console := ""
	if m.cfg.Tty {
		master, slave, err := pty.Open()
		if err != nil {
			return nil, fmt.Errorf("open pty: %w", err)
		}
		if m.c.Spec.OpenStdin {
			m.stdin = master
		}
		stdio = [3]*os.File{slave, slave, slave}
		childEnds = append(childEnds, slave)
		console = slave.Name()
		outputs = append(outputs, output{"stdout", master})
	} else {
		for i, stream := range []string{"stdout", "stderr"} {
			r, w, err := os.Pipe()
			if err != nil {
				return nil, fmt.Errorf("create %s pipe: %w", stream, err)
			}
			childEnds = append(childEnds, w)
			outputs = append(outputs, output{stream, r})
			stdio[i+1] = w
		}
		if m.c.Spec.OpenStdin {
			r, w, err := os.Pipe()
			if err != nil {
				return nil, fmt.Errorf("create stdin pipe: %w", err)
			}
			stdio[0] = r
			childEnds = append(childEnds, r)
			m.stdin = w
		} else {
			null, err := os.Open(os.DevNull)
			if err != nil {
				return nil, err
			}
			stdio[0] = null
			childEnds = append(childEnds, null)
		}
	}
	defer func() {
		if retErr != nil {
			for _, o := range outputs {
				o.r.Close()
			}
		}
	}()

	netns, err := os.Open(m.c.NetNSPath())
	if err != nil {
		return nil, fmt.Errorf("open network namespace: %w", err)
	}
	defer netns.Close()
	cgroupFd := -1
	if unified() {
		cgDir, err := os.Open(filepath.Join(cgroupMountpoint, cgroupParent, m.c.ID))
		if err != nil {
			return nil, fmt.Errorf("open cgroup: %w", err)
		}
		defer cgDir.Close()
		cgroupFd = int(cgDir.Fd())
	}
	pid, prog, err := m.fork(netns, cgroupFd, stdio, errW, console)
	if err != nil {
		return nil, err
	}
	// Read before anything waits for the child: until then its PID cannot be reaped and
	// reused, whatever it does meanwhile (/bin/true may well have exited already).
	st, stErr := procStartTime(pid)
	waited := make(chan exitResult, 1)
	go func() { // wait4 works from any thread of the process
		var ws unix.WaitStatus
		for {
			_, err := unix.Wait4(pid, &ws, 0, nil)
			if err == unix.EINTR {
				continue
			}
			waited <- exitResult{ws: syscall.WaitStatus(ws), err: err}
			return
		}
	}()
	closeChildEnds()
	childEnds = nil
	errW.Close()
	kill := func() {
		_ = unix.Kill(pid, unix.SIGKILL)
		<-waited
	}
	if stErr != nil {
		kill()
		return nil, fmt.Errorf("read start time of %d: %w", pid, stErr)
	}
	oom := oomKills(m.c.ID)
	// EOF: execve closed the child's end (it is close-on-exec), so the program runs.
	var f childFailure
	if n, _ := io.ReadFull(errR, bytesOf(&f)); n > 0 {
		kill()
		if n < len(bytesOf(&f)) {
			return nil, &startError{initError{Code: 125, Msg: "container init failed without a report"}}
		}
		return nil, &startError{*prog.failure(f)}
	}
	if m.attach != nil {
		m.attach.set(m.stdin)
	}
	s := &started{pid: pid, start: st, at: time.Now(), waited: waited, copied: make(chan struct{}), oom: oom}
	done := make(chan struct{}, len(outputs))
	for _, o := range outputs {
		go func() {
			m.log.copyStream(o.stream, o.r)
			o.r.Close()
			done <- struct{}{}
		}()
	}
	go func() {
		for range outputs {
			<-done
		}
		close(s.copied)
	}()
	return s, nil
}

// fork is the main thread's part of startOnce: in fresh mount, UTS and IPC namespaces, in
// the container's network namespace and (v1) cgroup, it prepares the rootfs and forks the
// child into a new PID namespace (on v2 straight into the cgroup); then it returns to the
// host's namespaces. The child keeps the prepared namespaces; the program it runs is
// returned, to explain the child's failure.
func (m *monitor) fork(netns *os.File, cgroupFd int, stdio [3]*os.File, errW *os.File, console string) (int, *childProgram, error) {
	if err := m.host.enter(); err != nil {
		return 0, nil, err
	}
	defer m.host.leave()
	if err := unix.Setns(int(netns.Fd()), unix.CLONE_NEWNET); err != nil {
		return 0, nil, fmt.Errorf("setns(%s): %w", m.c.NetNSPath(), err)
	}
	var hierarchies []string
	if !unified() {
		// Born in the container's cgroup: this thread joins for the fork, then leaves.
		leave, joined, err := joinThread(m.c.ID)
		if err != nil {
			return 0, nil, err
		}
		defer leave()
		hierarchies = joined
	}
	prep, err := prepareRootfs(&m.cfg, console, hierarchies)
	if err != nil {
		return 0, nil, err
	}
	fds := [3]int{int(stdio[0].Fd()), int(stdio[1].Fd()), int(stdio[2].Fd())}
	prog := initProgram(&m.cfg, prep, fds, int(errW.Fd()), m.filter)
	pid, err := prog.fork(unix.CLONE_NEWPID, cgroupFd)
	if err != nil {
		return 0, nil, fmt.Errorf("start the container's process: %w", err)
	}
	return pid, prog, nil
}

// seccomp is the container's seccomp program, for execs of the healthcheck.
func (m *monitor) seccomp() ([]unix.SockFilter, error) { return m.filter, nil }

// waitExit waits for the process and for its output to be fully logged, and returns the
// exit code (128+signal when killed) and whether the OOM killer did it.
func (m *monitor) waitExit(s *started) (code int, oom bool, ranFor time.Duration) {
	res := <-s.waited
	ranFor = time.Since(s.at)
	// PID 1 is gone, so the kernel killed the rest of the PID namespace and every writer of
	// the output pipes; the copiers reach EOF promptly. A terminal can be held open by a
	// process outside (exec -t), so the wait is bounded.
	select {
	case <-s.copied:
	case <-time.After(2 * time.Second):
	}
	if m.attach != nil {
		m.attach.set(nil)
	}
	if m.stdin != nil && !m.cfg.Tty { // the pty master is closed by its copier
		m.stdin.Close()
	}
	m.stdin = nil
	code = exitStatus(res.ws)
	if res.err != nil {
		code = 255
	}
	if oomKills(m.c.ID) > s.oom {
		oom = true
		if res.ws.Signaled() && res.ws.Signal() == syscall.SIGKILL {
			code = 137
		}
	}
	return code, oom, ranFor
}

// update runs fn on the freshly read container under its lock and saves the result. A
// monitor whose starter was killed before it recorded the start may find the container
// recorded as another monitor's (a later start): it is an orphan, and changes nothing.
func (m *monitor) update(fn func(c *Container)) error {
	unlock, err := statefile.Lock(filepath.Join(m.dir, "lock"))
	if err != nil {
		return err
	}
	defer unlock()
	c, err := readContainer(m.dir, m.run)
	if err != nil {
		return err
	}
	if c.State.MonitorPid != 0 && c.State.MonitorPid != os.Getpid() {
		m.orphan = true
		return fmt.Errorf("%w: container %.12s is run by monitor %d", ErrNotOwner, c.ID, c.State.MonitorPid)
	}
	fn(c)
	m.c = c
	if c.Spec.AutoRemove && c.State.MonitorPid == 0 {
		// Ended for good (see end) and --rm: removed under this same lock instead of saved,
		// so no other command meets it half gone. If that fails, it stays, as exited.
		if err := m.remove(); err != nil {
			_ = c.teardown()
			_ = c.save()
			return err
		}
		return nil
	}
	return c.save()
}

// remove removes the ended --rm container (under its lock, see update): the other
// packages' share first (Hooks.Release), then the runtime's; deleting its files is left to
// purge, after the exit is reported.
func (m *monitor) remove() error {
	if m.hooks.Release != nil {
		root := filepath.Dir(filepath.Dir(m.dir)) // <root>/containers/<id>
		if err := m.hooks.Release(context.Background(), root, m.c); err != nil {
			return err
		}
	}
	rest, err := unlinkStore(m.c)
	if err != nil {
		return err
	}
	code := m.c.State.ExitCode
	m.purge = func() {
		// Before this process ends: a Wait that finds the container gone waits for it.
		_ = writeExitRecord(m.run, m.c.ID, code)
		_ = rest()
	}
	return nil
}

func (m *monitor) recordStart(s *started) error {
	return m.update(func(c *Container) {
		c.State.Status = StatusRunning
		c.State.Pid, c.State.PidStart = s.pid, s.start
		c.State.StartedAt = s.at.UTC()
		c.State.Error = ""
		if c.healthcheck() != nil {
			c.State.Health = "starting"
		}
	})
}

// recordExit writes the exit and decides, from the restart policy, whether to go again. The
// final exit also tears the host-side setup down and ends the monitor's ownership in the
// same locked update, so a `start` right after the exit never meets a half-cleaned
// container (or has its fresh mounts removed by this monitor).
func (m *monitor) recordExit(code int, oom bool, ranFor time.Duration) (restart bool, delay time.Duration) {
	_ = m.update(func(c *Container) {
		c.State.Pid, c.State.PidStart = 0, 0
		c.State.ExitCode = code
		c.State.OOMKilled = oom
		c.State.FinishedAt = time.Now().UTC()
		c.State.Status = StatusExited
		p := c.Spec.Restart
		switch {
		case c.State.StopRequested:
		case p.Name == "always" || p.Name == "unless-stopped":
			restart = true
		case p.Name == "on-failure":
			restart = code != 0 && (p.MaxRetries == 0 || c.State.RestartCount < p.MaxRetries)
		}
		if restart {
			c.State.Status = StatusRestarting
			c.State.RestartCount++
			if ranFor >= 10*time.Second {
				m.backoff = 0
			}
			delay = min(100*time.Millisecond<<min(m.backoff, 10), time.Minute)
			m.backoff++
			return
		}
		m.end(c, nil)
	})
	return restart, delay
}

func (m *monitor) stopRequested() bool {
	c, err := readContainer(m.dir, m.run)
	return err != nil || c.State.StopRequested
}

// finish ends supervision after a failed restart or a stop during the back-off.
func (m *monitor) finish(cause error) {
	_ = m.update(func(c *Container) { m.end(c, cause) })
	m.log.close()
	m.wrapUp()
}

// end records the final exit on c (under the lock): rootfs unmounted, cgroup removed (for
// a --rm container after the exit is reported, see remove), the monitor no longer the
// owner.
func (m *monitor) end(c *Container, cause error) {
	if !c.Spec.AutoRemove {
		_ = c.teardown()
	}
	c.State.MonitorPid, c.State.MonitorStart = 0, 0
	c.State.Pid, c.State.PidStart = 0, 0
	c.State.Status = StatusExited
	if cause != nil {
		c.State.Error = cause.Error()
		if c.State.ExitCode == 0 {
			c.State.ExitCode = asInitError(cause).Code
		}
	}
}

// wrapUp deletes the files of a removed --rm container, if any.
func (m *monitor) wrapUp() {
	if m.purge != nil {
		m.purge()
	}
}
