// Package reconcile turns a stack file's desired state into running containers.
//
// It works in three steps, and only the first touches the store:
//
//	Observe  ──►  Plan (pure)  ──►  Apply (errgroup over the depends_on graph)
//
// Plan is a function of (desired, observed, options) alone, so `stack diff` prints exactly
// what `stack up` would do and unit tests compare plans as strings. Apply is level-based, as
// Kubernetes controllers are: after a partial failure the next `up` observes again and
// converges, because every operation is idempotent with respect to the observed state.
package reconcile

import (
	"fmt"
	"sort"
	"strings"
)

// Action is what one operation of a plan does.
type Action string

// The actions of a plan. Create/Recreate/Start act on one container (one replica of a
// service); the others on a network, a volume or an image.
const (
	ActionCreateNetwork Action = "create network"
	ActionCreateVolume  Action = "create volume"
	ActionPull          Action = "pull"
	ActionBuild         Action = "build"
	ActionCreate        Action = "create"
	ActionRecreate      Action = "recreate"
	ActionStart         Action = "start"
	ActionRestart       Action = "restart"
	ActionRemove        Action = "remove"
	ActionRemoveNetwork Action = "remove network"
	ActionRemoveVolume  Action = "remove volume"
	ActionRemoveImage   Action = "remove image"
)

// Op is one operation of a plan.
type Op struct {
	Action Action `json:"action"`
	// Resource names what is acted on: "service:web:1", "network:demo_default",
	// "volume:demo_data", "image:busybox".
	Resource string `json:"resource"`
	// Cause says why, in words a user reads in `stack diff` ("config hash changed").
	Cause string `json:"cause,omitempty"`
	// Service and Number identify the replica for container operations.
	Service string `json:"service,omitempty"`
	Number  int    `json:"number,omitempty"`
	// Container is the ID of the existing container acted on (recreate, start, stop, remove).
	Container string `json:"container,omitempty"`
	// Name is the network, volume or image name for those actions, and the container's
	// name when it is a one-off (`stack run`), which has no replica number.
	Name string `json:"name,omitempty"`
	// BestEffort operations do not fail the plan (removing an image still in use by
	// another project's container, say).
	BestEffort bool `json:"bestEffort,omitempty"`
	// UnlessImage is set on a recreate whose only cause is a pull or build still to come:
	// the container's image ID. When the image comes out with this same ID, the container
	// stays (started if it was not running), so `up --build` of an unchanged build touches
	// nothing.
	UnlessImage string `json:"unlessImage,omitempty"`
	// wasRunning tells Apply whether a kept container needs a start.
	wasRunning bool
}

func (o Op) String() string {
	s := fmt.Sprintf("%-14s %s", o.Action, o.Resource)
	if o.Cause != "" {
		s += " (" + o.Cause + ")"
	}
	return s
}

// Plan is the list of operations that takes the observed state to the desired one, plus what
// a user should know but that needs no operation (orphans kept).
type Plan struct {
	Project string `json:"project"`
	Ops     []Op   `json:"ops"`
	// Notes are reported, not acted on: "orphan container demo-old-1 (use --remove-orphans)".
	Notes []string `json:"notes,omitempty"`
	// desired and observed are kept for Apply: the dependency graph, and the replicas that
	// dependents wait on when their service has nothing to do.
	desired  *Desired
	observed []ObservedContainer
	down     bool
}

// Empty reports whether applying the plan would change nothing.
func (p *Plan) Empty() bool { return len(p.Ops) == 0 }

// String renders the plan as `stack diff` prints it: one line per operation, in execution
// order within each group, then the notes.
func (p *Plan) String() string {
	var b strings.Builder
	if p.Empty() {
		fmt.Fprintf(&b, "project %s: nothing to change\n", p.Project)
	}
	for _, op := range p.Ops {
		b.WriteString(op.String())
		b.WriteByte('\n')
	}
	for _, n := range p.Notes {
		b.WriteString("note: " + n + "\n")
	}
	return b.String()
}

// Desired is the state a stack file asks for, reduced to what planning needs.
type Desired struct {
	Project  string
	Services []*DesiredService // sorted by name
	Networks []DesiredNetwork
	Volumes  []DesiredVolume
}

// DesiredService is one service of the stack file.
type DesiredService struct {
	Name  string
	Hash  string // config hash (versioned); a change recreates the containers
	Scale int
	// Image is the reference the containers run; ImageID the ID it resolves to in the local
	// store now ("" when missing: it will be pulled or built).
	Image   string
	ImageID string
	// Build is set when the service builds its image from a Dockerfile.
	Build bool
	// ContainerName is the service's container_name ("": <project>-<service>-<n>).
	ContainerName string
	DependsOn     []Dependency
	Networks      []string // full network names
	Volumes       []string // full names of the named volumes it mounts
}

