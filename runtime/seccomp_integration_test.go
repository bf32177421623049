//go:build integration

package runtime

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestSeccompCustomProfileConfinesContainer: a custom profile that refuses mkdir with EPERM
// (and chmod with EACCES) confines the container's first process, across a restart, and
// what is exec'd into it; the default profile lets both calls through.
func TestSeccompCustomProfileConfinesContainer(t *testing.T) {
	m := newTestManager(t)
	const profile = `seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
		{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1},
		{"names":["chmod","fchmodat","fchmodat2"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}`
	const script = `mkdir /x; echo mkdir=$?; chmod 700 /tmp; echo chmod=$?; grep Seccomp: /proc/self/status`
	custom := func(s *Spec) { s.SecurityOpt = []string{profile} }

	code, out := runOutput(t, m, nil, "sh", "-c", script)
	if code != 0 || !strings.Contains(out, "mkdir=0") || !strings.Contains(out, "chmod=0") || !strings.Contains(out, "Seccomp:\t2") {
		t.Errorf("default profile: exit %d\n%s", code, out)
	}
	refused := func(what, out string) {
		t.Helper()
		for _, want := range []string{"Operation not permitted", "mkdir=1", "Permission denied", "chmod=1", "Seccomp:\t2"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: %q missing from\n%s", what, want, out)
			}
		}
	}
	_, out = runOutput(t, m, custom, "sh", "-c", script)
	refused("custom profile, first process", out)

	c := startDetached(t, m, custom, "sleep", "60")
	_, out = execOut(t, m, c.ID, "sh", "-c", script)
	refused("custom profile, exec", out)
	ctx := context.Background()
	var now time.Duration
	if err := m.Stop(ctx, c.ID, &now); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	_, out = execOut(t, m, c.ID, "sh", "-c", script)
	refused("custom profile, exec after a restart", out)
}
