package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// memDriver is an in-memory Driver: containers, networks and volumes as maps, every call
// logged in order. Failures and health are injected per service.
type memDriver struct {
	mu         sync.Mutex
	next       int
	containers map[string]*memContainer
	networks   map[string]bool
	volumes    map[string]bool
	log        []string
	failCreate map[string]error // by service
	failPull   error
	newImage   string         // the ID pulls and builds give ("" = "id")
	exitCode   map[string]int // by service: containers exit at once with this code
	unhealthy  map[string]bool
}

type memContainer struct {
	service string
	number  int
	name    string
	running bool
	exited  bool
}

func newMemDriver() *memDriver {
	return &memDriver{containers: map[string]*memContainer{}, networks: map[string]bool{}, volumes: map[string]bool{},
		failCreate: map[string]error{}, exitCode: map[string]int{}, unhealthy: map[string]bool{}}
}

func (m *memDriver) record(format string, args ...any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.log = append(m.log, fmt.Sprintf(format, args...))
}

func (m *memDriver) CreateNetwork(_ context.Context, name string) error {
	m.record("create network %s", name)
	m.mu.Lock()
	m.networks[name] = true
	m.mu.Unlock()
	return nil
}

func (m *memDriver) RemoveNetwork(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.networks, name)
	m.log = append(m.log, "remove network "+name)
	return nil
}

func (m *memDriver) CreateVolume(_ context.Context, name string) error {
	m.record("create volume %s", name)
	m.mu.Lock()
	m.volumes[name] = true
	m.mu.Unlock()
	return nil
}

func (m *memDriver) RemoveVolume(_ context.Context, name string) error {
	m.record("remove volume %s", name)
	m.mu.Lock()
	delete(m.volumes, name)
	m.mu.Unlock()
	return nil
}

func (m *memDriver) Pull(_ context.Context, ref string) error {
	m.record("pull %s", ref)
	return m.failPull
}
func (m *memDriver) Build(_ context.Context, s string) error { m.record("build %s", s); return nil }
func (m *memDriver) RemoveImage(_ context.Context, ref string) error {
	m.record("rmi %s", ref)
	return errors.New("in use")
}

func (m *memDriver) CreateContainer(_ context.Context, service string, number int, name string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.failCreate[service]; err != nil {
		return "", err
	}
	for _, c := range m.containers {
		if c.name == name {
			return "", fmt.Errorf("name %s in use", name)
		}
	}
	m.next++
	id := fmt.Sprintf("c%d", m.next)
	m.containers[id] = &memContainer{service: service, number: number, name: name}
	m.log = append(m.log, "create "+name)
	return id, nil
}

func (m *memDriver) RenameContainer(_ context.Context, id, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.containers[id].name = name
	m.log = append(m.log, "rename "+id+" "+name)
	return nil
}

func (m *memDriver) StartContainer(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.containers[id]
	if code, ok := m.exitCode[c.service]; ok {
		c.exited = true
		m.log = append(m.log, fmt.Sprintf("start %s (exits %d)", c.name, code))
		return nil
	}
	c.running = true
	m.log = append(m.log, "start "+c.name)
	return nil
}

func (m *memDriver) StopContainer(_ context.Context, id string, _ *time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.containers[id].running = false
	m.log = append(m.log, "stop "+m.containers[id].name)
	return nil
}

func (m *memDriver) RemoveContainer(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.log = append(m.log, "rm "+m.containers[id].name)
	delete(m.containers, id)
	return nil
}

func (m *memDriver) Wait(_ context.Context, id string, cond Condition) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.containers[id]
	switch cond {
	case ConditionHealthy:
		if m.unhealthy[c.service] {
			return errors.New("container " + c.name + " is unhealthy")
		}
	case ConditionCompletedSuccessfully:
		if code := m.exitCode[c.service]; !c.exited || code != 0 {
			return fmt.Errorf("container %s exited with code %d", c.name, code)
		}
	}
	return nil
}

