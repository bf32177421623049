//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Two `stack up` at once serialize on the project's lock: both succeed and one set of
// containers results.
func TestConcurrentUpsSerialize(t *testing.T) {
	e := newEnv(t)
	names := []string{"a", "b", "c", "d", "e"}
	e.services(names...)
	var wg sync.WaitGroup
	results := make([]result, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.run(e.stackArgs("up", "-d")...)
		}()
	}
	wg.Wait()
	for _, r := range results {
		if r.code != 0 {
			t.Errorf("%s", r)
		}
	}
	var want []string
	for _, n := range names {
		want = append(want, e.name(n, 1))
	}
	e.requireRunning(want...)
	if r := e.stack("diff"); r.code != 0 {
		t.Errorf("diff after two ups: %s", r)
	}
}

// killStack is the stack the kill tests interrupt: a network, a named volume, a published
// port, a dependency and replicas.
func killStack(e *env, env string) []string {
	e.write(fmt.Sprintf(`services:
  db:
    image: %[1]s
    command: %[2]s
    environment: {GEN: "%[3]s"}
    volumes: ["data:/data"]
  web:
    image: %[1]s
    command: %[2]s
    environment: {GEN: "%[3]s"}
    ports: ["127.0.0.1::80"]
    depends_on: [db]
  worker:
    image: %[1]s
    command: %[2]s
    environment: {GEN: "%[3]s"}
    scale: 2
volumes:
  data:
`, busybox, sleeper, env))
	return []string{e.name("db", 1), e.name("web", 1), e.name("worker", 1), e.name("worker", 2)}
}

