package spec

import (
	"os"
	"sort"
	"time"
)

// Project is a loaded, normalized and validated stack: what `stack up` makes real.
// Its YAML form (MarshalYAML) is a valid stack file that loads back to the same project.
type Project struct {
	Name    string   // normalized project name
	WorkDir string   // directory of the first stack file; relative paths are resolved against it
	Files   []string // the stack files read, absolute ("-" for standard input)
	// Services are the active services (profiles, LoadOptions.Services), sorted by name.
	Services []*Service
	// DisabledServices are the services left out by profiles, sorted by name. `stack down`
	// still removes their containers.
	DisabledServices []*Service
	// Volumes are the top-level named volumes by key; Volume.Name is the real name.
	Volumes map[string]*Volume
	// Networks are the top-level networks by key; "default" is always present.
	Networks map[string]*Network
	// Warnings are unsupported keys and unset variables, in file order.
	Warnings []Warning
}

// Service returns the active service called name, or nil.
func (p *Project) Service(name string) *Service {
	i := sort.Search(len(p.Services), func(i int) bool { return p.Services[i].Name >= name })
	if i < len(p.Services) && p.Services[i].Name == name {
		return p.Services[i]
	}
	return nil
}

// ServiceNames returns the names of the active services, sorted.
func (p *Project) ServiceNames() []string {
	names := make([]string, len(p.Services))
	for i, s := range p.Services {
		names[i] = s.Name
	}
	return names
}

// Service is one service of the stack in canonical form: every default applied, ports and
// mounts in long form, paths absolute, sizes in bytes, durations parsed.
type Service struct {
	Name  string `yaml:"-" json:"-"`
	Image string `yaml:"image,omitempty" json:"image,omitempty"` // for a build-only service: the tag the build produces, "<project>-<service>"
	Build *Build `yaml:"build,omitempty" json:"build,omitempty"`
	// Entrypoint and Command are nil when not set (the image's default applies) and empty
	// when set to [] or "" (the image's default is cleared). A string in the file is split
	// into words as a POSIX shell would, without running a shell (compose's behaviour).
	Entrypoint []string `yaml:"-" json:"-"`
	Command    []string `yaml:"-" json:"-"`
	// Environment is the resolved environment: env_file values overridden by environment,
	// variables given without a value taken from the shell (left out when unset there).
	Environment map[string]string `yaml:"environment,omitempty" json:"environment,omitempty"`
	Ports       []Port            `yaml:"ports,omitempty" json:"ports,omitempty"`   // one entry per port (ranges expanded)
	Expose      []Port            `yaml:"expose,omitempty" json:"expose,omitempty"` // Published is always 0
	// Volumes are the service's mounts: volumes and tmpfs entries, in file order.
	Volumes     []Mount               `yaml:"volumes,omitempty" json:"volumes,omitempty"`
	DependsOn   map[string]Dependency `yaml:"depends_on,omitempty" json:"depends_on,omitempty"`
	Healthcheck *Healthcheck          `yaml:"-" json:"-"`
	Restart     string                `yaml:"-" json:"-"` // "no", "always", "on-failure" or "unless-stopped"
	// RestartMaxRetries limits "on-failure" restarts (on-failure:N); 0 means no limit.
	RestartMaxRetries int                        `yaml:"-" json:"-"`
	Scale             int                        `yaml:"scale" json:"scale"` // replicas: scale or deploy.replicas, default 1
	ContainerName     string                     `yaml:"container_name,omitempty" json:"container_name,omitempty"`
	Hostname          string                     `yaml:"hostname,omitempty" json:"hostname,omitempty"`
	User              string                     `yaml:"user,omitempty" json:"user,omitempty"`
	WorkingDir        string                     `yaml:"working_dir,omitempty" json:"working_dir,omitempty"`
	StopSignal        string                     `yaml:"stop_signal,omitempty" json:"stop_signal,omitempty"` // canonical name, e.g. SIGTERM
	StopGracePeriod   *time.Duration             `yaml:"-" json:"-"`                                         // nil: the default (10 s)
	Labels            map[string]string          `yaml:"labels,omitempty" json:"labels,omitempty"`
	Init              *bool                      `yaml:"init,omitempty" json:"init,omitempty"`
	ReadOnly          bool                       `yaml:"read_only,omitempty" json:"read_only,omitempty"`
	CapAdd            []string                   `yaml:"cap_add,omitempty" json:"cap_add,omitempty"`       // CAP_* names, or ALL
	CapDrop           []string                   `yaml:"cap_drop,omitempty" json:"cap_drop,omitempty"`     // CAP_* names, or ALL
	MemLimit          int64                      `yaml:"mem_limit,omitempty" json:"mem_limit,omitempty"`   // bytes; 0 = no limit
	CPUs              float64                    `yaml:"cpus,omitempty" json:"cpus,omitempty"`             // 0 = no limit
	PidsLimit         int64                      `yaml:"pids_limit,omitempty" json:"pids_limit,omitempty"` // 0 = not set, -1 = unlimited
	Networks          map[string]*ServiceNetwork `yaml:"networks,omitempty" json:"networks,omitempty"`     // by network key; "default" when none given
	Profiles          []string                   `yaml:"profiles,omitempty" json:"profiles,omitempty"`
	ExtraHosts        []string                   `yaml:"extra_hosts,omitempty" json:"extra_hosts,omitempty"` // "host:ip", split at the first colon
	Ulimits           map[string]Ulimit          `yaml:"ulimits,omitempty" json:"ulimits,omitempty"`
	Sysctls           map[string]string          `yaml:"sysctls,omitempty" json:"sysctls,omitempty"`
	SecurityOpt       []string                   `yaml:"security_opt,omitempty" json:"security_opt,omitempty"`
	Privileged        bool                       `yaml:"privileged,omitempty" json:"privileged,omitempty"`
	Tty               bool                       `yaml:"tty,omitempty" json:"tty,omitempty"`
	StdinOpen         bool                       `yaml:"stdin_open,omitempty" json:"stdin_open,omitempty"`
	// Pos is where the service is declared (its key in the first file that names it).
	Pos Position `yaml:"-" json:"-"`
}

