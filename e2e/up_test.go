//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// up, then up again: the second up touches nothing (same IDs, start times and PIDs).
func TestUpAgainTouchesNothing(t *testing.T) {
	e := newEnv(t)
	names, before := e.upServices("a", "b", "c")
	r := e.stack("up", "-d", "--progress", "plain")
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	for _, word := range []string{"Creating", "Recreat", "Starting", "Stopping", "Removed"} {
		if strings.Contains(r.stderr, word) {
			t.Errorf("second up reported %q:\n%s", word, r.stderr)
		}
	}
	e.sameContainers(before, e.requireRunning(names...), names...)
}

// Editing one service recreates only it; the others keep their containers.
func TestEditOneServiceRecreatesOnlyIt(t *testing.T) {
	e := newEnv(t)
	names, before := e.upServices("a", "b", "c")
	e.write(fmt.Sprintf(`services:
  a: {image: %[1]s, command: %[2]s}
  b: {image: %[1]s, command: %[2]s, environment: {EDITED: "yes"}}
  c: {image: %[1]s, command: %[2]s}
`, busybox, sleeper))
	e.stackOK("up", "-d")
	after := e.requireRunning(names...)
	e.sameContainers(before, after, e.name("a", 1), e.name("c", 1))
	b := after[e.name("b", 1)]
	if b.ID == before[e.name("b", 1)].ID {
		t.Fatalf("b kept container %.12s after its environment changed", b.ID)
	}
	found := false
	for _, kv := range b.Config.Env {
		found = found || kv == "EDITED=yes"
	}
	if !found {
		t.Errorf("recreated b does not have the new environment: %v", b.Config.Env)
	}
}

// --scale grows and shrinks a service, keeping the replicas that stay; without the flag the
// file's count applies again.
func TestScaleFlag(t *testing.T) {
	e := newEnv(t)
	e.services("web", "db")
	e.stackOK("up", "-d")
	first := e.requireRunning(e.name("web", 1), e.name("db", 1))
	e.stackOK("up", "-d", "--scale", "web=3")
	three := e.requireRunning(e.name("web", 1), e.name("web", 2), e.name("web", 3), e.name("db", 1))
	e.sameContainers(first, three, e.name("web", 1), e.name("db", 1))
	e.stackOK("up", "-d", "--scale", "web=2")
	two := e.requireRunning(e.name("web", 1), e.name("web", 2), e.name("db", 1))
	e.sameContainers(three, two, e.name("web", 1), e.name("web", 2), e.name("db", 1))
	e.stackOK("up", "-d")
	one := e.requireRunning(e.name("web", 1), e.name("db", 1))
	e.sameContainers(first, one, e.name("web", 1), e.name("db", 1))
}

// The file's scale: raising it adds replicas, lowering it removes the highest numbers.
func TestScaleFile(t *testing.T) {
	e := newEnv(t)
	scaled := func(n int) {
		e.write(fmt.Sprintf("services:\n  web: {image: %s, command: %s, scale: %d}\n", busybox, sleeper, n))
	}
	scaled(1)
	e.stackOK("up", "-d")
	first := e.requireRunning(e.name("web", 1))
	scaled(3)
	e.stackOK("up", "-d")
	three := e.requireRunning(e.name("web", 1), e.name("web", 2), e.name("web", 3))
	e.sameContainers(first, three, e.name("web", 1))
	scaled(2)
	e.stackOK("up", "-d")
	two := e.requireRunning(e.name("web", 1), e.name("web", 2))
	e.sameContainers(three, two, e.name("web", 1), e.name("web", 2))
}

// A service removed from the file leaves an orphan: up reports it and keeps it; up
// --remove-orphans removes it and touches nothing else.
func TestOrphanReportedThenRemoved(t *testing.T) {
	e := newEnv(t)
	e.services("keep", "gone")
	e.stackOK("up", "-d")
	before := e.requireRunning(e.name("keep", 1), e.name("gone", 1))
	e.services("keep")
	r := e.stack("up", "-d")
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	if !strings.Contains(r.stderr, "orphan") || !strings.Contains(r.stderr, e.name("gone", 1)) {
		t.Errorf("up did not report the orphan %s:\n%s", e.name("gone", 1), r.stderr)
	}
	kept := e.requireRunning(e.name("keep", 1), e.name("gone", 1))
	e.sameContainers(before, kept, e.name("keep", 1), e.name("gone", 1))
	e.stackOK("up", "-d", "--remove-orphans")
	after := e.requireRunning(e.name("keep", 1))
	e.sameContainers(before, after, e.name("keep", 1))
}

// volumeStack writes a stack whose service appends a line to a file on a named volume at
// every start, so the file shows whether the volume survived.
func volumeStack(e *env) {
	e.write(fmt.Sprintf(`services:
  app:
    image: %s
    command: ["sh", "-c", "echo started >> /data/log; trap 'exit 0' TERM; sleep 3600 & wait"]
    volumes: ["data:/data"]
volumes:
  data:
`, busybox))
}

// volumeFile reads a file of a volume from its mount point ("" when it does not exist).
func volumeFile(e *env, volume, file string) string {
	e.t.Helper()
	var vols []struct{ Mountpoint string }
	if err := json.Unmarshal([]byte(e.ok("volume", "inspect", volume)), &vols); err != nil || len(vols) != 1 {
		e.t.Fatalf("volume inspect %s: %v", volume, err)
	}
	b, _ := os.ReadFile(filepath.Join(vols[0].Mountpoint, file))
	return string(b)
}

// down keeps named volumes (and their data); up again finds them.
func TestDownKeepsVolumes(t *testing.T) {
	e := newEnv(t)
	volumeStack(e)
	e.stackOK("up", "-d")
	vol := e.project + "_data"
	e.eventually(defaultWait, "the service wrote to its volume", func() error {
		if got := volumeFile(e, vol, "log"); got != "started\n" {
			return fmt.Errorf("volume file %q", got)
		}
		return nil
	})
	e.stackOK("down", "-t", "0")
	if len(e.containers()) != 0 {
		t.Fatalf("down left containers: %v", keys(e.containers()))
	}
	if vols := e.volumes(); len(vols) != 1 || vols[0] != vol {
		t.Fatalf("volumes after down: %v, want [%s]", vols, vol)
	}
	e.stackOK("up", "-d")
	e.eventually(defaultWait, "the service wrote to its volume again", func() error {
		if got := volumeFile(e, vol, "log"); got != "started\nstarted\n" {
			return fmt.Errorf("volume file %q", got)
		}
		return nil
	})
}

// down -v removes the stack's named volumes, and nothing of the stack is left.
func TestDownVolumesRemovesThem(t *testing.T) {
	e := newEnv(t)
	volumeStack(e)
	e.stackOK("up", "-d")
	if vols := e.volumes(); len(vols) != 1 {
		t.Fatalf("volumes after up: %v", vols)
	}
	e.stackOK("down", "-v", "-t", "0")
	if vols := e.volumes(); len(vols) != 0 {
		t.Fatalf("volumes after down -v: %v", vols)
	}
	if len(e.containers()) != 0 {
		t.Fatalf("down -v left containers: %v", keys(e.containers()))
	}
	e.requireClean()
}
