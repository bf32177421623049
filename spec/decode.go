package spec

import (
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// pos returns the position of a node of the loaded tree.
func (l *loader) pos(n *yaml.Node) Position {
	return Position{File: l.origin[n], Line: n.Line, Column: n.Column}
}

// problem records one reason the stack file is invalid.
func (l *loader) problem(pos Position, path, format string, args ...any) {
	l.problems = append(l.problems, Problem{Pos: pos, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// errorf records a problem at node n.
func (l *loader) errorf(n *yaml.Node, path, format string, args ...any) {
	if l.bad[n] {
		return // its interpolation failed and was reported
	}
	l.problem(l.pos(n), path, format, args...)
}

// warn records a warning at node n, once per position and message.
func (l *loader) warn(n *yaml.Node, format string, args ...any) {
	w := Warning{Pos: l.pos(n), Msg: fmt.Sprintf(format, args...)}
	key := w.String()
	if l.warned[key] {
		return
	}
	l.warned[key] = true
	l.warnings = append(l.warnings, w)
}

// str returns the text of a scalar; ok is false for null (nothing to set) and for lists
// and mappings (a problem is recorded).
func (l *loader) str(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		l.errorf(n, path, "must be a string, not %s", kindName(n))
		return "", false
	}
	if isNull(n) {
		return "", false
	}
	return n.Value, true
}

// boolean parses true/false (and yes/no/on/off, as YAML 1.1 and compose accept).
func (l *loader) boolean(n *yaml.Node, path string) (bool, bool) {
	s, ok := l.str(n, path)
	if !ok {
		return false, false
	}
	switch strings.ToLower(s) {
	case "true", "yes", "on":
		return true, true
	case "false", "no", "off":
		return false, true
	}
	l.errorf(n, path, "must be true or false, not %q", s)
	return false, false
}

// integer parses a whole number within [lo, hi].
func (l *loader) integer(n *yaml.Node, path string, lo, hi int64) (int64, bool) {
	s, ok := l.str(n, path)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
	if err != nil {
		l.errorf(n, path, "must be a whole number, not %q", s)
		return 0, false
	}
	if v < lo || v > hi {
		if hi == math.MaxInt64 {
			l.errorf(n, path, "must be at least %d, not %d", lo, v)
		} else {
			l.errorf(n, path, "must be between %d and %d, not %d", lo, hi, v)
		}
		return 0, false
	}
	return v, true
}

// strList reads a list of strings; a single string is a one-item list.
func (l *loader) strList(n *yaml.Node, path string) ([]string, bool) {
	if n.Kind == yaml.ScalarNode {
		s, ok := l.str(n, path)
		if !ok {
			return nil, false
		}
		return []string{s}, true
	}
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, path, "must be a list of strings, not %s", kindName(n))
		return nil, false
	}
	out := make([]string, 0, len(n.Content))
	good := true
	for i, c := range n.Content {
		s, ok := l.str(c, indexPath(path, i))
		if !ok {
			if isNull(c) {
				l.errorf(c, indexPath(path, i), "must not be empty")
			}
			good = false
			continue
		}
		out = append(out, s)
	}
	return out, good
}

// strMap reads a mapping of strings, or a list of KEY=VALUE. A null value (or KEY alone in
// a list) is returned as a nil pointer; each key node is returned for error positions.
func (l *loader) strMap(n *yaml.Node, path string) (map[string]*string, map[string]*yaml.Node) {
	out := map[string]*string{}
	keys := map[string]*yaml.Node{}
	switch n.Kind {
	case yaml.SequenceNode:
		for i, c := range n.Content {
			s, ok := l.str(c, indexPath(path, i))
			if !ok {
				continue
			}
			k, v, hasVal := strings.Cut(s, "=")
			if k == "" {
				l.errorf(c, indexPath(path, i), "must be KEY=VALUE, not %q", s)
				continue
			}
			if hasVal {
				out[k] = &v
			} else {
				out[k] = nil
			}
			keys[k] = c
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := joinPath(path, k.Value)
			if _, dup := keys[k.Value]; dup {
				l.errorf(k, p, "key %q is already defined", k.Value)
				continue
			}
			keys[k.Value] = k
			if isNull(v) {
				out[k.Value] = nil
				continue
			}
			if s, ok := l.str(v, p); ok {
				out[k.Value] = &s
			}
		}
	default:
		l.errorf(n, path, "must be a mapping or a list of KEY=VALUE, not %s", kindName(n))
	}
	return out, keys
}

// labels reads a mapping or list of labels; a label without a value is empty.
func (l *loader) labels(n *yaml.Node, path string) map[string]string {
	m, _ := l.strMap(n, path)
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if v != nil {
			out[k] = *v
		} else {
			out[k] = ""
		}
	}
	return out
}

