package network

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Kernel objects and their names. Interface names are at most 15 bytes, so names are
// derived from a hash:
//
//	stk-<8 hex>   bridge of a network        hash(store, network)
//	stkv<8 hex>   host end of a veth pair    hash(store, network, container)
//
// Each host-side link carries an alias (IFLA_IFALIAS) "stack:<store hash>:<network>[:<id>]"
// set in the same RTM_NEWLINK message that creates it, so Sweep recognises exactly the links
// of its own store, even when several stores (test roots) share the host.
const (
	bridgePrefix = "stk-"
	vethPrefix   = "stkv"
)

func shortHash(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:4])
}

// linkAlias returns the alias of a host-side link: the store, the network and, for a veth,
// the container.
func (m *Manager) linkAlias(network, containerID string) string {
	a := "stack:" + m.storeHash + ":" + network
	if containerID != "" {
		a += ":" + containerID
	}
	return a
}

// ensureBridge creates the bridge of n (or adopts it when it exists), gives it the gateway
// address and brings it up. route_localnet lets DNAT send traffic addressed to 127.0.0.1
// out of the bridge (the kernel otherwise drops a loopback source on a non-loopback device
// as martian); postrouting then masquerades it to the gateway address.
func (m *Manager) ensureBridge(n *Network) error {
	link, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) {
			return fmt.Errorf("find bridge %s: %w", n.Bridge, err)
		}
		la := netlink.NewLinkAttrs()
		la.Name = n.Bridge
		la.HardwareAddr = bridgeMAC(n)
		if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: la}); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("create bridge %s: %w", n.Bridge, err)
		}
		if link, err = netlink.LinkByName(n.Bridge); err != nil {
			return fmt.Errorf("find bridge %s: %w", n.Bridge, err)
		}
	}
	// RTM_NEWLINK ignores IFLA_IFALIAS, so the alias is set right after creation; a bridge
	// of our derived name left without it (a crash in between) is ours to adopt.
	if _, ok := link.(*netlink.Bridge); ok && link.Attrs().Alias == "" {
		if err := netlink.LinkSetAlias(link, m.linkAlias(n.Name, "")); err != nil {
			return fmt.Errorf("set alias of %s: %w", n.Bridge, err)
		}
		link.Attrs().Alias = m.linkAlias(n.Name, "")
	}
	if _, ok := link.(*netlink.Bridge); !ok || link.Attrs().Alias != m.linkAlias(n.Name, "") {
		return fmt.Errorf("bridge %s: a %s link of that name belongs to someone else: %w", n.Bridge, link.Type(), ErrExists)
	}
	if mac := bridgeMAC(n); link.Attrs().HardwareAddr.String() != mac.String() {
		if err := netlink.LinkSetHardwareAddr(link, mac); err != nil {
			return fmt.Errorf("set MAC of %s: %w", n.Bridge, err)
		}
	}
	// Every Connect checks the bridge; the checks are reads, so the bridge of a running
	// network costs no write under the kernel's rtnl lock (which veths being made for
	// containers starting at the same time hold).
	addr := &netlink.Addr{IPNet: ipNet(n.Gateway, n.Subnet.Bits())}
	has, err := hasAddr(link, addr)
	if err != nil {
		return err
	}
	if !has {
		if err := netlink.AddrReplace(link, addr); err != nil {
			return fmt.Errorf("add address %s to %s: %w", addr.IPNet, n.Bridge, err)
		}
	}
	if err := writeSysctl("net/ipv4/conf/"+n.Bridge+"/route_localnet", "1"); err != nil {
		return err
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		if err := netlink.LinkSetUp(link); err != nil {
			return fmt.Errorf("set %s up: %w", n.Bridge, err)
		}
	}
	return nil
}

