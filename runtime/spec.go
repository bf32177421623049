package runtime

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Spec is what a container is made from: the CLI's flags and the stack file's service both
// reduce to it. Zero values mean "the image's" or Docker's default.
type Spec struct {
	Name   string            // user-given name; empty generates a docker-style one
	Image  string            // image reference, resolved through the image store at Create
	Labels map[string]string // free-form; the reconciler keeps project/service/hash here

	// Entrypoint and Cmd override the image's when non-nil; a non-nil empty Entrypoint
	// resets the image's entrypoint (docker's --entrypoint "").
	Entrypoint []string
	Cmd        []string
	Env        []string // KEY=VALUE, merged over the image's
	WorkingDir string   // created in the rootfs if missing
	User       string   // uid, uid:gid, name or name:group (from the image's /etc/passwd, /etc/group)
	Hostname   string   // default: the first 12 hex digits of the ID
	Domainname string

	Tty        bool // a pseudo-terminal as stdin/stdout/stderr
	OpenStdin  bool // keep stdin open for attach (-i)
	Init       bool // a tiny reaper as PID 1 (--init)
	ReadOnly   bool // read-only root filesystem
	Privileged bool // all capabilities, no seccomp, writable /sys and /proc/sys
	AutoRemove bool // remove the container when it exits (--rm)

	CapAdd      []string // capability names, with or without CAP_, or ALL
	CapDrop     []string
	SecurityOpt []string // no-new-privileges[:true|false], seccomp=unconfined|builtin|<profile JSON>

	Memory     int64   // bytes; 0 = unlimited
	CPUs       float64 // CPU quota in cores; 0 = unlimited
	PidsLimit  int64   // 0 = unlimited
	Ulimits    []Ulimit
	Sysctls    map[string]string // namespaced sysctls only
	ExtraHosts []string          // host:ip lines added to /etc/hosts

	Restart     RestartPolicy
	StopSignal  string         // default: the image's, else SIGTERM
	StopTimeout *time.Duration // default 10 s
	Healthcheck *Healthcheck   // nil = the image's

	Mounts   []Mount             // resolved binds and tmpfs (volumes are resolved by the caller)
	Networks []NetworkAttachment // data for the NetworkAttacher
	Ports    []PortMapping       // data for the NetworkAttacher
}

// Ulimit is one resource limit (ulimits: nofile: {soft, hard}).
type Ulimit struct {
	Name string // nofile, nproc, core, ... (without RLIMIT_)
	Soft int64
	Hard int64
}

// RestartPolicy says what the monitor does when the container's process exits.
//
//	Name            restarts after exit code      after `stop`   after a host reboot
//	no / ""         never                         -              -
//	on-failure      != 0, at most MaxRetries (0=∞) no            no
//	always          any                           no             (by the next `up`)
//	unless-stopped  any                           no             (by the next `up`)
type RestartPolicy struct {
	Name       string
	MaxRetries int
}

// Healthcheck runs Test inside the container every Interval (StartInterval during
// StartPeriod); Retries consecutive failures make the container unhealthy.
type Healthcheck struct {
	Test          []string // ["CMD", args...], ["CMD-SHELL", cmd], ["NONE"]
	Interval      time.Duration
	Timeout       time.Duration
	StartPeriod   time.Duration
	StartInterval time.Duration
	Retries       int
}

// Mount is a resolved mount: the volume package turns named and anonymous volumes into binds.
type Mount struct {
	Type      string // "bind" or "tmpfs"
	Source    string // host path (bind)
	Target    string // path inside the container, resolved inside the rootfs
	ReadOnly  bool
	TmpfsSize int64       // bytes; 0 = kernel default
	TmpfsMode os.FileMode // 0 = 1777
	Options   []string    // extra mount options: nosuid, nodev, noexec, rprivate, ...
}

// NetworkAttachment asks the NetworkAttacher to connect the container to a network.
type NetworkAttachment struct {
	Name    string
	Aliases []string
	IPv4    string // static address; empty = allocated
	// PreferIPv4 is the address to take when it is free, else any (a recreated
	// container keeps its predecessor's address, so clients that resolved it once go on
	// working).
	PreferIPv4 string `json:",omitempty"`
}

// PortMapping publishes ContainerPort on the host. HostPort 0 = a free port (-P).
type PortMapping struct {
	HostIP        string `json:",omitempty"`
	HostPort      uint16
	ContainerPort uint16
	Protocol      string // tcp (default) or udp
}

// EndpointState is what the NetworkAttacher reports for one network.
type EndpointState struct {
	NetworkID   string   `json:",omitempty"`
	IPAddress   string   `json:",omitempty"`
	IPPrefixLen int      `json:",omitempty"`
	Gateway     string   `json:",omitempty"`
	MacAddress  string   `json:",omitempty"`
	Aliases     []string `json:",omitempty"`
}

