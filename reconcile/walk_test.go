package reconcile

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
)

// walkGraph is web → api → db, worker → db, and a lone cache.
func walkGraph() *Desired {
	dep := func(name string) []Dependency {
		return []Dependency{{Service: name, Condition: ConditionStarted, Required: true}}
	}
	return &Desired{Project: "p", Services: []*DesiredService{
		{Name: "api", DependsOn: dep("db")},
		{Name: "cache"},
		{Name: "db"},
		{Name: "web", DependsOn: dep("api")},
		{Name: "worker", DependsOn: dep("db")},
	}}
}

// recordWalk walks d and checks, at each call, that the services that must come first
// have finished; it returns the services visited.
func recordWalk(t *testing.T, d *Desired, reverse bool, fail map[string]bool) ([]string, error) {
	t.Helper()
	var mu sync.Mutex
	finished := map[string]bool{}
	var visited []string
	before := map[string][]string{} // service → what must be finished first
	for _, s := range d.Services {
		for _, dep := range s.DependsOn {
			if d.service(dep.Service) == nil {
				continue // not selected: not waited for
			}
			if reverse {
				before[dep.Service] = append(before[dep.Service], s.Name)
			} else {
				before[s.Name] = append(before[s.Name], dep.Service)
			}
		}
	}
	err := Walk(context.Background(), d, reverse, func(_ context.Context, s *DesiredService) error {
		mu.Lock()
		defer mu.Unlock()
		for _, b := range before[s.Name] {
			if !finished[b] {
				t.Errorf("%s visited before %s finished", s.Name, b)
			}
		}
		visited = append(visited, s.Name)
		finished[s.Name] = true
		if fail[s.Name] {
			return errors.New("boom " + s.Name)
		}
		return nil
	})
	slices.Sort(visited)
	return visited, err
}

func TestWalkDependencyOrder(t *testing.T) {
	visited, err := recordWalk(t, walkGraph(), false, nil)
	if err != nil || !slices.Equal(visited, []string{"api", "cache", "db", "web", "worker"}) {
		t.Fatalf("visited %v, err %v", visited, err)
	}
}

func TestWalkReverseOrder(t *testing.T) {
	visited, err := recordWalk(t, walkGraph(), true, nil)
	if err != nil || len(visited) != 5 {
		t.Fatalf("visited %v, err %v", visited, err)
	}
}

func TestWalkFailureSkipsDependents(t *testing.T) {
	visited, err := recordWalk(t, walkGraph(), false, map[string]bool{"api": true})
	if !slices.Equal(visited, []string{"api", "cache", "db", "worker"}) {
		t.Fatalf("visited %v: web must be skipped after api failed", visited)
	}
	if !errors.Is(err, ErrDependencyFailed) || err == nil || !strings.Contains(err.Error(), "boom api") {
		t.Fatalf("err = %v, want api's failure and web skipped", err)
	}
}

func TestWalkReverseFailureHoldsNothingBack(t *testing.T) {
	visited, err := recordWalk(t, walkGraph(), true, map[string]bool{"web": true})
	if len(visited) != 5 || err == nil || errors.Is(err, ErrDependencyFailed) {
		t.Fatalf("visited %v, err %v: every service must be stopped", visited, err)
	}
}

func TestWalkOptionalDependencyFailure(t *testing.T) {
	d := walkGraph()
	d.Services[3].DependsOn[0].Required = false // web → api optional
	visited, _ := recordWalk(t, d, false, map[string]bool{"api": true})
	if !slices.Contains(visited, "web") {
		t.Fatalf("visited %v: web's dependency on api is optional", visited)
	}
}

func TestWalkCycle(t *testing.T) {
	d := walkGraph()
	d.Services[2].DependsOn = []Dependency{{Service: "web", Required: true}} // db → web → api → db
	if _, err := recordWalk(t, d, false, nil); !errors.Is(err, ErrCycle) {
		t.Fatalf("err = %v, want ErrCycle", err)
	}
}

func TestWalkIgnoresUnselectedDependencies(t *testing.T) {
	d := walkGraph()
	d.Services = d.Services[3:] // web and worker, without api and db
	visited, err := recordWalk(t, d, false, nil)
	if err != nil || !slices.Equal(visited, []string{"web", "worker"}) {
		t.Fatalf("visited %v, err %v", visited, err)
	}
}
