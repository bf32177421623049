package spec

import (
	"fmt"
	"net/netip"
	"path"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// validate runs the checks that span services and top-level sections. Each check adds
// every problem it finds; none stops at the first.
func (l *loader) validate(p *Project, nodes map[*Service]*svcNodes) {
	byName := make(map[string]*Service, len(p.Services))
	for _, s := range p.Services {
		byName[s.Name] = s
	}
	names := p.ServiceNames()
	containerNames := map[string]string{}
	for _, s := range p.Services {
		sn := nodes[s]
		sp := joinPath("services", s.Name)
		if !sn.hasImage && s.Build == nil {
			l.errorf(sn.key, sp, "service %s needs image or build", s.Name)
		}
		for _, dep := range sortedKeys(s.DependsOn) {
			k := sn.deps[dep]
			switch {
			case dep == s.Name:
				l.errorf(k, sp+".depends_on", "service %s depends on itself", s.Name)
			case byName[dep] == nil:
				msg := fmt.Sprintf("depends on unknown service %q", dep)
				if sug := suggest(dep, names); sug != "" {
					msg += fmt.Sprintf(", did you mean %q?", sug)
				}
				l.errorf(k, sp+".depends_on", "%s", msg)
			}
		}
		l.validateMounts(p, s, sn, sp)
		for _, net := range sortedKeys(s.Networks) {
			top := p.Networks[net]
			k := sn.networks[net]
			if top == nil {
				l.errorf(k, sp+".networks", "network %q is not declared in the top-level networks", net)
				continue
			}
			if sv := s.Networks[net]; sv != nil && sv.IPv4Address != "" {
				l.validateAddress(top, sv.IPv4Address, k, sp+".networks."+net+".ipv4_address", s.Scale)
			}
		}
		if s.ContainerName != "" {
			if s.Scale > 1 {
				l.errorf(sn.cname, sp+".container_name", "a fixed container name allows one container, but scale is %d", s.Scale)
			}
			if other, dup := containerNames[s.ContainerName]; dup {
				l.errorf(sn.cname, sp+".container_name", "container name %q is also used by service %s", s.ContainerName, other)
			}
			containerNames[s.ContainerName] = s.Name
		}
	}
	l.validatePorts(p, nodes)
	l.validateCycles(p, nodes)
}

// validateMounts checks that targets are absolute and distinct and that named volumes are
// declared.
func (l *loader) validateMounts(p *Project, s *Service, sn *svcNodes, sp string) {
	targets := map[string]bool{}
	for i, m := range s.Volumes {
		n, vp := sn.mounts[i], sn.mountPaths[i]
		if !strings.HasPrefix(m.Target, "/") {
			l.errorf(n, vp, "mount target %q must be an absolute path", m.Target)
			continue
		}
		t := path.Clean(m.Target)
		if targets[t] {
			l.errorf(n, vp, "two mounts on %s", t)
		}
		targets[t] = true
		if m.Type == MountVolume && m.Source != "" && p.Volumes[m.Source] == nil {
			msg := fmt.Sprintf("volume %q is not declared in the top-level volumes", m.Source)
			if sug := suggest(m.Source, sortedKeys(p.Volumes)); sug != "" {
				msg += fmt.Sprintf(", did you mean %q?", sug)
			}
			l.errorf(n, vp, "%s", msg)
		}
	}
}

// validateAddress checks a static address against the network's subnets.
func (l *loader) validateAddress(net *Network, addr string, n *yaml.Node, path string, scale int) {
	if net.IPAM == nil {
		l.errorf(n, path, "a static address needs a network with an ipam subnet")
		return
	}
	a := netip.MustParseAddr(addr)
	in := false
	for _, pool := range net.IPAM.Config {
		if pr, err := netip.ParsePrefix(pool.Subnet); err == nil && pr.Contains(a) {
			in = true
		}
	}
	if !in {
		l.errorf(n, path, "address %s is outside the subnets of network %s", addr, net.Name)
	}
	if scale > 1 {
		l.errorf(n, path, "a static address allows one container, but scale is %d", scale)
	}
}

// validatePorts reports host ports published twice (by two entries, two services, or
// several replicas of one service) on overlapping addresses.
func (l *loader) validatePorts(p *Project, nodes map[*Service]*svcNodes) {
	type use struct {
		svc  string
		ip   string
		node *yaml.Node
	}
	used := map[string][]use{} // "port/proto" -> users
	inFileOrder := slices.Clone(p.Services)
	slices.SortStableFunc(inFileOrder, func(a, b *Service) int {
		if c := strings.Compare(a.Pos.File, b.Pos.File); c != 0 {
			return c
		}
		return a.Pos.Line - b.Pos.Line
	})
	for _, s := range inFileOrder {
		sn := nodes[s]
		for i, port := range s.Ports {
			if port.Published == 0 {
				continue
			}
			path := sn.portPaths[i]
			if s.Scale > 1 {
				l.errorf(sn.ports[i], path, "host port %d can be published by one container only, but scale is %d", port.Published, s.Scale)
			}
			key := fmt.Sprintf("%d/%s", port.Published, port.Protocol)
			for _, u := range used[key] {
				if wildcard(u.ip) || wildcard(port.HostIP) || u.ip == port.HostIP {
					l.errorf(sn.ports[i], path, "host port %s is already published by service %s (line %d)", key, u.svc, u.node.Line)
					break
				}
			}
			used[key] = append(used[key], use{s.Name, port.HostIP, sn.ports[i]})
		}
	}
}

func wildcard(ip string) bool { return ip == "" || ip == "0.0.0.0" || ip == "::" }

// validateCycles reports each depends_on cycle once, naming its services in order.
func (l *loader) validateCycles(p *Project, nodes map[*Service]*svcNodes) {
	const (
		unvisited = iota
		active
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(s *Service)
	visit = func(s *Service) {
		state[s.Name] = active
		stack = append(stack, s.Name)
		for _, dep := range sortedKeys(s.DependsOn) {
			d := p.Service(dep)
			if d == nil || dep == s.Name {
				continue
			}
			switch state[dep] {
			case unvisited:
				visit(d)
			case active:
				i := len(stack) - 1
				for stack[i] != dep {
					i--
				}
				cycle := append(append([]string{}, stack[i:]...), dep)
				l.errorf(nodes[s].deps[dep], joinPath("services", s.Name)+".depends_on", "dependency cycle: %s", strings.Join(cycle, " -> "))
			}
		}
		stack = stack[:len(stack)-1]
		state[s.Name] = done
	}
	for _, s := range p.Services {
		if state[s.Name] == unvisited {
			visit(s)
		}
	}
}

// selectServices keeps the services enabled by profiles or asked for by name (and their
// dependencies) in p.Services and moves the others to p.DisabledServices.
func (p *Project) selectServices(profiles, names []string) error {
	enabled := map[string]bool{}
	all := false
	for _, pr := range profiles {
		enabled[pr] = true
		all = all || pr == "*"
	}
	active := map[string]bool{}
	for _, s := range p.Services {
		if len(s.Profiles) == 0 || all {
			active[s.Name] = true
		}
		for _, pr := range s.Profiles {
			if enabled[pr] {
				active[s.Name] = true
			}
		}
	}
	visited := map[string]bool{}
	var activate func(name string)
	activate = func(name string) {
		if visited[name] {
			return
		}
		visited[name], active[name] = true, true
		for dep := range p.Service(name).DependsOn {
			activate(dep)
		}
	}
	for _, name := range names {
		if p.Service(name) == nil {
			return fmt.Errorf("select service %q: %w", name, ErrUnknownService)
		}
		activate(name)
	}
	var problems []Problem
	var on, off []*Service
	for _, s := range p.Services {
		if active[s.Name] {
			on = append(on, s)
		} else {
			off = append(off, s)
		}
	}
	for _, s := range on {
		for _, dep := range sortedKeys(s.DependsOn) {
			if active[dep] {
				continue
			}
			if s.DependsOn[dep].Required {
				d := p.Service(dep)
				problems = append(problems, Problem{Pos: s.Pos, Path: joinPath("services", s.Name) + ".depends_on",
					Msg: fmt.Sprintf("service %s depends on %s, which is disabled; enable one of its profiles (--profile %s)", s.Name, dep, strings.Join(d.Profiles, ", --profile "))})
				continue
			}
			p.Warnings = append(p.Warnings, Warning{Pos: s.Pos, Msg: fmt.Sprintf("service %s: optional dependency %s is disabled by its profiles and is ignored", s.Name, dep)})
			delete(s.DependsOn, dep)
		}
	}
	if len(problems) > 0 {
		return &ValidationError{Problems: problems}
	}
	p.Services, p.DisabledServices = on, off
	return nil
}

// sortedKeys returns the keys of a map with string keys, sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
