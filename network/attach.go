package network

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/stackhq/stack/runtime"
)

// DefaultNetwork is the network of a `stack container run` without --network, created on
// first use (Docker's "bridge", Podman's "podman"), without a DNS server as theirs: its
// containers use the host's resolvers. NoNetwork leaves a container with lo only.
const (
	DefaultNetwork = "stack"
	NoNetwork      = "none"
)

// defaultNetworkConfig makes DefaultNetwork on first use. It goes a few seconds after its
// last container (AutoRemove), so no bridge or rule outlives the containers that needed it
// for long, even when their store root is deleted afterwards (see reaper.go), and it has no
// DNS server (DisableDNS).
var defaultNetworkConfig = Config{Name: DefaultNetwork, AutoRemove: true, DisableDNS: true}

// PublishAllPort, as a runtime.PortMapping's ContainerPort, stands for every port the
// image exposes, each on a free host port (-P); the image's ports are known once the
// container exists, so Attach expands it.
const PublishAllPort = 0

// Attacher connects containers to networks for the runtime (runtime.NetworkAttacher).
type Attacher struct {
	Networks *Manager
	// Prepare, when set, runs first in Attach, once per container: the rootfs is mounted and
	// nothing runs yet (the volume store fills empty volumes from the image here).
	Prepare func(c *runtime.Container) error
}

var _ runtime.NetworkAttacher = (*Attacher)(nil)

// Attach runs at a container's first start, after its network namespace is pinned and
// before its process starts, in this order:
//
//  1. Prepare (volumes);
//  2. connect to each of c.Spec.Networks (DefaultNetwork is created on demand, others must
//     exist; NoNetwork skips): aliases are the requested ones plus the container name, the
//     DNS hostname the container's hostname; a requested IPv4 must be granted exactly;
//  3. publish c.Spec.Ports on the first network's address (PublishAllPort expands to the
//     image's exposed ports);
//  4. write resolv.conf (the DNS servers of the networks that have one; on networks without,
//     the runtime's copy of the host's stays) and add the container's address to
//     /etc/hosts.
//
// c.Networks and c.Ports record the result; on error everything done is undone.
func (a *Attacher) Attach(ctx context.Context, c *runtime.Container, netnsPath string) (retErr error) {
	if a.Prepare != nil {
		if err := a.Prepare(c); err != nil {
			return err
		}
	}
	defer func() {
		if retErr != nil {
			_ = a.Detach(context.WithoutCancel(ctx), c)
			c.Networks, c.Ports = nil, nil
		}
	}()
	hostname := containerHostname(c)
	var dnsServers []netip.Addr // the gateways of the networks with a DNS server
	var first *Endpoint
	for _, att := range c.Spec.Networks {
		if att.Name == NoNetwork {
			continue
		}
		n, err := a.Networks.Get(att.Name)
		if errors.Is(err, ErrNotFound) && att.Name == DefaultNetwork {
			n, err = a.Networks.Ensure(ctx, defaultNetworkConfig)
		}
		if err != nil {
			return err
		}
		opts := ConnectOptions{Aliases: append(append([]string{}, att.Aliases...), c.Name), Hostname: hostname}
		if att.IPv4 != "" {
			if opts.PreferIP, err = netip.ParseAddr(att.IPv4); err != nil {
				return fmt.Errorf("network %s: address %q: %w", att.Name, att.IPv4, ErrInvalid)
			}
		} else if prefer, err := netip.ParseAddr(att.PreferIPv4); err == nil {
			opts.PreferIP = prefer
		}
		if c.Networks == nil {
			c.Networks = map[string]runtime.EndpointState{}
		}
		// Record before connecting, so Detach on error covers a half-made endpoint.
		c.Networks[att.Name] = runtime.EndpointState{NetworkID: n.Name}
		e, err := a.Networks.Connect(ctx, att.Name, c.ID, netnsPath, opts)
		if errors.Is(err, ErrNotFound) && att.Name == DefaultNetwork {
			// Its reaper removed the idle default network since Get: make it again.
			if n, err = a.Networks.Ensure(ctx, defaultNetworkConfig); err == nil {
				e, err = a.Networks.Connect(ctx, att.Name, c.ID, netnsPath, opts)
			}
		}
		if err != nil {
			return err
		}
		if att.IPv4 != "" && e.IP != opts.PreferIP {
			return fmt.Errorf("network %s: address %s is taken: %w", att.Name, opts.PreferIP, ErrInUse)
		}
		ip4 := e.IP.As4()
		c.Networks[att.Name] = runtime.EndpointState{
			NetworkID: n.Name, IPAddress: e.IP.String(), IPPrefixLen: n.Subnet.Bits(), Gateway: n.Gateway.String(),
			MacAddress: fmt.Sprintf("02:53:%02x:%02x:%02x:%02x", ip4[0], ip4[1], ip4[2], ip4[3]), Aliases: e.Aliases,
		}
		if n.DNSEnabled {
			dnsServers = append(dnsServers, n.Gateway)
		}
		if first == nil {
			first = e
		}
	}
	if len(c.Spec.Ports) > 0 {
		if first == nil {
			return fmt.Errorf("publish ports of %s: the container is on no network: %w", c.Name, ErrInvalid)
		}
		ports, err := expandPorts(c)
		if err != nil {
			return err
		}
		got, err := a.Networks.Publish(ctx, c.ID, first.IP, ports)
		if err != nil {
			return err
		}
		for _, p := range got {
			pm := runtime.PortMapping{HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: p.Protocol}
			if p.HostIP.IsValid() {
				pm.HostIP = p.HostIP.String()
			}
			c.Ports = append(c.Ports, pm)
		}
	}
	if first == nil {
		return nil
	}
	if len(dnsServers) > 0 {
		resolv, err := ResolvConf(dnsServers, "/etc/resolv.conf")
		if err != nil {
			return err
		}
		if err := os.WriteFile(c.ResolvConfPath(), resolv, 0o644); err != nil {
			return fmt.Errorf("write resolv.conf of %s: %w", c.Name, err)
		}
	}
	f, err := os.OpenFile(c.HostsPath(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("write hosts of %s: %w", c.Name, err)
	}
	_, err = fmt.Fprintf(f, "%s\t%s\n", first.IP, hostname)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write hosts of %s: %w", c.Name, err)
	}
	return nil
}

