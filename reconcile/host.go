package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stackhq/stack/engine"
	"github.com/stackhq/stack/network"
	"github.com/stackhq/stack/runtime"
	"github.com/stackhq/stack/runtime/image"
	"github.com/stackhq/stack/runtime/volume"
	"github.com/stackhq/stack/spec"
)

// Host is the Driver that acts on this machine: one project's services made real through
// the engine's stores.
type Host struct {
	Engine  *engine.Engine
	Project *spec.Project
	// BuildImage builds a service's image (the Dockerfile builder); nil makes a build
	// operation fail with a clear error.
	BuildImage func(ctx context.Context, s *spec.Service) error
	// PullOptions are used for every pull.
	PullOptions image.PullOptions
	// Poll is how often Wait looks at a container's state (default 50 ms).
	Poll time.Duration
}

var _ Driver = (*Host)(nil)

// Observe reads what runs for the project from the store: its containers (by label), and
// which networks and volumes exist. It is the only step of up/down/diff that reads state.
func Observe(e *engine.Engine, project string) (*Observed, error) {
	cs, err := e.Containers.List(runtime.ListOptions{All: true, Labels: map[string]string{LabelProject: project}})
	if err != nil {
		return nil, fmt.Errorf("observe containers: %w", err)
	}
	o := &Observed{Networks: map[string]bool{}, Volumes: map[string]bool{}}
	for _, c := range cs {
		n, _ := strconv.Atoi(c.Spec.Labels[LabelNumber])
		oc := ObservedContainer{
			ID: c.ID, Name: c.Name, Service: c.Spec.Labels[LabelService], Number: n,
			Hash: c.Spec.Labels[LabelConfigHash], ImageID: c.ImageID,
			State: c.State.Status, ExitCode: c.State.ExitCode,
		}
		if c.Spec.Labels[LabelOneOff] == "true" {
			o.OneOffs = append(o.OneOffs, oc)
			continue
		}
		for name := range c.Networks {
			oc.Networks = append(oc.Networks, name)
		}
		sort.Strings(oc.Networks)
		o.Containers = append(o.Containers, oc)
	}
	nets, err := e.Networks.List()
	if err != nil {
		return nil, fmt.Errorf("observe networks: %w", err)
	}
	for _, n := range nets {
		o.Networks[n.Name] = true
	}
	vols, err := e.Volumes.List()
	if err != nil {
		return nil, fmt.Errorf("observe volumes: %w", err)
	}
	for _, v := range vols {
		o.Volumes[v.Name] = true
	}
	return o, nil
}

// ImageID resolves a reference to the local image's ID, "" when the store has none.
func ImageID(images *image.Store) func(ref string) string {
	return func(ref string) string {
		img, err := images.Get(ref)
		if err != nil {
			return ""
		}
		return img.ID
	}
}

