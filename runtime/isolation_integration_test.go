//go:build integration

package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestIsolationNamespaces(t *testing.T) {
	m := newTestManager(t)
	hostUTS, _ := os.Readlink("/proc/self/ns/uts")
	code, out := runOutput(t, m, func(s *Spec) { s.Hostname = "box" }, "sh", "-c",
		`echo pid=$$; hostname; ls /sys/class/net | tr '\n' ' '; echo; ls -d /proc/[0-9]* | wc -l; for ns in uts ipc mnt net; do readlink /proc/self/ns/$ns; done; ls /`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	lines := strings.Split(out, "\n")
	if lines[0] != "pid=1" {
		t.Errorf("the shell is not PID 1: %q", lines[0])
	}
	if lines[1] != "box" {
		t.Errorf("hostname %q, want box", lines[1])
	}
	if strings.TrimSpace(lines[2]) != "lo" {
		t.Errorf("network interfaces %q, want only lo", lines[2])
	}
	// /proc lists the shell, ls and wc (and "self" resolves among them): no host process.
	if n, _ := strconv.Atoi(strings.TrimSpace(lines[3])); n < 2 || n > 4 {
		t.Errorf("%d processes in /proc: host processes visible?\n%s", n, out)
	}
	for i, ns := range []string{"uts", "ipc", "mnt", "net"} {
		host, _ := os.Readlink("/proc/self/ns/" + ns)
		if !strings.HasPrefix(lines[4+i], ns+":[") || lines[4+i] == host {
			t.Errorf("%s namespace %q, the host's is %q", ns, lines[4+i], host)
		}
	}
	if lines[4] == hostUTS {
		t.Errorf("uts namespace shared")
	}
	if strings.Contains(out, "stack-test") {
		t.Errorf("the host's paths are visible:\n%s", out)
	}
}

func TestIsolationIPCAndMounts(t *testing.T) {
	m := newTestManager(t)
	// Two containers and the host: three IPC namespaces.
	hostIPC, _ := os.Readlink("/proc/self/ns/ipc")
	_, a := runOutput(t, m, nil, "readlink", "/proc/self/ns/ipc")
	_, b := runOutput(t, m, nil, "readlink", "/proc/self/ns/ipc")
	if a == b || strings.TrimSpace(a) == hostIPC || strings.TrimSpace(b) == hostIPC {
		t.Errorf("IPC namespaces shared: host %s, containers %q %q", hostIPC, a, b)
	}
	// The container's mounts are its own: /proc, /dev, ... never show up on the host (and
	// the rootfs is unmounted when it exits).
	code, out := runOutput(t, m, nil, "sh", "-c", `mount | grep -c ' /proc '`)
	if code != 0 || strings.TrimSpace(out) == "0" {
		t.Fatalf("no /proc inside: %q", out)
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mi), m.root+"/containers/") {
		t.Errorf("container mounts visible on the host:\n%s", mi)
	}
}

