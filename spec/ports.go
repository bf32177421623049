package spec

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// portRange is an inclusive range of port numbers; a single port has first == last.
type portRange struct{ first, last uint16 }

func (r portRange) size() int { return int(r.last) - int(r.first) + 1 }

// parsePortRange reads "80" or "8000-8010". allowZero admits 0 (an ephemeral host port).
func parsePortRange(s string, allowZero bool) (portRange, error) {
	a, b, isRange := strings.Cut(s, "-")
	first, err := parsePortNumber(a, allowZero && !isRange)
	if err != nil {
		return portRange{}, err
	}
	if !isRange {
		return portRange{first, first}, nil
	}
	last, err := parsePortNumber(b, false)
	if err != nil {
		return portRange{}, err
	}
	if last < first {
		return portRange{}, fmt.Errorf("port range %q ends before it starts", s)
	}
	return portRange{first, last}, nil
}

func parsePortNumber(s string, allowZero bool) (uint16, error) {
	v, err := strconv.ParseUint(s, 10, 16)
	if err != nil || (v == 0 && !allowZero) {
		return 0, fmt.Errorf("invalid port %q: want a number from 1 to 65535", s)
	}
	return uint16(v), nil
}

// parseProtocol validates a protocol name; "" means tcp.
func parseProtocol(s string) (string, error) {
	switch strings.ToLower(s) {
	case "", "tcp":
		return "tcp", nil
	case "udp":
		return "udp", nil
	}
	return "", fmt.Errorf("unsupported protocol %q (tcp or udp)", s)
}

// parseHostIP validates a host address to publish on; it returns its canonical form.
func parseHostIP(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	if err != nil {
		return "", fmt.Errorf("invalid host IP %q", s)
	}
	return a.String(), nil
}

// parsePortSpec reads the short syntax of ports:
//
//	"80"                      container port, published on an ephemeral host port
//	"8000-8002"               a range of those
//	"8080:80"                 host port 8080 to container port 80
//	"9090-9091:8080-8081"     ranges of equal length, paired in order
//	"127.0.0.1:8001:8001"     on one host address ("[::1]:80:80" for IPv6)
//	"127.0.0.1::80"           on one host address, ephemeral host port
//	"53:53/udp"               protocol suffix, tcp by default
func parsePortSpec(spec string) ([]Port, error) {
	s, proto, _ := strings.Cut(spec, "/")
	protocol, err := parseProtocol(proto)
	if err != nil {
		return nil, err
	}
	var hostIP, published, target string
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]:")
		if end < 0 {
			return nil, fmt.Errorf("invalid port %q: want [IPv6]:HOST:CONTAINER", spec)
		}
		hostIP, s = s[1:end], s[end+2:]
		var ok bool
		if published, target, ok = strings.Cut(s, ":"); !ok {
			return nil, fmt.Errorf("invalid port %q: want [IPv6]:HOST:CONTAINER", spec)
		}
	} else {
		parts := strings.Split(s, ":")
		switch n := len(parts); {
		case n == 1:
			target = parts[0]
		case n == 2:
			published, target = parts[0], parts[1]
		default:
			hostIP = strings.Join(parts[:n-2], ":")
			published, target = parts[n-2], parts[n-1]
		}
	}
	if hostIP, err = parseHostIP(hostIP); err != nil {
		return nil, err
	}
	return expandPorts(target, published, hostIP, protocol)
}

// expandPorts pairs a container port (range) with a host port (range) into one Port per
// container port.
func expandPorts(target, published, hostIP, protocol string) ([]Port, error) {
	tr, err := parsePortRange(target, false)
	if err != nil {
		return nil, err
	}
	var pr portRange
	if published != "" {
		if pr, err = parsePortRange(published, true); err != nil {
			return nil, err
		}
		if pr.size() != tr.size() {
			return nil, fmt.Errorf("host port range %s and container port range %s differ in length", published, target)
		}
	}
	ports := make([]Port, 0, tr.size())
	for i := 0; i < tr.size(); i++ {
		p := Port{Target: tr.first + uint16(i), HostIP: hostIP, Protocol: protocol}
		if pr.first != 0 {
			p.Published = pr.first + uint16(i)
		}
		ports = append(ports, p)
	}
	return ports, nil
}

// parseExpose reads an expose entry: "3000", "8000-8010", "5000/udp".
func parseExpose(spec string) ([]Port, error) {
	s, proto, _ := strings.Cut(spec, "/")
	protocol, err := parseProtocol(proto)
	if err != nil {
		return nil, err
	}
	return expandPorts(s, "", "", protocol)
}

// errEmpty is reported for a list item that is null.
var errEmpty = errors.New("must not be empty")

// netipParse4 validates an IPv4 address and returns its canonical form.
func netipParse4(s string) (string, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return "", fmt.Errorf("invalid IPv4 address %q", s)
	}
	return a.String(), nil
}
