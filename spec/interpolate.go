package spec

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// lookupFunc returns the value of a variable and whether it is set.
type lookupFunc func(name string) (string, bool)

// substitute interpolates s as compose does: $VAR, ${VAR}, ${VAR:-default},
// ${VAR-default}, ${VAR:?message}, ${VAR?message}, ${VAR:+alternative}, ${VAR+alternative},
// and $$ for a literal $. Defaults and alternatives may themselves contain variables. It
// returns the result and the names of variables that were used unset without a default.
func substitute(s string, lookup lookupFunc) (string, []string, error) {
	if !strings.Contains(s, "$") {
		return s, nil, nil
	}
	var b strings.Builder
	var unset []string
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' {
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return "", nil, invalidTemplate(s)
		}
		switch n := s[i+1]; {
		case n == '$':
			b.WriteByte('$')
			i += 2
		case n == '{':
			end := closingBrace(s, i+2)
			if end < 0 {
				return "", nil, invalidTemplate(s)
			}
			v, u, err := expandBraced(s[i+2:end], s, lookup)
			if err != nil {
				return "", nil, err
			}
			b.WriteString(v)
			unset = append(unset, u...)
			i = end + 1
		case isNameStart(n):
			j := i + 2
			for j < len(s) && isNameChar(s[j]) {
				j++
			}
			name := s[i+1 : j]
			v, ok := lookup(name)
			if !ok {
				unset = append(unset, name)
			}
			b.WriteString(v)
			i = j
		default:
			return "", nil, invalidTemplate(s)
		}
	}
	return b.String(), unset, nil
}

func invalidTemplate(s string) error {
	return fmt.Errorf("invalid interpolation format in %q; write $$ for a literal $", s)
}

// closingBrace returns the index of the } that closes a ${ whose body starts at i,
// skipping nested ${...}; -1 if there is none.
func closingBrace(s string, i int) int {
	depth := 1
	for ; i < len(s); i++ {
		switch {
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '$':
			i++
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			depth++
			i++
		case s[i] == '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// expandBraced evaluates the body of ${...}.
func expandBraced(body, whole string, lookup lookupFunc) (string, []string, error) {
	j := 0
	for j < len(body) && (isNameChar(body[j]) && (j > 0 || isNameStart(body[j]))) {
		j++
	}
	if j == 0 {
		return "", nil, invalidTemplate(whole)
	}
	name, rest := body[:j], body[j:]
	val, set := lookup(name)
	if rest == "" {
		if !set {
			return "", []string{name}, nil
		}
		return val, nil, nil
	}
	op := rest[:1]
	colon := op == ":"
	if colon {
		if len(rest) < 2 {
			return "", nil, invalidTemplate(whole)
		}
		op = rest[1:2]
		rest = rest[2:]
	} else {
		rest = rest[1:]
	}
	// With a colon, an empty value counts as unset.
	present := set && (!colon || val != "")
	arg := func() (string, []string, error) { return substitute(rest, lookup) }
	switch op {
	case "-":
		if present {
			return val, nil, nil
		}
		return arg()
	case "+":
		if present {
			return arg()
		}
		return "", nil, nil
	case "?":
		if present {
			return val, nil, nil
		}
		msg, _, err := arg()
		if err != nil {
			return "", nil, err
		}
		if msg == "" {
			return "", nil, fmt.Errorf("required variable %s is missing a value", name)
		}
		return "", nil, fmt.Errorf("required variable %s is missing a value: %s", name, msg)
	}
	return "", nil, invalidTemplate(whole)
}

func isNameStart(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isNameChar(c byte) bool { return isNameStart(c) || ('0' <= c && c <= '9') }

// interpolate substitutes variables in every scalar value (not keys) of the tree n, in place.
// Unset variables become warnings, malformed templates and ${VAR?} errors become problems.
func (l *loader) interpolate(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "$") {
			return
		}
		v, unset, err := substitute(n.Value, l.lookup)
		if err != nil {
			l.problem(l.pos(n), path, "%v", err)
			l.bad[n] = true
			return
		}
		for _, name := range unset {
			l.warn(n, "variable %s is not set, defaulting to an empty string", name)
		}
		n.Value = v
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			l.interpolate(n.Content[i+1], joinPath(path, n.Content[i].Value))
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			l.interpolate(c, indexPath(path, i))
		}
	}
}

// joinPath appends a key to a key path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// indexPath appends a list index to a key path.
func indexPath(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }
