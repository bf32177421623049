//go:build e2e

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stackhq/stack/internal/testutil"
)

// containerRoot returns a store root with the busybox image imported as localhost/busybox:e2e;
// every container is removed when the test ends, and the store is dumped on failure.
func containerRoot(t *testing.T) string {
	t.Helper()
	testutil.RequireRoot(t)
	root := testutil.TempRoot(t)
	tarPath := filepath.Join(t.TempDir(), "busybox.tar")
	if err := os.WriteFile(tarPath, testutil.BusyboxTar(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := testutil.Stack(t, root, "image", "import", tarPath, "localhost/busybox:e2e"); code != 0 {
		t.Fatalf("import: %s", errOut)
	}
	t.Cleanup(func() {
		if t.Failed() {
			out, _, _ := testutil.Stack(t, root, "container", "ls", "-a")
			t.Logf("containers at failure:\n%s", out)
		}
		ids, _, _ := testutil.Stack(t, root, "container", "ls", "-aq")
		for _, id := range strings.Fields(ids) {
			testutil.Stack(t, root, "container", "rm", "-f", id)
		}
		testutil.Stack(t, root, "network", "prune", "-f")
	})
	return root
}

const e2eImage = "localhost/busybox:e2e"

// pollCLI runs the command every 20 ms until ok accepts its stdout, or fails after d.
func pollCLI(t *testing.T, root string, d time.Duration, ok func(string) bool, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		out, _, _ := testutil.Stack(t, root, args...)
		if ok(out) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v: timed out after %v; last output %q", args, d, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestContainerRunForeground(t *testing.T) {
	root := containerRoot(t)
	if out, errOut, code := testutil.Stack(t, root, "container", "run", "--rm", "--network", "none", e2eImage, "echo", "hi"); code != 0 || out != "hi\n" {
		t.Fatalf("run: %q %q %d", out, errOut, code)
	}
	if _, _, code := testutil.Stack(t, root, "container", "run", "--rm", "--network", "none", e2eImage, "sh", "-c", "exit 3"); code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
	_, errOut, code := testutil.Stack(t, root, "container", "run", "--rm", "--network", "none", e2eImage, "nosuchcmd")
	if code != 127 || !strings.Contains(errOut, "executable file not found in $PATH") {
		t.Errorf("not found: %d %q", code, errOut)
	}
	if _, errOut, code = testutil.Stack(t, root, "container", "run", "--rm", "--network", "none", e2eImage, "/etc/passwd"); code != 126 {
		t.Errorf("not executable: %d %q", code, errOut)
	}
	if _, errOut, code = testutil.Stack(t, root, "container", "run", "--rm", "--network", "none", "-u", "ghost", e2eImage, "true"); code != 125 || !strings.Contains(errOut, "ghost") {
		t.Errorf("unknown user: %d %q", code, errOut)
	}
	if _, errOut, code = testutil.Stack(t, root, "container", "run", "--rm", "localhost/none:1", "true"); code != 125 {
		t.Errorf("missing image: %d %q", code, errOut)
	}
	if _, errOut, code = testutil.Stack(t, root, "container", "run", "--memory", "lots", e2eImage, "true"); code != 1 || !strings.Contains(errOut, "--memory") {
		t.Errorf("bad flag: %d %q", code, errOut)
	}
	// --rm left nothing: no container, no mount under the root.
	if out, _, _ := testutil.Stack(t, root, "container", "ls", "-aq"); out != "" {
		t.Errorf("--rm left containers: %q", out)
	}
	if mi, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mi), root+"/containers") {
		t.Errorf("mounts left under %s", root)
	}
}

func TestContainerDetached(t *testing.T) {
	root := containerRoot(t)
	id, errOut, code := testutil.Stack(t, root, "container", "run", "-d", "--name", "ticker", "--network", "none", e2eImage,
		"sh", "-c", "trap 'exit 0' TERM; while true; do echo tick; sleep 0.1; done")
	if code != 0 || len(strings.TrimSpace(id)) != 64 {
		t.Fatalf("run -d: %q %q %d", id, errOut, code)
	}
	// The CLI has exited; the container runs on.
	if out, _, _ := testutil.Stack(t, root, "container", "ls", "-q"); strings.TrimSpace(out) != id[:12] {
		t.Fatalf("ls -q: %q", out)
	}
	pollCLI(t, root, 5*time.Second, func(s string) bool { return strings.Count(s, "tick") >= 3 }, "container", "logs", "ticker")
	if out, _, _ := testutil.Stack(t, root, "container", "logs", "--tail", "1", "-t", "ticker"); !strings.HasSuffix(out, " tick\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("logs --tail 1 -t: %q", out)
	}
	if _, _, code := testutil.Stack(t, root, "container", "exec", "ticker", "sh", "-c", "exit 5"); code != 5 {
		t.Errorf("exec exit code %d, want 5", code)
	}
	if out, _, _ := testutil.Stack(t, root, "container", "exec", "-e", "X=1", "-w", "/tmp", "ticker", "sh", "-c", "echo $X $(pwd)"); out != "1 /tmp\n" {
		t.Errorf("exec -e -w: %q", out)
	}
	out, _, _ := testutil.Stack(t, root, "container", "ls", "--format", "json")
	var ps struct{ ID, Names, State, Status string }
	if err := json.Unmarshal([]byte(out), &ps); err != nil || ps.Names != "ticker" || ps.State != "running" || !strings.HasPrefix(ps.Status, "Up") {
		t.Errorf("ls --format json: %q %v", out, err)
	}
	if out, _, _ := testutil.Stack(t, root, "container", "ls", "-q", "--filter", "name=tick", "--filter", "status=running"); strings.TrimSpace(out) != id[:12] {
		t.Errorf("ls --filter: %q", out)
	}
	if out, _, _ := testutil.Stack(t, root, "container", "ls", "-q", "--filter", "name=nomatch"); out != "" {
		t.Errorf("ls --filter name=nomatch: %q", out)
	}
	if out, _, _ := testutil.Stack(t, root, "container", "ls", "-s"); !strings.Contains(out, "(virtual ") {
		t.Errorf("ls -s: %q", out)
	}
	if out, _, _ := testutil.Stack(t, root, "container", "logs", "--since", "1h", "ticker"); !strings.Contains(out, "tick") {
		t.Errorf("logs --since 1h: %q", out)
	}
	if out, _, _ := testutil.Stack(t, root, "container", "logs", "--since", "2099-01-01", "ticker"); out != "" {
		t.Errorf("logs --since the future: %q", out)
	}
	if out, _, _ := testutil.Stack(t, root, "container", "top", "ticker"); !strings.Contains(out, "while true") {
		t.Errorf("top: %q", out)
	}
	if out, _, code := testutil.Stack(t, root, "container", "stats", "--no-stream", "ticker"); code != 0 || !strings.Contains(out, "ticker") {
		t.Errorf("stats: %q %d", out, code)
	}
	if _, _, code := testutil.Stack(t, root, "container", "pause", "ticker"); code != 0 {
		t.Fatal("pause failed")
	}
	if out, _, _ := testutil.Stack(t, root, "container", "ls"); !strings.Contains(out, "(Paused)") {
		t.Errorf("ls while paused: %q", out)
	}
	testutil.Stack(t, root, "container", "unpause", "ticker")
	start := time.Now()
	if out, errOut, code := testutil.Stack(t, root, "container", "stop", "ticker"); code != 0 || out != "ticker\n" {
		t.Fatalf("stop: %q %q", out, errOut)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("stop of a process that exits on SIGTERM took %v", took)
	}
	if out, _, _ := testutil.Stack(t, root, "container", "wait", "ticker"); out != "0\n" {
		t.Errorf("wait: %q", out)
	}
	out, _, _ = testutil.Stack(t, root, "container", "inspect", "ticker")
	var insp []struct {
		ID    string `json:"Id"`
		Name  string
		State struct {
			Status   string
			ExitCode int
			Running  bool
		}
	}
	if err := json.Unmarshal([]byte(out), &insp); err != nil || len(insp) != 1 || insp[0].Name != "/ticker" || insp[0].State.Status != "exited" || insp[0].State.Running {
		t.Errorf("inspect: %v %s", err, out)
	}
	if _, _, code := testutil.Stack(t, root, "container", "start", "ticker"); code != 0 {
		t.Fatal("start again failed")
	}
	before, _, _ := testutil.Stack(t, root, "container", "inspect", "ticker")
	if out, _, code := testutil.Stack(t, root, "container", "restart", "-t", "1", "ticker"); code != 0 || out != "ticker\n" {
		t.Fatalf("restart: %q %d", out, code)
	}
	after, _, _ := testutil.Stack(t, root, "container", "inspect", "ticker")
	if before == after || !strings.Contains(after, `"Running": true`) {
		t.Errorf("restart did not start a new process:\n%s", after)
	}
	if out, _, code := testutil.Stack(t, root, "container", "rm", "ticker"); code != 1 {
		t.Errorf("rm of a running container: %q %d", out, code)
	}
	if out, _, code := testutil.Stack(t, root, "container", "rm", "-f", "ticker"); code != 0 || out != "ticker\n" {
		t.Errorf("rm -f: %q %d", out, code)
	}
	if _, errOut, code := testutil.Stack(t, root, "container", "inspect", "ticker"); code == 0 || !strings.Contains(errOut, "no such container") {
		t.Errorf("inspect after rm: %q %d", errOut, code)
	}
}

// monitorPid finds the monitor of a container from the process table.
func monitorPid(t *testing.T, id string) int {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		args := strings.Split(string(cmdline), "\x00")
		if len(args) > 2 && args[1] == "monitor" && strings.HasSuffix(args[2], id) {
			return pid
		}
	}
	t.Fatalf("no monitor for %s", id)
	return 0
}

func TestContainerMonitorKilled(t *testing.T) {
	root := containerRoot(t)
	id, _, code := testutil.Stack(t, root, "container", "run", "-d", "--network", "none", e2eImage, "sleep", "600")
	id = strings.TrimSpace(id)
	if code != 0 {
		t.Fatal("run -d failed")
	}
	if err := syscall.Kill(monitorPid(t, id), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	out := pollCLI(t, root, 5*time.Second, func(s string) bool { return strings.Contains(s, "Exited") }, "container", "ls", "-a")
	if strings.Contains(out, "Up ") {
		t.Errorf("still up: %s", out)
	}
	if out, _, _ := testutil.Stack(t, root, "container", "ls", "-q"); out != "" {
		t.Errorf("ls (running only) lists it: %q", out)
	}
	// The next command cleaned its mounts; rm leaves nothing.
	testutil.Stack(t, root, "container", "rm", id)
	if mi, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mi), id) {
		t.Errorf("mounts of %s remain", id[:12])
	}
	if _, err := os.Stat("/sys/fs/cgroup/pids/stack/" + id); err == nil {
		t.Errorf("cgroup of %s remains", id[:12])
	}
}

func TestContainerNameInUse(t *testing.T) {
	root := containerRoot(t)
	if _, _, code := testutil.Stack(t, root, "container", "create", "--name", "same", "--network", "none", e2eImage, "true"); code != 0 {
		t.Fatal("create failed")
	}
	_, errOut, code := testutil.Stack(t, root, "container", "create", "--name", "same", "--network", "none", e2eImage, "true")
	if code != 125 || !strings.Contains(errOut, `"same"`) || !strings.Contains(errOut, "already") {
		t.Errorf("name in use: %d %q", code, errOut)
	}
}
