//go:build e2e

package main

import (
	"strings"
	"testing"
)

// exec passes the command's exit code through.
func TestE2EExecExitCode(t *testing.T) {
	st := newE2EStack(t, twoServices)
	st.must("up", "-d")
	out, _, code := st.stack("exec", "-T", "web", "sh", "-c", "echo in-web; exit 3")
	if code != 3 || out != "in-web\n" {
		t.Fatalf("exec: exit %d, %q; want 3 and the output", code, out)
	}
	if _, _, code := st.stack("exec", "-T", "web", "nosuchcommand"); code != 127 {
		t.Fatalf("exec of a missing command: exit %d, want 127", code)
	}
}

// -e, -w and -u set the environment, directory and user of the process.
func TestE2EExecOptions(t *testing.T) {
	st := newE2EStack(t, twoServices)
	st.must("up", "-d")
	out := st.must("exec", "-T", "-e", "GREETING=hi", "-w", "/tmp", "-u", "1000", "db", "sh", "-c", `echo "$GREETING $(pwd) $(id -u)"`)
	if out != "hi /tmp 1000\n" {
		t.Fatalf("exec -e -w -u: %q", out)
	}
}

// exec reads standard input (-i is the default) when it is not a terminal.
func TestE2EExecStdin(t *testing.T) {
	st := newE2EStack(t, twoServices)
	st.must("up", "-d")
	out, errOut, code := stackCLIWithStdin(t, st.root, "ping\n", "--file", st.file, "exec", "-T", "web", "cat")
	if code != 0 || out != "ping\n" {
		t.Fatalf("exec cat: exit %d, %q %q", code, out, errOut)
	}
}

// --index names a replica; one that does not exist, or a stopped service, is an error
// that says what to do.
func TestE2EExecIndexAndStopped(t *testing.T) {
	st := newE2EStack(t, twoServices)
	st.must("up", "-d", "--scale", "web=2")
	if out := st.must("exec", "-T", "--index", "2", "web", "hostname"); strings.TrimSpace(out) == "" {
		t.Fatal("exec --index 2: no hostname")
	}
	if _, errOut, code := st.stack("exec", "-T", "--index", "3", "web", "true"); code != 1 || !strings.Contains(errOut, "no replica 3") {
		t.Fatalf("exec --index 3: exit %d, %q", code, errOut)
	}
	st.must("stop", "-t", "0", "db")
	if _, errOut, code := st.stack("exec", "-T", "db", "true"); code != 1 || !strings.Contains(errOut, "stack start db") {
		t.Fatalf("exec in a stopped service: exit %d, %q", code, errOut)
	}
}
