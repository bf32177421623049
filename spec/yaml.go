package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"gopkg.in/yaml.v3"
)

// maxAliasNodes bounds the nodes one load may create by expanding aliases, so that a file
// of nested aliases ("billion laughs") fails fast instead of exhausting memory and time.
const maxAliasNodes = 1 << 16

// Short tags of yaml.v3 and the merge-override tags of compose.
const (
	tagNull     = "!!null"
	tagMerge    = "!!merge"
	tagStr      = "!!str"
	tagReset    = "!reset"    // compose: remove the value inherited from earlier files
	tagOverride = "!override" // compose: replace the inherited value instead of merging
)

// yamlLine finds the line number in yaml.v3's syntax error messages.
var yamlLine = lazyRegexp(`^yaml: line (\d+): `)

// parseYAML parses one stack file into a tree without aliases or merge keys. Every node of
// the tree is recorded in l.origin with the file it came from, for error positions.
func (l *loader) parseYAML(file string, data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		msg := err.Error()
		line := 0
		if m := yamlLine().FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = msg[len(m[0]):]
		}
		l.problem(Position{File: file, Line: line}, "", "invalid YAML: %s", trimYAMLPrefix(msg))
		return nil, ErrInvalid
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		l.problem(Position{File: file, Line: extra.Line, Column: extra.Column}, "", "a stack file holds one YAML document; remove the second one")
		return nil, ErrInvalid
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	x := expander{l: l, file: file}
	root, err := x.expand(doc.Content[0])
	if err != nil {
		var ee *expandError
		if errors.As(err, &ee) {
			l.problem(Position{File: file, Line: ee.line, Column: ee.col}, "", "%s", ee.msg)
		} else {
			l.problem(Position{File: file}, "", "%v", err)
		}
		return nil, ErrInvalid
	}
	return root, nil
}

// expandError is a problem found while expanding aliases, with its position.
type expandError struct {
	line, col int
	msg       string
}

func (e *expandError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

func trimYAMLPrefix(msg string) string {
	if len(msg) > 6 && msg[:6] == "yaml: " {
		return msg[6:]
	}
	return msg
}

// expander copies a parsed tree, replacing aliases by copies of their anchors and applying
// merge keys (<<), so that later steps may change nodes without affecting other places.
type expander struct {
	l      *loader
	file   string
	active map[*yaml.Node]bool // anchors being expanded: an alias to one of them is a cycle
	slab   []yaml.Node         // preallocated nodes for copies
}

func (x *expander) copyNode(n *yaml.Node) (*yaml.Node, error) {
	if len(x.active) > 0 {
		x.l.aliasNodes++
		if x.l.aliasNodes > maxAliasNodes {
			return nil, &expandError{n.Line, n.Column, fmt.Sprintf("aliases expand to more than %d YAML nodes (nested aliases?)", maxAliasNodes)}
		}
	}
	if len(x.slab) == 0 {
		x.slab = make([]yaml.Node, 256) // fewer, larger allocations: a file has thousands of nodes
	}
	c := &x.slab[0]
	x.slab = x.slab[1:]
	*c = yaml.Node{Kind: n.Kind, Style: n.Style, Tag: n.ShortTag(), Value: n.Value, Line: n.Line, Column: n.Column}
	x.l.origin[c] = x.file
	return c, nil
}

func (x *expander) expand(n *yaml.Node) (*yaml.Node, error) {
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, &expandError{n.Line, n.Column, "alias to an unknown anchor"}
		}
		if x.active[n.Alias] {
			return nil, &expandError{n.Line, n.Column, fmt.Sprintf("alias *%s refers to itself", n.Value)}
		}
		if x.active == nil {
			x.active = make(map[*yaml.Node]bool)
		}
		x.active[n.Alias] = true
		defer delete(x.active, n.Alias)
		return x.expand(n.Alias)
	case yaml.MappingNode:
		return x.expandMapping(n)
	case yaml.SequenceNode, yaml.DocumentNode:
		c, err := x.copyNode(n)
		if err != nil {
			return nil, err
		}
		c.Content = make([]*yaml.Node, 0, len(n.Content))
		for _, child := range n.Content {
			e, err := x.expand(child)
			if err != nil {
				return nil, err
			}
			c.Content = append(c.Content, e)
		}
		return c, nil
	default:
		return x.copyNode(n)
	}
}

// expandMapping applies YAML merge keys: the mapping's own keys win over merged ones, and
// among several merged mappings the first one that has a key wins.
func (x *expander) expandMapping(n *yaml.Node) (*yaml.Node, error) {
	c, err := x.copyNode(n)
	if err != nil {
		return nil, err
	}
	var merged []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == tagMerge {
			srcs := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				srcs = v.Content
			}
			for _, src := range srcs {
				e, err := x.expand(src)
				if err != nil {
					return nil, err
				}
				if e.Kind != yaml.MappingNode {
					return nil, &expandError{k.Line, k.Column, "the merge key << needs a mapping or a list of mappings"}
				}
				merged = append(merged, e)
			}
			continue
		}
		ke, err := x.expand(k)
		if err != nil {
			return nil, err
		}
		ve, err := x.expand(v)
		if err != nil {
			return nil, err
		}
		c.Content = append(c.Content, ke, ve)
	}
	if len(merged) > 0 {
		have := make(map[string]bool, len(c.Content)/2)
		for i := 0; i+1 < len(c.Content); i += 2 {
			have[c.Content[i].Value] = true
		}
		for _, m := range merged {
			for i := 0; i+1 < len(m.Content); i += 2 {
				if k := m.Content[i].Value; !have[k] {
					have[k] = true
					c.Content = append(c.Content, m.Content[i], m.Content[i+1])
				}
			}
		}
	}
	return c, nil
}

// mappingValue returns the value of key in mapping node m, or nil.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// isNull reports whether n is absent or a YAML null.
func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == tagNull)
}

// kindName names a node's type for error messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.Tag {
	case tagNull:
		return "null"
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	}
	return "a string"
}