// ImageID: every pull or build gives the image "id" unless newImage says otherwise.
func (m *memDriver) ImageID(string) string {
	if m.newImage != "" {
		return m.newImage
	}
	return "id"
}

func (m *memDriver) ContainerName(service string, n int) string {
	return fmt.Sprintf("p-%s-%d", service, n)
}

// observe builds the Observed state from the driver, as reconcile.Observe does from the store.
func (m *memDriver) observe() *Observed {
	m.mu.Lock()
	defer m.mu.Unlock()
	o := &Observed{Networks: map[string]bool{}, Volumes: map[string]bool{}}
	for id, c := range m.containers {
		state := "exited"
		if c.running {
			state = "running"
		}
		o.Containers = append(o.Containers, ObservedContainer{ID: id, Name: c.name, Service: c.service, Number: c.number, Hash: "h", ImageID: "id", State: state})
	}
	for n := range m.networks {
		o.Networks[n] = true
	}
	for v := range m.volumes {
		o.Volumes[v] = true
	}
	return o
}

// index returns the position of the first log line with prefix, failing the test if absent.
func (m *memDriver) index(t *testing.T, line string) int {
	t.Helper()
	for i, l := range m.log {
		if l == line {
			return i
		}
	}
	t.Fatalf("no %q in log:\n%s", line, strings.Join(m.log, "\n"))
	return -1
}

func desiredStack(services ...*DesiredService) *Desired {
	for _, s := range services {
		s.Image, s.ImageID, s.Hash = "img", "id", "h"
		if s.Scale == 0 {
			s.Scale = 1
		}
		s.Networks = []string{"p_default"}
	}
	return &Desired{Project: "p", Services: services, Networks: []DesiredNetwork{{Name: "p_default"}}}
}