// Condition is what a dependent waits for before it starts (compose's depends_on.condition).
type Condition string

// The depends_on conditions of the compose specification.
const (
	ConditionStarted               Condition = "service_started"
	ConditionHealthy               Condition = "service_healthy"
	ConditionCompletedSuccessfully Condition = "service_completed_successfully"
)

// Dependency is one entry of a service's depends_on.
type Dependency struct {
	Service   string
	Condition Condition
	// Restart makes the dependent restart when the dependency is recreated.
	Restart bool
	// Required false lets the dependent start when the dependency is absent or fails.
	Required bool
}

// DesiredNetwork is a network the stack uses. External networks must exist already.
type DesiredNetwork struct {
	Name     string
	External bool
}

// DesiredVolume is a named volume the stack uses. External volumes must exist already.
type DesiredVolume struct {
	Name     string
	External bool
}

// Observed is what runs now, as Observe reads it from the store.
type Observed struct {
	Containers []ObservedContainer
	// OneOffs are the containers `stack run` made (labelled LabelOneOff): up never plans
	// for them, down removes them with their service.
	OneOffs  []ObservedContainer
	Networks map[string]bool // names of existing networks
	Volumes  map[string]bool // names of existing volumes
}

// ObservedContainer is one container labelled with this project.
type ObservedContainer struct {
	ID      string
	Name    string
	Service string
	Number  int
	Hash    string
	ImageID string
	// State is the runtime's status: created, running, paused, restarting, exited, dead.
	State    string
	ExitCode int
	Networks []string
}

// Running reports whether the container's process is alive (paused counts: it keeps its
// processes, and `up` does not unpause what a user paused).
func (c ObservedContainer) Running() bool {
	return c.State == "running" || c.State == "paused" || c.State == "restarting"
}

// PullPolicy is `up --pull`.
type PullPolicy string

// The pull policies of compose.
const (
	PullMissing PullPolicy = "missing"
	PullAlways  PullPolicy = "always"
	PullNever   PullPolicy = "never"
)

// Options are the flags of `up` that change the plan.
type Options struct {
	ForceRecreate bool
	NoRecreate    bool
	RemoveOrphans bool
	Build         bool // --build: build every service that has build:
	Pull          PullPolicy
	// Scale overrides a service's replica count (--scale web=3).
	Scale map[string]int
}

