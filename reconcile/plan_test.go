package reconcile

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func svc(name, hash string, deps ...Dependency) *DesiredService {
	return &DesiredService{Name: name, Hash: hash, Scale: 1, Image: "img:" + name, ImageID: "id-" + name,
		DependsOn: deps, Networks: []string{"p_default"}}
}

func running(service string, n int, hash string) ObservedContainer {
	return ObservedContainer{ID: service + "-id-" + string(rune('0'+n)), Name: fmt.Sprintf("p-%s-%d", service, n), Service: service, Number: n, Hash: hash, ImageID: "id-" + service, State: "running"}
}

func TestPlanUp(t *testing.T) {
	net := map[string]bool{"p_default": true}
	tests := []struct {
		name     string
		desired  []*DesiredService
		observed []ObservedContainer
		networks map[string]bool
		opts     Options
		want     string
	}{
		{
			name:    "fresh stack creates network and containers",
			desired: []*DesiredService{svc("db", "h1"), svc("web", "h2", Dependency{Service: "db", Condition: ConditionStarted, Required: true})},
			want: `create network network:p_default
create         service:db:1
create         service:web:1
`,
		},
		{
			name:     "nothing changed touches nothing",
			desired:  []*DesiredService{svc("db", "h1"), svc("web", "h2")},
			observed: []ObservedContainer{running("db", 1, "h1"), running("web", 1, "h2")},
			networks: net,
			want:     "project p: nothing to change\n",
		},
		{
			name:     "one service edited recreates only it",
			desired:  []*DesiredService{svc("db", "h1"), svc("web", "h2-new")},
			observed: []ObservedContainer{running("db", 1, "h1"), running("web", 1, "h2")},
			networks: net,
			want:     "recreate       service:web:1 (config hash changed)\n",
		},
		{
			name:     "no-recreate keeps an edited service",
			desired:  []*DesiredService{svc("web", "h2-new")},
			observed: []ObservedContainer{running("web", 1, "h2")},
			networks: net,
			opts:     Options{NoRecreate: true},
			want:     "project p: nothing to change\n",
		},
		{
			name:     "image with another ID recreates",
			desired:  []*DesiredService{{Name: "web", Hash: "h", Scale: 1, Image: "img", ImageID: "new"}},
			observed: []ObservedContainer{{ID: "c1", Service: "web", Number: 1, Hash: "h", ImageID: "old", State: "running"}},
			want:     "recreate       service:web:1 (image img now has another ID)\n",
		},
		{
			name:     "stopped container is started",
			desired:  []*DesiredService{svc("web", "h")},
			observed: []ObservedContainer{{ID: "c1", Service: "web", Number: 1, Hash: "h", ImageID: "id-web", State: "exited", ExitCode: 137}},
			networks: net,
			want:     "start          service:web:1 (not running (exited))\n",
		},
		{
			name: "scale up and down",
			desired: []*DesiredService{
				{Name: "a", Hash: "h", Scale: 3, Image: "i", ImageID: "x"},
				{Name: "b", Hash: "h", Scale: 1, Image: "i", ImageID: "x"},
			},
			observed: []ObservedContainer{
				{ID: "a1", Service: "a", Number: 1, Hash: "h", ImageID: "x", State: "running"},
				{ID: "b1", Service: "b", Number: 1, Hash: "h", ImageID: "x", State: "running"},
				{ID: "b2", Service: "b", Number: 2, Hash: "h", ImageID: "x", State: "running"},
				{ID: "b3", Service: "b", Number: 3, Hash: "h", ImageID: "x", State: "running"},
			},
			want: `create         service:a:2
create         service:a:3
remove         service:b:3 (scale 1)
remove         service:b:2 (scale 1)
`,
		},
		{
			name:     "--scale overrides the file",
			desired:  []*DesiredService{{Name: "a", Hash: "h", Scale: 1, Image: "i", ImageID: "x"}},
			observed: []ObservedContainer{{ID: "a1", Service: "a", Number: 1, Hash: "h", ImageID: "x", State: "running"}},
			opts:     Options{Scale: map[string]int{"a": 2}},
			want:     "create         service:a:2\n",
		},
		{
			name:     "orphans are reported, removed only when asked",
			desired:  []*DesiredService{svc("web", "h")},
			observed: []ObservedContainer{running("web", 1, "h"), {ID: "o1", Name: "p-old-1", Service: "old", Number: 1, State: "running"}},
			networks: net,
			want:     "project p: nothing to change\nnote: orphan container p-old-1 of service old (not in the stack file; --remove-orphans removes it)\n",
		},
		{
			name:     "remove orphans",
			desired:  []*DesiredService{svc("web", "h")},
			observed: []ObservedContainer{running("web", 1, "h"), {ID: "o1", Name: "p-old-1", Service: "old", Number: 1, State: "running"}},
			networks: net,
			opts:     Options{RemoveOrphans: true},
			want:     "remove         service:old:1 (orphan: service not in the stack file)\n",
		},
		{
			name:     "missing image is pulled once and its users recreated",
			desired:  []*DesiredService{{Name: "a", Hash: "h", Scale: 1, Image: "busybox"}, {Name: "b", Hash: "h", Scale: 1, Image: "busybox"}},
			observed: []ObservedContainer{{ID: "a1", Service: "a", Number: 1, Hash: "h", ImageID: "x", State: "running"}},
			want: `pull           image:busybox (image missing)
recreate       service:a:1 (image busybox will be pulled or built)
create         service:b:1
`,
		},
		{
			name:    "a missing built image is built",
			desired: []*DesiredService{{Name: "web", Hash: "h", Scale: 1, Image: "p-web", Build: true}},
			want: `build          image:p-web (image missing)
create         service:web:1
`,
		},
		{
			name:     "--build rebuilds a present image",
			desired:  []*DesiredService{{Name: "web", Hash: "h", Scale: 1, Image: "p-web", ImageID: "x", Build: true}},
			observed: []ObservedContainer{{ID: "w1", Service: "web", Number: 1, Hash: "h", ImageID: "x", State: "running"}},
			opts:     Options{Build: true},
			want: `build          image:p-web (--build)
recreate       service:web:1 (image p-web will be pulled or built)
`,
		},
		{
			name: "dependents with restart: true restart when the dependency is recreated",
			desired: []*DesiredService{
				svc("db", "h1-new"),
				svc("web", "h2", Dependency{Service: "db", Condition: ConditionStarted, Restart: true, Required: true}),
				svc("worker", "h3", Dependency{Service: "db", Condition: ConditionStarted, Required: true}),
			},
			observed: []ObservedContainer{running("db", 1, "h1"), running("web", 1, "h2"), running("worker", 1, "h3")},
			networks: net,
			want: `recreate       service:db:1 (config hash changed)
restart        service:web:1 (dependency db recreated)
`,
		},
		{
			name: "a completed one-shot dependency is not run again",
			desired: []*DesiredService{
				svc("migrate", "h1"),
				svc("web", "h2", Dependency{Service: "migrate", Condition: ConditionCompletedSuccessfully, Required: true}),
			},
			observed: []ObservedContainer{{ID: "m1", Service: "migrate", Number: 1, Hash: "h1", ImageID: "id-migrate", State: "exited"}, running("web", 1, "h2")},
			networks: net,
			want:     "project p: nothing to change\n",
		},
		{
			name:     "a network that went missing is created and its users recreated",
			desired:  []*DesiredService{svc("web", "h")},
			observed: []ObservedContainer{running("web", 1, "h")},
			want: `create network network:p_default
recreate       service:web:1 (network p_default missing)
`,
		},
		{
			name:    "an interrupted recreate: the duplicate goes, the replica is recreated",
			desired: []*DesiredService{svc("web", "h-new")},
			observed: []ObservedContainer{running("web", 1, "h"),
				{ID: "new1", Name: "web-id-1_p-web-1", Service: "web", Number: 1, Hash: "h-new", ImageID: "id-web", State: "created"}},
			networks: net,
			want: `remove         service:web:1 (duplicate replica number)
recreate       service:web:1 (config hash changed)
`,
		},
		{
			name:     "an interrupted recreate: the new container under its temporary name is renamed by a recreate",
			desired:  []*DesiredService{svc("web", "h-new")},
			observed: []ObservedContainer{{ID: "new1", Name: "web-id-1_p-web-1", Service: "web", Number: 1, Hash: "h-new", ImageID: "id-web", State: "created"}},
			networks: net,
			want:     "recreate       service:web:1 (named web-id-1_p-web-1, not p-web-1)\n",
		},
		{
			name:     "force recreate",
			desired:  []*DesiredService{svc("web", "h")},
			observed: []ObservedContainer{running("web", 1, "h")},
			networks: net,
			opts:     Options{ForceRecreate: true},
			want:     "recreate       service:web:1 (--force-recreate)\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Desired{Project: "p", Services: tt.desired}
			seen := map[string]bool{}
			for _, s := range tt.desired {
				for _, n := range s.Networks {
					if !seen[n] {
						d.Networks = append(d.Networks, DesiredNetwork{Name: n})
						seen[n] = true
					}
				}
			}
			if tt.opts.Pull == "" {
				tt.opts.Pull = PullMissing
			}
			for i, c := range tt.observed { // containers have their compose names unless a test names them
				if c.Name == "" {
					tt.observed[i].Name = fmt.Sprintf("p-%s-%d", c.Service, c.Number)
				}
			}
			p, err := PlanUp(d, &Observed{Containers: tt.observed, Networks: tt.networks}, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.String(); got != tt.want {
				t.Errorf("plan:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestPlanUpErrors(t *testing.T) {
	tests := []struct {
		name    string
		desired *Desired
		opts    Options
		is      error
		msg     string
	}{
		{
			name: "cycle is named",
			desired: &Desired{Project: "p", Services: []*DesiredService{
				svc("a", "h", Dependency{Service: "b", Required: true}),
				svc("b", "h", Dependency{Service: "c", Required: true}),
				svc("c", "h", Dependency{Service: "a", Required: true}),
			}},
			is:  ErrCycle,
			msg: "a -> b -> c -> a",
		},
		{
			name:    "unknown required dependency",
			desired: &Desired{Project: "p", Services: []*DesiredService{svc("a", "h", Dependency{Service: "nope", Required: true})}},
			is:      ErrUnknownDependency,
			msg:     "service a depends on nope",
		},
		{
			name:    "external network missing",
			desired: &Desired{Project: "p", Networks: []DesiredNetwork{{Name: "shared", External: true}}},
			is:      ErrExternalMissing,
			msg:     "network shared",
		},
		{
			name:    "pull never with a missing image",
			desired: &Desired{Project: "p", Services: []*DesiredService{{Name: "a", Scale: 1, Image: "busybox"}}},
			opts:    Options{Pull: PullNever},
			is:      ErrImageMissing,
			msg:     "service a: image busybox",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PlanUp(tt.desired, &Observed{}, tt.opts)
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want %v containing %q", err, tt.is, tt.msg)
			}
		})
	}
}

func TestPlanUpOptionalUnknownDependencyIsIgnored(t *testing.T) {
	d := &Desired{Project: "p", Services: []*DesiredService{svc("a", "h", Dependency{Service: "gone", Required: false})}}
	if _, err := PlanUp(d, &Observed{Networks: map[string]bool{"p_default": true}}, Options{}); err != nil {
		t.Fatal(err)
	}
}

func TestPlanDown(t *testing.T) {
	d := &Desired{Project: "p",
		Services: []*DesiredService{svc("web", "h")},
		Networks: []DesiredNetwork{{Name: "p_default"}, {Name: "shared", External: true}},
		Volumes:  []DesiredVolume{{Name: "p_data"}, {Name: "keep", External: true}},
	}
	obs := &Observed{
		Containers: []ObservedContainer{running("web", 1, "h"), {ID: "o1", Name: "p-old-1", Service: "old", Number: 1}},
		OneOffs:    []ObservedContainer{{ID: "r1", Name: "p-web-run-0123456789ab", Service: "web"}},
		Networks:   map[string]bool{"p_default": true, "shared": true},
		Volumes:    map[string]bool{"p_data": true, "keep": true},
	}
	got := PlanDown(d, obs, DownOptions{}).String()
	want := `remove         service:web:1
remove         service:web:p-web-run-0123456789ab (one-off)
remove network network:p_default
note: orphan container p-old-1 of service old kept (--remove-orphans removes it)
`
	if got != want {
		t.Errorf("down:\n%s\nwant:\n%s", got, want)
	}
	got = PlanDown(d, obs, DownOptions{RemoveVolumes: true, RemoveOrphans: true}).String()
	want = `remove         service:web:1
remove         service:old:1
remove         service:web:p-web-run-0123456789ab (one-off)
remove network network:p_default
remove volume  volume:p_data
`
	if got != want {
		t.Errorf("down -v --remove-orphans:\n%s\nwant:\n%s", got, want)
	}
}