// killUp starts `stack up -d` and kills it with SIGKILL when moment returns (given the
// progress lines seen so far); it returns whether the kill came before up finished.
func (e *env) killUp(moment func(lines <-chan string)) bool {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := e.command(ctx, e.stackArgs("up", "-d", "--progress", "plain")...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	moment(lines)
	killed := cmd.Process.Signal(unix.SIGKILL) == nil
	err = cmd.Wait()
	return killed && err != nil && strings.Contains(err.Error(), "killed")
}

// afterLines waits for n progress lines (or the end of the output).
func afterLines(n int) func(<-chan string) {
	return func(lines <-chan string) {
		for i := 0; i < n; i++ {
			if _, ok := <-lines; !ok {
				return
			}
		}
	}
}

// afterTime waits d.
func afterTime(d time.Duration) func(<-chan string) {
	return func(<-chan string) { time.Sleep(d) }
}

// converge runs up after an interrupted one and checks the stack is whole: exactly the
// wanted containers, running, with the wanted generation, and nothing left to do.
func (e *env) converge(want []string, gen string) {
	e.t.Helper()
	e.stackOK("up", "-d")
	cs := e.requireRunning(want...)
	for _, n := range want {
		found := false
		for _, kv := range cs[n].Config.Env {
			found = found || kv == "GEN="+gen
		}
		if !found {
			e.t.Errorf("%s does not run generation %s: %v", n, gen, cs[n].Config.Env)
		}
	}
	if r := e.stack("diff"); r.code != 0 {
		e.t.Fatalf("diff after converging: %s", r)
	}
}

// kill -9 of `stack up` at several moments of a fresh start (after each progress event and
// after N ms for a range of N): the next up converges and down leaves nothing behind.
func TestKillDuringUpConverges(t *testing.T) {
	e := newEnv(t)
	want := killStack(e, "1")
	// How many progress lines a whole up prints, to kill after each of them.
	e.stackOK("up", "-d")
	events := strings.Count(e.stack("up", "-d", "--force-recreate", "--progress", "plain").stderr, "\n")
	e.stackOK("down", "-v", "-t", "0")
	e.requireClean()
	type moment struct {
		name string
		wait func(<-chan string)
	}
	var moments []moment
	for _, ms := range []int{0, 5, 10, 20, 40, 80, 120, 160, 240, 320} {
		moments = append(moments, moment{fmt.Sprintf("%d ms", ms), afterTime(time.Duration(ms) * time.Millisecond)})
	}
	for n := 1; n < events; n++ {
		moments = append(moments, moment{fmt.Sprintf("%d progress lines", n), afterLines(n)})
	}
	interrupted := 0
	for _, m := range moments {
		if e.killUp(m.wait) {
			interrupted++
		}
		e.converge(want, "1")
		e.stackOK("down", "-v", "-t", "0")
		if len(e.containers()) != 0 || len(e.volumes()) != 0 {
			t.Fatalf("killed after %s: down left containers %v, volumes %v", m.name, keys(e.containers()), e.volumes())
		}
		if l := e.waitClean(5 * time.Second); len(l) > 0 {
			t.Fatalf("killed after %s: leftovers after down:\n  %s", m.name, strings.Join(l, "\n  "))
		}
	}
	if interrupted < len(moments)/2 {
		t.Errorf("only %d of %d kills interrupted up: the test did not exercise much", interrupted, len(moments))
	}
}

// kill -9 of `stack up` while it recreates every container: the next up converges to the
// new configuration with one container per replica, and down leaves nothing.
func TestKillDuringRecreateConverges(t *testing.T) {
	e := newEnv(t)
	want := killStack(e, "0")
	e.stackOK("up", "-d")
	events := strings.Count(e.stack("up", "-d", "--force-recreate", "--progress", "plain").stderr, "\n")
	for n := 1; n < events; n++ {
		gen := fmt.Sprint(n)
		killStack(e, gen)
		e.killUp(afterLines(n))
		e.converge(want, gen)
	}
	e.stackOK("down", "-v", "-t", "0")
	e.requireClean()
}

// diff exits 0 when up would change nothing, 2 when it would, 1 when the file is invalid;
// --format json lists the operations.
func TestDiffExitCodes(t *testing.T) {
	e := newEnv(t)
	e.services("a", "b")
	r := e.stack("diff")
	if r.code != 2 || !strings.Contains(r.stdout, "service:a:1") || !strings.Contains(r.stdout, "service:b:1") {
		t.Fatalf("diff before up: want exit 2 and both creates\n%s", r)
	}
	r = e.stack("diff", "--format", "json")
	var plan struct {
		Ops []struct{ Action, Resource string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil || r.code != 2 || len(plan.Ops) != 3 {
		t.Fatalf("diff --format json: %v, %d ops, want network and two creates\n%s", err, len(plan.Ops), r)
	}
	e.stackOK("up", "-d")
	if r := e.stack("diff"); r.code != 0 {
		t.Fatalf("diff after up: want exit 0\n%s", r)
	}
	e.services("a", "b", "c")
	if r := e.stack("diff"); r.code != 2 || !strings.Contains(r.stdout, "service:c:1") {
		t.Fatalf("diff with a new service: want exit 2\n%s", r)
	}
	e.write("services:\n  a:\n    image: " + busybox + "\n    restart: sometimes\n")
	if r := e.stack("diff"); r.code != 1 || !strings.Contains(r.stderr, "restart") || !strings.Contains(r.stderr, ":4:") {
		t.Fatalf("diff of an invalid file: want exit 1 and the problem with its line\n%s", r)
	}
	e.services("a", "b") // valid again, for the teardown's down
}

// snapshot is everything of the root a dry run could change, as text: containers with
// their state, networks, volumes and the root's kernel objects and processes.
func (e *env) snapshot() string {
	e.t.Helper()
	var b strings.Builder
	for name, c := range e.containers() {
		fmt.Fprintf(&b, "container %s %s %s %s %d\n", name, c.ID, c.State.Status, c.State.StartedAt, c.State.Pid)
	}
	b.WriteString(e.ok("network", "ls", "--format", "json"))
	for _, v := range e.volumes() {
		b.WriteString("volume " + v + "\n")
	}
	for _, l := range e.leaks() {
		b.WriteString(l + "\n")
	}
	lines := strings.Split(b.String(), "\n")
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// up --dry-run prints the plan and acts on nothing: not on a fresh root, not when every
// service would be recreated, scaled or removed.
func TestDryRunActsOnNothing(t *testing.T) {
	e := newEnv(t)
	volumeStack(e)
	before := e.snapshot()
	r := e.stack("up", "--dry-run")
	if !strings.Contains(r.stdout, "create volume") || !strings.Contains(r.stdout, "service:app:1") {
		t.Fatalf("up --dry-run does not print the plan:\n%s", r)
	}
	if after := e.snapshot(); after != before {
		t.Fatalf("up --dry-run on a fresh root changed it:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	e.stackOK("up", "-d")
	e.write(fmt.Sprintf("services:\n  other:\n    image: %s\n    command: %s\n", busybox, sleeper))
	before = e.snapshot()
	r = e.stack("up", "--dry-run", "--remove-orphans", "--force-recreate", "--scale", "other=3")
	if !strings.Contains(r.stdout, "remove") || !strings.Contains(r.stdout, "service:other:3") {
		t.Fatalf("up --dry-run does not print the plan:\n%s", r)
	}
	if after := e.snapshot(); after != before {
		t.Fatalf("up --dry-run changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
