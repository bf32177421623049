package main

import (
	"strings"
	"testing"
	"time"
)

func actions(evs []containerEvent) string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Action)
	}
	return strings.Join(out, ",")
}

func TestDiffEvents(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	created := &containerSnap{ID: "c1", Name: "p-web-1", Service: "web", Created: t0, Status: "created"}
	running := *created
	running.Status, running.StartedAt = "running", t0.Add(time.Second)
	paused := running
	paused.Status = "paused"
	healthy := running
	healthy.Health = "healthy"
	exited := running
	exited.Status, exited.FinishedAt, exited.ExitCode = "exited", t0.Add(3*time.Second), 2
	restarted := exited
	restarted.Status, restarted.StartedAt = "running", t0.Add(4*time.Second)
	renamed := running
	renamed.Name = "p-web-2"
	now := t0.Add(time.Minute)

	for _, tt := range []struct {
		name       string
		prev, next *containerSnap
		want       string
	}{
		{"created", nil, created, "create"},
		{"created and started between two reads", nil, &running, "create,start"},
		{"started", created, &running, "start"},
		{"nothing changed", &running, &running, ""},
		{"paused", &running, &paused, "pause"},
		{"unpaused", &paused, &running, "unpause"},
		{"health", &running, &healthy, "health_status: healthy"},
		{"died", &running, &exited, "die"},
		{"restarted by its policy: die before start", &running, &restarted, "die,start"},
		{"renamed", &running, &renamed, "rename"},
		{"removed", &exited, nil, "destroy"},
	} {
		evs := diffEvents(tt.prev, tt.next, now)
		if got := actions(evs); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
		for _, e := range evs {
			if e.ID != "c1" || e.Service != "web" || e.Type != "container" {
				t.Errorf("%s: event %+v", tt.name, e)
			}
		}
	}
	if evs := diffEvents(&running, &exited, now); evs[0].Attributes["exitCode"] != "2" || !evs[0].Time.Equal(exited.FinishedAt) {
		t.Errorf("die: %+v, want exitCode 2 at FinishedAt", evs[0])
	}
}
