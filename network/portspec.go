package network

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ParsePortSpec parses a `-p` value, Docker's syntax:
//
//	CONTAINER_PORT[/PROTO]                      80, 53/udp        ephemeral host port
//	HOST_PORT:CONTAINER_PORT[/PROTO]            8080:80
//	HOST_IP:HOST_PORT:CONTAINER_PORT[/PROTO]    127.0.0.1:8080:80
//	HOST_IP::CONTAINER_PORT[/PROTO]             127.0.0.1::80     ephemeral, one address
//	ranges                                      8000-8002:80-82, 80-82 (ephemeral each)
//
// A host range must be as long as the container range.
func ParsePortSpec(spec string) ([]Port, error) {
	bad := func(why string) error { return fmt.Errorf("port %q: %s: %w", spec, why, ErrInvalid) }
	rest, proto, _ := strings.Cut(spec, "/")
	switch proto {
	case "":
		proto = "tcp"
	case "tcp", "udp":
	default:
		return nil, bad("protocol must be tcp or udp")
	}
	var hostIP netip.Addr
	var hostPart, ctrPart string
	// An IPv6 host address would need brackets; only IPv4 is published.
	parts := strings.Split(rest, ":")
	switch len(parts) {
	case 1:
		ctrPart = parts[0]
	case 2:
		hostPart, ctrPart = parts[0], parts[1]
	case 3:
		ip, err := netip.ParseAddr(parts[0])
		if err != nil || !ip.Is4() {
			return nil, bad("host address must be IPv4")
		}
		hostIP, hostPart, ctrPart = ip, parts[1], parts[2]
	default:
		return nil, bad("use [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]")
	}
	ctrLo, ctrHi, err := parsePortRange(ctrPart)
	if err != nil {
		return nil, bad("container port: " + err.Error())
	}
	var hostLo, hostHi uint16
	if hostPart != "" {
		if hostLo, hostHi, err = parsePortRange(hostPart); err != nil {
			return nil, bad("host port: " + err.Error())
		}
		if hostHi-hostLo != ctrHi-ctrLo {
			return nil, bad("host and container ranges differ in length")
		}
	}
	var out []Port
	for i := 0; i <= int(ctrHi-ctrLo); i++ {
		p := Port{HostIP: hostIP, ContainerPort: ctrLo + uint16(i), Protocol: proto}
		if hostPart != "" {
			p.HostPort = hostLo + uint16(i)
		}
		out = append(out, p)
	}
	return out, nil
}

func parsePortRange(s string) (lo, hi uint16, err error) {
	a, b, isRange := strings.Cut(s, "-")
	if lo, err = parsePort(a); err != nil {
		return 0, 0, err
	}
	hi = lo
	if isRange {
		if hi, err = parsePort(b); err != nil {
			return 0, 0, err
		}
		if hi < lo {
			return 0, 0, fmt.Errorf("range %s ends before it starts", s)
		}
	}
	return lo, hi, nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q is not a port number (1-65535)", s)
	}
	return uint16(n), nil
}