// PlanUp computes the operations that take observed to desired. It does no I/O.
//
// Order of the returned operations: networks and volumes, images, then per service (by
// name) scale-down removals, creates, recreates and starts by replica number, then the
// restarts that depends_on.restart asks for, then orphans. Apply does not depend on this
// order (it walks the dependency graph), but `stack diff` reads best this way.
func PlanUp(desired *Desired, observed *Observed, opts Options) (*Plan, error) {
	if err := checkGraph(desired); err != nil {
		return nil, err
	}
	p := &Plan{Project: desired.Project, desired: desired, observed: observed.Containers}
	missingNetworks := map[string]bool{}
	for _, n := range desired.Networks {
		if observed.Networks[n.Name] {
			continue
		}
		if n.External {
			return nil, fmt.Errorf("%w: network %s is declared external but does not exist (create it first)", ErrExternalMissing, n.Name)
		}
		missingNetworks[n.Name] = true
		p.Ops = append(p.Ops, Op{Action: ActionCreateNetwork, Resource: "network:" + n.Name, Name: n.Name})
	}
	missingVolumes := map[string]bool{}
	for _, v := range desired.Volumes {
		if observed.Volumes[v.Name] {
			continue
		}
		if v.External {
			return nil, fmt.Errorf("%w: volume %s is declared external but does not exist (create it first)", ErrExternalMissing, v.Name)
		}
		missingVolumes[v.Name] = true
		p.Ops = append(p.Ops, Op{Action: ActionCreateVolume, Resource: "volume:" + v.Name, Name: v.Name})
	}

	// Images: each reference is obtained once, however many services use it.
	imageWillChange := map[string]bool{}
	seenImage := map[string]bool{}
	for _, s := range desired.Services {
		if seenImage[s.Image] {
			continue
		}
		seenImage[s.Image] = true
		switch {
		case s.Build && (opts.Build || s.ImageID == ""):
			cause := "image missing"
			if s.ImageID != "" {
				cause = "--build"
			}
			p.Ops = append(p.Ops, Op{Action: ActionBuild, Resource: "image:" + s.Image, Name: s.Image, Service: s.Name, Cause: cause})
			imageWillChange[s.Image] = true
		case !s.Build && (opts.Pull == PullAlways || (s.ImageID == "" && opts.Pull != PullNever)):
			cause := "image missing"
			if s.ImageID != "" {
				cause = "--pull always"
			}
			p.Ops = append(p.Ops, Op{Action: ActionPull, Resource: "image:" + s.Image, Name: s.Image, Service: s.Name, Cause: cause})
			imageWillChange[s.Image] = true
		case s.ImageID == "":
			return nil, fmt.Errorf("%w: service %s: image %s is not in the store and --pull never forbids pulling it", ErrImageMissing, s.Name, s.Image)
		}
	}

	byService := map[string][]ObservedContainer{}
	for _, c := range observed.Containers {
		byService[c.Service] = append(byService[c.Service], c)
	}
	completedDeps := completedOneShots(desired)
	recreated := map[string]bool{}
	for _, s := range desired.Services {
		scale := s.Scale
		if n, ok := opts.Scale[s.Name]; ok {
			scale = n
		}
		have := byService[s.Name]
		sort.Slice(have, func(i, j int) bool {
			if have[i].Number != have[j].Number {
				return have[i].Number < have[j].Number
			}
			return have[i].Running() && !have[j].Running() // keep the running one of duplicates
		})
		slot := map[int]ObservedContainer{}
		var removals []Op
		for _, c := range have {
			if _, dup := slot[c.Number]; dup || c.Number < 1 || c.Number > scale {
				cause := fmt.Sprintf("scale %d", scale)
				if dup {
					cause = "duplicate replica number"
				}
				removals = append(removals, Op{Action: ActionRemove, Resource: resource(s.Name, c.Number), Service: s.Name, Number: c.Number, Container: c.ID, Cause: cause})
				continue
			}
			slot[c.Number] = c
		}
		// Remove the highest numbers first, as compose scales down.
		for i := len(removals) - 1; i >= 0; i-- {
			p.Ops = append(p.Ops, removals[i])
		}
		for n := 1; n <= scale; n++ {
			c, ok := slot[n]
			if !ok {
				p.Ops = append(p.Ops, Op{Action: ActionCreate, Resource: resource(s.Name, n), Service: s.Name, Number: n})
				recreated[s.Name] = true
				continue
			}
			if cause, onlyImage := recreateCause(desired.containerName(s, n), s, c, opts, imageWillChange, missingNetworks, missingVolumes); cause != "" && !opts.NoRecreate {
				op := Op{Action: ActionRecreate, Resource: resource(s.Name, n), Service: s.Name, Number: n, Container: c.ID, Cause: cause, wasRunning: c.Running()}
				if onlyImage {
					op.UnlessImage = c.ImageID
				}
				p.Ops = append(p.Ops, op)
				recreated[s.Name] = true
				continue
			}
			if !c.Running() && !(completedDeps[s.Name] && c.State == "exited" && c.ExitCode == 0) {
				p.Ops = append(p.Ops, Op{Action: ActionStart, Resource: resource(s.Name, n), Service: s.Name, Number: n, Container: c.ID, Cause: "not running (" + c.State + ")"})
			}
		}
	}

	// depends_on.restart: dependents of a recreated service restart, unless they are being
	// created or recreated anyway.
	touched := map[string]bool{}
	for _, op := range p.Ops {
		if op.Service != "" && op.Action != ActionPull && op.Action != ActionBuild {
			touched[resource(op.Service, op.Number)] = true
		}
	}
	for _, s := range desired.Services {
		for _, d := range s.DependsOn {
			if !d.Restart || !recreated[d.Service] {
				continue
			}
			for _, c := range byService[s.Name] {
				if !touched[resource(s.Name, c.Number)] && c.Running() {
					p.Ops = append(p.Ops, Op{Action: ActionRestart, Resource: resource(s.Name, c.Number), Service: s.Name, Number: c.Number, Container: c.ID, Cause: "dependency " + d.Service + " recreated"})
					touched[resource(s.Name, c.Number)] = true
				}
			}
		}
	}

	wanted := map[string]bool{}
	for _, s := range desired.Services {
		wanted[s.Name] = true
	}
	for _, c := range observed.Containers {
		if wanted[c.Service] {
			continue
		}
		if opts.RemoveOrphans {
			p.Ops = append(p.Ops, Op{Action: ActionRemove, Resource: resource(c.Service, c.Number), Service: c.Service, Number: c.Number, Container: c.ID, Cause: "orphan: service not in the stack file"})
		} else {
			p.Notes = append(p.Notes, fmt.Sprintf("orphan container %s of service %s (not in the stack file; --remove-orphans removes it)", c.Name, c.Service))
		}
	}
	return p, nil
}

