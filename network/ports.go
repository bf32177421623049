package network

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Published ports are DNAT rules (nft.go), not a userland proxy: the kernel forwards the
// packets, so a bulk transfer through a published port runs at nearly the speed of one to
// the container's address (bench/network measures both in one run), and the container sees
// the client's real source address for traffic from outside. 127.0.0.1 works through the
// output chain plus route_localnet on the bridge and a masquerade of 127.0.0.0/8 sources.
// The cost: no socket holds the host port, so Publish checks that nothing listens there when
// it publishes, and a program that binds the port later is shadowed for the published
// addresses.

// Port is one published port.
type Port struct {
	// HostIP restricts the mapping to one host address; the zero value means all of them.
	HostIP netip.Addr `json:"hostIP,omitzero"`
	// HostPort 0 asks Publish for a free ephemeral port.
	HostPort      uint16 `json:"hostPort"`
	ContainerPort uint16 `json:"containerPort"`
	// Protocol is "tcp" (the default for "") or "udp".
	Protocol string `json:"protocol"`
}

// String formats p as `docker port` does: "80/tcp -> 0.0.0.0:8080".
func (p Port) String() string {
	ip := "0.0.0.0"
	if p.HostIP.IsValid() {
		ip = p.HostIP.String()
	}
	return fmt.Sprintf("%d/%s -> %s", p.ContainerPort, p.Protocol, net.JoinHostPort(ip, strconv.Itoa(int(p.HostPort))))
}

// overlaps reports whether p and q would claim the same host port.
func (p Port) overlaps(q Port) bool {
	if p.Protocol != q.Protocol || p.HostPort != q.HostPort {
		return false
	}
	any := func(a netip.Addr) bool { return !a.IsValid() || a.IsUnspecified() }
	return any(p.HostIP) || any(q.HostIP) || p.HostIP == q.HostIP
}

// Publish forwards each port to the container at ip and returns them with ephemeral host
// ports filled in. Every port is checked before anything is recorded: against the store's
// other published ports and against sockets on the host, so a conflict leaves nothing
// behind and names the port and, when it can be found, what holds it (ErrPortInUse).
// Publishing more ports for a container adds to the ones it has.
func (m *Manager) Publish(ctx context.Context, containerID string, ip netip.Addr, ports []Port) ([]Port, error) {
	if !ip.Is4() {
		return nil, fmt.Errorf("publish ports of %s: container address %v: %w", containerID, ip, ErrInvalid)
	}
	unlock, err := m.st.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	all, err := m.st.loadPorts()
	if err != nil {
		return nil, err
	}
	set := all[containerID]
	if set.IP.IsValid() && set.IP != ip {
		set.Ports = nil // the container has a new address: its old mappings are stale
	}
	taken := func(p Port) string {
		for id, s := range all {
			for _, q := range s.Ports {
				if id != containerID && q.overlaps(p) {
					return "container " + shortID(id)
				}
			}
		}
		for _, q := range set.Ports {
			if q.overlaps(p) {
				return "this container"
			}
		}
		return ""
	}
	out := make([]Port, 0, len(ports))
	for _, p := range ports {
		if p.Protocol == "" {
			p.Protocol = "tcp"
		}
		if p.Protocol != "tcp" && p.Protocol != "udp" {
			return nil, fmt.Errorf("publish port %d: protocol %q: %w", p.ContainerPort, p.Protocol, ErrInvalid)
		}
		if p.ContainerPort == 0 {
			return nil, fmt.Errorf("publish port: container port 0: %w", ErrInvalid)
		}
		if p.HostIP.IsValid() && !p.HostIP.Is4() {
			return nil, fmt.Errorf("publish port %d: host address %s is not IPv4: %w", p.ContainerPort, p.HostIP, ErrInvalid)
		}
		if p.HostPort == 0 {
			if p.HostPort, err = ephemeralPort(p, func(q Port) bool { return taken(q) != "" }); err != nil {
				return nil, err
			}
		} else {
			if who := taken(p); who != "" {
				return nil, fmt.Errorf("publish %s: host port %d/%s is published by %s: %w", p, p.HostPort, p.Protocol, who, ErrPortInUse)
			}
			if err := checkBindable(p); err != nil {
				return nil, err
			}
		}
		set.Ports = append(set.Ports, p)
		out = append(out, p)
	}
	set.IP = ip
	all[containerID] = set
	if err := m.st.savePorts(all); err != nil {
		return nil, err
	}
	if err := m.syncAll(); err != nil {
		set.Ports = set.Ports[:len(set.Ports)-len(out)]
		if len(set.Ports) == 0 {
			delete(all, containerID)
		} else {
			all[containerID] = set
		}
		_ = m.st.savePorts(all)
		_ = m.syncAll()
		return nil, fmt.Errorf("publish ports of %s: %w", containerID, err)
	}
	return out, nil
}