func TestSecurityDefaults(t *testing.T) {
	m := newTestManager(t)
	code, out := runOutput(t, m, nil, "sh", "-c", `grep -E 'CapEff|CapBnd|Seccomp:|NoNewPrivs' /proc/self/status`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	// Docker's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
	// NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
	for _, want := range []string{"CapEff:\t00000000a80425fb", "CapBnd:\t00000000a80425fb", "Seccomp:\t2", "NoNewPrivs:\t0"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	code, out = runOutput(t, m, nil, "sh", "-c", `mount -t tmpfs none /mnt; echo mount=$?; echo 1 > /proc/sys/kernel/domainname; echo sys=$?; echo 1 > /proc/sysrq-trigger; echo sysrq=$?; touch /sys/x; echo sysfs=$?`)
	for _, want := range []string{"mount=1", "sys=1", "sysrq=1", "sysfs=1"} {
		if !strings.Contains(out, want) {
			t.Errorf("want %s (refused) in\n%s", want, out)
		}
	}
	_ = code
	code, out = runOutput(t, m, nil, "sh", "-c", `cat /proc/kcore /proc/keys /proc/timer_list 2>/dev/null | wc -c; wc -c < /proc/keys; wc -c < /proc/timer_list; ls /sys/firmware | wc -l; ls /dev | tr '\n' ' '`)
	lines := strings.Split(out, "\n")
	if len(lines) < 5 || lines[0] != "0" || lines[1] != "0" || lines[2] != "0" || lines[3] != "0" {
		t.Errorf("masked paths not empty (exit %d):\n%s", code, out)
	}
	for _, d := range []string{"null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm", "fd"} {
		if !strings.Contains(" "+lines[4], " "+d+" ") {
			t.Errorf("/dev lacks %s: %s", d, lines[4])
		}
	}
	// The seccomp filter, not capabilities, refuses unshare: user namespaces need no
	// capability, and with seccomp=unconfined the same call works.
	_, out = runOutput(t, m, nil, "sh", "-c", `unshare -U true; echo unshare=$?`)
	_, out2 := runOutput(t, m, func(s *Spec) { s.SecurityOpt = []string{"seccomp=unconfined"} }, "sh", "-c", `unshare -U true; echo unshare=$?`)
	if !strings.Contains(out, "unshare=1") || !strings.Contains(out2, "unshare=0") {
		t.Errorf("seccomp: default %q, unconfined %q", out, out2)
	}
	// cap_add/cap_drop, no-new-privileges, seccomp=unconfined, privileged.
	_, out = runOutput(t, m, func(s *Spec) {
		s.CapDrop = []string{"ALL"}
		s.CapAdd = []string{"NET_ADMIN"}
		s.SecurityOpt = []string{"no-new-privileges", "seccomp=unconfined"}
	}, "sh", "-c", `grep -E 'CapEff|Seccomp:|NoNewPrivs' /proc/self/status`)
	for _, want := range []string{"CapEff:\t0000000000001000", "Seccomp:\t0", "NoNewPrivs:\t1"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	// no-new-privileges with the default filter (installed last then), also as another
	// user and under --init.
	for _, tweak := range []func(*Spec){func(s *Spec) {}, func(s *Spec) { s.User = "app" }, func(s *Spec) { s.Init = true }} {
		code, out := runOutput(t, m, func(s *Spec) { s.SecurityOpt = []string{"no-new-privileges"}; tweak(s) },
			"sh", "-c", `grep -E 'Seccomp:|NoNewPrivs' /proc/self/status; unshare -U true; echo unshare=$?`)
		if code != 0 || !strings.Contains(out, "Seccomp:\t2") || !strings.Contains(out, "NoNewPrivs:\t1") || !strings.Contains(out, "unshare=1") {
			t.Errorf("no-new-privileges with seccomp (exit %d):\n%s", code, out)
		}
	}
	// A non-root user has no effective capabilities (Docker ≥ 20.10).
	_, out = runOutput(t, m, func(s *Spec) { s.User = "app" }, "sh", "-c", `id; grep CapEff /proc/self/status`)
	if !strings.Contains(out, "uid=1000(app) gid=1000(app) groups=") || !strings.Contains(out, "50(staff)") || !strings.Contains(out, "CapEff:\t0000000000000000") {
		t.Errorf("user app: %s", out)
	}
}

func TestProcessSetup(t *testing.T) {
	m := newTestManager(t)
	hostKeepalive, _ := os.ReadFile("/proc/sys/net/ipv4/tcp_keepalive_time")
	code, out := runOutput(t, m, func(s *Spec) {
		s.Env = []string{"FOO=bar", "PATH=/bin"}
		s.WorkingDir = "/work/dir"
		s.User = "1000:50"
		s.Ulimits = []Ulimit{{Name: "nofile", Soft: 123, Hard: 456}}
		s.Sysctls = map[string]string{"net.ipv4.ip_forward": "1", "net.ipv4.tcp_keepalive_time": "7201"}
		s.ExtraHosts = []string{"db:10.1.2.3"}
		s.Domainname = "example.org"
	}, "sh", "-c", `echo $FOO $PATH; pwd; id -u; id -g; ulimit -n; ulimit -Hn; cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/tcp_keepalive_time; grep db /etc/hosts; cat /etc/hostname; cat /proc/sys/kernel/domainname`)
	want := []string{"bar /bin", "/work/dir", "1000", "50", "123", "456", "1", "7201", "10.1.2.3\tdb"}
	lines := strings.Split(out, "\n")
	if code != 0 || len(lines) < len(want) {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d = %q, want %q", i, lines[i], w)
		}
	}
	if !strings.Contains(out, "example.org") {
		t.Errorf("domainname not set:\n%s", out)
	}
	// The sysctls are the container's network namespace's, not the host's.
	if now, _ := os.ReadFile("/proc/sys/net/ipv4/tcp_keepalive_time"); string(now) != string(hostKeepalive) {
		t.Errorf("the host's tcp_keepalive_time changed: %q, was %q", now, hostKeepalive)
	}
	// Read-only root: writes fail except in tmpfs mounts.
	_, out = runOutput(t, m, func(s *Spec) {
		s.ReadOnly = true
		s.Mounts = []Mount{{Type: "tmpfs", Target: "/scratch", TmpfsSize: 1 << 20}}
	}, "sh", "-c", `touch /x; echo root=$?; touch /scratch/x; echo tmpfs=$?`)
	if !strings.Contains(out, "root=1") || !strings.Contains(out, "tmpfs=0") {
		t.Errorf("read-only root: %s", out)
	}
	// A bind mount, read-only, with a target the image lacks.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("from host"), 0o644)
	_, out = runOutput(t, m, func(s *Spec) {
		s.Mounts = []Mount{{Type: "bind", Source: dir, Target: "/data/in", ReadOnly: true}}
	}, "sh", "-c", `cat /data/in/f; echo; touch /data/in/g; echo w=$?`)
	if !strings.Contains(out, "from host") || !strings.Contains(out, "w=1") {
		t.Errorf("bind mount: %s", out)
	}
	// The program starts with every signal at its default action and none blocked, with or
	// without --init (the monitor ignores SIGHUP, SIGINT, SIGTERM and SIGPIPE itself).
	for _, reaper := range []bool{false, true} {
		_, out = runOutput(t, m, func(s *Spec) { s.Init = reaper }, "grep", "-E", "^Sig(Ign|Blk):", "/proc/self/status")
		if out != "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n" {
			t.Errorf("signals with init=%v: %q", reaper, out)
		}
	}
	// Entrypoint override and reset.
	_, out = runOutput(t, m, func(s *Spec) { s.Entrypoint = []string{"echo", "ep"} }, "arg")
	if out != "ep arg\n" {
		t.Errorf("entrypoint: %q", out)
	}
}

func TestStartErrors(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	cases := []struct {
		name string
		spec Spec
		want error
		code int
	}{
		{"not found", Spec{Image: testImage, Cmd: []string{"nosuchcmd"}}, ErrExecNotFound, 127},
		{"not executable", Spec{Image: testImage, Cmd: []string{"/etc/passwd"}}, ErrExecPermission, 126},
		{"unknown user", Spec{Image: testImage, Cmd: []string{"true"}, User: "nobody2"}, ErrUnknownUser, 125},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := m.Create(ctx, tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			err = m.Start(ctx, c.ID)
			if !errors.Is(err, tc.want) || ExitCode(err) != tc.code {
				t.Fatalf("start: %v (code %d), want %v (%d)", err, ExitCode(err), tc.want, tc.code)
			}
			c, _ = m.Get(c.ID)
			if c.State.Status != StatusExited || c.State.ExitCode != tc.code {
				t.Errorf("state %s/%d", c.State.Status, c.State.ExitCode)
			}
			assertNoLeftovers(t, c, false)
		})
	}
	if _, err := m.Create(ctx, Spec{Image: "localhost/nope:1", Cmd: []string{"true"}}); !errors.Is(err, ErrImage) {
		t.Errorf("missing image: %v", err)
	}
	if _, err := m.Create(ctx, Spec{Name: "dup", Image: testImage, Cmd: []string{"true"}}); err != nil {
		t.Fatal(err)
	}
	_, err := m.Create(ctx, Spec{Name: "dup", Image: testImage, Cmd: []string{"true"}})
	if !errors.Is(err, ErrNameInUse) || !strings.Contains(err.Error(), `"dup"`) {
		t.Errorf("name in use: %v", err)
	}
}

// assertNoLeftovers checks that nothing of a stopped (or removed) container remains on the
// host: no rootfs mount, no cgroup, and (when removed) no netns pin or directory.
func assertNoLeftovers(t *testing.T, c *Container, removed bool) {
	t.Helper()
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mi), c.ID) && (removed || strings.Contains(string(mi), c.rootfs())) {
		t.Errorf("mounts of %s remain", c.ID[:12])
	}
	for _, p := range []string{"/sys/fs/cgroup/pids/stack/" + c.ID, "/sys/fs/cgroup/memory/stack/" + c.ID, "/sys/fs/cgroup/stack/" + c.ID} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("cgroup %s remains", p)
		}
	}
	if removed {
		for _, p := range []string{c.dir, c.NetNSPath()} {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("%s remains", p)
			}
		}
	}
}

