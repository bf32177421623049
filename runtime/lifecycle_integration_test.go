//go:build integration

package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

func TestMemoryLimitOOM(t *testing.T) {
	m := newTestManager(t)
	// Grow a shell variable far past 16 MiB: the kernel's OOM killer ends it.
	code, _ := runOutput(t, m, func(s *Spec) { s.Memory = 16 << 20 }, "sh", "-c",
		`x=0123456789abcdef; while true; do x="$x$x"; done`)
	cs, _ := m.List(ListOptions{All: true})
	if code != 137 || len(cs) != 1 || !cs[0].State.OOMKilled || cs[0].State.ExitCode != 137 {
		t.Fatalf("exit %d, state %+v: want 137 and OOMKilled", code, cs[0].State)
	}
}

func TestPidsLimitStopsForkBomb(t *testing.T) {
	m := newTestManager(t)
	c := startDetached(t, m, func(s *Spec) { s.PidsLimit = 20 }, "sleep", "600")
	// A fork bomb (bounded: 100 sleepers) hits the limit of 20 processes.
	_, out := execOut(t, m, c.ID, "sh", "-c", `i=0; while [ $i -lt 100 ]; do sleep 60 >/dev/null 2>&1 & i=$((i+1)); done; echo done`)
	ps, err := m.Top(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) > 20 || len(ps) < 10 {
		t.Errorf("%d processes in the container with a limit of 20", len(ps))
	}
	if !strings.Contains(out, "fork") && !strings.Contains(out, "Resource temporarily unavailable") {
		t.Errorf("no fork failure reported:\n%s", out)
	}
}

func TestStopGracePeriod(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	// PID 1 ignores SIGTERM (a shell as PID 1 has no default action for it): stop waits for
	// the grace period, then SIGKILLs, and returns right after.
	c := startDetached(t, m, nil, "sh", "-c", `trap '' TERM; while true; do sleep 0.1; done`)
	grace := 1500 * time.Millisecond
	start := time.Now()
	if err := m.Stop(ctx, c.ID, &grace); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if took < grace || took > grace+3*time.Second {
		t.Errorf("stop took %v with a grace period of %v", took, grace)
	}
	c, _ = m.Get(c.ID)
	if c.State.Status != StatusExited || c.State.ExitCode != 137 {
		t.Errorf("after stop: %s %d", c.State.Status, c.State.ExitCode)
	}
	assertNoLeftovers(t, c, false)
	// A process that honours SIGTERM stops at once.
	c = startDetached(t, m, nil, "sh", "-c", `trap 'exit 0' TERM; echo ready; while true; do sleep 0.1; done`)
	waitForLog(t, m, c.ID, "ready") // a signal before the trap is set would be ignored (PID 1)
	start = time.Now()
	ten := 10 * time.Second
	if err := m.Stop(ctx, c.ID, &ten); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("stop of a cooperative process took %v", took)
	}
	// start reuses the read/write layer.
	c = startDetached(t, m, nil, "sh", "-c", `echo run >> /runs; cat /runs | wc -l; sleep 60`)
	waitForLog(t, m, c.ID, "1\n")
	zero := time.Duration(0)
	if err := m.Stop(ctx, c.ID, &zero); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	waitForLog(t, m, c.ID, "2\n")
}

// waitForLog waits until the container's log contains s.
func waitForLog(t *testing.T, m *Manager, id, s string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%q in the log", s), 10*time.Second, func() bool {
		var out bytes.Buffer
		m.Logs(context.Background(), id, LogOptions{Tail: -1}, &out, &out)
		return strings.Contains(out.String(), s)
	})
}