func (h *Host) network(name string) *spec.Network {
	for _, n := range h.Project.Networks {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// CreateNetwork creates one of the project's networks as the stack file declares it.
func (h *Host) CreateNetwork(ctx context.Context, name string) error {
	cfg := network.Config{Name: name, Labels: map[string]string{LabelProject: h.Project.Name}}
	if n := h.network(name); n != nil {
		cfg.Internal = n.Internal
		for k, v := range n.Labels {
			cfg.Labels[k] = v
		}
		if n.IPAM != nil && len(n.IPAM.Config) > 0 {
			cfg.Subnet, cfg.Gateway = n.IPAM.Config[0].Subnet, n.IPAM.Config[0].Gateway
		}
	}
	_, err := h.Engine.Networks.Ensure(ctx, cfg)
	return err
}

// RemoveNetwork removes a project network; one that is already gone is not an error. A
// network still in use is swept and tried once more: a container removed by its own
// monitor (`run --rm`, stopped by down) leaves its endpoint behind until a sweep.
func (h *Host) RemoveNetwork(ctx context.Context, name string) error {
	err := h.Engine.Networks.Remove(ctx, name)
	if errors.Is(err, network.ErrInUse) {
		if err = h.Engine.Sweep(ctx); err == nil {
			err = h.Engine.Networks.Remove(ctx, name)
		}
	}
	if err != nil && !errors.Is(err, network.ErrNotFound) {
		return err
	}
	return nil
}

// CreateVolume creates a named volume, labelled with the project.
func (h *Host) CreateVolume(_ context.Context, name string) error {
	_, err := h.Engine.Volumes.Create(name, map[string]string{LabelProject: h.Project.Name})
	return err
}

// RemoveVolume removes a named volume; one that is already gone is not an error.
func (h *Host) RemoveVolume(_ context.Context, name string) error {
	if err := h.Engine.Volumes.Remove(name); err != nil && !errors.Is(err, volume.ErrNotFound) {
		return err
	}
	return nil
}

// Pull pulls an image from its registry.
func (h *Host) Pull(ctx context.Context, ref string) error {
	_, err := h.Engine.Images.Pull(ctx, ref, h.PullOptions)
	return err
}

// Build builds a service's image.
func (h *Host) Build(ctx context.Context, service string) error {
	s := h.Project.Service(service)
	if s == nil || s.Build == nil {
		return fmt.Errorf("service %s has no build section", service)
	}
	if h.BuildImage == nil {
		return fmt.Errorf("service %s: building images is not available here", service)
	}
	return h.BuildImage(ctx, s)
}

// RemoveImage removes an image reference (down --rmi); an image a container still uses
// (another project's, say) stays.
func (h *Host) RemoveImage(_ context.Context, ref string) error {
	inUse, err := h.Engine.ImagesInUse()
	if err != nil {
		return err
	}
	_, err = h.Engine.Images.Remove(ref, image.RemoveOptions{InUse: inUse})
	if errors.Is(err, image.ErrNotFound) {
		return nil
	}
	return err
}

// CreateContainer creates replica number of service under name, labelled so Observe finds it.
func (h *Host) CreateContainer(ctx context.Context, service string, number int, name string) (string, error) {
	s := h.Project.Service(service)
	if s == nil {
		return "", fmt.Errorf("service %s is not in the stack", service)
	}
	rs, mounts := ContainerSpec(h.Project, s, number)
	rs.Name = name
	// A replica being recreated still runs under its name: ask for its addresses again.
	if old, err := h.Engine.Containers.Get(ContainerName(h.Project, service, number)); err == nil && old.Name != name {
		for i, att := range rs.Networks {
			rs.Networks[i].PreferIPv4 = old.Networks[att.Name].IPAddress
		}
	}
	c, err := h.Engine.Create(ctx, rs, mounts)
	if err != nil {
		return "", err
	}
	return c.ID, nil
}

// RenameContainer gives a container its final name after a recreate.
func (h *Host) RenameContainer(ctx context.Context, id, name string) error {
	return h.Engine.Containers.Rename(ctx, id, name)
}

// StartContainer starts a created or stopped container.
func (h *Host) StartContainer(ctx context.Context, id string) error {
	return h.Engine.Containers.Start(ctx, id)
}

// StopContainer stops a container (the stop signal, then SIGKILL after the timeout); one
// that is not running is left as it is.
func (h *Host) StopContainer(ctx context.Context, id string, timeout *time.Duration) error {
	return h.Engine.Containers.Stop(ctx, id, timeout)
}

// RemoveContainer removes a container with its anonymous volumes.
func (h *Host) RemoveContainer(ctx context.Context, id string) error {
	err := h.Engine.Remove(ctx, id, runtime.RemoveOptions{Force: true, Volumes: true})
	if errors.Is(err, runtime.ErrNotFound) {
		return nil
	}
	return err
}

// Wait polls the container's state until it meets cond or never can.
func (h *Host) Wait(ctx context.Context, id string, cond Condition) error {
	poll := h.Poll
	if poll == 0 {
		poll = 50 * time.Millisecond
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		c, err := h.Engine.Containers.Get(id)
		if err != nil {
			return err
		}
		st := c.State
		switch cond {
		case ConditionStarted, "":
			return nil
		case ConditionHealthy:
			switch {
			case st.Health == "healthy":
				return nil
			case st.Health == "unhealthy":
				return fmt.Errorf("container %s is unhealthy", c.Name)
			case st.Health == "" && c.Running():
				if c.Spec.Healthcheck == nil && c.Image.Healthcheck == nil {
					return nil // --wait on a service without a healthcheck: running is enough
				}
			case !c.Running() && st.Status != runtime.StatusCreated:
				return fmt.Errorf("container %s exited with code %d before it was healthy", c.Name, st.ExitCode)
			}
		case ConditionCompletedSuccessfully:
			if st.Status == runtime.StatusExited || st.Status == runtime.StatusDead {
				if st.ExitCode != 0 {
					return fmt.Errorf("container %s exited with code %d", c.Name, st.ExitCode)
				}
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s to be %s: %w", c.Name, cond, ctx.Err())
		case <-t.C:
		}
	}
}

// ImageID is the ID of the image the store has for ref now, "" when it has none.
func (h *Host) ImageID(ref string) string { return ImageID(h.Engine.Images)(ref) }

// ContainerName is the name replica number of service runs under.
func (h *Host) ContainerName(service string, number int) string {
	return ContainerName(h.Project, service, number)
}

// ContainerSpec translates a service of the stack file into what the runtime creates for
// replica number, plus its mounts before volume resolution.
func ContainerSpec(p *spec.Project, s *spec.Service, number int) (runtime.Spec, []volume.Mount) {
	labels := map[string]string{}
	for k, v := range s.Labels {
		labels[k] = v
	}
	labels[LabelProject] = p.Name
	labels[LabelService] = s.Name
	labels[LabelNumber] = strconv.Itoa(number)
	labels[LabelConfigHash] = s.ConfigHash()
	labels[LabelConfigFiles] = strings.Join(p.Files, ",")
	rs := runtime.Spec{
		Image: s.Image, Labels: labels,
		Entrypoint: s.Entrypoint, Cmd: s.Command, Env: s.Env(),
		WorkingDir: s.WorkingDir, User: s.User, Hostname: s.Hostname,
		Tty: s.Tty, OpenStdin: s.StdinOpen, Init: s.Init != nil && *s.Init,
		ReadOnly: s.ReadOnly, Privileged: s.Privileged,
		CapAdd: s.CapAdd, CapDrop: s.CapDrop, SecurityOpt: s.SecurityOpt,
		Memory: s.MemLimit, CPUs: s.CPUs, PidsLimit: max(s.PidsLimit, 0),
		Sysctls: s.Sysctls, ExtraHosts: s.ExtraHosts,
		Restart:     runtime.RestartPolicy{Name: s.Restart, MaxRetries: s.RestartMaxRetries},
		StopSignal:  s.StopSignal,
		StopTimeout: s.StopGracePeriod,
	}
	for _, name := range sortedKeys(s.Ulimits) {
		u := s.Ulimits[name]
		rs.Ulimits = append(rs.Ulimits, runtime.Ulimit{Name: name, Soft: u.Soft, Hard: u.Hard})
	}
	if hc := s.Healthcheck; hc != nil {
		test := hc.Test
		if hc.Disable {
			test = []string{"NONE"}
		}
		rs.Healthcheck = &runtime.Healthcheck{Test: test, Interval: hc.Interval, Timeout: hc.Timeout,
			StartPeriod: hc.StartPeriod, StartInterval: hc.StartInterval, Retries: hc.Retries}
	}
	for _, key := range sortedKeys(s.Networks) {
		sn := s.Networks[key]
		att := runtime.NetworkAttachment{Name: p.Networks[key].Name, Aliases: []string{s.Name}}
		if sn != nil {
			att.Aliases = append(att.Aliases, sn.Aliases...)
			att.IPv4 = sn.IPv4Address
		}
		rs.Networks = append(rs.Networks, att)
	}
	for _, port := range s.Ports {
		rs.Ports = append(rs.Ports, runtime.PortMapping{HostIP: port.HostIP, HostPort: port.Published, ContainerPort: port.Target, Protocol: port.Protocol})
	}
	var mounts []volume.Mount
	for _, m := range s.Volumes {
		vm := volume.Mount{Type: m.Type, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly,
			CreateHostPath: m.CreateHostPath, TmpfsSize: m.TmpfsSize, TmpfsMode: m.TmpfsMode}
		if m.Type == spec.MountVolume && m.Source != "" {
			vm.Source = p.Volumes[m.Source].Name
		}
		mounts = append(mounts, vm)
	}
	return rs, mounts
}
