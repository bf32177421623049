//go:build e2e

// Package e2e tests the built stack binary (env STACK_BIN) end to end, as root: `stack up`,
// `down`, `diff` and friends against test stacks and the examples. Each test has its own
// store root and project, imports a busybox image into it, checks actual state (container
// IDs, state via `stack container inspect`, processes, kernel objects), dumps the store when
// it fails and takes everything down even then.
package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/stackhq/stack/internal/testutil"
)

// busybox is the image every test stack runs, imported into each test's root.
const busybox = "localhost/busybox:e2e"

// defaultWait bounds polls for a state the stack reaches on its own (a container writing a
// file, a healthcheck passing).
const defaultWait = 15 * time.Second

// commandTimeout bounds every run of the binary, so a hang fails the test instead of the suite.
const commandTimeout = 2 * time.Minute

// env is one test's stack: a store root, a project name and a directory for its files.
type env struct {
	t       *testing.T
	bin     string
	root    string
	dir     string
	project string
	file    string // the stack file, dir/stack.yaml
}

// newEnv prepares a fresh root with the busybox image and registers the teardown: on
// failure the store is dumped; always the stack is taken down with its volumes, whatever
// containers remain are removed, and mounts left under the root are detached before the
// root is deleted.
func newEnv(t *testing.T) *env {
	t.Helper()
	testutil.RequireRoot(t)
	bin := testutil.StackBin(t)
	root := testutil.TempRoot(t)
	dir := t.TempDir()
	e := &env{t: t, bin: bin, root: root, dir: dir, project: projectName(t), file: filepath.Join(dir, "stack.yaml")}
	tarball := filepath.Join(dir, "busybox.tar")
	if err := os.WriteFile(tarball, testutil.BusyboxTar(t), 0o644); err != nil {
		t.Fatal(err)
	}
	e.ok("image", "import", tarball, busybox)
	t.Cleanup(e.teardown)
	return e
}

// projectName derives a valid, unique-per-test project name from the test's name.
func projectName(t *testing.T) string {
	name := strings.ToLower(strings.TrimPrefix(t.Name(), "Test"))
	name = regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(name, "-")
	name = strings.Trim(name, "-")
	if len(name) > 24 {
		name = name[:24]
	}
	return "e2e-" + strings.Trim(name, "-")
}

// result is what one run of the binary printed and returned.
type result struct {
	args   []string
	stdout string
	stderr string
	code   int
}

func (r result) String() string {
	return fmt.Sprintf("stack %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// command prepares the binary with the test's root and args.
func (e *env) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, e.bin, append([]string{"--root", e.root}, args...)...)
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), "STACK_ROOT="+e.root)
	return cmd
}