func up(t *testing.T, m *memDriver, d *Desired, opts Options, aopts ApplyOptions) error {
	t.Helper()
	p, err := PlanUp(d, m.observe(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return Apply(context.Background(), m, p, aopts)
}

func TestApplyStartsDependenciesFirstAndConverges(t *testing.T) {
	m := newMemDriver()
	d := desiredStack(
		&DesiredService{Name: "db"},
		&DesiredService{Name: "cache"},
		&DesiredService{Name: "web", Scale: 2, DependsOn: []Dependency{
			{Service: "db", Condition: ConditionHealthy, Required: true},
			{Service: "cache", Condition: ConditionStarted, Required: true},
		}},
	)
	if err := up(t, m, d, Options{}, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, dep := range []string{"start p-db-1", "start p-cache-1"} {
		if m.index(t, dep) > m.index(t, "create p-web-1") || m.index(t, dep) > m.index(t, "create p-web-2") {
			t.Errorf("%s after web was created:\n%s", dep, strings.Join(m.log, "\n"))
		}
	}
	if m.index(t, "create network p_default") > m.index(t, "create p-db-1") {
		t.Errorf("container created before its network")
	}
	p, err := PlanUp(d, m.observe(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Empty() {
		t.Fatalf("second up is not empty:\n%s", p)
	}
}

func TestApplyFailureStopsDependentsOnly(t *testing.T) {
	m := newMemDriver()
	m.failCreate["db"] = errors.New("no space left on device")
	d := desiredStack(
		&DesiredService{Name: "db"},
		&DesiredService{Name: "web", DependsOn: []Dependency{{Service: "db", Condition: ConditionStarted, Required: true}}},
		&DesiredService{Name: "other"},
	)
	err := up(t, m, d, Options{}, ApplyOptions{})
	if err == nil {
		t.Fatal("up succeeded with a failing service")
	}
	for _, want := range []string{"service db: create p-db-1: no space left on device", "service web needs db"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	m.index(t, "start p-other-1") // the unrelated service still started
	for _, l := range m.log {
		if strings.Contains(l, "p-web") {
			t.Errorf("web was acted on although db failed: %s", l)
		}
	}
	// Level-based: once the cause is gone, up converges.
	delete(m.failCreate, "db")
	if err := up(t, m, d, Options{}, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	m.index(t, "start p-web-1")
}

func TestApplyUnhealthyDependencyFails(t *testing.T) {
	m := newMemDriver()
	m.unhealthy["db"] = true
	d := desiredStack(
		&DesiredService{Name: "db"},
		&DesiredService{Name: "web", DependsOn: []Dependency{{Service: "db", Condition: ConditionHealthy, Required: true}}},
	)
	err := up(t, m, d, Options{}, ApplyOptions{})
	if !errors.Is(err, ErrDependencyFailed) || !strings.Contains(err.Error(), "unhealthy") {
		t.Fatalf("err = %v", err)
	}
}

func TestApplyOneShotCompletedDoesNotFailWait(t *testing.T) {
	m := newMemDriver()
	m.exitCode["migrate"] = 0
	d := desiredStack(
		&DesiredService{Name: "migrate"},
		&DesiredService{Name: "web", DependsOn: []Dependency{{Service: "migrate", Condition: ConditionCompletedSuccessfully, Required: true}}},
	)
	if err := up(t, m, d, Options{}, ApplyOptions{Wait: true}); err != nil {
		t.Fatal(err)
	}
	if m.index(t, "start p-migrate-1 (exits 0)") > m.index(t, "create p-web-1") {
		t.Error("web created before migrate completed")
	}
	m.exitCode["migrate"] = 1
	m.containers = map[string]*memContainer{}
	if err := up(t, m, d, Options{}, ApplyOptions{}); err == nil || !strings.Contains(err.Error(), "exited with code 1") {
		t.Fatalf("a failing one-shot did not fail its dependent: %v", err)
	}
}

func TestApplyRecreateCreatesBeforeRemoving(t *testing.T) {
	m := newMemDriver()
	d := desiredStack(&DesiredService{Name: "web"})
	if err := up(t, m, d, Options{}, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	m.log = nil
	if err := up(t, m, d, Options{ForceRecreate: true}, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "create c1_p-web-1,stop p-web-1,rm p-web-1,rename c2 p-web-1,start p-web-1"
	if got := strings.Join(m.log, ","); got != want {
		t.Errorf("recreate order:\n%s\nwant:\n%s", got, want)
	}
}

func TestApplyRecreateFailureKeepsOldContainer(t *testing.T) {
	m := newMemDriver()
	d := desiredStack(&DesiredService{Name: "web"})
	if err := up(t, m, d, Options{}, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	m.failCreate["web"] = errors.New("image broken")
	if err := up(t, m, d, Options{ForceRecreate: true}, ApplyOptions{}); err == nil {
		t.Fatal("recreate succeeded")
	}
	if c := m.containers["c1"]; c == nil || !c.running {
		t.Fatal("the old container was stopped although its replacement failed")
	}
}

func TestApplyDownRemovesDependentsFirst(t *testing.T) {
	m := newMemDriver()
	d := desiredStack(
		&DesiredService{Name: "db"},
		&DesiredService{Name: "web", DependsOn: []Dependency{{Service: "db", Condition: ConditionStarted, Required: true}}},
	)
	d.Volumes = []DesiredVolume{{Name: "p_data"}}
	if err := up(t, m, d, Options{}, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	p := PlanDown(d, m.observe(), DownOptions{RemoveVolumes: true, RemoveImages: []string{"img"}})
	if err := Apply(context.Background(), m, p, ApplyOptions{}); err != nil {
		t.Fatalf("down: %v (a best-effort image removal must not fail it)", err)
	}
	if m.index(t, "rm p-web-1") > m.index(t, "stop p-db-1") {
		t.Errorf("db stopped before its dependent web was removed:\n%s", strings.Join(m.log, "\n"))
	}
	if m.index(t, "remove network p_default") < m.index(t, "rm p-db-1") {
		t.Error("network removed before its containers")
	}
	if len(m.containers) != 0 || len(m.networks) != 0 || len(m.volumes) != 0 {
		t.Errorf("left after down: %v %v %v", m.containers, m.networks, m.volumes)
	}
}

func TestApplyEvents(t *testing.T) {
	m := newMemDriver()
	d := desiredStack(&DesiredService{Name: "web"})
	var mu sync.Mutex
	var got []string
	err := up(t, m, d, Options{}, ApplyOptions{Progress: func(e Event) {
		mu.Lock()
		got = append(got, e.Name+" "+e.Status)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := "p_default Creating,p_default Created,p-web-1 Creating,p-web-1 Created,p-web-1 Starting,p-web-1 Started"
	if s := strings.Join(got, ","); s != want {
		t.Errorf("events:\n%s\nwant:\n%s", s, want)
	}
}

func TestApplyFailedPullIsReportedOnce(t *testing.T) {
	m := newMemDriver()
	m.failPull = errors.New("pull img: registry unreachable")
	d := desiredStack(&DesiredService{Name: "a"}, &DesiredService{Name: "b"})
	for _, s := range d.Services {
		s.ImageID = ""
	}
	err := up(t, m, d, Options{}, ApplyOptions{})
	if err == nil {
		t.Fatal("up succeeded with a failing pull")
	}
	if n := strings.Count(err.Error(), "registry unreachable"); n != 1 {
		t.Errorf("the pull failure appears %d times in:\n%v", n, err)
	}
	for _, want := range []string{"service a: dependency failed: img failed", "service b: dependency failed: img failed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
}

// A recreate interrupted after creating the new container leaves a duplicate replica under
// the temporary name; the next up removes it before it recreates, which needs that name.
func TestApplyRemovesDuplicatesBeforeRecreating(t *testing.T) {
	m := newMemDriver()
	m.containers["c1"] = &memContainer{service: "web", number: 1, name: "p-web-1", running: true}
	m.containers["c2"] = &memContainer{service: "web", number: 1, name: "c1_p-web-1"}
	m.next = 2
	d := &Desired{Project: "p", Services: []*DesiredService{{Name: "web", Hash: "h", Scale: 1, Image: "img", ImageID: "id"}}}
	p, err := PlanUp(d, m.observe(), Options{ForceRecreate: true, Pull: PullMissing})
	if err != nil {
		t.Fatal(err)
	}
	if err := Apply(context.Background(), m, p, ApplyOptions{}); err != nil {
		t.Fatalf("apply: %v\nlog:\n%s", err, strings.Join(m.log, "\n"))
	}
	if len(m.containers) != 1 {
		t.Fatalf("%d containers left, want 1\nlog:\n%s", len(m.containers), strings.Join(m.log, "\n"))
	}
	for _, c := range m.containers {
		if c.name != "p-web-1" || !c.running {
			t.Errorf("container %s running %v, want p-web-1 running", c.name, c.running)
		}
	}
	if got := strings.Join(m.log, "\n"); strings.Index(got, "rm c1_p-web-1") > strings.Index(got, "create c1_p-web-1") {
		t.Errorf("the duplicate was not removed before the recreate:\n%s", got)
	}
}

func TestApplyBuildOfTheSameImageKeepsTheContainer(t *testing.T) {
	m := newMemDriver()
	d := desiredStack(&DesiredService{Name: "web"})
	d.Services[0].Build = true
	if err := up(t, m, d, Options{}, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	m.log = nil
	if err := up(t, m, d, Options{Build: true}, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(m.log, ","); got != "build web" {
		t.Errorf("up --build of an unchanged build did %q, want only the build", got)
	}
	m.newImage, m.log = "id2", nil
	if err := up(t, m, d, Options{Build: true}, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	m.index(t, "create c1_p-web-1") // a build that gives another image recreates
}
