package main

import (
	"reflect"
	"testing"
	"time"

	"github.com/stackhq/stack/reconcile"
	"github.com/stackhq/stack/runtime"
)

func TestSummarizeStacks(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	ctr := func(project, status, files string, age time.Duration) *runtime.Container {
		c := &runtime.Container{Created: t0.Add(-age), State: runtime.State{Status: status}, Spec: runtime.Spec{Labels: map[string]string{}}}
		if project != "" {
			c.Spec.Labels[reconcile.LabelProject] = project
		}
		if files != "" {
			c.Spec.Labels[reconcile.LabelConfigFiles] = files
		}
		return c
	}
	got := summarizeStacks([]*runtime.Container{
		ctr("web", "running", "/old/stack.yaml", time.Hour),
		ctr("web", "running", "/srv/stack.yaml,/srv/override.yaml", time.Minute),
		ctr("web", "exited", "", 0), // a one-off without the label does not hide the files
		ctr("db", "paused", "/db/stack.yaml", 0),
		ctr("", "running", "", 0), // not a stack's container
		ctr("web", "running", "/old/stack.yaml", 2*time.Hour),
	})
	want := []stackSummary{
		{Name: "db", Status: "paused(1)", ConfigFiles: "/db/stack.yaml"},
		{Name: "web", Status: "exited(1), running(3)", ConfigFiles: "/srv/stack.yaml,/srv/override.yaml"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("summarizeStacks:\n got %+v\nwant %+v", got, want)
	}
	if got := summarizeStacks(nil); len(got) != 0 {
		t.Fatalf("no containers: %+v", got)
	}
}