// bridgeMAC is the bridge's fixed MAC address, from the gateway address as containers' are
// from theirs (02:53:<IPv4>). A bridge given no address takes the lowest of its ports' and
// changes it when ports come and go: the containers' ARP caches then point at a gateway MAC
// that no longer exists, and they lose their gateway and DNS server for up to half a minute
// whenever a container of the network is removed (a recreate, a scale down).
func bridgeMAC(n *Network) net.HardwareAddr {
	ip4 := n.Gateway.As4()
	return net.HardwareAddr{0x02, 0x53, ip4[0], ip4[1], ip4[2], ip4[3]}
}

// hasAddr reports whether link has exactly addr (address and prefix length).
func hasAddr(link netlink.Link, addr *netlink.Addr) (bool, error) {
	addrs, err := retryDump(func() ([]netlink.Addr, error) { return netlink.AddrList(link, netlink.FAMILY_V4) })
	if err != nil {
		return false, fmt.Errorf("list addresses of %s: %w", link.Attrs().Name, err)
	}
	for _, a := range addrs {
		if a.IPNet != nil && a.IPNet.String() == addr.IPNet.String() {
			return true, nil
		}
	}
	return false, nil
}

// deleteLink removes a link by name; a link that is already gone is not an error.
func deleteLink(name string) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("find link %s: %w", name, err)
	}
	if err := netlink.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("delete link %s: %w", name, err)
	}
	return nil
}

// createEndpointLinks plugs a container into the bridge, in this order:
//
//  1. create the veth pair in one RTM_NEWLINK: the host end enslaved to the bridge and up,
//     the container end born inside the container's namespace under its final name (ifName)
//     with its MAC derived from its IP (02:53:a.b.c.d, so a recreated container that keeps
//     its address also keeps its MAC and peers' ARP caches stay right). Creating the peer
//     in place, instead of creating it on the host and moving and renaming it, spares the
//     kernel a namespace change (which waits for an RCU grace period under the global
//     rtnl lock that every container starting at the same time needs too);
//  2. label the host end with its alias (the kernel ignores IFLA_IFALIAS on creation) and
//     turn hairpin on, so a container reaches its own published port through the host
//     address;
//  3. inside: add the address, bring the interface up, and add the default route via the
//     gateway unless the network is internal or the namespace already has one (first
//     network wins).
//
// On error the caller deletes the host end, which takes the peer with it wherever it is.
func (m *Manager) createEndpointLinks(n *Network, e *Endpoint, h *netlink.Handle) error {
	br, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		return fmt.Errorf("find bridge %s: %w", n.Bridge, err)
	}
	// The names derive from (store, network, container): a pair of that name is a leftover
	// of an earlier attempt for this very endpoint.
	if err := deleteLink(e.HostVeth); err != nil {
		return err
	}
	ns, err := netns.GetFromPath(e.NetnsPath)
	if err != nil {
		return fmt.Errorf("open netns %s: %w", e.NetnsPath, err)
	}
	defer ns.Close()
	ip4 := e.IP.As4()
	la := netlink.NewLinkAttrs()
	la.Name = e.HostVeth
	la.MasterIndex = br.Attrs().Index
	la.Flags = net.FlagUp
	veth := &netlink.Veth{LinkAttrs: la, PeerName: e.IfName, PeerNamespace: netlink.NsFd(ns),
		PeerHardwareAddr: net.HardwareAddr{0x02, 0x53, ip4[0], ip4[1], ip4[2], ip4[3]}}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth %s/%s in %s: %w", e.HostVeth, e.IfName, e.NetnsPath, err)
	}
	host, err := netlink.LinkByName(e.HostVeth)
	if err != nil {
		return fmt.Errorf("find veth %s: %w", e.HostVeth, err)
	}
	if err := netlink.LinkSetAlias(host, m.linkAlias(n.Name, e.ContainerID)); err != nil {
		return fmt.Errorf("set alias of %s: %w", e.HostVeth, err)
	}
	if err := netlink.LinkSetHairpin(host, true); err != nil {
		return fmt.Errorf("set hairpin on %s: %w", e.HostVeth, err)
	}
	return configureInside(h, n, e)
}

