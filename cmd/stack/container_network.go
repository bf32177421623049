package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	"github.com/stackhq/stack/network"
	"github.com/stackhq/stack/runtime"
	"github.com/stackhq/stack/runtime/volume"
)

// netVolOptions are the network and storage flags of `container create` and `run`.
type netVolOptions struct {
	publish    []string
	publishAll bool
	networks   []string
	aliases    []string
	ip         string
	volumes    []string
	mounts     []string
	tmpfs      []string

	volumeNames []string // volumes the spec uses, acquired once the container exists
}

func (o *netVolOptions) bind(f *pflag.FlagSet) {
	f.StringArrayVarP(&o.publish, "publish", "p", nil, "publish [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO] (ranges: 8000-8001:80-81)")
	f.BoolVarP(&o.publishAll, "publish-all", "P", false, "publish every exposed port on a free host port")
	f.StringArrayVar(&o.networks, "network", nil, `connect to a network (repeatable; default "stack", "none" for lo only)`)
	f.StringArrayVar(&o.aliases, "network-alias", nil, "extra DNS name on the (first) network")
	f.StringVar(&o.ip, "ip", "", "IPv4 address on the (first) network")
	f.StringArrayVarP(&o.volumes, "volume", "v", nil, "volume or bind mount [SOURCE:]TARGET[:ro|rw|nocopy]")
	f.StringArrayVar(&o.mounts, "mount", nil, "mount type=bind|volume|tmpfs,source=..,target=..[,readonly]")
	f.StringArrayVar(&o.tmpfs, "tmpfs", nil, "tmpfs mount PATH[:size=64m,mode=1777]")
}

