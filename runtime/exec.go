package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// nsNames are the namespaces exec joins, in order: mnt last, because /proc/PID/ns of the
// others must be opened first and the mount namespace changes what paths mean.
var nsNames = []string{"ipc", "uts", "net", "pid", "cgroup", "mnt"}

// ExecOptions describe a process to run in a running container.
type ExecOptions struct {
	Cmd         []string
	Env         []string // KEY=VALUE over the container's environment
	User        string   // default: the container's user
	WorkingDir  string   // default: the container's working directory
	Tty         bool     // a pseudo-terminal; Stdout receives its output, Stdin feeds it
	Interactive bool     // connect Stdin
	Detach      bool     // start and return at once (exit code 0)
	Stdin       io.Reader
	Stdout      io.Writer
	Stderr      io.Writer
	// Resize, with Tty, delivers window sizes (rows, cols) to apply to the terminal;
	// closed by the caller when done. The initial size should be its first value.
	Resize <-chan [2]uint16
}

// Exec runs a process inside a running container and returns its exit code (126/127 with
// ErrExecPermission/ErrExecNotFound when it cannot start).
//
// How it enters, and why: a goroutine locked to its OS thread unshares its filesystem
// attributes (CLONE_FS, or setns of the mount namespace is refused), joins the container's
// ipc, uts, net, pid, cgroup and mnt namespaces (mnt last, while /proc still shows the
// host's view), joins its cgroup (v1: the thread's TID into each hierarchy's tasks file; v2:
// CLONE_INTO_CGROUP at fork), then installs the container's seccomp filter, bounding set and
// capabilities on itself, and forks the program from that thread, which inherits all of it
// (then the thread leaves the v1 cgroup again);
// the child changes to the exec user. The thread is never unlocked, so it dies afterwards.
// The host's stack binary never runs inside: the program is execve'd directly, and this
// process is made non-dumpable first, so nothing in the container can open
// /proc/PID/exe of the short-lived pre-exec child (CVE-2019-5736).
func (m *Manager) Exec(ctx context.Context, idOrName string, opts ExecOptions) (int, error) {
	c, err := m.Get(idOrName)
	if err != nil {
		return 0, err
	}
	switch {
	case c.State.Status == StatusPaused:
		return 0, fmt.Errorf("exec in %s: %w", c.Name, ErrPaused)
	case c.State.Status != StatusRunning || c.State.Pid == 0:
		return 0, fmt.Errorf("exec in %s: %w", c.Name, ErrNotRunning)
	}
	if len(opts.Cmd) == 0 {
		return 0, fmt.Errorf("%w: exec: no command", ErrInvalidSpec)
	}
	return execIn(ctx, c, opts, c.seccompProgram)
}

