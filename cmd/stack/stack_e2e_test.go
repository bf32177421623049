//go:build e2e

package main

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackhq/stack/internal/testutil"
)

// e2eStack is a stack file in a temp directory, with a private store root that holds the
// busybox image. Everything the test made is taken down when it ends, and the store's
// view (ps -a) is logged if it failed.
type e2eStack struct {
	t    *testing.T
	root string
	dir  string
	file string
}

// newE2EStack writes the stack file, with a fresh root holding the busybox image
// (containerRoot); the stack is taken down when the test ends.
func newE2EStack(t *testing.T, yaml string) *e2eStack {
	t.Helper()
	testutil.StackBin(t)
	st := &e2eStack{t: t, root: containerRoot(t), dir: t.TempDir()}
	st.file = filepath.Join(st.dir, "stack.yaml")
	st.write("stack.yaml", yaml)
	t.Cleanup(func() {
		if t.Failed() {
			out, _, _ := st.stack("ps", "-a")
			t.Logf("ps -a at failure:\n%s", out)
		}
		if _, errOut, code := st.stack("down", "-t", "0", "--remove-orphans"); code != 0 {
			t.Errorf("cleanup: down: %s", errOut)
		}
	})
	return st
}

// stackCLIWithStdin is testutil.Stack with standard input from a string.
func stackCLIWithStdin(t *testing.T, root, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(testutil.StackBin(t), append([]string{"--root", root}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return stdout.String(), stderr.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), 0
}

// write puts a file into the stack's directory.
func (st *e2eStack) write(name, content string) {
	st.t.Helper()
	path := filepath.Join(st.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		st.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		st.t.Fatal(err)
	}
}

// stack runs a stack verb on this stack file: stdout, stderr, exit code.
func (st *e2eStack) stack(args ...string) (string, string, int) {
	st.t.Helper()
	return testutil.Stack(st.t, st.root, append([]string{"--file", st.file}, args...)...)
}

// must runs a stack verb that must succeed and returns its standard output.
func (st *e2eStack) must(args ...string) string {
	st.t.Helper()
	out, errOut, code := st.stack(args...)
	if code != 0 {
		st.t.Fatalf("stack %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// ps returns `ps -a --format json` by container name.
func (st *e2eStack) ps() map[string]stackPsEntry {
	st.t.Helper()
	out := st.must("ps", "-a", "--format", "json")
	m := map[string]stackPsEntry{}
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var e stackPsEntry
		if err := dec.Decode(&e); err != nil {
			st.t.Fatalf("ps --format json: %v\n%s", err, out)
		}
		m[e.Name] = e
	}
	return m
}

// states returns the state of every container, by name.
func (st *e2eStack) states() map[string]string {
	st.t.Helper()
	m := map[string]string{}
	for name, e := range st.ps() {
		m[name] = e.State
	}
	return m
}

// inspect returns a container's State from `container inspect`.
func (st *e2eStack) inspect(name string) (state struct {
	Status     string
	ExitCode   int
	StartedAt  time.Time
	FinishedAt time.Time
}) {
	st.t.Helper()
	out, errOut, code := testutil.Stack(st.t, st.root, "container", "inspect", name)
	if code != 0 {
		st.t.Fatalf("container inspect %s: %s", name, errOut)
	}
	var v []struct{ State json.RawMessage }
	if err := json.Unmarshal([]byte(out), &v); err != nil || len(v) != 1 {
		st.t.Fatalf("container inspect %s: %v\n%s", name, err, out)
	}
	if err := json.Unmarshal(v[0].State, &state); err != nil {
		st.t.Fatalf("container inspect %s: State: %v", name, err)
	}
	return state
}

// eventually polls cond until it holds, failing the test with what after the deadline.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// twoServices is db (sleep) and web (sleep) that depends on it, both ignoring SIGTERM as
// PID 1 does, so stops are quick only with -t 0 or SIGKILL.
const twoServices = `
name: e2e
services:
  db:
    image: localhost/busybox:e2e
    command: ["sleep", "3600"]
  web:
    image: localhost/busybox:e2e
    command: ["sleep", "3600"]
    depends_on: [db]
`