// run runs the binary and returns its output and exit code; it fails the test only when the
// binary cannot be run at all or hangs.
func (e *env) run(args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := e.command(ctx, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{args: args, stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		e.t.Fatalf("stack %s: no answer within %s\n%s", strings.Join(args, " "), commandTimeout, r)
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		e.t.Fatalf("run %s: %v", e.bin, err)
	}
	return r
}

// ok runs the binary and fails the test unless it exits 0; it returns standard output.
func (e *env) ok(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 {
		e.t.Fatalf("%s", r)
	}
	return r.stdout
}

// stackArgs puts the project flags after a stack verb.
func (e *env) stackArgs(verb string, args ...string) []string {
	return append([]string{verb, "--file", e.file, "--project-name", e.project}, args...)
}

// stack runs a stack verb (up, down, diff, ps, ...) on the test's stack file and project.
func (e *env) stack(verb string, args ...string) result {
	e.t.Helper()
	return e.run(e.stackArgs(verb, args...)...)
}

// stackOK runs a stack verb and fails the test unless it exits 0.
func (e *env) stackOK(verb string, args ...string) string {
	e.t.Helper()
	return e.ok(e.stackArgs(verb, args...)...)
}

// write replaces the stack file; name: is the test's project.
func (e *env) write(yaml string) {
	e.t.Helper()
	if err := os.WriteFile(e.file, []byte(yaml), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// sleeper is the command of the test services: it runs until SIGTERM and then exits 0, so
// stopping one takes no grace period.
const sleeper = `["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`

// services writes a stack file of busybox services that sleep, one per name.
func (e *env) services(names ...string) {
	e.t.Helper()
	var b strings.Builder
	b.WriteString("services:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %s:\n    image: %s\n    command: %s\n", n, busybox, sleeper)
	}
	e.write(b.String())
}

// upServices writes a stack of sleeping services, brings it up and returns the names of
// their containers and the containers, checked running.
func (e *env) upServices(services ...string) ([]string, map[string]container) {
	e.t.Helper()
	e.services(services...)
	e.stackOK("up", "-d")
	var names []string
	for _, s := range services {
		names = append(names, e.name(s, 1))
	}
	return names, e.requireRunning(names...)
}

// container is the part of `stack container inspect` the tests check.
type container struct {
	ID      string `json:"Id"`
	Name    string
	Created time.Time
	Config  struct {
		Labels map[string]string
		Env    []string
	}
	State struct {
		Status     string
		Running    bool
		Pid        int
		ExitCode   int
		StartedAt  time.Time
		FinishedAt time.Time
		Health     *struct {
			Status string
			Log    []struct {
				Start, End time.Time
				ExitCode   int
			}
		}
	}
	NetworkSettings struct {
		Networks map[string]struct {
			IPAddress string
			Aliases   []string
		}
	}
}

// Service is the service the container runs for (its label).
func (c container) Service() string { return c.Config.Labels["stack.service"] }

// containers inspects every container of the project, by name (without the leading /).
func (e *env) containers() map[string]container {
	e.t.Helper()
	ids := strings.Fields(e.ok("container", "ls", "-a", "-q", "--no-trunc", "--filter", "label=stack.project="+e.project))
	out := map[string]container{}
	if len(ids) == 0 {
		return out
	}
	var cs []container
	if err := json.Unmarshal([]byte(e.ok(append([]string{"container", "inspect"}, ids...)...)), &cs); err != nil {
		e.t.Fatalf("decode container inspect: %v", err)
	}
	for _, c := range cs {
		c.Name = strings.TrimPrefix(c.Name, "/")
		out[c.Name] = c
	}
	return out
}

// name is the container name of replica n of service.
func (e *env) name(service string, n int) string {
	return e.project + "-" + service + "-" + strconv.Itoa(n)
}

// requireRunning checks that exactly the named containers exist, each running its process:
// the state says running and the PID is alive in /proc. It returns them by name.
func (e *env) requireRunning(names ...string) map[string]container {
	e.t.Helper()
	cs := e.containers()
	if len(cs) != len(names) {
		e.t.Fatalf("containers %v, want exactly %v", keys(cs), names)
	}
	for _, n := range names {
		c, ok := cs[n]
		switch {
		case !ok:
			e.t.Fatalf("container %s missing; have %v", n, keys(cs))
		case !c.State.Running || c.State.Pid <= 0:
			e.t.Fatalf("container %s not running: %s (exit %d)", n, c.State.Status, c.State.ExitCode)
		case unix.Kill(c.State.Pid, 0) != nil:
			e.t.Fatalf("container %s: state says running as PID %d, which does not exist", n, c.State.Pid)
		}
	}
	return cs
}

// sameContainers fails unless every container of before is still there with the same ID,
// the same start time and the same PID: nothing touched it.
func (e *env) sameContainers(before, after map[string]container, names ...string) {
	e.t.Helper()
	for _, n := range names {
		b, a := before[n], after[n]
		if a.ID != b.ID || !a.State.StartedAt.Equal(b.State.StartedAt) || a.State.Pid != b.State.Pid {
			e.t.Errorf("container %s was touched: ID %.12s→%.12s, StartedAt %s→%s, PID %d→%d",
				n, b.ID, a.ID, b.State.StartedAt, a.State.StartedAt, b.State.Pid, a.State.Pid)
		}
	}
}

// volumes lists the names of the root's volumes.
func (e *env) volumes() []string {
	e.t.Helper()
	return strings.Fields(e.ok("volume", "ls", "-q"))
}

// eventually polls cond every 50 ms until it returns nil or the deadline passes, then fails
// with its last error.
func (e *env) eventually(timeout time.Duration, what string, cond func() error) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// teardown dumps the store when the test failed, then removes everything the test made and
// checks that nothing of the root survives; what does is reported, then killed or unmounted.
func (e *env) teardown() {
	if e.t.Failed() {
		e.dump()
	}
	if _, err := os.Stat(e.file); err == nil {
		if r := e.run(e.stackArgs("down", "-v", "-t", "0", "--remove-orphans")...); r.code != 0 {
			e.t.Errorf("teardown: %s", r)
		}
	}
	// Whatever down did not remove (a container made outside the stack file, a failure).
	for _, id := range strings.Fields(e.run("container", "ls", "-a", "-q", "--no-trunc").stdout) {
		e.run("container", "rm", "-f", "-v", id)
	}
	e.run("network", "prune", "-f")
	e.run("volume", "prune", "-f")
	if leaks := e.waitClean(5 * time.Second); len(leaks) > 0 {
		e.t.Errorf("teardown: leftovers of the root:\n  %s", strings.Join(leaks, "\n  "))
		for _, pid := range e.processes() {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
		for _, m := range e.mounts() {
			_ = unix.Unmount(m, unix.MNT_DETACH)
		}
	}
}

// dump logs what the store holds: the stack's containers, every container, networks,
// volumes and the stack's logs.
func (e *env) dump() {
	for _, args := range [][]string{
		e.stackArgs("ps", "-a"),
		{"container", "ls", "-a", "--no-trunc"},
		{"network", "ls"},
		{"volume", "ls"},
		e.stackArgs("logs", "--no-color", "--tail", "50"),
	} {
		r := e.run(args...)
		e.t.Logf("--- stack %s (exit %d)\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	if b, err := os.ReadFile(e.file); err == nil {
		e.t.Logf("--- %s\n%s", e.file, b)
	}
}

// mounts lists the mount points under the test's root (deepest first, for unmounting).
func (e *env) mounts() []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == e.root || strings.HasPrefix(f[4], e.root+"/")) {
			out = append([]string{f[4]}, out...)
		}
	}
	return out
}

// processes lists the PIDs of processes started for this root (monitors, DNS servers):
// their command lines name it.
func (e *env) processes() []int {
	var out []int
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), e.root+"/") && !strings.Contains(string(b), e.root+"\x00") {
			continue
		}
		if pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p))); pid != os.Getpid() {
			out = append(out, pid)
		}
	}
	return out
}