// validate checks what can be checked without the image; every problem wraps ErrInvalidSpec.
func (s *Spec) validate() error {
	if s.Name != "" && !validName(s.Name) {
		return fmt.Errorf("%w: name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", ErrInvalidSpec, s.Name)
	}
	if s.Image == "" {
		return fmt.Errorf("%w: no image", ErrInvalidSpec)
	}
	switch s.Restart.Name {
	case "", "no", "always", "unless-stopped", "on-failure":
	default:
		return fmt.Errorf("%w: restart policy %q: want no, always, unless-stopped or on-failure[:N]", ErrInvalidSpec, s.Restart.Name)
	}
	if s.Restart.MaxRetries < 0 || (s.Restart.MaxRetries > 0 && s.Restart.Name != "on-failure") {
		return fmt.Errorf("%w: restart max retries %d: only on-failure takes a positive count", ErrInvalidSpec, s.Restart.MaxRetries)
	}
	if s.Restart.Name != "" && s.Restart.Name != "no" && s.AutoRemove {
		return fmt.Errorf("%w: --rm and a restart policy %q are incompatible", ErrInvalidSpec, s.Restart.Name)
	}
	if s.Memory < 0 || s.CPUs < 0 || s.PidsLimit < 0 {
		return fmt.Errorf("%w: negative resource limit", ErrInvalidSpec)
	}
	if s.Memory > 0 && s.Memory < 6<<20 {
		return fmt.Errorf("%w: memory limit %d bytes: the minimum is 6 MiB", ErrInvalidSpec, s.Memory)
	}
	for k := range s.Sysctls {
		if !namespacedSysctl(k) {
			return fmt.Errorf("%w: sysctl %q is not namespaced (allowed: kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, net.*)", ErrInvalidSpec, k)
		}
	}
	for _, u := range s.Ulimits {
		if _, ok := rlimitByName[u.Name]; !ok {
			return fmt.Errorf("%w: ulimit %q unknown", ErrInvalidSpec, u.Name)
		}
		if u.Soft > u.Hard {
			return fmt.Errorf("%w: ulimit %s: soft %d above hard %d", ErrInvalidSpec, u.Name, u.Soft, u.Hard)
		}
	}
	caps, err := capabilitySet(s.CapAdd, s.CapDrop, s.Privileged)
	if err != nil {
		return err
	}
	sec, err := securityOpts(s.SecurityOpt)
	if err != nil {
		return err
	}
	if sec.seccomp != "" && sec.seccomp != seccompUnconfined {
		// Compiled once now, so that a profile that cannot work refuses the container
		// before it exists rather than failing every start.
		if _, err := seccompFilter(sec.seccomp, caps); err != nil {
			return fmt.Errorf("%w: security-opt: %w", ErrInvalidSpec, err)
		}
	}
	if s.StopSignal != "" {
		if _, err := ParseSignal(s.StopSignal); err != nil {
			return fmt.Errorf("%w: stop signal: %w", ErrInvalidSpec, err)
		}
	}
	for _, h := range s.ExtraHosts {
		if host, ip, ok := strings.Cut(h, ":"); !ok || host == "" || ip == "" {
			return fmt.Errorf("%w: extra host %q: want host:ip", ErrInvalidSpec, h)
		}
	}
	for _, m := range s.Mounts {
		if m.Type != "bind" && m.Type != "tmpfs" {
			return fmt.Errorf("%w: mount %s: type %q: want bind or tmpfs", ErrInvalidSpec, m.Target, m.Type)
		}
		if !strings.HasPrefix(m.Target, "/") {
			return fmt.Errorf("%w: mount target %q is not absolute", ErrInvalidSpec, m.Target)
		}
		if m.Type == "bind" && !strings.HasPrefix(m.Source, "/") {
			return fmt.Errorf("%w: bind source %q is not absolute", ErrInvalidSpec, m.Source)
		}
	}
	return nil
}

// validName is docker's name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]*.
func validName(n string) bool {
	if n == "" || len(n) > 128 {
		return false
	}
	for i, r := range n {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !alnum && (i == 0 || (r != '_' && r != '.' && r != '-')) {
			return false
		}
	}
	return true
}

// namespacedSysctl reports whether a sysctl is per-namespace (IPC, UTS or NET), the only ones
// a container may set: the others would change the host.
func namespacedSysctl(k string) bool {
	return k == "kernel.sem" || strings.HasPrefix(k, "kernel.msg") || strings.HasPrefix(k, "kernel.shm") ||
		strings.HasPrefix(k, "fs.mqueue.") || strings.HasPrefix(k, "net.")
}

// ParseRestartPolicy parses docker's --restart value: no, always, unless-stopped,
// on-failure[:N].
func ParseRestartPolicy(s string) (RestartPolicy, error) {
	name, n, hasN := strings.Cut(s, ":")
	p := RestartPolicy{Name: name}
	if hasN {
		v, err := strconv.Atoi(n)
		if err != nil || v < 0 || name != "on-failure" {
			return p, fmt.Errorf("%w: restart policy %q: only on-failure takes :N (N ≥ 0)", ErrInvalidSpec, s)
		}
		p.MaxRetries = v
	}
	sp := Spec{Image: "x", Restart: p}
	return p, sp.validate()
}