// recreateCause says why an existing replica must be recreated, or "" when it may stay;
// onlyImage tells that the only cause is a pull or build still to come (which may give the
// same image again). name is the name the replica should have: a recreate interrupted
// between creating the new container (under a temporary name) and renaming it leaves one
// that has the right configuration and the wrong name.
func recreateCause(name string, s *DesiredService, c ObservedContainer, opts Options, imageWillChange, missingNetworks, missingVolumes map[string]bool) (cause string, onlyImage bool) {
	switch {
	case opts.ForceRecreate:
		return "--force-recreate", false
	case c.Hash != s.Hash:
		return "config hash changed", false
	case c.Name != name:
		return "named " + c.Name + ", not " + name, false
	}
	for _, n := range s.Networks {
		if missingNetworks[n] {
			return "network " + n + " missing", false
		}
	}
	for _, v := range s.Volumes {
		if missingVolumes[v] {
			return "volume " + v + " missing", false
		}
	}
	switch {
	case imageWillChange[s.Image]:
		return "image " + s.Image + " will be pulled or built", true
	case s.ImageID != "" && c.ImageID != s.ImageID:
		return "image " + s.Image + " now has another ID", false
	}
	return "", false
}

// completedOneShots returns the services some dependent waits on with
// service_completed_successfully: once such a container exited 0 it has done its job, and
// the next `up` must not run it again.
func completedOneShots(d *Desired) map[string]bool {
	out := map[string]bool{}
	for _, s := range d.Services {
		for _, dep := range s.DependsOn {
			if dep.Condition == ConditionCompletedSuccessfully {
				out[dep.Service] = true
			}
		}
	}
	return out
}

// DownOptions are the flags of `down`.
type DownOptions struct {
	RemoveVolumes bool     // -v: the project's named volumes (not external ones)
	RemoveOrphans bool     // containers of services no longer in the file
	RemoveImages  []string // --rmi: image references to remove
}

// PlanDown removes every container of the project (orphans only with RemoveOrphans, unless
// the stack file is gone) and the one-offs of `stack run`, then the project's networks, then
// with -v its volumes. A one-off goes with its service (in reverse dependency order); one
// of a service no longer in the file goes at once, since it would keep the network in use.
func PlanDown(desired *Desired, observed *Observed, opts DownOptions) *Plan {
	p := &Plan{Project: desired.Project, desired: desired, observed: observed.Containers, down: true}
	wanted := map[string]bool{}
	for _, s := range desired.Services {
		wanted[s.Name] = true
	}
	for _, c := range observed.Containers {
		if !wanted[c.Service] && !opts.RemoveOrphans {
			p.Notes = append(p.Notes, fmt.Sprintf("orphan container %s of service %s kept (--remove-orphans removes it)", c.Name, c.Service))
			continue
		}
		p.Ops = append(p.Ops, Op{Action: ActionRemove, Resource: resource(c.Service, c.Number), Service: c.Service, Number: c.Number, Container: c.ID})
	}
	for _, c := range observed.OneOffs {
		p.Ops = append(p.Ops, Op{Action: ActionRemove, Resource: "service:" + c.Service + ":" + c.Name, Service: c.Service, Container: c.ID, Name: c.Name, Cause: "one-off"})
	}
	for _, n := range desired.Networks {
		if observed.Networks[n.Name] && !n.External {
			p.Ops = append(p.Ops, Op{Action: ActionRemoveNetwork, Resource: "network:" + n.Name, Name: n.Name})
		}
	}
	if opts.RemoveVolumes {
		for _, v := range desired.Volumes {
			if observed.Volumes[v.Name] && !v.External {
				p.Ops = append(p.Ops, Op{Action: ActionRemoveVolume, Resource: "volume:" + v.Name, Name: v.Name})
			}
		}
	}
	for _, ref := range opts.RemoveImages {
		p.Ops = append(p.Ops, Op{Action: ActionRemoveImage, Resource: "image:" + ref, Name: ref, BestEffort: true})
	}
	return p
}

func resource(service string, n int) string { return fmt.Sprintf("service:%s:%d", service, n) }

// checkGraph rejects depends_on entries that name unknown services or form a cycle. The
// stack-file validator reports these with file positions first; this guards the executor,
// which would otherwise wait forever.
func checkGraph(d *Desired) error {
	byName := map[string]*DesiredService{}
	for _, s := range d.Services {
		byName[s.Name] = s
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(name string) error
	visit = func(name string) error {
		switch state[name] {
		case visiting:
			i := 0
			for path[i] != name {
				i++
			}
			return fmt.Errorf("%w: %s", ErrCycle, strings.Join(append(path[i:], name), " -> "))
		case done:
			return nil
		}
		state[name] = visiting
		path = append(path, name)
		for _, dep := range byName[name].DependsOn {
			if byName[dep.Service] == nil {
				if dep.Required {
					return fmt.Errorf("%w: service %s depends on %s, which is not in the stack (or not in an enabled profile)", ErrUnknownDependency, name, dep.Service)
				}
				continue
			}
			if err := visit(dep.Service); err != nil {
				return err
			}
		}
		path = path[:len(path)-1]
		state[name] = done
		return nil
	}
	for _, s := range d.Services {
		if err := visit(s.Name); err != nil {
			return err
		}
	}
	return nil
}
