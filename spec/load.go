package spec

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// DefaultFiles are the names Load looks for, in order, when no file is given.
var DefaultFiles = []string{"stack.yaml", "stack.yml", "compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"}

// LoadOptions say which stack files to load and how to resolve them.
type LoadOptions struct {
	// Files are the stack files, merged in order; "-" reads Stdin. Empty: the first of
	// DefaultFiles found in WorkDir.
	Files []string
	// WorkDir is where relative Files and EnvFiles are found; default os.Getwd.
	WorkDir string
	// Environ is the process environment (os.Environ()); it wins over .env files.
	Environ []string
	// EnvFiles are the files of variables for interpolation (--env-file), later ones
	// overriding earlier ones. Default: .env beside the first stack file, if it exists.
	EnvFiles []string
	// Project overrides the project name (-p); it must already be a valid name.
	Project string
	// Profiles enables the services of these profiles (--profile); "*" enables all.
	Profiles []string
	// Services, when set, are the services asked for by name: they and the services they
	// depend on are active whatever their profiles.
	Services []string
	// Stdin is read for the file "-".
	Stdin io.Reader
}

// loader carries the state of one Load: the origin file of each node, and the problems
// and warnings found so far.
type loader struct {
	opts       LoadOptions
	origin     map[*yaml.Node]string
	aliasNodes int // nodes created by expanding aliases, bounded by maxAliasNodes
	problems   []Problem
	warnings   []Warning
	warned     map[string]bool
	bad        map[*yaml.Node]bool // values whose interpolation failed
	environ    map[string]string
	dotenv     map[string]string
	paths      paths
	extFiles   map[string]*stackFile
	extFailed  map[extendRef]bool // services whose extends chain is a cycle
}

// lookup resolves a variable: the process environment first, then the env files.
func (l *loader) lookup(name string) (string, bool) {
	if v, ok := l.environ[name]; ok {
		return v, true
	}
	v, ok := l.dotenv[name]
	return v, ok
}

// Load reads the stack files, interpolates variables, merges the files and their extends,
// decodes strictly, normalizes and validates. An invalid file yields a *ValidationError
// (errors.Is ErrInvalid) that lists every problem with its file:line:column and key path.
// Warnings (unsupported keys, unset variables) are in Project.Warnings.
func Load(opts LoadOptions) (*Project, error) {
	l := &loader{
		opts:      opts,
		origin:    map[*yaml.Node]string{},
		warned:    map[string]bool{},
		bad:       map[*yaml.Node]bool{},
		environ:   map[string]string{},
		dotenv:    map[string]string{},
		extFiles:  map[string]*stackFile{},
		extFailed: map[extendRef]bool{},
	}
	for _, kv := range opts.Environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			l.environ[k] = v
		}
	}
	workDir := opts.WorkDir
	if workDir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("get working directory: %w", err)
		}
		workDir = wd
	}
	workDir, err := filepath.Abs(workDir)
	if err != nil {
		return nil, fmt.Errorf("resolve working directory: %w", err)
	}
	files, err := findFiles(opts.Files, workDir)
	if err != nil {
		return nil, err
	}
	projectDir := workDir
	if files[0] != "-" {
		projectDir = filepath.Dir(files[0])
	}
	if err := l.loadEnvFiles(opts.EnvFiles, workDir, projectDir); err != nil {
		return nil, err
	}
	l.paths = paths{workDir: projectDir, home: resolveHome(l.lookup)}

	var root *yaml.Node
	parsed := true
	for _, path := range files {
		f, err := l.readFile(path, projectDir)
		if err != nil {
			return nil, err
		}
		if f == nil {
			parsed = false
			continue
		}
		if root == nil {
			root = f.root
		} else {
			root = l.merge(root, f.root, "")
		}
	}
	p := &Project{WorkDir: projectDir, Files: files}
	if parsed {
		if root == nil {
			l.problem(Position{File: files[0]}, "", "the stack file is empty")
		} else {
			applyResets(root)
			l.decodeProject(p, root)
		}
	}
	l.sortByPosition(files)
	p.Warnings = l.warnings
	if len(l.problems) > 0 {
		return p, &ValidationError{Problems: l.problems}
	}
	if err := p.selectServices(opts.Profiles, opts.Services); err != nil {
		return p, err
	}
	return p, nil
}

