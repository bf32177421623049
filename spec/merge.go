package spec

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// canonicalizeServices rewrites the alternative forms of service keys into one form, so
// that files and extends merge key by key: lists of KEY=VALUE become mappings, depends_on
// and networks lists become mappings, a build string becomes {context: ...}, and a single
// string becomes a one-item list where a list is allowed. Shapes it does not recognize are
// left for the decoder to report.
func (l *loader) canonicalizeServices(root *yaml.Node) {
	services := mappingValue(root, "services")
	if services == nil || services.Kind != yaml.MappingNode {
		return
	}
	for i := 1; i < len(services.Content); i += 2 {
		svc := services.Content[i]
		if svc.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(svc.Content); j += 2 {
			key, v := svc.Content[j].Value, svc.Content[j+1]
			switch key {
			case "environment", "labels", "sysctls", "annotations":
				svc.Content[j+1] = l.listToMap(v, true)
			case "depends_on", "networks":
				svc.Content[j+1] = l.listToMap(v, false)
			case "build":
				if v.Kind == yaml.ScalarNode && !isNull(v) {
					m := l.derive(v, yaml.MappingNode, "")
					m.Content = []*yaml.Node{l.derive(v, yaml.ScalarNode, "context"), v}
					svc.Content[j+1] = m
				}
			case "tmpfs", "env_file", "dns", "dns_search", "cap_add", "cap_drop", "profiles":
				if v.Kind == yaml.ScalarNode && !isNull(v) {
					s := l.derive(v, yaml.SequenceNode, "")
					s.Content = []*yaml.Node{v}
					svc.Content[j+1] = s
				}
			}
		}
	}
}

// listToMap turns a list of scalars into a mapping. With split, "K=V" becomes K: V and "K"
// becomes K: null; without, each item becomes a key with a null value.
func (l *loader) listToMap(v *yaml.Node, split bool) *yaml.Node {
	if v.Kind != yaml.SequenceNode {
		return v
	}
	for _, item := range v.Content {
		if item.Kind != yaml.ScalarNode || isNull(item) {
			return v
		}
	}
	m := l.derive(v, yaml.MappingNode, "")
	for _, item := range v.Content {
		key, val, hasVal := item.Value, "", false
		if split {
			key, val, hasVal = strings.Cut(item.Value, "=")
		}
		k := l.derive(item, yaml.ScalarNode, key)
		var vn *yaml.Node
		if hasVal {
			vn = l.derive(item, yaml.ScalarNode, val)
		} else {
			vn = l.derive(item, yaml.ScalarNode, "")
			vn.Tag = tagNull
		}
		m.Content = append(m.Content, k, vn)
	}
	return m
}

// derive makes a new node at the position of from (same file, line and column).
func (l *loader) derive(from *yaml.Node, kind yaml.Kind, value string) *yaml.Node {
	n := &yaml.Node{Kind: kind, Value: value, Line: from.Line, Column: from.Column}
	switch kind {
	case yaml.MappingNode:
		n.Tag = "!!map"
	case yaml.SequenceNode:
		n.Tag = "!!seq"
	default:
		n.Tag = tagStr
	}
	l.origin[n] = l.origin[from]
	return n
}

// deepCopy copies a tree, keeping positions and origins.
func (l *loader) deepCopy(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, child := range n.Content {
		c.Content[i] = l.deepCopy(child)
	}
	l.origin[&c] = l.origin[n]
	return &c
}

// merge overlays over onto base as compose merges override files and extends:
//
//	mappings              merged key by key (environment, labels, depends_on, networks, ...)
//	command, entrypoint,  replaced
//	healthcheck.test
//	volumes               merged by container path: an override entry replaces the base's
//	other lists           combined: override items appended unless equal to a base item
//	scalars               replaced
//	!reset value          removes the key;  !override value  replaces without merging
//
// rule is the key path with service, volume and network names replaced by "*". base may
// be modified; the merged node is returned.
func (l *loader) merge(base, over *yaml.Node, rule string) *yaml.Node {
	if over.Tag == tagOverride {
		return over
	}
	switch {
	case base.Kind == yaml.MappingNode && over.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(over.Content); i += 2 {
			k, v := over.Content[i], over.Content[i+1]
			child := childRule(rule, k.Value)
			idx := -1
			for j := 0; j+1 < len(base.Content); j += 2 {
				if base.Content[j].Value == k.Value {
					idx = j
					break
				}
			}
			switch {
			case idx < 0:
				base.Content = append(base.Content, k, v)
			case v.Tag == tagReset:
				base.Content = append(base.Content[:idx], base.Content[idx+2:]...)
			default:
				base.Content[idx+1] = l.merge(base.Content[idx+1], v, child)
			}
		}
		return base
	case base.Kind == yaml.SequenceNode && over.Kind == yaml.SequenceNode:
		switch rule {
		case "services.*.command", "services.*.entrypoint", "services.*.healthcheck.test":
			return over
		case "services.*.volumes":
			return mergeByTarget(base, over)
		}
		for _, item := range over.Content {
			dup := false
			for _, b := range base.Content {
				if nodeEqual(b, item) {
					dup = true
					break
				}
			}
			if !dup {
				base.Content = append(base.Content, item)
			}
		}
		return base
	}
	return over
}

// childRule extends a merge rule path by one key.
func childRule(rule, key string) string {
	switch rule {
	case "services", "volumes", "networks":
		return rule + ".*"
	case "":
		return key
	}
	return rule + "." + key
}

// mergeByTarget merges two lists of service volumes: entries of over replace the entries
// of base that mount on the same container path, the others are appended.
func mergeByTarget(base, over *yaml.Node) *yaml.Node {
	for _, item := range over.Content {
		t := volumeTarget(item)
		replaced := false
		for i, b := range base.Content {
			if t != "" && volumeTarget(b) == t {
				base.Content[i] = item
				replaced = true
				break
			}
		}
		if !replaced {
			base.Content = append(base.Content, item)
		}
	}
	return base
}

// volumeTarget returns the container path of a short or long volume entry, or "".
func volumeTarget(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		parts := strings.Split(n.Value, ":")
		if len(parts) == 1 {
			return parts[0]
		}
		return parts[1]
	case yaml.MappingNode:
		if t := mappingValue(n, "target"); t != nil {
			return t.Value
		}
	}
	return ""
}

// nodeEqual compares two trees by kind, value and content, ignoring positions.
func nodeEqual(a, b *yaml.Node) bool {
	if a.Kind != b.Kind || a.Value != b.Value || len(a.Content) != len(b.Content) {
		return false
	}
	for i := range a.Content {
		if !nodeEqual(a.Content[i], b.Content[i]) {
			return false
		}
	}
	return true
}

// applyResets removes the keys whose value is tagged !reset and clears !override tags,
// once all files are merged (a !reset with nothing to reset simply disappears).
func applyResets(n *yaml.Node) {
	if n.Tag == tagOverride {
		switch n.Kind {
		case yaml.MappingNode:
			n.Tag = "!!map"
		case yaml.SequenceNode:
			n.Tag = "!!seq"
		default:
			n.Tag = tagStr
		}
	}
	if n.Kind == yaml.MappingNode {
		out := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i+1].Tag == tagReset {
				continue
			}
			out = append(out, n.Content[i], n.Content[i+1])
		}
		n.Content = out
	}
	for _, c := range n.Content {
		applyResets(c)
	}
}
