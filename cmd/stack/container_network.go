package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"github.com/stackhq/stack/engine"
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

	// parsedMounts are the -v/--mount/--tmpfs mounts; engine.Create resolves the volumes.
	parsedMounts []volume.Mount
}

func (o *netVolOptions) bind(f *pflag.FlagSet) {
	stringArrayVarP(f, &o.publish, "publish", "p", "publish [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO] (ranges: 8000-8001:80-81)")
	f.BoolVarP(&o.publishAll, "publish-all", "P", false, "publish every exposed port on a free host port")
	stringArrayVarP(f, &o.networks, "network", "", `connect to a network (repeatable; default "stack", "none" for lo only)`)
	stringArrayVarP(f, &o.aliases, "network-alias", "", "extra DNS name on the (first) network")
	f.StringVar(&o.ip, "ip", "", "IPv4 address on the (first) network")
	stringArrayVarP(f, &o.volumes, "volume", "v", "volume or bind mount [SOURCE:]TARGET[:ro|rw|nocopy]")
	stringArrayVarP(f, &o.mounts, "mount", "", "mount type=bind|volume|tmpfs,source=..,target=..[,readonly]")
	stringArrayVarP(f, &o.tmpfs, "tmpfs", "", "tmpfs mount PATH[:size=64m,mode=1777]")
}

// apply puts networks and ports into the spec and parses the mounts (kept in parsedMounts
// for engine.Create, which resolves volumes once the container's creation is under way).
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
	o.parsedMounts = mounts
	return nil
}

// createContainer creates the container with its mounts through the engine. No sweep first:
// a --rm container releases its endpoints and volumes itself (the monitor's Release hook),
// and rm, prune and up sweep what a crash left; a sweep here cost ~14 ms per run.
func createContainer(ctx context.Context, e *engine.Engine, spec runtime.Spec, mounts []volume.Mount) (*runtime.Container, error) {
	c, err := e.Create(ctx, spec, mounts)
	if err != nil {
		return nil, startFailure(err)
	}
	return c, nil
}

// portMatches reports whether p matches a `container port` filter "PORT[/PROTO]".
func portMatches(p runtime.PortMapping, filter string) bool {
	num, proto, _ := strings.Cut(filter, "/")
	if proto == "" {
		proto = "tcp"
	}
	return num == fmt.Sprint(p.ContainerPort) && proto == p.Protocol
}
