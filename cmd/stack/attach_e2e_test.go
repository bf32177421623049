//go:build e2e

package main

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/stackhq/stack/internal/testutil"
)

// bgCLI is a stack command running in the background (attach, run in the foreground),
// its output collected as it comes.
type bgCLI struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser // the pipe or the pty master; nil without input
	mu    sync.Mutex
	out   bytes.Buffer
	done  chan struct{} // closed when the process has exited and its output is read
	code  int           // exit code; -1 when killed by a signal
}

func (p *bgCLI) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *bgCLI) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// startCLI starts the binary under test with root; with stdin, its standard input is a
// pipe the test writes to (else /dev/null). stdout and stderr go to one buffer. The
// process is killed when the test ends.
func startCLI(t *testing.T, root string, stdin bool, args ...string) *bgCLI {
	t.Helper()
	p := &bgCLI{t: t, done: make(chan struct{})}
	p.cmd = exec.Command(testutil.StackBin(t), append([]string{"--root", root}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if stdin {
		w, err := p.cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		p.stdin = w
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.code = exitCodeOf(p.cmd.Wait())
		close(p.done)
	}()
	t.Cleanup(p.kill)
	return p
}

// startCLIWithTerminal is startCLI with a pseudo-terminal of rows×cols as the process's
// standard input, output and error (its controlling terminal).
func startCLIWithTerminal(t *testing.T, root string, rows, cols uint16, args ...string) *bgCLI {
	t.Helper()
	p := &bgCLI{t: t, done: make(chan struct{})}
	p.cmd = exec.Command(testutil.StackBin(t), append([]string{"--root", root}, args...)...)
	master, err := pty.StartWithSize(p.cmd, &pty.Winsize{Rows: rows, Cols: cols})
	if err != nil {
		t.Fatal(err)
	}
	p.stdin = master
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(p, master) // ends with EIO once the process and its terminal are gone
		close(copied)
	}()
	go func() {
		p.code = exitCodeOf(p.cmd.Wait())
		master.Close()
		<-copied
		close(p.done)
	}()
	t.Cleanup(p.kill)
	return p
}

func exitCodeOf(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -2
	}
	return 0
}

func (p *bgCLI) kill() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// send writes to the process's standard input.
func (p *bgCLI) send(s string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, s); err != nil {
		p.t.Fatalf("write to %v: %v", p.cmd.Args, err)
	}
}

