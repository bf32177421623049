package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestCapabilitySet(t *testing.T) {
	def, err := capabilitySet(nil, nil, false)
	if err != nil || def != 0xa80425fb {
		t.Fatalf("default set %#x, %v; want Docker's 0xa80425fb", uint64(def), err)
	}
	cases := []struct {
		add, drop []string
		want      capMask
	}{
		{[]string{"NET_ADMIN"}, nil, def | 1<<12},
		{nil, []string{"cap_chown"}, def &^ 1},
		{[]string{"NET_ADMIN"}, []string{"ALL"}, 1 << 12},
		{[]string{"CHOWN"}, []string{"CHOWN"}, def},
	}
	for _, c := range cases {
		got, err := capabilitySet(c.add, c.drop, false)
		if err != nil || got != c.want {
			t.Errorf("add %v drop %v: %#x %v, want %#x", c.add, c.drop, uint64(got), err, uint64(c.want))
		}
	}
	if _, err := capabilitySet([]string{"NOPE"}, nil, false); !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("unknown capability: %v", err)
	}
	all, _ := capabilitySet(nil, nil, true)
	if all.names()[0] != "CAP_AUDIT_CONTROL" || len(all.names()) != len(capNames) {
		t.Errorf("privileged: %v", all.names())
	}
}

func TestSpecValidate(t *testing.T) {
	bad := []Spec{
		{Image: "x", Name: "-bad"},
		{},
		{Image: "x", Restart: RestartPolicy{Name: "sometimes"}},
		{Image: "x", Restart: RestartPolicy{Name: "always"}, AutoRemove: true},
		{Image: "x", Memory: 1 << 20},
		{Image: "x", Sysctls: map[string]string{"kernel.panic": "1"}},
		{Image: "x", Ulimits: []Ulimit{{Name: "nofile", Soft: 2, Hard: 1}}},
		{Image: "x", SecurityOpt: []string{"apparmor=x"}},
		{Image: "x", StopSignal: "SIGNOPE"},
		{Image: "x", Mounts: []Mount{{Type: "volume", Target: "/x"}}},
		{Image: "x", Mounts: []Mount{{Type: "bind", Source: "rel", Target: "/x"}}},
		{Image: "x", ExtraHosts: []string{"nohost"}},
	}
	for i, s := range bad {
		if err := s.validate(); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("case %d: %v, want ErrInvalidSpec", i, err)
		}
	}
	good := Spec{Name: "web_1.a-b", Image: "x", Restart: RestartPolicy{Name: "on-failure", MaxRetries: 3},
		Sysctls: map[string]string{"net.ipv4.ip_forward": "1", "kernel.shmmax": "1"}, StopSignal: "SIGQUIT",
		SecurityOpt: []string{"no-new-privileges:true", "seccomp=unconfined"}}
	if err := good.validate(); err != nil {
		t.Errorf("valid spec: %v", err)
	}
}

