package spec

import (
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// stackFile is one parsed, interpolated and canonicalized stack file.
type stackFile struct {
	path string // absolute, or "-" for standard input
	dir  string // directory relative paths in it refer to
	root *yaml.Node
}

// extendRef names the service an extends key refers to.
type extendRef struct{ file, service string }

// resolveExtends replaces every service of f that has an extends key by the merge of the
// service it extends (resolved first, recursively) and its own keys.
func (l *loader) resolveExtends(f *stackFile) {
	services := mappingValue(f.root, "services")
	if services == nil || services.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(services.Content); i += 2 {
		l.extendService(f, services.Content[i].Value, nil)
	}
}

// extendService resolves the extends chain of one service of f in place and returns the
// resolved service node, or nil after reporting a problem. chain detects cycles.
func (l *loader) extendService(f *stackFile, name string, chain []extendRef) *yaml.Node {
	services := mappingValue(f.root, "services")
	idx := -1
	if services != nil && services.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(services.Content); i += 2 {
			if services.Content[i].Value == name {
				idx = i + 1
			}
		}
	}
	if idx < 0 {
		return nil
	}
	svc := services.Content[idx]
	path := joinPath("services", name)
	ref := extendRef{f.path, name}
	if l.extFailed[ref] {
		return nil
	}
	for i, c := range chain {
		if c == ref {
			names := make([]string, 0, len(chain)-i+1)
			for _, c := range chain[i:] {
				names = append(names, c.service)
				l.extFailed[c] = true
			}
			l.errorf(mappingValue(svc, "extends"), path+".extends", "extends cycle: %s -> %s", strings.Join(names, " -> "), name)
			return nil
		}
	}
	if svc.Kind != yaml.MappingNode {
		return svc
	}
	ext := mappingValue(svc, "extends")
	if ext == nil {
		return svc
	}
	epath := path + ".extends"
	target := extendRef{file: f.path}
	var fileNode *yaml.Node
	switch ext.Kind {
	case yaml.ScalarNode:
		target.service = ext.Value
	case yaml.MappingNode:
		l.fields(ext, epath, keysExtends, func(key string, k, v *yaml.Node, p string) {
			s, _ := l.str(v, p)
			switch key {
			case "service":
				target.service = s
			case "file":
				target.file, fileNode = s, v
			}
		})
	default:
		l.errorf(ext, epath, "must be a service name or a mapping with service and file, not %s", kindName(ext))
		return nil
	}
	if target.service == "" {
		l.errorf(ext, epath, "service is required")
		return nil
	}
	base := f
	if fileNode != nil {
		p := target.file
		if !filepath.IsAbs(p) {
			p = filepath.Join(f.dir, p)
		}
		base = l.extendsFile(p, fileNode, epath+".file")
		if base == nil {
			return nil
		}
	}
	if mappingValue(mappingValue(base.root, "services"), target.service) == nil {
		if base == f {
			l.errorf(ext, epath, "extends unknown service %q", target.service)
		} else {
			l.errorf(ext, epath, "extends unknown service %q in %s", target.service, base.path)
		}
		return nil
	}
	resolved := l.extendService(base, target.service, append(chain, ref))
	if resolved == nil {
		return nil
	}
	parent := l.deepCopy(resolved)
	if base != f {
		l.rebasePaths(parent, base.dir)
	}
	removeKey(parent, "extends")
	removeKey(svc, "extends")
	merged := l.merge(parent, svc, "services.*")
	services.Content[idx] = merged
	return merged
}

// extendsFile loads (once) a file named by extends.file.
func (l *loader) extendsFile(path string, n *yaml.Node, p string) *stackFile {
	if f, ok := l.extFiles[path]; ok {
		return f
	}
	data, err := os.ReadFile(path)
	if err != nil {
		l.errorf(n, p, "read extended file: %v", err)
		return nil
	}
	root, err := l.parseYAML(path, data)
	if err != nil || root == nil {
		if root == nil && err == nil {
			l.errorf(n, p, "extended file %s is empty", path)
		}
		return nil
	}
	l.interpolate(root, "")
	l.canonicalizeServices(root)
	f := &stackFile{path: path, dir: filepath.Dir(path), root: root}
	l.extFiles[path] = f
	return f
}

// rebasePaths makes the relative paths of a service taken from another file absolute
// against that file's directory: build context, env_file, bind mount sources and seccomp
// profiles.
func (l *loader) rebasePaths(svc *yaml.Node, dir string) {
	abs := func(n *yaml.Node) {
		if n != nil && n.Kind == yaml.ScalarNode && !isNull(n) && !filepath.IsAbs(n.Value) && !strings.HasPrefix(n.Value, "~") {
			n.Value = filepath.Join(dir, n.Value)
		}
	}
	if b := mappingValue(svc, "build"); b != nil {
		abs(mappingValue(b, "context"))
	}
	if ef := mappingValue(svc, "env_file"); ef != nil && ef.Kind == yaml.SequenceNode {
		for _, e := range ef.Content {
			if e.Kind == yaml.MappingNode {
				abs(mappingValue(e, "path"))
			} else {
				abs(e)
			}
		}
	}
	if opts := mappingValue(svc, "security_opt"); opts != nil && opts.Kind == yaml.SequenceNode {
		for _, o := range opts.Content {
			if prefix, file, ok := seccompFile(o.Value); ok && o.Kind == yaml.ScalarNode && !filepath.IsAbs(file) && !strings.HasPrefix(file, "~") {
				o.Value = prefix + filepath.Join(dir, file)
			}
		}
	}
	if vols := mappingValue(svc, "volumes"); vols != nil && vols.Kind == yaml.SequenceNode {
		for _, v := range vols.Content {
			switch v.Kind {
			case yaml.ScalarNode:
				if strings.HasPrefix(v.Value, ".") {
					src, rest, _ := strings.Cut(v.Value, ":")
					v.Value = filepath.Join(dir, src) + ":" + rest
				}
			case yaml.MappingNode:
				if t := mappingValue(v, "type"); t != nil && t.Value == MountBind {
					abs(mappingValue(v, "source"))
				}
			}
		}
	}
}

// removeKey deletes key from mapping m.
func removeKey(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}