// Unpublish removes every published port of the container. A container without any (most
// of them) is told from the file alone, without the store lock: removing a stack's
// containers together should not queue them behind one another for nothing.
func (m *Manager) Unpublish(ctx context.Context, containerID string) error {
	if all, err := m.st.loadPorts(); err == nil {
		if _, ok := all[containerID]; !ok {
			return nil
		}
	}
	unlock, err := m.st.lock()
	if err != nil {
		return err
	}
	defer unlock()
	all, err := m.st.loadPorts()
	if err != nil {
		return err
	}
	if _, ok := all[containerID]; !ok {
		return nil
	}
	delete(all, containerID)
	if err := m.st.savePorts(all); err != nil {
		return err
	}
	return m.syncAll()
}

// Ports returns the published ports of a container.
func (m *Manager) Ports(containerID string) ([]Port, error) {
	all, err := m.st.loadPorts()
	if err != nil {
		return nil, err
	}
	return all[containerID].Ports, nil
}

func listenAddr(p Port) string {
	ip := "0.0.0.0"
	if p.HostIP.IsValid() {
		ip = p.HostIP.String()
	}
	return net.JoinHostPort(ip, strconv.Itoa(int(p.HostPort)))
}

// checkBindable binds the host port for a moment: if that fails, someone holds it.
func checkBindable(p Port) error {
	var err error
	if p.Protocol == "udp" {
		var c net.PacketConn
		if c, err = net.ListenPacket("udp4", listenAddr(p)); err == nil {
			return c.Close()
		}
	} else {
		var l net.Listener
		if l, err = net.Listen("tcp4", listenAddr(p)); err == nil {
			return l.Close()
		}
	}
	if errors.Is(err, unix.EADDRINUSE) {
		holder := ""
		if h := portHolder(p); h != "" {
			holder = " by " + h
		}
		return fmt.Errorf("publish %s: host port %d/%s is in use%s: %w", p, p.HostPort, p.Protocol, holder, ErrPortInUse)
	}
	return fmt.Errorf("publish %s: bind %s/%s: %w", p, listenAddr(p), p.Protocol, err)
}

// ephemeralPort asks the kernel for a free port (bind to port 0), skipping ports the store
// has published already.
func ephemeralPort(p Port, published func(Port) bool) (uint16, error) {
	for range 64 {
		var port int
		if p.Protocol == "udp" {
			c, err := net.ListenPacket("udp4", listenAddr(p))
			if err != nil {
				return 0, fmt.Errorf("choose a host port for %d/udp: %w", p.ContainerPort, err)
			}
			port = c.LocalAddr().(*net.UDPAddr).Port
			c.Close()
		} else {
			l, err := net.Listen("tcp4", listenAddr(p))
			if err != nil {
				return 0, fmt.Errorf("choose a host port for %d/tcp: %w", p.ContainerPort, err)
			}
			port = l.Addr().(*net.TCPAddr).Port
			l.Close()
		}
		q := p
		q.HostPort = uint16(port)
		if !published(q) {
			return q.HostPort, nil
		}
	}
	return 0, fmt.Errorf("choose a host port for %d/%s: %w", p.ContainerPort, p.Protocol, ErrExhausted)
}

// portHolder names the process holding a host port ("pid 123 (nginx)"), from the socket
// tables in /proc/net and the fd links of every process; "" when it cannot tell.
func portHolder(p Port) string {
	inodes := map[string]bool{}
	f, err := os.Open("/proc/net/" + p.Protocol)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	suffix := fmt.Sprintf(":%04X", p.HostPort)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// sl local_address rem_address st tx:rx tr:tm retrnsmt uid timeout inode
		if len(fields) > 9 && strings.HasSuffix(fields[1], suffix) && (p.Protocol == "udp" || fields[3] == "0A") {
			inodes["socket:["+fields[9]+"]"] = true
		}
	}
	if len(inodes) == 0 {
		return ""
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range procs {
		if target, err := os.Readlink(fd); err == nil && inodes[target] {
			pid := strings.Split(fd, "/")[2]
			comm, _ := os.ReadFile("/proc/" + pid + "/comm")
			return fmt.Sprintf("pid %s (%s)", pid, strings.TrimSpace(string(comm)))
		}
	}
	return ""
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
