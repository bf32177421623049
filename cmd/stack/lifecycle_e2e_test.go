//go:build e2e

package main

import (
	"strings"
	"testing"
	"time"
)

// stop stops dependents first: web (depends on db) has finished before db is stopped.
func TestE2EStopReverseDependencyOrder(t *testing.T) {
	st := newE2EStack(t, twoServices)
	st.must("up", "-d")
	st.must("stop", "-t", "0")
	if got := st.states(); got["e2e-db-1"] != "exited" || got["e2e-web-1"] != "exited" {
		t.Fatalf("after stop: %v", got)
	}
	web, db := st.inspect("e2e-web-1"), st.inspect("e2e-db-1")
	if db.FinishedAt.Before(web.FinishedAt) {
		t.Fatalf("db finished at %s, before its dependent web (%s)", db.FinishedAt, web.FinishedAt)
	}
}

// start starts dependencies first, and only the stopped containers.
func TestE2EStartDependencyOrder(t *testing.T) {
	st := newE2EStack(t, twoServices)
	st.must("up", "-d")
	st.must("stop", "-t", "0")
	st.must("start")
	if got := st.states(); got["e2e-db-1"] != "running" || got["e2e-web-1"] != "running" {
		t.Fatalf("after start: %v", got)
	}
	web, db := st.inspect("e2e-web-1"), st.inspect("e2e-db-1")
	if web.StartedAt.Before(db.StartedAt) {
		t.Fatalf("web started at %s, before its dependency db (%s)", web.StartedAt, db.StartedAt)
	}
}

// stop and start of one service leave the other alone.
func TestE2EStopOneService(t *testing.T) {
	st := newE2EStack(t, twoServices)
	st.must("up", "-d")
	st.must("stop", "-t", "0", "web")
	if got := st.states(); got["e2e-db-1"] != "running" || got["e2e-web-1"] != "exited" {
		t.Fatalf("after stop web: %v", got)
	}
	if _, errOut, code := st.stack("stop", "nosuch"); code != 1 || !strings.Contains(errOut, "nosuch") {
		t.Fatalf("stop of an unknown service: exit %d, %q", code, errOut)
	}
}

// stop of a stopped stack is not an error (idempotent).
func TestE2EStopIdempotent(t *testing.T) {
	st := newE2EStack(t, twoServices)
	st.must("up", "-d")
	st.must("stop", "-t", "0")
	_, errOut, code := st.stack("stop", "-t", "0")
	if code != 0 || !strings.Contains(errOut, "no running container") {
		t.Fatalf("second stop: exit %d, %q", code, errOut)
	}
}

// start without containers tells the user to run up.
func TestE2EStartWithoutContainers(t *testing.T) {
	st := newE2EStack(t, twoServices)
	_, errOut, code := st.stack("start")
	if code != 1 || !strings.Contains(errOut, "stack up") {
		t.Fatalf("start with nothing created: exit %d, %q", code, errOut)
	}
}

// restart runs every container again: each has a new start time and is running.
func TestE2ERestart(t *testing.T) {
	st := newE2EStack(t, twoServices)
	st.must("up", "-d")
	before := st.inspect("e2e-web-1").StartedAt
	st.must("restart", "-t", "0")
	after := st.inspect("e2e-web-1")
	if after.Status != "running" || !after.StartedAt.After(before) {
		t.Fatalf("after restart: %s started %s (before %s)", after.Status, after.StartedAt, before)
	}
}

// pause freezes, unpause thaws.
func TestE2EPauseUnpause(t *testing.T) {
	st := newE2EStack(t, twoServices)
	st.must("up", "-d")
	st.must("pause", "web")
	if got := st.states(); got["e2e-web-1"] != "paused" || got["e2e-db-1"] != "running" {
		t.Fatalf("after pause web: %v", got)
	}
	st.must("unpause")
	if got := st.states(); got["e2e-web-1"] != "running" {
		t.Fatalf("after unpause: %v", got)
	}
}

// kill -s delivers the signal: SIGKILL ends the container with 137.
func TestE2EKill(t *testing.T) {
	st := newE2EStack(t, twoServices)
	st.must("up", "-d")
	st.must("kill", "-s", "KILL", "db")
	eventually(t, 5*time.Second, "db to exit", func() bool { return st.states()["e2e-db-1"] == "exited" })
	if s := st.inspect("e2e-db-1"); s.ExitCode != 137 {
		t.Fatalf("exit code %d, want 137", s.ExitCode)
	}
	if _, _, code := st.stack("kill", "-s", "NOPE"); code != 1 {
		t.Fatalf("kill -s NOPE: exit %d", code)
	}
}

// rm keeps running containers, removes stopped ones, and -s stops and removes.
func TestE2ERm(t *testing.T) {
	st := newE2EStack(t, twoServices)
	st.must("up", "-d")
	st.must("stop", "-t", "0", "web")
	st.must("rm")
	if got := st.states(); len(got) != 1 || got["e2e-db-1"] != "running" {
		t.Fatalf("after rm: %v, want only the running db", got)
	}
	st.must("rm", "-s")
	if got := st.states(); len(got) != 0 {
		t.Fatalf("after rm -s: %v", got)
	}
}

// rm -f removes running containers at once.
func TestE2ERmForce(t *testing.T) {
	st := newE2EStack(t, twoServices)
	st.must("up", "-d")
	st.must("rm", "-f", "web")
	if got := st.states(); len(got) != 1 || got["e2e-db-1"] != "running" {
		t.Fatalf("after rm -f web: %v", got)
	}
}