// apply puts networks, ports and mounts into the spec; volumes are created here (their
// names kept for createContainer).
func (o *netVolOptions) apply(s *runtime.Spec) error {
	nets := o.networks
	if len(nets) == 0 {
		nets = []string{network.DefaultNetwork}
	}
	for i, n := range nets {
		att := runtime.NetworkAttachment{Name: n}
		if i == 0 {
			att.Aliases, att.IPv4 = o.aliases, o.ip
		}
		if n == network.NoNetwork && len(nets) > 1 {
			return fmt.Errorf("--network none: cannot be combined with other networks")
		}
		s.Networks = append(s.Networks, att)
	}
	for _, spec := range o.publish {
		ports, err := network.ParsePortSpec(spec)
		if err != nil {
			return fmt.Errorf("--publish: %w", err)
		}
		for _, p := range ports {
			pm := runtime.PortMapping{HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: p.Protocol}
			if p.HostIP.IsValid() {
				pm.HostIP = p.HostIP.String()
			}
			s.Ports = append(s.Ports, pm)
		}
	}
	if o.publishAll {
		s.Ports = append(s.Ports, runtime.PortMapping{ContainerPort: network.PublishAllPort})
	}
	if len(s.Ports) > 0 && nets[0] == network.NoNetwork {
		return fmt.Errorf("--publish: a container with --network none has no port to publish")
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	var mounts []volume.Mount
	for _, v := range o.volumes {
		m, err := volume.ParseVolumeFlag(v, wd)
		if err != nil {
			return fmt.Errorf("--volume: %w", err)
		}
		mounts = append(mounts, m)
	}
	for _, v := range o.mounts {
		m, err := volume.ParseMountFlag(v, wd)
		if err != nil {
			return fmt.Errorf("--mount: %w", err)
		}
		mounts = append(mounts, m)
	}
	for _, v := range o.tmpfs {
		m, err := volume.ParseTmpfsFlag(v)
		if err != nil {
			return fmt.Errorf("--tmpfs: %w", err)
		}
		mounts = append(mounts, m)
	}
	if len(mounts) == 0 {
		return nil
	}
	vols, err := volume.Open(global.root)
	if err != nil {
		return err
	}
	resolved, names, err := vols.Resolve(mounts, nil)
	if err != nil {
		return err
	}
	s.Mounts = append(s.Mounts, resolved...)
	o.volumeNames = names
	return nil
}

// createContainer creates the container and records it as the user of its volumes; if the
// creation fails, the anonymous volumes made for it are removed again.
func createContainer(ctx context.Context, m *runtime.Manager, spec runtime.Spec, volumeNames []string) (*runtime.Container, error) {
	vols, err := volume.Open(global.root)
	if err != nil {
		return nil, err
	}
	c, err := m.Create(ctx, spec)
	if err != nil {
		_ = vols.Forget(volumeNames)
		return nil, startFailure(err)
	}
	for _, name := range volumeNames {
		if _, err := vols.Acquire(name, c.ID, nil); err != nil {
			_ = m.Remove(context.WithoutCancel(ctx), c.ID, runtime.RemoveOptions{Force: true, Volumes: true})
			_ = vols.Release(c.ID, true)
			return nil, err
		}
	}
	return c, nil
}

// releaseContainer is the monitor's Release hook (see main): a container that removes
// itself (--rm) gives back its endpoints, published ports and DNS names, and its volume uses
// (anonymous volumes go with it, as with docker run --rm).
func releaseContainer(ctx context.Context, root string, c *runtime.Container) error {
	nets, err := network.Open(root, runtime.RunDir(root))
	if err != nil {
		return err
	}
	detachErr := (&network.Attacher{Networks: nets}).Detach(ctx, c)
	vols, err := volume.Open(root)
	if err != nil {
		return errors.Join(detachErr, err)
	}
	return errors.Join(detachErr, vols.Release(c.ID, true))
}

// removeContainer removes a container and releases its volumes (anonymous ones are deleted
// with -v, as `docker rm -v` does).
func removeContainer(ctx context.Context, m *runtime.Manager, name string, opts runtime.RemoveOptions) error {
	c, err := m.Get(name)
	if err != nil {
		return err
	}
	if err := m.Remove(ctx, c.ID, opts); err != nil {
		return err
	}
	vols, err := volume.Open(global.root)
	if err != nil {
		return err
	}
	return vols.Release(c.ID, opts.Volumes)
}

// attachNetworking gives the runtime its network attacher: containers are connected at
// their first start, after the volume store filled their volumes from the mounted rootfs.
func attachNetworking(m *runtime.Manager) error {
	nets, err := openNetworks()
	if err != nil {
		return err
	}
	vols, err := volume.Open(global.root)
	if err != nil {
		return err
	}
	m.Network = &network.Attacher{Networks: nets, Prepare: func(c *runtime.Container) error {
		return vols.Fill(filepath.Join(c.Dir(), "rootfs"), c.Spec.Mounts)
	}}
	return nil
}

// sweepStores repairs network and volume state after crashes: endpoints, ports and volume
// users of containers that no longer exist are dropped (volume and network rm/prune run it
// first, so "in use" means used by a container that exists).
func sweepStores(ctx context.Context) error {
	m, err := runtime.New(global.root)
	if err != nil {
		return err
	}
	cs, err := m.List(runtime.ListOptions{All: true})
	if err != nil {
		return err
	}
	alive := map[string]bool{}
	for _, c := range cs {
		alive[c.ID] = true
	}
	isAlive := func(id string) bool { return alive[id] }
	nets, err := openNetworks()
	if err != nil {
		return err
	}
	if err := nets.Sweep(ctx, isAlive); err != nil {
		return err
	}
	vols, err := volume.Open(global.root)
	if err != nil {
		return err
	}
	return vols.Sweep(isAlive)
}

// portMatches reports whether p matches a `container port` filter "PORT[/PROTO]".
func portMatches(p runtime.PortMapping, filter string) bool {
	num, proto, _ := strings.Cut(filter, "/")
	if proto == "" {
		proto = "tcp"
	}
	return num == fmt.Sprint(p.ContainerPort) && proto == p.Protocol
}