func TestRemoveLeavesNothing(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	c, err := m.Create(ctx, Spec{Name: "gone", Image: testImage, Cmd: []string{"sleep", "60"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(ctx, c.ID, RemoveOptions{}); !errors.Is(err, ErrRunning) {
		t.Fatalf("rm of a running container: %v", err)
	}
	if err := m.Remove(ctx, "gone", RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	assertNoLeftovers(t, c, true)
	if _, err := m.Get("gone"); !errors.Is(err, ErrNotFound) {
		t.Errorf("get after rm: %v", err)
	}
	if _, err := m.Create(ctx, Spec{Name: "gone", Image: testImage, Cmd: []string{"true"}}); err != nil {
		t.Errorf("name not released: %v", err)
	}
}

// waitFor polls cond every 10 ms until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func startDetached(t *testing.T, m *Manager, tweak func(*Spec), cmd ...string) *Container {
	t.Helper()
	spec := Spec{Image: testImage, Cmd: cmd}
	if tweak != nil {
		tweak(&spec)
	}
	c, err := m.Create(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(context.Background(), c.ID); err != nil {
		t.Fatal(err)
	}
	c, err = m.Get(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func execOut(t *testing.T, m *Manager, id string, cmd ...string) (int, string) {
	t.Helper()
	var out strings.Builder
	code, err := m.Exec(context.Background(), id, ExecOptions{Cmd: cmd, Stdout: &out, Stderr: &out})
	if err != nil && code == 0 {
		t.Fatalf("exec %v: %v", cmd, err)
	}
	return code, out.String()
}

var _ = fmt.Sprint
