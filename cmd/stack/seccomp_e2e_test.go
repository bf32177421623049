//go:build e2e

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackhq/stack/internal/testutil"
)

// denyMkdirProfile refuses mkdir with EPERM and allows everything else.
const denyMkdirProfile = `{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}
  ]
}
`

// mkdirScript reports whether mkdir works inside the container.
const mkdirScript = `mkdir /x 2>&1; echo mkdir=$?`

// TestSeccompProfileRun: --security-opt seccomp=FILE (and seccomp:FILE, relative to the
// working directory) confines `container run`, the container keeps the profile after the
// file is gone (exec, restart), inspect shows it as Docker does, and without it mkdir works.
func TestSeccompProfileRun(t *testing.T) {
	root := containerRoot(t)
	dir := t.TempDir()
	profile := filepath.Join(dir, "deny-mkdir.json")
	if err := os.WriteFile(profile, []byte(denyMkdirProfile), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(opts ...string) string {
		t.Helper()
		args := append([]string{"container", "run", "--rm", "--network", "none"}, opts...)
		out, errOut, code := testutil.Stack(t, root, append(args, e2eImage, "sh", "-c", mkdirScript)...)
		if code != 0 {
			t.Fatalf("run %v: exit %d: %s", opts, code, errOut)
		}
		return out
	}
	if out := run(); !strings.Contains(out, "mkdir=0") {
		t.Errorf("default profile: %q, want mkdir to work", out)
	}
	if out := run("--security-opt", "seccomp="+profile); !strings.Contains(out, "Operation not permitted") || !strings.Contains(out, "mkdir=1") {
		t.Errorf("seccomp=%s: %q, want mkdir refused with EPERM", profile, out)
	}
	t.Chdir(dir)
	if out := run("--security-opt", "seccomp:deny-mkdir.json"); !strings.Contains(out, "mkdir=1") {
		t.Errorf("seccomp:deny-mkdir.json (relative): %q, want mkdir refused", out)
	}

	if _, errOut, code := testutil.Stack(t, root, "container", "run", "-d", "--name", "kept", "--network", "none",
		"--security-opt", "seccomp=deny-mkdir.json", e2eImage, "sleep", "60"); code != 0 {
		t.Fatalf("run -d: %s", errOut)
	}
	if err := os.Remove(profile); err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"exec", "exec after a restart"} {
		if step != "exec" {
			if _, errOut, code := testutil.Stack(t, root, "container", "restart", "-t", "0", "kept"); code != 0 {
				t.Fatalf("restart: %s", errOut)
			}
		}
		out, errOut, _ := testutil.Stack(t, root, "container", "exec", "kept", "sh", "-c", mkdirScript)
		if !strings.Contains(out, "mkdir=1") {
			t.Errorf("%s with the profile file gone: %q %q, want mkdir refused", step, out, errOut)
		}
	}
	out, _, _ := testutil.Stack(t, root, "container", "inspect", "kept")
	var insp []struct {
		HostConfig struct{ SecurityOpt []string }
	}
	if err := json.Unmarshal([]byte(out), &insp); err != nil || len(insp) != 1 {
		t.Fatalf("inspect: %v %s", err, out)
	}
	want := `seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}`
	if got := insp[0].HostConfig.SecurityOpt; len(got) != 1 || got[0] != want {
		t.Errorf("inspect HostConfig.SecurityOpt = %q, want [%s]", got, want)
	}
}

// TestSeccompProfileErrors: a missing or invalid profile file fails create and run with
// an error that names the file and the problem, and leaves no container behind.
func TestSeccompProfileErrors(t *testing.T) {
	root := containerRoot(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [{\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_EPERM\"}]\n}\n"), 0o644)
	notJSON := filepath.Join(dir, "notjson.json")
	os.WriteFile(notJSON, []byte("{\n  \"defaultAction\": SCMP_ACT_ALLOW\n}\n"), 0o644)
	missing := filepath.Join(dir, "missing.json")
	for _, c := range []struct {
		file string
		want []string
	}{
		{missing, []string{"--security-opt", missing, "no such file or directory"}},
		{bad, []string{"--security-opt", bad, `syscalls[0] (mkdir): action "SCMP_ACT_EPERM": unknown`}},
		{notJSON, []string{"--security-opt", notJSON, "line 2, column 20", "invalid character"}},
	} {
		for _, verb := range []string{"create", "run"} {
			_, errOut, code := testutil.Stack(t, root, "container", verb, "--network", "none", "--security-opt", "seccomp="+c.file, e2eImage, "true")
			if code == 0 {
				t.Errorf("%s with %s: exit 0", verb, c.file)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("%s with %s: %q missing from the error %q", verb, c.file, w, errOut)
				}
			}
		}
	}
	if out, _, _ := testutil.Stack(t, root, "container", "ls", "-aq"); out != "" {
		t.Errorf("containers were created: %q", out)
	}
}

// TestSeccompProfileStack: security_opt seccomp:./FILE in a stack file is relative to the
// stack file's directory, whatever the working directory.
func TestSeccompProfileStack(t *testing.T) {
	st := newE2EStack(t, `
services:
  confined:
    image: `+e2eImage+`
    command: ["sh", "-c", "`+strings.ReplaceAll(mkdirScript, "$", "$$")+`; sleep 60"]
    security_opt: ["seccomp:./profiles/deny-mkdir.json"]
  free:
    image: `+e2eImage+`
    command: ["sh", "-c", "`+strings.ReplaceAll(mkdirScript, "$", "$$")+`; sleep 60"]
`)
	st.write("profiles/deny-mkdir.json", denyMkdirProfile)
	t.Chdir(t.TempDir())
	st.must("up", "-d")
	for service, want := range map[string]string{"confined": "mkdir=1", "free": "mkdir=0"} {
		pollCLI(t, st.root, 5*time.Second, func(s string) bool { return strings.Contains(s, want) }, "--file", st.file, "logs", service)
	}
}