func TestParseRestartPolicyAndSignal(t *testing.T) {
	if p, err := ParseRestartPolicy("on-failure:3"); err != nil || p != (RestartPolicy{"on-failure", 3}) {
		t.Errorf("on-failure:3 → %v %v", p, err)
	}
	for _, s := range []string{"always:2", "on-failure:x", "maybe"} {
		if _, err := ParseRestartPolicy(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
	for in, want := range map[string]syscall.Signal{"KILL": syscall.SIGKILL, "sigterm": syscall.SIGTERM, "9": syscall.SIGKILL, "SIGUSR1": syscall.SIGUSR1} {
		if got, err := ParseSignal(in); err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %v %v", in, got, err)
		}
	}
	if _, err := ParseSignal("0"); err == nil {
		t.Error("signal 0 accepted")
	}
}

func TestResolveUser(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/group"), []byte("root:x:0:\napp:x:1000:\nstaff:x:50:app,other\n"), 0o644)
	cases := []struct {
		spec string
		want execUser
	}{
		{"", execUser{0, 0, []int{0}, "/root"}},
		{"app", execUser{1000, 1000, []int{1000, 50}, "/home/app"}},
		{"1000", execUser{1000, 1000, []int{1000, 50}, "/home/app"}},
		{"app:staff", execUser{1000, 50, []int{50}, "/home/app"}},
		{"4242", execUser{4242, 4242, []int{4242}, "/"}},
		{"4242:7", execUser{4242, 7, []int{7}, "/"}},
	}
	for _, c := range cases {
		got, err := resolveUser(root, c.spec)
		if err != nil || got.UID != c.want.UID || got.GID != c.want.GID || got.Home != c.want.Home || len(got.Groups) != len(c.want.Groups) {
			t.Errorf("%q → %+v %v, want %+v", c.spec, got, err, c.want)
		}
	}
	for _, s := range []string{"nobody", "app:nogroup"} {
		if _, err := resolveUser(root, s); !errors.Is(err, ErrUnknownUser) {
			t.Errorf("%q: %v", s, err)
		}
	}
}

func TestLookPath(t *testing.T) {
	root := t.TempDir() // the container's "/" as seen from the host
	os.MkdirAll(filepath.Join(root, "app", "bin"), 0o755)
	os.MkdirAll(filepath.Join(root, "usr", "bin"), 0o755)
	os.WriteFile(filepath.Join(root, "app", "bin", "run"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(root, "app", "bin", "data"), []byte("x"), 0o644)
	// An absolute symlink means the container's path, not the host's.
	os.Symlink("/app/bin/run", filepath.Join(root, "usr", "bin", "linked"))
	env := []string{"PATH=/nonexistent:/app/bin:/usr/bin"}
	for _, c := range []struct{ cwd, file, want string }{
		{"/", "run", "/app/bin/run"},
		{"/", "linked", "/usr/bin/linked"},
		{"/app", "bin/run", "bin/run"}, // relative to the working directory, as execve sees it
		{"/", "/app/bin/run", "/app/bin/run"},
	} {
		if p, err := lookPath(root, c.cwd, c.file, env); err != nil || p != c.want {
			t.Errorf("%s in %s: %q %v, want %q", c.file, c.cwd, p, err, c.want)
		}
	}
	if _, err := lookPath(root, "/", "data", env); !errors.Is(err, ErrExecPermission) {
		t.Errorf("data: %v", err)
	}
	if _, err := lookPath(root, "/", "nope", env); !errors.Is(err, ErrExecNotFound) {
		t.Errorf("nope: %v", err)
	}
	if _, err := lookPath(root, "/", "bin/run", env); !errors.Is(err, ErrExecNotFound) {
		t.Errorf("relative to / instead of the working directory: %v", err)
	}
	if _, err := lookPath(root, "/", "/app/bin/nope", env); !errors.Is(err, ErrExecNotFound) {
		t.Errorf("absolute nope: %v", err)
	}
}

func TestContainerCommandAndEnv(t *testing.T) {
	c := &Container{ID: strings.Repeat("ab", 32), Image: ImageConfig{Entrypoint: []string{"/entry"}, Cmd: []string{"def"}, Env: []string{"PATH=/img", "A=img"}}}
	if got := strings.Join(c.Command(), " "); got != "/entry def" {
		t.Errorf("image command %q", got)
	}
	c.Spec.Cmd = []string{"x"}
	if got := strings.Join(c.Command(), " "); got != "/entry x" {
		t.Errorf("cmd override %q", got)
	}
	c.Spec.Entrypoint, c.Spec.Cmd = []string{}, nil
	if got := c.Command(); len(got) != 0 {
		t.Errorf("reset entrypoint drops the image's cmd too: %q", got)
	}
	c.Spec.Env = []string{"A=spec", "B=2", "BARE"}
	env := strings.Join(c.env(), " ")
	if env != "PATH=/img HOSTNAME=abababababab A=spec B=2" {
		t.Errorf("env %q", env)
	}
}

func TestLogWriterAndFollow(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ctr.log")
	w, err := openLogWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	w.copyStream("stdout", strings.NewReader("a\n\"quoted\" \x01 \xff\nno newline"))
	w.copyStream("stderr", strings.NewReader("err\n"))
	w.close()
	data, _ := os.ReadFile(path)
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var e logEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.Time.IsZero() {
			t.Fatalf("bad JSON line %q: %v", line, err)
		}
	}
	var out, errOut bytes.Buffer
	if err := followLogs(context.Background(), mustOpen(t, path), LogOptions{Tail: -1}, &out, &errOut, nil, func() bool { return false }); err != nil {
		t.Fatal(err)
	}
	if out.String() != "a\n\"quoted\" \x01 \uFFFD\nno newline" || errOut.String() != "err\n" {
		t.Errorf("stdout %q stderr %q", out.String(), errOut.String())
	}
	out.Reset()
	followLogs(context.Background(), mustOpen(t, path), LogOptions{Tail: 1}, &out, &out, nil, func() bool { return false })
	if out.String() != "err\n" {
		t.Errorf("tail 1: %q", out.String())
	}
	out.Reset()
	followLogs(context.Background(), mustOpen(t, path), LogOptions{Tail: -1, Since: time.Now().Add(time.Hour)}, &out, &out, nil, func() bool { return false })
	if out.Len() != 0 {
		t.Errorf("since the future: %q", out.String())
	}
}

func TestLogRotationFollow(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ctr.log")
	w, err := openLogWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("x", 1000) + "\n"
	n := maxLogSize/1000 + 100 // enough to rotate once
	done := make(chan struct{})
	var out bytes.Buffer
	followErr := make(chan error, 1)
	go func() {
		followErr <- FollowLogs(context.Background(), path, LogOptions{Follow: true, Tail: -1}, &out, &out, done)
	}()
	for i := 0; i < n; i++ {
		w.writeLines("stdout", [][]byte{[]byte(line)})
	}
	w.close()
	close(done)
	if err := <-followErr; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".1"); err != nil {
		t.Fatalf("no rotation: %v", err)
	}
	if got := strings.Count(out.String(), "\n"); got != n {
		t.Errorf("followed %d lines across the rotation, want %d", got, n)
	}
}

func TestProcStat(t *testing.T) {
	st, err := procStartTime(os.Getpid())
	if err != nil || st == 0 {
		t.Fatalf("start time %d %v", st, err)
	}
	if !processAlive(os.Getpid(), st) || processAlive(os.Getpid(), st+1) || processAlive(0, 0) {
		t.Error("processAlive does not tell processes apart by start time")
	}
}

func TestRunDir(t *testing.T) {
	if RunDir("/var/lib/stack/") != "/run/stack" || RunDir("/tmp/x") != "/tmp/x/run" {
		t.Error("RunDir")
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"plain", "tab\tnl\n", "<&>", "é ✓", "\x00\x1f", "\"\\"} {
		got := appendJSONString(nil, []byte(s))
		var back string
		if err := json.Unmarshal(got, &back); err != nil || back != s {
			t.Errorf("%q → %s → %q %v", s, got, back, err)
		}
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestFilterBytes: the seccomp program survives its trip to the monitor.
func TestFilterBytes(t *testing.T) {
	f := []unix.SockFilter{{Code: 0x20, K: 4}, {Code: 0x15, Jt: 1, Jf: 2, K: 0xc000003e}, {Code: 6, K: 0x7fff0000}}
	if got := filterFromBytes(filterBytes(f)); !reflect.DeepEqual(got, f) {
		t.Errorf("got %v, want %v", got, f)
	}
	if filterFromBytes(filterBytes(nil)) != nil {
		t.Error("no program must stay none")
	}
}

func TestContainerResolvConf(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(data), 0o644)
		return p
	}
	host := write("host", "search example.org\nnameserver 127.0.0.53\nnameserver 10.0.0.2\noptions ndots:2\n")
	stub := write("stub", "nameserver 127.0.0.53\nsearch example.org\n")
	resolved := write("resolved", "nameserver 192.0.2.1\nnameserver ::1\n")
	for _, c := range []struct{ host, resolved, want string }{
		{host, resolved, "search example.org\nnameserver 10.0.0.2\noptions ndots:2\n"},
		{stub, resolved, "nameserver 192.0.2.1\n"}, // systemd-resolved's upstream servers
		{stub, filepath.Join(dir, "none"), "search example.org\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"},
		{filepath.Join(dir, "none"), filepath.Join(dir, "none"), "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"},
	} {
		if got := containerResolvConf(c.host, c.resolved); got != c.want {
			t.Errorf("%s, %s: %q, want %q", filepath.Base(c.host), filepath.Base(c.resolved), got, c.want)
		}
	}
}