// Env returns the resolved environment as sorted "KEY=VALUE" strings.
func (s *Service) Env() []string {
	env := make([]string, 0, len(s.Environment))
	for k, v := range s.Environment {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// Build says how to build a service's image from a Dockerfile.
type Build struct {
	Context    string            `yaml:"context" json:"context"`       // absolute directory
	Dockerfile string            `yaml:"dockerfile" json:"dockerfile"` // relative to Context (or absolute); default "Dockerfile"
	Args       map[string]string `yaml:"args,omitempty" json:"args,omitempty"`
	Target     string            `yaml:"target,omitempty" json:"target,omitempty"`
}

// Port is a published or exposed container port, one port per entry.
type Port struct {
	Target    uint16 `yaml:"target" json:"target"`                           // container port
	Published uint16 `yaml:"published,omitempty" json:"published,omitempty"` // host port; 0 = ephemeral (or not published, in Expose)
	HostIP    string `yaml:"host_ip,omitempty" json:"host_ip,omitempty"`     // "" = all addresses
	Protocol  string `yaml:"protocol" json:"protocol"`                       // "tcp" or "udp"
}

// Mount types.
const (
	MountBind   = "bind"
	MountVolume = "volume"
	MountTmpfs  = "tmpfs"
)

// Mount is one filesystem mounted into a service's containers.
type Mount struct {
	Type string // MountBind, MountVolume or MountTmpfs
	// Source is an absolute host path (bind), the top-level volume key (volume; "" for an
	// anonymous volume), or "" (tmpfs).
	Source   string
	Target   string // absolute path in the container
	ReadOnly bool
	// CreateHostPath asks for a missing bind source directory to be created (the short
	// syntax does this, as in compose; the long syntax only with bind.create_host_path).
	CreateHostPath bool
	TmpfsSize      int64       // bytes; 0 = the kernel's default (half of RAM)
	TmpfsMode      os.FileMode // permission bits; 0 = the default (1777)
}

// Dependency conditions of depends_on.
const (
	ConditionStarted   = "service_started"
	ConditionHealthy   = "service_healthy"
	ConditionCompleted = "service_completed_successfully"
)

// Dependency is one depends_on entry.
type Dependency struct {
	Condition string `yaml:"condition" json:"condition"`                 // ConditionStarted, ConditionHealthy or ConditionCompleted
	Restart   bool   `yaml:"restart,omitempty" json:"restart,omitempty"` // restart this service when the dependency is recreated
	Required  bool   `yaml:"required" json:"required"`                   // false: a missing or failed dependency only warns
}

// Healthcheck is a container health probe. Durations left out in the file get Docker's
// defaults: interval 30s, timeout 30s, start_interval 5s, retries 3.
type Healthcheck struct {
	// Test is ["CMD", arg...], ["CMD-SHELL", command] or ["NONE"]; nil means the image's.
	Test          []string
	Interval      time.Duration
	Timeout       time.Duration
	StartPeriod   time.Duration
	StartInterval time.Duration
	Retries       int
	Disable       bool // no health probe at all (disable: true or test: ["NONE"])
}

// ServiceNetwork is how a service attaches to one network.
type ServiceNetwork struct {
	Aliases     []string `yaml:"aliases,omitempty" json:"aliases,omitempty"`
	IPv4Address string   `yaml:"ipv4_address,omitempty" json:"ipv4_address,omitempty"`
}

// Ulimit is a resource limit (setrlimit); Soft equals Hard when one number is given.
type Ulimit struct {
	Soft int64 `yaml:"soft" json:"soft"`
	Hard int64 `yaml:"hard" json:"hard"`
}

// Volume is a top-level named volume.
type Volume struct {
	Name     string            `yaml:"name" json:"name"`     // real name: "<project>_<key>" unless name: or external
	Driver   string            `yaml:"driver" json:"driver"` // always "local"
	External bool              `yaml:"external,omitempty" json:"external,omitempty"`
	Labels   map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
}

// Network is a top-level network: a bridge shared by the services attached to it.
type Network struct {
	Name     string            `yaml:"name" json:"name"`     // real name: "<project>_<key>" unless name: or external
	Driver   string            `yaml:"driver" json:"driver"` // always "bridge"
	External bool              `yaml:"external,omitempty" json:"external,omitempty"`
	Internal bool              `yaml:"internal,omitempty" json:"internal,omitempty"` // no route out of the bridge
	Labels   map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	IPAM     *IPAM             `yaml:"ipam,omitempty" json:"ipam,omitempty"`
}

// IPAM holds a network's address pools; empty means stack picks a free subnet.
type IPAM struct {
	Config []IPAMPool `yaml:"config" json:"config"`
}

// IPAMPool is one subnet of a network, with an optional gateway address.
type IPAMPool struct {
	Subnet  string `yaml:"subnet" json:"subnet"` // CIDR, canonical (masked)
	Gateway string `yaml:"gateway,omitempty" json:"gateway,omitempty"`
}