func TestPauseUnpause(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	c := startDetached(t, m, nil, "sh", "-c", `i=0; while true; do i=$((i+1)); echo $i > /count; sleep 0.05; done`)
	read := func() string {
		_, out := execOut(t, m, c.ID, "cat", "/count")
		return out
	}
	waitFor(t, "counter", 5*time.Second, func() bool { return read() != "" })
	pidsBefore, err := m.Top(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Pause(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	cg, _ := loadCgroup(c.ID)
	v1, _ := os.ReadFile("/sys/fs/cgroup/freezer/stack/" + c.ID + "/freezer.state")
	_ = cg
	before := readFileIn(t, c, "/count")
	time.Sleep(400 * time.Millisecond) // the counter would advance ~8 times meanwhile
	if after := readFileIn(t, c, "/count"); after != before {
		t.Fatalf("counter moved while paused: %q → %q (freezer %q)", before, after, v1)
	}
	if got, _ := m.Get(c.ID); got.State.Status != StatusPaused {
		t.Errorf("status %s", got.State.Status)
	}
	if _, err := m.Exec(ctx, c.ID, ExecOptions{Cmd: []string{"true"}}); !errors.Is(err, ErrPaused) {
		t.Errorf("exec in a paused container: %v", err)
	}
	if err := m.Unpause(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "counter to resume", 5*time.Second, func() bool { return readFileIn(t, c, "/count") != before })
	pidsAfter, _ := m.Top(c.ID)
	if len(pidsBefore) == 0 || pidsBefore[0].PID != pidsAfter[0].PID {
		t.Errorf("PID 1 changed across pause: %v → %v", pidsBefore, pidsAfter)
	}
}

// readFileIn reads a file of a running container through its rootfs on the host (without
// exec, which a frozen container would not run).
func readFileIn(t *testing.T, c *Container, p string) string {
	data, _ := os.ReadFile(c.rootfs() + p)
	return string(data)
}

func TestExec(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	c := startDetached(t, m, func(s *Spec) { s.Env = []string{"A=1"} }, "sleep", "60")
	for _, tc := range []struct {
		cmd  []string
		code int
	}{{[]string{"true"}, 0}, {[]string{"sh", "-c", "exit 42"}, 42}, {[]string{"nosuch"}, 127}, {[]string{"/etc/passwd"}, 126}} {
		code, _ := execOut(t, m, c.ID, tc.cmd...)
		if code != tc.code {
			t.Errorf("exec %v: exit %d, want %d", tc.cmd, code, tc.code)
		}
	}
	code, out := execOut(t, m, c.ID, "sh", "-c", `echo $$ $A $B; id -u; pwd; grep CapEff /proc/self/status; grep Seccomp: /proc/self/status; cat /proc/self/cgroup | head -1`)
	if code != 0 || !strings.Contains(out, "1") || !strings.Contains(out, "CapEff:\t00000000a80425fb") || !strings.Contains(out, "Seccomp:\t2") {
		t.Errorf("exec environment:\n%s", out)
	}
	var sb strings.Builder
	code, err := m.Exec(ctx, c.ID, ExecOptions{Cmd: []string{"sh", "-c", "echo $B; id -un; pwd"}, Env: []string{"B=2"}, User: "app", WorkingDir: "/tmp", Stdout: &sb})
	if err != nil || code != 0 || sb.String() != "2\napp\n/tmp\n" {
		t.Errorf("exec -e -u -w: %d %v %q", code, err, sb.String())
	}
	// stdin
	sb.Reset()
	code, err = m.Exec(ctx, c.ID, ExecOptions{Cmd: []string{"cat"}, Interactive: true, Stdin: strings.NewReader("piped\n"), Stdout: &sb})
	if err != nil || code != 0 || sb.String() != "piped\n" {
		t.Errorf("exec -i: %d %v %q", code, err, sb.String())
	}
	// A real terminal, its size set through Resize.
	sizes := make(chan [2]uint16, 1)
	sizes <- [2]uint16{33, 101}
	close(sizes)
	var tout bytes.Buffer
	code, err = m.Exec(ctx, c.ID, ExecOptions{Cmd: []string{"sh", "-c", "sleep 0.2; tty; stty size; exit 3"}, Tty: true, Stdout: &tout, Resize: sizes})
	if err != nil || code != 3 || !strings.Contains(tout.String(), "/dev/pts/") || !strings.Contains(tout.String(), "33 101") {
		t.Errorf("exec -t: %d %v %q", code, err, tout.String())
	}
	// The host binary is not reachable from the exec'd process.
	code, out = execOut(t, m, c.ID, "sh", "-c", `readlink /proc/self/exe; ls /proc/*/exe 2>/dev/null | wc -l`)
	if strings.Contains(out, "stack") || strings.Contains(out, ".test") {
		t.Errorf("host binary visible: %s", out)
	}
	// Detached: returns at once, the process runs on.
	if _, err := m.Exec(ctx, c.ID, ExecOptions{Cmd: []string{"sh", "-c", "sleep 0.3; touch /detached"}, Detach: true}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "detached exec", 5*time.Second, func() bool { _, err := os.Stat(c.rootfs() + "/detached"); return err == nil })
}

func TestRunWithTerminal(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	c, err := m.Create(ctx, Spec{Image: testImage, Cmd: []string{"sh"}, Tty: true, OpenStdin: true})
	if err != nil {
		t.Fatal(err)
	}
	wait, err := m.StartWait(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	in, inW := io.Pipe()
	sizes := make(chan [2]uint16, 1)
	sizes <- [2]uint16{20, 70}
	if _, err := m.Attach(ctx, c.ID, AttachOptions{Stdin: in, Resize: sizes}); err != nil {
		t.Fatal(err)
	}
	close(sizes)
	inW.Write([]byte("tty; stty size; exit 5\n"))
	code, err := wait(ctx)
	if err != nil || code != 5 {
		t.Fatalf("exit %d %v", code, err)
	}
	var out bytes.Buffer
	m.Logs(ctx, c.ID, LogOptions{Tail: -1}, &out, &out)
	if !strings.Contains(out.String(), "/dev/console") && !strings.Contains(out.String(), "/dev/pts/") || !strings.Contains(out.String(), "20 70") {
		t.Errorf("terminal session:\n%s", out.String())
	}
	_ = pty.Winsize{}
}

func TestLogsBurst(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	const n = 100000
	code, _ := runOutput(t, m, nil, "sh", "-c", `seq 1 100000; seq 1 10 >&2`)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	cs, _ := m.List(ListOptions{All: true})
	var stdout, stderr bytes.Buffer
	if err := m.Logs(ctx, cs[0].ID, LogOptions{Tail: -1}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("%d stdout lines, want %d", len(lines), n)
	}
	for i, l := range lines {
		if l != strconv.Itoa(i+1) {
			t.Fatalf("line %d = %q", i+1, l)
		}
	}
	if stderr.String() != "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n" {
		t.Errorf("stderr %q", stderr.String())
	}
	var tail bytes.Buffer
	m.Logs(ctx, cs[0].ID, LogOptions{Tail: 13, Timestamps: true}, &tail, io.Discard)
	tl := strings.Split(strings.TrimSpace(tail.String()), "\n")
	if len(tl) < 3 || !strings.HasSuffix(tl[len(tl)-1], " 100000") {
		t.Errorf("tail -t: %q", tail.String())
	}
	for _, l := range tl {
		ts, _, _ := strings.Cut(l, " ")
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Errorf("tail -t: no timestamp in %q", l)
		}
	}
}

func TestMonitorKilled(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	c := startDetached(t, m, nil, "sleep", "600")
	if err := syscall.Kill(c.State.MonitorPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// PDEATHSIG takes the container down with its monitor; it reads as exited at once.
	waitFor(t, "container reported exited", 5*time.Second, func() bool {
		got, err := m.Get(c.ID)
		return err == nil && got.State.Status == StatusExited
	})
	waitFor(t, "PID 1 gone", 5*time.Second, func() bool { return !processAlive(c.State.Pid, c.State.PidStart) })
	// The next command (here a listing) cleans up the mounts and the cgroup.
	if _, err := m.List(ListOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	got, _ := m.Get(c.ID)
	if got.State.Mounted {
		t.Errorf("still marked mounted after ls")
	}
	assertNoLeftovers(t, got, false)
	// It can start again.
	if err := m.Start(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	zero := time.Duration(0)
	if err := m.Stop(ctx, c.ID, &zero); err != nil {
		t.Fatal(err)
	}
	got, _ = m.Get(c.ID)
	assertNoLeftovers(t, got, false)
}

func TestResourceLimitsApplied(t *testing.T) {
	m := newTestManager(t)
	c := startDetached(t, m, func(s *Spec) { s.CPUs = 0.5; s.Memory = 64 << 20; s.PidsLimit = 33 }, "sleep", "60")
	want := map[string]string{"cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000", "memory.limit_in_bytes": "67108864", "pids.max": "33"}
	files := map[string]string{"cpu.cfs_quota_us": "cpu", "cpu.cfs_period_us": "cpu", "memory.limit_in_bytes": "memory", "pids.max": "pids"}
	if unified() {
		want = map[string]string{"cpu.max": "50000 100000", "memory.max": "67108864", "pids.max": "33"}
		files = map[string]string{"cpu.max": "", "memory.max": "", "pids.max": ""}
	}
	for f, v := range want {
		data, err := os.ReadFile(filepath.Join(cgroupMountpoint, files[f], cgroupParent, c.ID, f))
		if err != nil || strings.TrimSpace(string(data)) != v {
			t.Errorf("%s = %q (%v), want %q", f, data, err, v)
		}
	}
	st, err := m.Stats(c.ID)
	if err != nil || st.MemoryLimit != 64<<20 || st.Pids == 0 {
		t.Errorf("stats %+v %v", st, err)
	}
	// The container sees its own group at /sys/fs/cgroup (how runtimes such as the JVM and
	// Go find their limits), read-only, with none of the host's groups.
	script := `cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; ls /sys/fs/cgroup/memory | grep -c stack; echo 1 > /sys/fs/cgroup/pids/pids.max && echo written`
	if unified() {
		script = `cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max; ls /sys/fs/cgroup | grep -c stack; echo 1 > /sys/fs/cgroup/pids.max && echo written`
	}
	var out strings.Builder
	code, err := m.Exec(context.Background(), c.ID, ExecOptions{Cmd: []string{"sh", "-c", script}, Stdout: &out, Stderr: &out})
	if err != nil || !strings.HasPrefix(out.String(), "67108864\n33\n0\n") || strings.Contains(out.String(), "written") || code == 0 {
		t.Errorf("/sys/fs/cgroup inside (exit %d, %v):\n%s", code, err, out.String())
	}
}

// Wait on a --rm container returns its exit code although the container is gone by the
// time the waiter looks again.
func TestWaitAutoRemoved(t *testing.T) {
	m := newTestManager(t)
	c := startDetached(t, m, func(s *Spec) { s.AutoRemove = true }, "sh", "-c", "sleep 0.2; exit 3")
	code, err := m.Wait(context.Background(), c.ID)
	if err != nil || code != 3 {
		t.Fatalf("wait: %d %v", code, err)
	}
	if _, err := m.Get(c.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("still there after --rm: %v", err)
	}
}

// A --rm container's monitor killed after it took the container out of the store but
// before it purged it: the next List tears down and deletes what is left.
func TestListPurgesRemoved(t *testing.T) {
	m := newTestManager(t)
	c := startDetached(t, m, nil, "sleep", "60")
	if err := unix.Kill(c.State.MonitorPid, unix.SIGKILL); err != nil { // takes PID 1 with it
		t.Fatal(err)
	}
	waitFor(t, "the container's end", 5*time.Second, func() bool { return !processAlive(c.State.Pid, c.State.PidStart) })
	// What unlinkStore leaves: the name gone, the directory moved aside, still mounted, its
	// cgroup and network namespace pin still there.
	purge, err := unlinkStore(c)
	if err != nil {
		t.Fatal(err)
	}
	_ = purge // never called: the monitor died
	if _, err := m.Get(c.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("still found after unlink: %v", err)
	}
	if _, err := m.List(ListOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	assertNoLeftovers(t, c, true)
	if removed := filepath.Join(filepath.Dir(c.dir), removedPrefix+c.ID); fileExists(removed) {
		t.Errorf("%s remains", removed)
	}
}

// A container that writes nothing leaves its own layer empty: the mount points of /proc,
// /sys, /dev and the /etc files come from the store's init layer.
func TestInitLayerKeepsUpperEmpty(t *testing.T) {
	m := newTestManager(t)
	c := startDetached(t, m, nil, "sh", "-c", "cat /etc/hostname /etc/hosts >/dev/null")
	if code, err := m.Wait(context.Background(), c.ID); err != nil || code != 0 {
		t.Fatalf("wait: %d %v", code, err)
	}
	ents, err := os.ReadDir(filepath.Join(c.dir, "upper"))
	if err != nil || len(ents) != 0 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("upper: %v %v, want empty", names, err)
	}
}

// The monitor Prefork starts is the one the next created container runs under: Create gives
// the container its ID, and Start takes it instead of forking another.
func TestPreforkedMonitorRunsTheContainer(t *testing.T) {
	m := newTestManager(t)
	m.Prefork()
	spare := m.spare
	c := startDetached(t, m, nil, "sleep", "60")
	if c.dir != spare.dir {
		t.Fatalf("container %s, monitor forked for %s", c.dir, spare.dir)
	}
	if <-spare.ready; spare.err != nil || c.State.MonitorPid != spare.mon.cmd.Process.Pid {
		t.Errorf("monitor %d, the preforked one is %d (%v)", c.State.MonitorPid, spare.mon.cmd.Process.Pid, spare.err)
	}
	if m.spare != nil {
		t.Error("the preforked monitor is still offered after it was used")
	}
	// One left unused exits once its config pipe is closed.
	m.Prefork()
	unused := m.spare
	<-unused.ready
	pid := unused.mon.cmd.Process.Pid
	start, err := procStartTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	unused.mon.discard()
	if !waitGone(context.Background(), pid, start, time.Now().Add(5*time.Second)) {
		t.Error("an unused preforked monitor did not exit")
	}
}

func TestRestartPolicy(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	c := startDetached(t, m, func(s *Spec) { s.Restart = RestartPolicy{Name: "on-failure", MaxRetries: 2} }, "sh", "-c", "exit 3")
	code, err := m.Wait(ctx, c.ID)
	if err != nil || code != 3 {
		t.Fatalf("wait: %d %v", code, err)
	}
	got, _ := m.Get(c.ID)
	if got.State.RestartCount != 2 || got.State.Status != StatusExited {
		t.Errorf("on-failure:2: restarts %d, status %s", got.State.RestartCount, got.State.Status)
	}
	// always: restarted after it exits; stop ends it for good.
	c = startDetached(t, m, func(s *Spec) { s.Restart = RestartPolicy{Name: "always"} }, "sh", "-c", "sleep 0.2")
	waitFor(t, "a restart", 10*time.Second, func() bool { got, _ := m.Get(c.ID); return got.State.RestartCount >= 1 })
	if err := m.Stop(ctx, c.ID, nil); err != nil {
		t.Fatal(err)
	}
	got, _ = m.Get(c.ID)
	if got.State.Status != StatusExited {
		t.Errorf("after stop: %s", got.State.Status)
	}
	n := got.State.RestartCount
	time.Sleep(500 * time.Millisecond)
	if got, _ = m.Get(c.ID); got.State.RestartCount != n || got.Running() {
		t.Errorf("restarted after stop")
	}
}

func TestHealthcheck(t *testing.T) {
	m := newTestManager(t)
	c := startDetached(t, m, func(s *Spec) {
		s.Healthcheck = &Healthcheck{Test: []string{"CMD-SHELL", "test -e /ok"}, Interval: 100 * time.Millisecond, Timeout: time.Second, Retries: 2}
	}, "sleep", "60")
	if c.State.Health != "starting" {
		t.Errorf("health %q at start", c.State.Health)
	}
	waitFor(t, "unhealthy", 10*time.Second, func() bool { got, _ := m.Get(c.ID); return got.State.Health == "unhealthy" })
	execOut(t, m, c.ID, "touch", "/ok")
	waitFor(t, "healthy", 10*time.Second, func() bool { got, _ := m.Get(c.ID); return got.State.Health == "healthy" })
}

func TestInitReaper(t *testing.T) {
	m := newTestManager(t)
	// An orphan exits under PID 1: with --init it is reaped (no zombie), and PID 1 is the
	// reaper, not the program.
	code, out := runOutput(t, m, func(s *Spec) { s.Init = true }, "sh", "-c",
		`(sleep 0.1 &) ; sleep 0.5; cat /proc/1/cmdline | tr '\0' ' '; echo; grep -l Z /proc/[0-9]*/stat 2>/dev/null | wc -l; exit 4`)
	lines := strings.Split(out, "\n")
	if code != 4 || len(lines) < 2 || strings.Contains(lines[0], "sh -c") || strings.TrimSpace(lines[1]) != "0" {
		t.Errorf("exit %d:\n%s", code, out)
	}
	// Signals are forwarded: stop ends the program through the reaper.
	c := startDetached(t, m, func(s *Spec) { s.Init = true }, "sh", "-c", `trap 'exit 9' TERM; echo ready; while true; do sleep 0.1; done`)
	waitForLog(t, m, c.ID, "ready")
	start := time.Now()
	if err := m.Stop(context.Background(), c.ID, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := m.Get(c.ID)
	if time.Since(start) > 3*time.Second || got.State.ExitCode != 9 {
		t.Errorf("stop through the reaper: %v, exit %d", time.Since(start), got.State.ExitCode)
	}
}
