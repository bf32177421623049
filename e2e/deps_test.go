//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// service_healthy: the dependent starts only after the dependency's healthcheck passed.
// db becomes healthy about a second after it starts; web must start after that moment.
func TestDependsOnHealthy(t *testing.T) {
	e := newEnv(t)
	e.write(fmt.Sprintf(`services:
  db:
    image: %[1]s
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1; touch /tmp/ready; sleep 3600 & wait"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 200ms
      retries: 50
  web:
    image: %[1]s
    command: %[2]s
    depends_on:
      db: {condition: service_healthy}
`, busybox, sleeper))
	e.stackOK("up", "-d")
	cs := e.requireRunning(e.name("db", 1), e.name("web", 1))
	db, web := cs[e.name("db", 1)], cs[e.name("web", 1)]
	if db.State.Health == nil {
		t.Fatalf("db has no health state")
	}
	var healthyAt time.Time
	for _, r := range db.State.Health.Log {
		if r.ExitCode == 0 {
			healthyAt = r.End
			break
		}
	}
	if healthyAt.IsZero() {
		t.Fatalf("db has no passing healthcheck in its log (status %s)", db.State.Health.Status)
	}
	if !web.State.StartedAt.After(healthyAt) {
		t.Errorf("web started at %s, before db was healthy at %s", web.State.StartedAt, healthyAt)
	}
	if !healthyAt.After(db.State.StartedAt.Add(500 * time.Millisecond)) {
		t.Errorf("db healthy at %s, too soon after its start at %s: the test proves nothing", healthyAt, db.State.StartedAt)
	}
}

// oneShotStack: init appends a line to a volume file and exits 0; app waits for it with
// service_completed_successfully.
func oneShotStack(e *env) {
	e.write(fmt.Sprintf(`services:
  init:
    image: %[1]s
    command: ["sh", "-c", "sleep 0.5; echo ran >> /data/runs"]
    volumes: ["data:/data"]
  app:
    image: %[1]s
    command: %[2]s
    depends_on:
      init: {condition: service_completed_successfully}
volumes:
  data:
`, busybox, sleeper))
}

// A one-shot that completed successfully: `up --wait` succeeds, the dependent starts after
// it exited, and the next `up --wait` neither runs it again nor fails on it.
func TestOneShotCompletedNotRerun(t *testing.T) {
	e := newEnv(t)
	oneShotStack(e)
	e.stackOK("up", "--wait")
	cs := e.containers()
	initC, app := cs[e.name("init", 1)], cs[e.name("app", 1)]
	if initC.State.Status != "exited" || initC.State.ExitCode != 0 {
		t.Fatalf("init: %s, exit %d; want exited 0", initC.State.Status, initC.State.ExitCode)
	}
	if !app.State.Running || !app.State.StartedAt.After(initC.State.FinishedAt) {
		t.Fatalf("app (running %v) started at %s, init finished at %s", app.State.Running, app.State.StartedAt, initC.State.FinishedAt)
	}
	vol := e.project + "_data"
	if got := volumeFile(e, vol, "runs"); got != "ran\n" {
		t.Fatalf("init ran %q, want once", got)
	}
	e.stackOK("up", "--wait")
	again := e.containers()
	e.sameContainers(cs, again, e.name("app", 1))
	if a := again[e.name("init", 1)]; a.ID != initC.ID || !a.State.StartedAt.Equal(initC.State.StartedAt) {
		t.Errorf("init was run again: ID %.12s→%.12s, StartedAt %s→%s", initC.ID, a.ID, initC.State.StartedAt, a.State.StartedAt)
	}
	if got := volumeFile(e, vol, "runs"); got != "ran\n" {
		t.Errorf("after the second up, init ran %q, want once", got)
	}
	if r := e.stack("diff"); r.code != 0 {
		t.Errorf("diff after up: %s", r)
	}
}

// A service that cannot start: up exits non-zero with an error naming it; what depends on
// it is not started; unrelated services run.
func TestFailingServiceNamed(t *testing.T) {
	e := newEnv(t)
	e.write(fmt.Sprintf(`services:
  broken:
    image: %[1]s
    command: ["/no/such/program"]
  needsbroken:
    image: %[1]s
    command: %[2]s
    depends_on: [broken]
  fine:
    image: %[1]s
    command: %[2]s
  alsofine:
    image: %[1]s
    command: %[2]s
`, busybox, sleeper))
	r := e.stack("up", "-d")
	if r.code == 0 {
		t.Fatalf("up succeeded with a service that cannot start:\n%s", r)
	}
	var errLine string
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(l, "stack:") {
			errLine = l
		}
	}
	if !strings.Contains(r.stderr, "service broken") || !strings.Contains(r.stderr, "/no/such/program") {
		t.Errorf("the error does not name the service and its command:\n%s", r.stderr)
	}
	if errLine == "" {
		t.Errorf("no error line (stack: ...) on standard error:\n%s", r.stderr)
	}
	cs := e.containers()
	for _, n := range []string{e.name("fine", 1), e.name("alsofine", 1)} {
		if !cs[n].State.Running {
			t.Errorf("unrelated service %s is not running: %q", n, cs[n].State.Status)
		}
	}
	if c, ok := cs[e.name("needsbroken", 1)]; ok && c.State.Running {
		t.Errorf("needsbroken started although its dependency failed")
	}
	if c := cs[e.name("broken", 1)]; c.State.Running {
		t.Errorf("broken is running")
	}
}