// The name rules are compiled on first use, not at package initialisation: that runs in
// every process of the binary, each container's monitor and init included, which never
// validate a stack file (the host-name rule alone is a few dozen KiB of heap).
var (
	// compose's rule for service, volume and network keys.
	resourceName = lazyRegexp(`^[a-zA-Z0-9][a-zA-Z0-9._-]*$`)
	// compose's rule for project names (after normalization for directory names).
	projectName = lazyRegexp(`^[a-z0-9][a-z0-9_-]*$`)
	// Docker's rule for container names.
	containerName = lazyRegexp(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)
	// RFC 1123 host names.
	hostName = lazyRegexp(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$`)
)

// lazyRegexp returns a function that compiles expr on its first call.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// NormalizeProjectName turns a directory name into a project name as compose does:
// lowercase, only [a-z0-9_-], starting with a letter or digit. It may return "".
func NormalizeProjectName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' || r == '-' {
			b.WriteRune(r)
		}
	}
	return strings.TrimLeft(b.String(), "_-")
}

// decodeVolumes reads the top-level volumes section.
func (l *loader) decodeVolumes(n *yaml.Node, project string) map[string]*Volume {
	out := map[string]*Volume{}
	if isNull(n) {
		return out
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(n, "volumes", "must be a mapping of volume names, not %s", kindName(n))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		path := joinPath("volumes", key)
		if !resourceName().MatchString(key) {
			l.errorf(k, path, "invalid volume name %q: use letters, digits, '.', '_' and '-', starting with a letter or digit", key)
		}
		if _, dup := out[key]; dup {
			l.errorf(k, path, "volume %q is already defined", key)
			continue
		}
		vol := &Volume{Driver: "local"}
		out[key] = vol
		if !isNull(v) {
			l.fields(v, path, keysVolume, func(f string, _, fv *yaml.Node, p string) {
				switch f {
				case "name":
					vol.Name, _ = l.str(fv, p)
				case "driver":
					if d, ok := l.str(fv, p); ok && d != "local" {
						l.errorf(fv, p, "volume driver %q is not supported (only local)", d)
					}
				case "external":
					vol.External = l.external(fv, p, &vol.Name)
				case "labels":
					vol.Labels = l.labels(fv, p)
				}
			})
		}
		if vol.Name == "" {
			vol.Name = project + "_" + key
			if vol.External {
				vol.Name = key
			}
		}
	}
	return out
}

// external reads external: true/false, or the legacy form external: {name: x}.
func (l *loader) external(n *yaml.Node, path string, name *string) bool {
	if n.Kind == yaml.MappingNode {
		l.warn(n, "%s: external: {name: ...} is deprecated; use external: true and name:", path)
		if nn := mappingValue(n, "name"); nn != nil && *name == "" {
			*name, _ = l.str(nn, path+".name")
		}
		return true
	}
	b, _ := l.boolean(n, path)
	return b
}

// decodeNetworks reads the top-level networks section; "default" is always present.
func (l *loader) decodeNetworks(n *yaml.Node, project string) map[string]*Network {
	out := map[string]*Network{}
	if !isNull(n) && n.Kind != yaml.MappingNode {
		l.errorf(n, "networks", "must be a mapping of network names, not %s", kindName(n))
		n = nil
	}
	if !isNull(n) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := k.Value
			path := joinPath("networks", key)
			if !resourceName().MatchString(key) {
				l.errorf(k, path, "invalid network name %q: use letters, digits, '.', '_' and '-', starting with a letter or digit", key)
			}
			if _, dup := out[key]; dup {
				l.errorf(k, path, "network %q is already defined", key)
				continue
			}
			net := &Network{Driver: "bridge"}
			out[key] = net
			if !isNull(v) {
				l.fields(v, path, keysNetwork, func(f string, _, fv *yaml.Node, p string) {
					switch f {
					case "name":
						net.Name, _ = l.str(fv, p)
					case "driver":
						if d, ok := l.str(fv, p); ok && d != "bridge" {
							l.errorf(fv, p, "network driver %q is not supported (only bridge)", d)
						}
					case "external":
						net.External = l.external(fv, p, &net.Name)
					case "internal":
						net.Internal, _ = l.boolean(fv, p)
					case "labels":
						net.Labels = l.labels(fv, p)
					case "ipam":
						net.IPAM = l.ipam(fv, p)
					}
				})
			}
			if net.Name == "" {
				net.Name = project + "_" + key
				if net.External {
					net.Name = key
				}
			}
		}
	}
	if out["default"] == nil {
		out["default"] = &Network{Name: project + "_default", Driver: "bridge"}
	}
	return out
}

// ipam reads a network's ipam section.
func (l *loader) ipam(n *yaml.Node, path string) *IPAM {
	out := &IPAM{}
	l.fields(n, path, keysIPAM, func(f string, _, v *yaml.Node, p string) {
		switch f {
		case "driver":
			if d, ok := l.str(v, p); ok && d != "default" {
				l.errorf(v, p, "IPAM driver %q is not supported (only default)", d)
			}
		case "config":
			if v.Kind != yaml.SequenceNode {
				l.errorf(v, p, "must be a list of pools, not %s", kindName(v))
				return
			}
			for i, c := range v.Content {
				var pool IPAMPool
				var prefix netip.Prefix
				ip := indexPath(p, i)
				l.fields(c, ip, keysIPAMPool, func(f string, _, fv *yaml.Node, fp string) {
					s, ok := l.str(fv, fp)
					if !ok {
						return
					}
					switch f {
					case "subnet":
						pr, err := netip.ParsePrefix(s)
						if err != nil {
							l.errorf(fv, fp, "invalid subnet %q: want CIDR notation like 172.28.0.0/16", s)
							return
						}
						prefix = pr.Masked()
						pool.Subnet = prefix.String()
					case "gateway":
						a, err := netip.ParseAddr(s)
						if err != nil {
							l.errorf(fv, fp, "invalid gateway address %q", s)
							return
						}
						pool.Gateway = a.String()
					}
				})
				if pool.Subnet == "" {
					if c.Kind == yaml.MappingNode && mappingValue(c, "subnet") == nil {
						l.errorf(c, ip, "subnet is required")
					}
					continue
				}
				if pool.Gateway != "" && !prefix.Contains(netip.MustParseAddr(pool.Gateway)) {
					l.errorf(c, ip+".gateway", "gateway %s is outside subnet %s", pool.Gateway, pool.Subnet)
				}
				out.Config = append(out.Config, pool)
			}
		}
	})
	if len(out.Config) == 0 {
		return nil
	}
	return out
}