// waitOutput waits until the output matches re, failing the test after d.
func (p *bgCLI) waitOutput(re string, d time.Duration) string {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(d)
	for {
		out := p.output()
		if m := rx.FindString(out); m != "" {
			return m
		}
		select {
		case <-p.done:
			if m := rx.FindString(p.output()); m != "" {
				return m
			}
			p.t.Fatalf("%v exited (code %d) without output matching %q:\n%s", p.cmd.Args[3:], p.code, re, p.output())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%v: no output matching %q after %v:\n%s", p.cmd.Args[3:], re, d, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wait waits for the process to exit and returns its exit code, failing the test after d.
func (p *bgCLI) wait(d time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(d):
		p.t.Fatalf("%v still running after %v; output:\n%s", p.cmd.Args[3:], d, p.output())
		return 0
	}
}

// detach types keys (a detach sequence) into the session, which must then end with
// success and leave container running.
func (p *bgCLI) detach(root, keys, container string) {
	p.t.Helper()
	p.send(keys)
	if code := p.wait(5 * time.Second); code != 0 {
		p.t.Fatalf("%v exited %d after the detach keys %q; output:\n%s", p.cmd.Args[3:], code, keys, p.output())
	}
	if s := containerStatus(p.t, root, container); s != "running" {
		p.t.Fatalf("after %v detached, %s is %s, want running", p.cmd.Args[3:], container, s)
	}
}

// containerStatus returns the container's status as inspect reports it.
func containerStatus(t *testing.T, root, name string) string {
	t.Helper()
	out, errOut, code := testutil.Stack(t, root, "container", "inspect", "--format", "{{.State.Status}}", name)
	if code != 0 {
		t.Fatalf("inspect %s: %s", name, errOut)
	}
	return strings.TrimSpace(out)
}

// tickerCmd prints "tick N" ten times a second and exits 7 on SIGTERM.
var tickerCmd = []string{"sh", "-c", `trap "exit 7" TERM; i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done`}

// attach streams the output written from now on, not the history, and ends with the
// container's exit code when it stops.
func TestContainerAttachFollowsOutput(t *testing.T) {
	root := containerRoot(t)
	mustStack(t, root, append([]string{"container", "run", "-d", "--name", "ticker", "--network", "none", e2eImage}, tickerCmd...)...)
	logs := pollCLI(t, root, 5*time.Second, func(s string) bool { return strings.Contains(s, "tick 3\n") }, "container", "logs", "ticker")
	before := strings.Count(logs, "\n")

	p := startCLI(t, root, false, "container", "attach", "ticker")
	p.waitOutput(`(?m)^tick \d+\n(.*\n){2}`, 5*time.Second)
	first, _ := strconv.Atoi(strings.TrimPrefix(strings.SplitN(p.output(), "\n", 2)[0], "tick "))
	if first <= before {
		t.Fatalf("attach printed tick %d, written before it attached (the log had %d lines):\n%s", first, before, p.output())
	}
	mustStack(t, root, "container", "stop", "ticker")
	if code := p.wait(10 * time.Second); code != 7 {
		t.Fatalf("attach exited %d when the container exited 7; output:\n%s", code, p.output())
	}
}

// attach forwards standard input to a container made with -i; the end of one client's
// input does not close the container's (another client can still feed it), and the
// container's exit code ends every attachment.
func TestContainerAttachStdin(t *testing.T) {
	root := containerRoot(t)
	mustStack(t, root, "container", "run", "-di", "--name", "shell", "--network", "none", e2eImage, "sh")
	first := startCLI(t, root, true, "container", "attach", "shell")
	first.send("echo attached-$((6*7))\n")
	first.waitOutput("attached-42\n", 5*time.Second)
	first.stdin.Close()

	second := startCLI(t, root, true, "container", "attach", "shell")
	second.send("echo second-$((2+3)); exit 3\n")
	second.waitOutput("second-5\n", 5*time.Second)
	if code := second.wait(10 * time.Second); code != 3 {
		t.Fatalf("second attach exited %d, want the container's 3; output:\n%s", code, second.output())
	}
	if code := first.wait(10 * time.Second); code != 3 || !strings.Contains(first.output(), "second-5") {
		t.Fatalf("first attach (its input ended) exited %d, want 3 with the later output:\n%s", code, first.output())
	}
}

// With a terminal, attach runs in raw mode with the container's window following this
// one; the detach keys (default Ctrl-P Ctrl-Q, or --detach-keys) end attach with success
// and leave the container running.
func TestContainerAttachDetachKeys(t *testing.T) {
	root := containerRoot(t)
	mustStack(t, root, "container", "run", "-dit", "--name", "term", "--network", "none", e2eImage, "sh")
	p := startCLIWithTerminal(t, root, 33, 101, "container", "attach", "term")
	p.send("stty size\n")
	p.waitOutput(`33 101\r?\n`, 5*time.Second)
	p.detach(root, "\x10\x11", "term")

	p = startCLIWithTerminal(t, root, 24, 80, "container", "attach", "--detach-keys", "ctrl-x,d", "term")
	p.send("echo again-$((1+1))\n")
	p.waitOutput("again-2", 5*time.Second)
	p.detach(root, "\x18d", "term")
}

// run -it shares attach's session: the detach keys leave the new container running.
func TestContainerAttachRunDetach(t *testing.T) {
	root := containerRoot(t)
	p := startCLIWithTerminal(t, root, 24, 80, "container", "run", "-it", "--name", "fg", "--network", "none", e2eImage, "sh")
	p.send("echo fg-$((2*2))\n")
	p.waitOutput("fg-4", 5*time.Second)
	p.detach(root, "\x10\x11", "fg")
}

// Signals to attach go to the container's process; with --sig-proxy=false, Ctrl-C ends
// attach alone. The forwarded signal is SIGTERM, which a shell as PID 1 can trap: SIGINT
// and SIGHUP reach a container's process ignored today (inherited through the monitor),
// and a shell cannot trap a signal ignored at its start.
func TestContainerAttachSigProxy(t *testing.T) {
	root := containerRoot(t)
	mustStack(t, root, "container", "run", "-d", "--name", "trapper", "--network", "none", e2eImage,
		"sh", "-c", `trap "echo got-term; exit 5" TERM; while true; do echo tick; sleep 0.1; done`)

	noProxy := startCLI(t, root, false, "container", "attach", "--sig-proxy=false", "trapper")
	noProxy.waitOutput("tick\n", 5*time.Second)
	if err := noProxy.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	noProxy.wait(5 * time.Second)
	if s := containerStatus(t, root, "trapper"); s != "running" {
		t.Fatalf("SIGINT to attach --sig-proxy=false: the container is %s, want running", s)
	}

	p := startCLI(t, root, false, "container", "attach", "trapper")
	p.waitOutput("tick\n", 5*time.Second) // the signal handler is in place before output flows
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(10 * time.Second); code != 5 || !strings.Contains(p.output(), "got-term") {
		t.Fatalf("SIGTERM to attach: exit %d, want the container's 5 after its trap; output:\n%s", code, p.output())
	}
}

// Attaching needs a running container: a created (or exited) one, a paused one and a
// missing one are errors that say what to do, with exit code 1; so is a bad --detach-keys.
func TestContainerAttachNotRunning(t *testing.T) {
	root := containerRoot(t)
	mustStack(t, root, "container", "create", "--name", "idle", "--network", "none", e2eImage, "true")
	if _, errOut, code := testutil.Stack(t, root, "container", "attach", "idle"); code != 1 || !strings.Contains(errOut, "cannot attach to a stopped container, start it first") {
		t.Errorf("attach to a created container: exit %d, %q", code, errOut)
	}
	mustStack(t, root, "container", "run", "-d", "--name", "frozen", "--network", "none", e2eImage, "sleep", "600")
	mustStack(t, root, "container", "pause", "frozen")
	if _, errOut, code := testutil.Stack(t, root, "container", "attach", "frozen"); code != 1 || !strings.Contains(errOut, "paused") || !strings.Contains(errOut, "unpause") {
		t.Errorf("attach to a paused container: exit %d, %q", code, errOut)
	}
	mustStack(t, root, "container", "unpause", "frozen")
	if _, errOut, code := testutil.Stack(t, root, "container", "attach", "nosuch"); code != 1 || !strings.Contains(errOut, "no such container") {
		t.Errorf("attach to a missing container: exit %d, %q", code, errOut)
	}
	if _, errOut, code := testutil.Stack(t, root, "container", "attach", "--detach-keys", "ctrl-pq", "frozen"); code != 1 || !strings.Contains(errOut, "--detach-keys") {
		t.Errorf("attach --detach-keys ctrl-pq: exit %d, %q", code, errOut)
	}
}

// start -a prints this run's output only and exits with its exit code.
func TestContainerStartAttach(t *testing.T) {
	root := containerRoot(t)
	mustStack(t, root, "container", "create", "--name", "once", "--network", "none", e2eImage, "sh", "-c", "echo started; exit 4")
	for run := 1; run <= 2; run++ {
		if out, errOut, code := testutil.Stack(t, root, "container", "start", "-a", "once"); code != 4 || out != "started\n" {
			t.Fatalf("start -a, run %d: exit %d, %q %q", run, code, out, errOut)
		}
	}
}

// stack attach SERVICE attaches to a service's container; a stopped service is an error
// that says how to start it.
func TestE2EAttachService(t *testing.T) {
	st := newE2EStack(t, `
name: e2e
services:
  shell:
    image: localhost/busybox:e2e
    command: ["sh"]
    stdin_open: true
`)
	st.must("up", "-d")
	p := startCLI(t, st.root, true, "--file", st.file, "attach", "shell")
	p.send("echo svc-$((2*3)); exit 2\n")
	p.waitOutput("svc-6\n", 5*time.Second)
	if code := p.wait(10 * time.Second); code != 2 {
		t.Fatalf("stack attach exited %d, want the container's 2; output:\n%s", code, p.output())
	}
	if _, errOut, code := st.stack("attach", "shell"); code != 1 || !strings.Contains(errOut, "stack start shell") {
		t.Fatalf("stack attach to a stopped service: exit %d, %q", code, errOut)
	}
}