// leaks lists what of this root survives in the kernel and the process table: processes
// started for it, mounts under it, links carrying its store's alias, its nftables table,
// and network state (leases) in its store.
func (e *env) leaks() []string {
	e.t.Helper()
	var out []string
	for _, pid := range e.processes() {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		out = append(out, fmt.Sprintf("process %d: %s", pid, strings.ReplaceAll(string(b), "\x00", " ")))
	}
	for _, m := range e.mounts() {
		out = append(out, "mount "+m)
	}
	// The network store tags its kernel objects with a hash of its directory.
	h := sha256.Sum256([]byte(filepath.Join(e.root, "networks")))
	storeHash := hex.EncodeToString(h[:4])
	links, err := netlink.LinkList()
	for i := 0; errors.Is(err, netlink.ErrDumpInterrupted) && i < 10; i++ {
		links, err = netlink.LinkList() // other tests' links changed during the dump
	}
	if err != nil {
		e.t.Fatalf("list links: %v", err)
	}
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Alias, "stack:"+storeHash+":") {
			out = append(out, fmt.Sprintf("link %s (%s)", l.Attrs().Name, l.Attrs().Alias))
		}
	}
	conn, err := nftables.New()
	if err != nil {
		e.t.Fatalf("open nftables: %v", err)
	}
	tables, err := conn.ListTables()
	if err != nil {
		e.t.Fatalf("list nftables tables: %v", err)
	}
	for _, tb := range tables {
		if tb.Name == "stack-"+storeHash {
			out = append(out, "nftables table "+tb.Name)
		}
	}
	// A network's file holds its leases; ports.json the published ports by container.
	files, _ := filepath.Glob(filepath.Join(e.root, "networks", "*.json"))
	for _, f := range files {
		if filepath.Base(f) != "ports.json" {
			out = append(out, "network (with its leases) "+f)
			continue
		}
		var ports map[string]json.RawMessage
		if b, err := os.ReadFile(f); err != nil || json.Unmarshal(b, &ports) != nil || len(ports) > 0 {
			out = append(out, fmt.Sprintf("published ports in %s: %v", f, keys(ports)))
		}
	}
	return out
}

// waitClean polls for up to timeout until the root holds nothing alive any more (monitors
// exit just after their container is removed) and returns what is left.
func (e *env) waitClean(timeout time.Duration) []string {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		l := e.leaks()
		if len(l) == 0 || time.Now().After(deadline) {
			return l
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// requireClean fails the test when something of the root survives (see leaks).
func (e *env) requireClean() {
	e.t.Helper()
	if l := e.waitClean(5 * time.Second); len(l) > 0 {
		e.t.Fatalf("leftovers of the root:\n  %s", strings.Join(l, "\n  "))
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