// execIn is Exec on a loaded container with its seccomp program (c.seccompProgram, or the
// one the monitor was given: its healthchecks do not compile it again).
func execIn(ctx context.Context, c *Container, opts ExecOptions, seccomp func() ([]unix.SockFilter, error)) (int, error) {
	cfg, err := c.initConfig()
	if err != nil {
		return 0, err
	}
	filter, err := seccomp()
	if err != nil {
		return 0, err
	}
	cg, err := loadCgroup(c.ID)
	if err != nil {
		return 0, fmt.Errorf("exec in %s: %w", c.Name, err)
	}
	env := cfg.Env
	for _, e := range opts.Env {
		env = mergeEnv(env, e)
	}
	userSpec := cfg.User
	if opts.User != "" {
		userSpec = opts.User
	}
	cwd := cfg.Cwd
	if opts.WorkingDir != "" {
		cwd = opts.WorkingDir
	}
	// Open the namespaces while /proc is the host's, and check the PID is still PID 1 of
	// this container (not a reused number).
	var nsFds []int
	defer func() {
		for _, fd := range nsFds {
			unix.Close(fd)
		}
	}()
	for _, ns := range nsNames {
		fd, err := unix.Open("/proc/"+strconv.Itoa(c.State.Pid)+"/ns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return 0, fmt.Errorf("exec in %s: open %s namespace: %w", c.Name, ns, err)
		}
		nsFds = append(nsFds, fd)
	}
	if !processAlive(c.State.Pid, c.State.PidStart) {
		return 0, fmt.Errorf("exec in %s: %w", c.Name, ErrNotRunning)
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return 0, fmt.Errorf("prctl(PR_SET_DUMPABLE): %w", err)
	}

	cmd := &exec.Cmd{Args: opts.Cmd, Env: env, Dir: cwd, SysProcAttr: &syscall.SysProcAttr{}}
	// Explicit files: os/exec would open /dev/null by path, inside the container.
	null, err := os.Open(os.DevNull)
	if err != nil {
		return 0, err
	}
	defer null.Close()
	if !opts.Tty {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = null, opts.Stdout, opts.Stderr
		if opts.Interactive && opts.Stdin != nil {
			cmd.Stdin = opts.Stdin
		}
		if cmd.Stdout == nil || opts.Detach {
			cmd.Stdout = null
		}
		if cmd.Stderr == nil || opts.Detach {
			cmd.Stderr = null
		}
	}
	var ptmx *os.File // with Tty: the master, opened inside the container (see below)
	var cgFile *os.File
	if cg.v2 != nil {
		f, err := os.Open(cgroupMountpoint + cgroupParent + "/" + c.ID)
		if err != nil {
			return 0, fmt.Errorf("exec in %s: open cgroup: %w", c.Name, err)
		}
		defer f.Close()
		cgFile = f
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, int(f.Fd())
	}

	type result struct {
		code int
		err  error
	}
	started := make(chan error, 1)
	done := make(chan result, 1)
	go func() {
		goruntime.LockOSThread() // never unlocked: the thread is in the container now
		leave := func() {}
		var err error
		if cgFile == nil { // v1: join now, while /sys/fs/cgroup is the host's
			leave, _, err = joinThread(c.ID)
		}
		if err == nil {
			err = enterThread(nsFds)
		}
		if err == nil && opts.Tty {
			// The terminal comes from the container's own devpts (its /dev/ptmx, resolved in
			// the mount namespace this thread joined), so tty(1) inside names it.
			var slave *os.File
			ptmx, slave, err = pty.Open()
			if err == nil {
				defer slave.Close()
				cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
				cmd.SysProcAttr.Setsid, cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, true, 0
			}
		}
		if err == nil {
			err = lookupAndConfine(cmd, &cfg, filter, userSpec)
		}
		if err == nil {
			err = cmd.Start()
			if err != nil {
				err = classifyExecError(cmd.Path, err)
			}
		}
		leave() // the child is in; this thread (and so this process) leaves again
		started <- err
		if err != nil {
			return
		}
		if opts.Detach {
			done <- result{}
			// Reap it when it ends: an unreaped child would hold the container's PID
			// namespace (and so its init) from exiting. If this process exits first, the
			// container's PID 1 inherits it.
			go cmd.Wait() //nolint:errcheck
			return
		}
		werr := cmd.Wait()
		code := 0
		if cmd.ProcessState != nil {
			code = exitStatus(cmd.ProcessState.Sys().(syscall.WaitStatus))
		}
		var ee *exec.ExitError
		if errors.As(werr, &ee) {
			werr = nil
		}
		done <- result{code: code, err: werr}
	}()
	if err := <-started; err != nil {
		return ExitCode(err), err
	}
	if ptmx != nil {
		defer ptmx.Close()
	}
	if ptmx != nil && !opts.Detach {
		go func() {
			for sz := range opts.Resize {
				_ = pty.Setsize(ptmx, &pty.Winsize{Rows: sz[0], Cols: sz[1]})
			}
		}()
		if opts.Interactive && opts.Stdin != nil {
			go func() { _, _ = io.Copy(ptmx, opts.Stdin) }()
		}
		out := opts.Stdout
		if out == nil {
			out = io.Discard
		}
		copied := make(chan struct{})
		go func() { _, _ = io.Copy(out, ptmx); close(copied) }()
		res := <-done
		<-copied // the slave is closed (deferred on the thread), so this ends at EIO
		return res.code, res.err
	}
	select {
	case res := <-done:
		return res.code, res.err
	case <-ctx.Done():
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
		res := <-done
		return res.code, ctx.Err()
	}
}