// Detach unpublishes the container's ports and disconnects it from its networks: those
// recorded in c.Networks and those its spec asks for, because a start killed during Attach
// leaves endpoints in the network store that the container's saved state does not record.
func (a *Attacher) Detach(ctx context.Context, c *runtime.Container) error {
	errs := []error{a.Networks.Unpublish(ctx, c.ID)}
	names := map[string]bool{}
	for name := range c.Networks {
		names[name] = true
	}
	for _, att := range c.Spec.Networks {
		names[att.Name] = att.Name != NoNetwork
	}
	for name, connected := range names {
		if !connected {
			continue
		}
		if err := a.Networks.Disconnect(ctx, name, c.ID); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// expandPorts converts the spec's mappings, expanding PublishAllPort to the image's
// exposed ports ("80/tcp", "53/udp", "8080").
func expandPorts(c *runtime.Container) ([]Port, error) {
	var out []Port
	for _, pm := range c.Spec.Ports {
		var hostIP netip.Addr
		if pm.HostIP != "" {
			var err error
			if hostIP, err = netip.ParseAddr(pm.HostIP); err != nil {
				return nil, fmt.Errorf("publish port %d: host address %q: %w", pm.ContainerPort, pm.HostIP, ErrInvalid)
			}
		}
		if pm.ContainerPort != PublishAllPort {
			out = append(out, Port{HostIP: hostIP, HostPort: pm.HostPort, ContainerPort: pm.ContainerPort, Protocol: pm.Protocol})
			continue
		}
		for _, exp := range c.Image.ExposedPorts {
			num, proto, _ := strings.Cut(exp, "/")
			n, err := strconv.ParseUint(num, 10, 16)
			if err != nil || n == 0 {
				return nil, fmt.Errorf("image exposes port %q: %w", exp, ErrInvalid)
			}
			out = append(out, Port{HostIP: hostIP, ContainerPort: uint16(n), Protocol: proto})
		}
	}
	return out, nil
}

// containerHostname is the hostname the runtime gave the container (its hostname file), or
// the short ID it defaults to.
func containerHostname(c *runtime.Container) string {
	if b, err := os.ReadFile(c.HostnamePath()); err == nil && strings.TrimSpace(string(b)) != "" {
		return strings.TrimSpace(string(b))
	}
	if c.Spec.Hostname != "" {
		return c.Spec.Hostname
	}
	return shortID(c.ID)
}