func configureInside(h *netlink.Handle, n *Network, e *Endpoint) error {
	link, err := h.LinkByName(e.IfName)
	if err != nil {
		return fmt.Errorf("find %s in %s: %w", e.IfName, e.NetnsPath, err)
	}
	addr := &netlink.Addr{IPNet: ipNet(e.IP, n.Subnet.Bits())}
	if err := h.AddrAdd(link, addr); err != nil {
		return fmt.Errorf("add address %s to %s in %s: %w", addr.IPNet, e.IfName, e.NetnsPath, err)
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("set %s up in %s: %w", e.IfName, e.NetnsPath, err)
	}
	if n.Internal {
		return nil
	}
	routes, err := h.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("list routes in %s: %w", e.NetnsPath, err)
	}
	for _, r := range routes {
		if r.Dst == nil || r.Dst.IP.IsUnspecified() {
			return nil // another network already gives the default route
		}
	}
	gw := n.Gateway.As4()
	if err := h.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: net.IP(gw[:])}); err != nil {
		return fmt.Errorf("add default route via %s in %s: %w", n.Gateway, e.NetnsPath, err)
	}
	return nil
}

// nextIfName returns the first ethN not present in the namespace of h (at path).
func nextIfName(h *netlink.Handle, path string) (string, error) {
	links, err := h.LinkList()
	if err != nil {
		return "", fmt.Errorf("list links in %s: %w", path, err)
	}
	have := map[string]bool{}
	for _, l := range links {
		have[l.Attrs().Name] = true
	}
	for i := 0; ; i++ {
		if name := fmt.Sprintf("eth%d", i); !have[name] {
			return name, nil
		}
	}
}

// hostPrefixes returns every IPv4 prefix routed on the host, in all routing tables, except
// default routes (a default route covers everything but claims nothing).
func hostPrefixes() ([]netip.Prefix, error) {
	routes, err := retryDump(func() ([]netlink.Route, error) {
		return netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return nil, fmt.Errorf("list host routes: %w", err)
	}
	var out []netip.Prefix
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		a, ok := netip.AddrFromSlice(r.Dst.IP.To4())
		if !ok || ones == 0 {
			continue
		}
		p := netip.PrefixFrom(a, ones).Masked()
		if p.Addr().IsLoopback() || p.Addr().IsMulticast() || p.Addr() == netip.IPv4Unspecified() {
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

// ownLinks returns the host links whose alias marks them as this store's, by name.
func (m *Manager) ownLinks() (map[string]netlink.Link, error) {
	links, err := retryDump(netlink.LinkList)
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	out := map[string]netlink.Link{}
	prefix := "stack:" + m.storeHash + ":"
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Alias, prefix) {
			out[l.Attrs().Name] = l
		}
	}
	return out, nil
}

// retryDump runs a netlink dump again when the kernel says it was interrupted: the host's
// links and routes change under it while other containers start or stop (the dump is then
// incomplete, and vishvananda/netlink returns ErrDumpInterrupted with partial results).
func retryDump[T any](dump func() (T, error)) (T, error) {
	for i := 0; ; i++ {
		v, err := dump()
		if !errors.Is(err, netlink.ErrDumpInterrupted) || i == 9 {
			return v, err
		}
	}
}

func ipNet(a netip.Addr, bits int) *net.IPNet {
	b := a.As4()
	return &net.IPNet{IP: net.IP(b[:]), Mask: net.CIDRMask(bits, 32)}
}

// writeSysctl sets /proc/sys/<key>.
func writeSysctl(key, value string) error {
	path := "/proc/sys/" + key
	if cur, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(cur)) == value {
		return nil
	}
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		return fmt.Errorf("set sysctl %s=%s: %w", key, value, err)
	}
	return nil
}

// nsHandle opens a netlink handle inside the namespace pinned at path.
func nsHandle(path string) (*netlink.Handle, error) {
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("open netns %s: %w", path, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("open netlink in %s: %w", path, err)
	}
	return h, nil
}