// enterThread moves the calling (locked) thread into the container's namespaces, in the
// order of nsFds (mnt last).
func enterThread(nsFds []int) error {
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare(CLONE_FS): %w", err)
	}
	for i, fd := range nsFds {
		if err := unix.Setns(fd, 0); err != nil {
			return fmt.Errorf("setns(%s): %w", nsNames[i], err)
		}
	}
	return nil
}

// lookupAndConfine runs on the entered thread: resolve the command and the user inside the
// container, then apply no_new_privs, seccomp, the bounding set and the capabilities to the
// thread so the forked program inherits them.
func lookupAndConfine(cmd *exec.Cmd, cfg *initConfig, filter []unix.SockFilter, userSpec string) error {
	path, err := lookPath("/", cmd.Dir, cmd.Args[0], cmd.Env)
	if err != nil {
		return err
	}
	cmd.Path = path
	u, err := resolveUser("/", userSpec)
	if err != nil {
		return err
	}
	if !hasEnv(cmd.Env, "HOME") {
		cmd.Env = append(cmd.Env, "HOME="+u.Home)
	}
	groups := make([]uint32, 0, len(u.Groups))
	for _, g := range u.Groups {
		groups = append(groups, uint32(g))
	}
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID), Groups: groups}
	if cfg.NoNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err)
		}
	}
	if filter != nil {
		if err := loadSeccomp(filter); err != nil {
			return err
		}
	}
	return confineCaps(cfg.Caps, u.UID == 0)
}

// confineCaps drops the bounding set to caps and, for root, sets the effective and permitted
// sets to it (other users lose them at setuid). Per thread.
func confineCaps(caps capMask, root bool) error {
	for c := 0; c <= unix.CAP_LAST_CAP; c++ {
		if caps&(1<<c) != 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("prctl(PR_CAPBSET_DROP, %d): %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_CAP_AMBIENT_CLEAR_ALL): %w", err)
	}
	set := caps
	if !root {
		// Keep SETUID/SETGID until the child's setuid, which clears everything.
		set |= 1<<unix.CAP_SETUID | 1<<unix.CAP_SETGID
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	data[0].Effective, data[0].Permitted = uint32(set), uint32(set)
	data[1].Effective, data[1].Permitted = uint32(set>>32), uint32(set>>32)
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset %#x: %w", uint64(set), err)
	}
	return nil
}

func classifyExecError(path string, err error) error {
	switch {
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.ENOEXEC):
		return fmt.Errorf("exec %s: %w: %w", path, ErrExecPermission, err)
	case errors.Is(err, unix.ENOENT):
		return fmt.Errorf("exec %s: %w", path, ErrExecNotFound)
	}
	return fmt.Errorf("exec %s: %w", path, err)
}

func mergeEnv(env []string, kv string) []string {
	k, _, _ := strings.Cut(kv, "=")
	out := make([]string, 0, len(env)+1)
	for _, e := range env {
		if ek, _, _ := strings.Cut(e, "="); ek != k {
			out = append(out, e)
		}
	}
	return append(out, kv)
}

// NotifyResize is for a caller with a terminal: it returns a channel of window sizes of fd
// (the current one first, then one per SIGWINCH) and a stop function.
func NotifyResize(fd int) (<-chan [2]uint16, func()) {
	ch := make(chan [2]uint16, 1)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGWINCH)
	done := make(chan struct{})
	send := func() {
		if ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ); err == nil {
			select {
			case ch <- [2]uint16{ws.Row, ws.Col}:
			default:
			}
		}
	}
	send()
	go func() {
		defer close(ch)
		for {
			select {
			case <-sig:
				send()
			case <-done:
				return
			}
		}
	}()
	return ch, func() { signal.Stop(sig); close(done) }
}