// sortByPosition orders problems and warnings by file (in load order), line and column.
func (l *loader) sortByPosition(files []string) {
	rank := map[string]int{}
	for i, f := range files {
		rank[f] = i + 1
	}
	less := func(a, b Position) bool {
		ra, ok := rank[a.File]
		if !ok {
			ra = len(files) + 1 // env files and extended files come after the stack files
		}
		rb, ok := rank[b.File]
		if !ok {
			rb = len(files) + 1
		}
		if ra != rb {
			return ra < rb
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	}
	sort.SliceStable(l.problems, func(i, j int) bool { return less(l.problems[i].Pos, l.problems[j].Pos) })
	sort.SliceStable(l.warnings, func(i, j int) bool { return less(l.warnings[i].Pos, l.warnings[j].Pos) })
}

// findFiles resolves the -f list, or searches the default names.
func findFiles(files []string, workDir string) ([]string, error) {
	if len(files) == 0 {
		for _, name := range DefaultFiles {
			path := filepath.Join(workDir, name)
			if _, err := os.Stat(path); err == nil {
				return []string{path}, nil
			}
		}
		return nil, fmt.Errorf("find stack file in %s (%s): %w", workDir, strings.Join(DefaultFiles, ", "), ErrNoStackFile)
	}
	out := make([]string, len(files))
	for i, f := range files {
		if f != "-" && !filepath.IsAbs(f) {
			f = filepath.Join(workDir, f)
		}
		out[i] = f
	}
	return out, nil
}

// loadEnvFiles reads the variables for interpolation: the given files (relative to the
// working directory), or .env in the project directory if it exists.
func (l *loader) loadEnvFiles(files []string, workDir, projectDir string) error {
	if len(files) == 0 {
		def := filepath.Join(projectDir, ".env")
		if st, err := os.Stat(def); err != nil || st.IsDir() {
			return nil
		}
		files = []string{def}
	}
	for _, f := range files {
		if !filepath.IsAbs(f) {
			f = filepath.Join(workDir, f)
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read env file: %w", err)
		}
		vars, unset, err := parseDotenv(string(data), func(name string) (string, bool) {
			v, ok := l.environ[name]
			return v, ok
		})
		if err != nil {
			l.problem(Position{File: f}, "", "%v", err)
			continue
		}
		for _, name := range unset {
			l.warnings = append(l.warnings, Warning{Pos: Position{File: f}, Msg: fmt.Sprintf("variable %s is not set, defaulting to an empty string", name)})
		}
		for _, v := range vars {
			l.dotenv[v.Key] = v.Value
		}
	}
	return nil
}

// readFile reads, parses, interpolates and canonicalizes one stack file and resolves its
// extends. It returns nil (with problems recorded) when the file does not parse.
func (l *loader) readFile(path, projectDir string) (*stackFile, error) {
	var data []byte
	var err error
	dir := filepath.Dir(path)
	if path == "-" {
		if l.opts.Stdin == nil {
			return nil, fmt.Errorf("read stack file from standard input: %w", ErrNoStackFile)
		}
		data, err = io.ReadAll(l.opts.Stdin)
		dir = projectDir
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read stack file: %w", err)
	}
	root, err := l.parseYAML(path, data)
	if err != nil {
		return nil, nil
	}
	if root == nil {
		root = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1, Column: 1}
		l.origin[root] = path
	}
	if root.Kind != yaml.MappingNode {
		l.errorf(root, "", "a stack file must be a mapping with a services key, not %s", kindName(root))
		return nil, nil
	}
	l.interpolate(root, "")
	l.canonicalizeServices(root)
	f := &stackFile{path: path, dir: dir, root: root}
	l.resolveExtends(f)
	return f, nil
}

// decodeProject decodes the merged tree into p and runs the checks across services.
func (l *loader) decodeProject(p *Project, root *yaml.Node) {
	var services, volumes, networks, nameNode *yaml.Node
	l.fields(root, "", keysTop, func(f string, _, v *yaml.Node, _ string) {
		switch f {
		case "version":
			// Accepted and ignored, as compose does.
		case "name":
			nameNode = v
		case "services":
			services = v
		case "volumes":
			volumes = v
		case "networks":
			networks = v
		}
	})
	p.Name = l.projectName(nameNode, p.WorkDir)
	p.Volumes = l.decodeVolumes(volumes, p.Name)
	p.Networks = l.decodeNetworks(networks, p.Name)
	if isNull(services) || (services.Kind == yaml.MappingNode && len(services.Content) == 0) {
		at := root
		if services != nil {
			at = services
		}
		l.errorf(at, "services", "the stack defines no services")
		return
	}
	if services.Kind != yaml.MappingNode {
		l.errorf(services, "services", "must be a mapping of service names, not %s", kindName(services))
		return
	}
	nodes := map[*Service]*svcNodes{}
	seen := map[string]bool{}
	for i := 0; i+1 < len(services.Content); i += 2 {
		k, v := services.Content[i], services.Content[i+1]
		name := k.Value
		if seen[name] {
			l.errorf(k, joinPath("services", name), "service %q is already defined", name)
			continue
		}
		seen[name] = true
		if !resourceName().MatchString(name) {
			l.errorf(k, joinPath("services", name), "invalid service name %q: use letters, digits, '.', '_' and '-', starting with a letter or digit", name)
		}
		s, sn := l.decodeService(name, k, v)
		if s.Build != nil && s.Image == "" {
			s.Image = strings.ToLower(p.Name + "-" + name)
		}
		p.Services = append(p.Services, s)
		nodes[s] = sn
	}
	sort.Slice(p.Services, func(i, j int) bool { return p.Services[i].Name < p.Services[j].Name })
	l.validate(p, nodes)
}

// projectName picks the project name: -p, COMPOSE_PROJECT_NAME, name:, or the
// normalized name of the project directory.
func (l *loader) projectName(n *yaml.Node, dir string) string {
	if l.opts.Project != "" {
		if !projectName().MatchString(l.opts.Project) {
			l.problem(Position{}, "", "invalid project name %q (-p): use lowercase letters, digits, '_' and '-', starting with a letter or digit", l.opts.Project)
		}
		return l.opts.Project
	}
	if env, ok := l.lookup("COMPOSE_PROJECT_NAME"); ok && env != "" {
		if !projectName().MatchString(env) {
			l.problem(Position{}, "", "invalid project name %q (COMPOSE_PROJECT_NAME): use lowercase letters, digits, '_' and '-', starting with a letter or digit", env)
		}
		return env
	}
	if n != nil {
		if name, ok := l.str(n, "name"); ok {
			if !projectName().MatchString(name) {
				l.errorf(n, "name", "invalid project name %q: use lowercase letters, digits, '_' and '-', starting with a letter or digit", name)
			}
			return name
		}
	}
	name := NormalizeProjectName(filepath.Base(dir))
	if name == "" {
		l.problem(Position{}, "", "cannot derive a project name from directory %q; set name: in the file or use -p", dir)
	}
	return name
}
