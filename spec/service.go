package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// svcNodes keeps the nodes of a decoded service that the cross-service checks point at.
type svcNodes struct {
	key        *yaml.Node
	ports      []*yaml.Node // one per Service.Ports entry
	portPaths  []string     // key path of each Service.Ports entry
	mounts     []*yaml.Node // one per Service.Volumes entry
	mountPaths []string     // key path of each Service.Volumes entry
	deps       map[string]*yaml.Node
	networks   map[string]*yaml.Node
	cname      *yaml.Node
	hasImage   bool
}

// Docker's healthcheck defaults, applied when a healthcheck leaves them out.
const (
	defaultHealthInterval      = 30 * time.Second
	defaultHealthTimeout       = 30 * time.Second
	defaultHealthStartInterval = 5 * time.Second
	defaultHealthRetries       = 3
)

// decodeService reads one service mapping into its canonical form.
func (l *loader) decodeService(name string, key, n *yaml.Node) (*Service, *svcNodes) {
	s := &Service{Name: name, Pos: l.pos(key), Scale: 1}
	sn := &svcNodes{key: key, deps: map[string]*yaml.Node{}, networks: map[string]*yaml.Node{}}
	path := joinPath("services", name)
	if isNull(n) {
		return s, sn
	}
	if mappingValue(n, "extends") != nil {
		// Its extends failed and was reported; what it lacks is no news.
		sn.hasImage = true
	}
	var envFiles, environment *yaml.Node
	var envFilesPath, environmentPath string
	var scale, replicas *int64
	var replicasNode *yaml.Node
	var memLimit, memDeploy, pidsLimit, pidsDeploy *int64
	var cpus, cpusDeploy *float64
	var restartNode *yaml.Node
	var tmpfs []Mount
	var tmpfsNodes []*yaml.Node
	var tmpfsPaths []string
	l.fields(n, path, keysService, func(f string, k, v *yaml.Node, p string) {
		switch f {
		case "image":
			if img, ok := l.str(v, p); ok {
				if img == "" || strings.ContainsAny(img, " \t\n") {
					l.errorf(v, p, "invalid image reference %q", img)
				}
				s.Image, sn.hasImage = img, true
			}
		case "build":
			s.Build = l.build(v, p)
		case "command":
			s.Command = l.command(v, p)
		case "entrypoint":
			s.Entrypoint = l.command(v, p)
		case "environment":
			environment, environmentPath = v, p
		case "env_file":
			envFiles, envFilesPath = v, p
		case "ports":
			l.ports(v, p, s, sn)
		case "expose":
			l.expose(v, p, s)
		case "volumes":
			l.volumes(v, p, s, sn)
		case "tmpfs":
			list, _ := l.strList(v, p)
			for i, t := range list {
				node := v
				if v.Kind == yaml.SequenceNode {
					node = v.Content[i]
				}
				m, ignored, err := parseTmpfsSpec(t)
				if err != nil {
					l.errorf(node, indexPath(p, i), "%v", err)
					continue
				}
				for _, o := range ignored {
					l.warn(node, "%s: tmpfs option %q is not supported and is ignored", indexPath(p, i), o)
				}
				tmpfs, tmpfsNodes = append(tmpfs, m), append(tmpfsNodes, node)
				tmpfsPaths = append(tmpfsPaths, indexPath(p, i))
			}
		case "depends_on":
			s.DependsOn = l.dependsOn(v, p, sn)
		case "healthcheck":
			s.Healthcheck = l.healthcheck(v, p)
		case "restart":
			restartNode = v
			if r, ok := l.str(v, p); ok {
				s.Restart, s.RestartMaxRetries = l.restart(v, p, r)
			}
		case "container_name":
			if c, ok := l.str(v, p); ok {
				if !containerName().MatchString(c) {
					l.errorf(v, p, "invalid container name %q: use letters, digits, '.', '_' and '-', starting with a letter or digit", c)
				}
				s.ContainerName, sn.cname = c, v
			}
		case "hostname":
			if h, ok := l.str(v, p); ok {
				if len(h) > 253 || !hostName().MatchString(h) {
					l.errorf(v, p, "invalid host name %q (RFC 1123: letters, digits, '-', labels separated by '.')", h)
				}
				s.Hostname = h
			}
		case "user":
			s.User, _ = l.str(v, p)
		case "working_dir":
			if w, ok := l.str(v, p); ok {
				if !strings.HasPrefix(w, "/") {
					l.errorf(v, p, "must be an absolute path, not %q", w)
				}
				s.WorkingDir = w
			}
		case "labels":
			s.Labels = l.labels(v, p)
		case "init":
			if b, ok := l.boolean(v, p); ok {
				s.Init = &b
			}
		case "stop_signal":
			if sig, ok := l.str(v, p); ok {
				name, err := signalName(sig)
				if err != nil {
					l.errorf(v, p, "%v", err)
				}
				s.StopSignal = name
			}
		case "stop_grace_period":
			if d, ok := l.duration(v, p); ok {
				s.StopGracePeriod = &d
			}
		case "read_only":
			s.ReadOnly, _ = l.boolean(v, p)
		case "cap_add":
			s.CapAdd = l.capabilities(v, p)
		case "cap_drop":
			s.CapDrop = l.capabilities(v, p)
		case "mem_limit":
			memLimit = l.sizePtr(v, p)
		case "cpus":
			cpus = l.cpus(v, p)
		case "pids_limit":
			if x, ok := l.integer(v, p, -1, math.MaxInt64); ok {
				pidsLimit = &x
			}
		case "deploy":
			replicasNode = l.deploy(v, p, &replicas, &memDeploy, &cpusDeploy, &pidsDeploy)
		case "scale":
			if x, ok := l.integer(v, p, 0, math.MaxInt32); ok {
				scale = &x
			}
		case "networks":
			s.Networks = l.serviceNetworks(v, p, sn)
		case "profiles":
			list, _ := l.strList(v, p)
			for i, pr := range list {
				if !resourceName().MatchString(pr) {
					l.errorf(v, indexPath(p, i), "invalid profile name %q", pr)
				}
			}
			s.Profiles = list
		case "extra_hosts":
			s.ExtraHosts = l.extraHosts(v, p)
		case "ulimits":
			s.Ulimits = l.ulimits(v, p)
		case "sysctls":
			s.Sysctls = l.labels(v, p)
		case "security_opt":
			s.SecurityOpt = l.securityOpts(v, p)
		case "privileged":
			s.Privileged, _ = l.boolean(v, p)
		case "tty":
			s.Tty, _ = l.boolean(v, p)
		case "stdin_open":
			s.StdinOpen, _ = l.boolean(v, p)
		case "extends":
			// Resolved before decoding (resolveExtends); a leftover means it failed there.
		}
	})
	s.Volumes = append(s.Volumes, tmpfs...)
	sn.mounts = append(sn.mounts, tmpfsNodes...)
	sn.mountPaths = append(sn.mountPaths, tmpfsPaths...)
	s.Environment = l.environment(envFiles, envFilesPath, environment, environmentPath)

	switch {
	case scale != nil && replicas != nil && *scale != *replicas:
		l.errorf(replicasNode, path+".deploy.replicas", "scale (%d) and deploy.replicas (%d) differ; set one", *scale, *replicas)
	case scale != nil:
		s.Scale = int(*scale)
	case replicas != nil:
		s.Scale = int(*replicas)
	}
	if restartNode != nil && s.Restart == "" {
		s.Restart = "no"
	}
	s.MemLimit = l.pickLimit(n, path, "mem_limit", "memory", memLimit, memDeploy)
	s.PidsLimit = l.pickLimit(n, path, "pids_limit", "pids", pidsLimit, pidsDeploy)
	switch {
	case cpus != nil && cpusDeploy != nil && *cpus != *cpusDeploy:
		l.errorf(n, path, "cpus (%g) and deploy.resources.limits.cpus (%g) differ; set one", *cpus, *cpusDeploy)
	case cpus != nil:
		s.CPUs = *cpus
	case cpusDeploy != nil:
		s.CPUs = *cpusDeploy
	}
	if len(s.Networks) == 0 {
		s.Networks = map[string]*ServiceNetwork{"default": nil}
		sn.networks["default"] = key
	}
	return s, sn
}

// pickLimit merges a service-level limit with its deploy.resources.limits twin.
func (l *loader) pickLimit(n *yaml.Node, path, key, deployKey string, direct, deploy *int64) int64 {
	switch {
	case direct != nil && deploy != nil && *direct != *deploy:
		l.errorf(n, path, "%s (%d) and deploy.resources.limits.%s (%d) differ; set one", key, *direct, deployKey, *deploy)
	case direct != nil:
		return *direct
	case deploy != nil:
		return *deploy
	}
	return 0
}

// duration reads a duration value.
func (l *loader) duration(n *yaml.Node, path string) (time.Duration, bool) {
	s, ok := l.str(n, path)
	if !ok {
		return 0, false
	}
	d, err := parseDuration(s)
	if err != nil {
		l.errorf(n, path, "%v", err)
		return 0, false
	}
	return d, true
}

// sizePtr reads a byte size (a number of bytes, or with a unit).
func (l *loader) sizePtr(n *yaml.Node, path string) *int64 {
	s, ok := l.str(n, path)
	if !ok {
		return nil
	}
	v, err := parseSize(s)
	if err != nil {
		l.errorf(n, path, "%v", err)
		return nil
	}
	return &v
}

// cpus reads a CPU count such as 0.5 or "1.5".
func (l *loader) cpus(n *yaml.Node, path string) *float64 {
	s, ok := l.str(n, path)
	if !ok {
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f > 0) || math.IsInf(f, 0) {
		l.errorf(n, path, "must be a positive number of CPUs, e.g. 0.5, not %q", s)
		return nil
	}
	return &f
}

// command reads command or entrypoint: a list, or a string split into words.
func (l *loader) command(n *yaml.Node, path string) []string {
	switch {
	case isNull(n):
		return nil
	case n.Kind == yaml.ScalarNode:
		words, err := SplitWords(n.Value)
		if err != nil {
			l.errorf(n, path, "%v in %q", err, n.Value)
		}
		return words
	}
	list, _ := l.strList(n, path)
	if list == nil {
		list = []string{}
	}
	return list
}

// build reads the build section (canonicalized to a mapping).
func (l *loader) build(n *yaml.Node, path string) *Build {
	if isNull(n) {
		return nil
	}
	b := &Build{Context: ".", Dockerfile: "Dockerfile"}
	l.fields(n, path, keysBuild, func(f string, _, v *yaml.Node, p string) {
		switch f {
		case "context":
			if c, ok := l.str(v, p); ok {
				if strings.Contains(c, "://") || strings.HasPrefix(c, "git@") {
					l.errorf(v, p, "remote build context %q is not supported; use a local directory", c)
				}
				b.Context = c
			}
		case "dockerfile":
			if d, ok := l.str(v, p); ok && d != "" {
				b.Dockerfile = d
			}
		case "args":
			args, _ := l.strMap(v, p)
			for k, val := range args {
				if val == nil {
					got, ok := l.lookup(k)
					if !ok {
						continue
					}
					val = &got
				}
				if b.Args == nil {
					b.Args = map[string]string{}
				}
				b.Args[k] = *val
			}
		case "target":
			b.Target, _ = l.str(v, p)
		}
	})
	b.Context = l.paths.abs(b.Context)
	return b
}

// environment resolves a service's environment: env_file entries in order, then the
// environment key; a variable without a value comes from the shell or .env, if set there.
func (l *loader) environment(files *yaml.Node, filesPath string, env *yaml.Node, envPath string) map[string]string {
	out := map[string]string{}
	if files != nil && !isNull(files) {
		if files.Kind != yaml.SequenceNode {
			l.errorf(files, filesPath, "must be a path or a list of paths, not %s", kindName(files))
		} else {
			for i, e := range files.Content {
				l.envFile(e, indexPath(filesPath, i), out)
			}
		}
	}
	if env != nil && !isNull(env) {
		vals, _ := l.strMap(env, envPath)
		for k, v := range vals {
			if v == nil {
				got, ok := l.lookup(k)
				if !ok {
					continue
				}
				v = &got
			}
			out[k] = *v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// envFile reads one env_file entry (a path, or {path, required}) into out.
func (l *loader) envFile(n *yaml.Node, path string, out map[string]string) {
	var file string
	required := true
	if n.Kind == yaml.MappingNode {
		l.fields(n, path, keysEnvFile, func(f string, _, v *yaml.Node, p string) {
			switch f {
			case "path":
				file, _ = l.str(v, p)
			case "required":
				if b, ok := l.boolean(v, p); ok {
					required = b
				}
			}
		})
		if file == "" {
			l.errorf(n, path, "path is required")
			return
		}
	} else if s, ok := l.str(n, path); ok {
		file = s
	} else {
		return
	}
	file = l.paths.abs(file)
	data, err := os.ReadFile(file)
	if err != nil {
		if required || !os.IsNotExist(err) {
			l.errorf(n, path, "read env file: %v", err)
		}
		return
	}
	vars, unset, err := parseDotenv(string(data), l.lookup)
	if err != nil {
		l.errorf(n, path, "env file %s: %v", file, err)
		return
	}
	for _, name := range unset {
		l.warn(n, "%s: variable %s is not set, defaulting to an empty string", file, name)
	}
	for _, v := range vars {
		out[v.Key] = v.Value
	}
}

// ports reads the ports list, short or long syntax, one Port per container port.
func (l *loader) ports(n *yaml.Node, path string, s *Service, sn *svcNodes) {
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, path, "must be a list, not %s", kindName(n))
		return
	}
	for i, item := range n.Content {
		p := indexPath(path, i)
		var ports []Port
		var err error
		switch {
		case item.Kind == yaml.MappingNode:
			ports = l.portLong(item, p)
		case isNull(item):
			err = errEmpty
		case item.Kind == yaml.ScalarNode:
			ports, err = parsePortSpec(item.Value)
		default:
			l.errorf(item, p, "must be a string or a mapping, not %s", kindName(item))
		}
		if err != nil {
			l.errorf(item, p, "%v", err)
			continue
		}
		for range ports {
			sn.ports = append(sn.ports, item)
			sn.portPaths = append(sn.portPaths, p)
		}
		s.Ports = append(s.Ports, ports...)
	}
}

// portLong reads the long syntax of a port.
func (l *loader) portLong(n *yaml.Node, path string) []Port {
	var target, published, hostIP, proto string
	l.fields(n, path, keysPort, func(f string, _, v *yaml.Node, p string) {
		val, ok := l.str(v, p)
		if !ok {
			return
		}
		switch f {
		case "target":
			target = val
		case "published":
			published = val
		case "host_ip":
			hostIP = val
		case "protocol":
			proto = val
		case "mode":
			// One host: "host" and "ingress" both publish on this machine.
			if val != "host" && val != "ingress" {
				l.errorf(v, p, "must be host or ingress, not %q", val)
			}
		}
	})
	if target == "" {
		l.errorf(n, path, "target is required")
		return nil
	}
	protocol, err := parseProtocol(proto)
	if err == nil {
		hostIP, err = parseHostIP(hostIP)
	}
	var ports []Port
	if err == nil {
		ports, err = expandPorts(target, published, hostIP, protocol)
	}
	if err != nil {
		l.errorf(n, path, "%v", err)
		return nil
	}
	return ports
}

// expose reads the expose list.
func (l *loader) expose(n *yaml.Node, path string, s *Service) {
	list, _ := l.strList(n, path)
	for i, e := range list {
		ports, err := parseExpose(e)
		if err != nil {
			node := n
			if n.Kind == yaml.SequenceNode {
				node = n.Content[i]
			}
			l.errorf(node, indexPath(path, i), "%v", err)
			continue
		}
		s.Expose = append(s.Expose, ports...)
	}
}

// volumes reads the service volumes list, short or long syntax.
func (l *loader) volumes(n *yaml.Node, path string, s *Service, sn *svcNodes) {
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, path, "must be a list, not %s", kindName(n))
		return
	}
	for i, item := range n.Content {
		p := indexPath(path, i)
		var m Mount
		switch {
		case item.Kind == yaml.MappingNode:
			var ok bool
			if m, ok = l.mountLong(item, p); !ok {
				continue
			}
		case item.Kind == yaml.ScalarNode && !isNull(item):
			var ignored []string
			var err error
			m, ignored, err = parseVolumeSpec(item.Value, l.paths)
			if err != nil {
				l.errorf(item, p, "%v", err)
				continue
			}
			for _, o := range ignored {
				l.warn(item, "%s: volume option %q is not supported and is ignored", p, o)
			}
		default:
			l.errorf(item, p, "must be a string or a mapping, not %s", kindName(item))
			continue
		}
		s.Volumes = append(s.Volumes, m)
		sn.mounts = append(sn.mounts, item)
		sn.mountPaths = append(sn.mountPaths, p)
	}
}

// mountLong reads the long syntax of a service volume.
func (l *loader) mountLong(n *yaml.Node, path string) (Mount, bool) {
	var m Mount
	var typeNode *yaml.Node
	l.fields(n, path, keysMount, func(f string, _, v *yaml.Node, p string) {
		switch f {
		case "type":
			m.Type, _ = l.str(v, p)
			typeNode = v
		case "source":
			m.Source, _ = l.str(v, p)
		case "target":
			m.Target, _ = l.str(v, p)
		case "read_only":
			m.ReadOnly, _ = l.boolean(v, p)
		case "consistency":
			// Only meaningful on macOS; no effect on Linux (as with Docker).
		case "bind":
			l.fields(v, p, keysMountBind, func(_ string, _, bv *yaml.Node, bp string) {
				m.CreateHostPath, _ = l.boolean(bv, bp)
			})
		case "volume":
			l.fields(v, p, keysMountVol, func(string, *yaml.Node, *yaml.Node, string) {})
		case "tmpfs":
			l.fields(v, p, keysMountTmpfs, func(tf string, _, tv *yaml.Node, tp string) {
				s, ok := l.str(tv, tp)
				if !ok {
					return
				}
				var err error
				if tf == "size" {
					m.TmpfsSize, err = parseSize(s)
				} else {
					m.TmpfsMode, err = parseMode(s)
				}
				if err != nil {
					l.errorf(tv, tp, "%v", err)
				}
			})
		}
	})
	switch m.Type {
	case MountBind:
		if m.Source == "" {
			l.errorf(n, path, "a bind mount needs a source")
			return m, false
		}
		m.Source = l.paths.abs(m.Source)
	case MountVolume:
	case MountTmpfs:
		if m.Source != "" {
			l.errorf(n, path+".source", "a tmpfs mount has no source")
		}
	case "":
		if typeNode == nil {
			l.errorf(n, path, "type is required (bind, volume or tmpfs)")
		}
		return m, false
	default:
		l.errorf(typeNode, path+".type", "unsupported volume type %q (bind, volume or tmpfs)", m.Type)
		return m, false
	}
	if m.Type != MountTmpfs && (m.TmpfsSize != 0 || m.TmpfsMode != 0) {
		l.errorf(n, path+".tmpfs", "tmpfs options need type: tmpfs")
	}
	if m.Target == "" {
		l.errorf(n, path, "target is required")
		return m, false
	}
	return m, true
}

// dependsOn reads depends_on (canonicalized to a mapping).
func (l *loader) dependsOn(n *yaml.Node, path string, sn *svcNodes) map[string]Dependency {
	if n.Kind != yaml.MappingNode {
		l.errorf(n, path, "must be a list of services or a mapping, not %s", kindName(n))
		return nil
	}
	out := map[string]Dependency{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := joinPath(path, k.Value)
		if _, dup := out[k.Value]; dup {
			l.errorf(k, p, "service %q is listed twice", k.Value)
			continue
		}
		d := Dependency{Condition: ConditionStarted, Required: true}
		if !isNull(v) {
			l.fields(v, p, keysDependency, func(f string, _, fv *yaml.Node, fp string) {
				switch f {
				case "condition":
					c, ok := l.str(fv, fp)
					if !ok {
						return
					}
					switch c {
					case ConditionStarted, ConditionHealthy, ConditionCompleted:
						d.Condition = c
					default:
						l.errorf(fv, fp, "unknown condition %q (%s, %s or %s)", c, ConditionStarted, ConditionHealthy, ConditionCompleted)
					}
				case "restart":
					d.Restart, _ = l.boolean(fv, fp)
				case "required":
					if b, ok := l.boolean(fv, fp); ok {
						d.Required = b
					}
				}
			})
		}
		out[k.Value] = d
		sn.deps[k.Value] = k
	}
	return out
}

// healthcheck reads a healthcheck and applies Docker's defaults.
func (l *loader) healthcheck(n *yaml.Node, path string) *Healthcheck {
	if isNull(n) {
		return nil
	}
	h := &Healthcheck{Interval: defaultHealthInterval, Timeout: defaultHealthTimeout, StartInterval: defaultHealthStartInterval, Retries: defaultHealthRetries}
	l.fields(n, path, keysHealth, func(f string, _, v *yaml.Node, p string) {
		switch f {
		case "test":
			h.Test = l.healthTest(v, p)
		case "interval":
			if d, ok := l.duration(v, p); ok {
				h.Interval = d
			}
		case "timeout":
			if d, ok := l.duration(v, p); ok {
				h.Timeout = d
			}
		case "start_period":
			h.StartPeriod, _ = l.duration(v, p)
		case "start_interval":
			if d, ok := l.duration(v, p); ok {
				h.StartInterval = d
			}
		case "retries":
			if r, ok := l.integer(v, p, 0, math.MaxInt32); ok {
				h.Retries = int(r)
			}
		case "disable":
			h.Disable, _ = l.boolean(v, p)
		}
	})
	if len(h.Test) == 1 && h.Test[0] == "NONE" {
		h.Disable = true
	}
	if h.Disable {
		return &Healthcheck{Test: []string{"NONE"}, Disable: true}
	}
	return h
}

// healthTest reads healthcheck.test: a string (run by the shell) or a list starting with
// CMD, CMD-SHELL or NONE.
func (l *loader) healthTest(n *yaml.Node, path string) []string {
	if n.Kind == yaml.ScalarNode {
		if s, ok := l.str(n, path); ok && strings.TrimSpace(s) != "" {
			return []string{"CMD-SHELL", s}
		}
		l.errorf(n, path, "must not be empty")
		return nil
	}
	list, ok := l.strList(n, path)
	if !ok {
		return nil
	}
	if len(list) == 0 {
		l.errorf(n, path, "must not be empty")
		return nil
	}
	switch list[0] {
	case "NONE":
		if len(list) == 1 {
			return list
		}
		l.errorf(n, path, "NONE takes no arguments")
	case "CMD":
		if len(list) > 1 {
			return list
		}
		l.errorf(n, path, "CMD needs the command to run, e.g. [\"CMD\", \"/bin/check\"]")
	case "CMD-SHELL":
		if len(list) == 2 && strings.TrimSpace(list[1]) != "" {
			return list
		}
		l.errorf(n, path, "CMD-SHELL takes exactly one shell command string")
	default:
		l.errorf(n, path, "must start with CMD, CMD-SHELL or NONE, not %q", list[0])
	}
	return nil
}

// restart reads a restart policy: no, always, on-failure[:N], unless-stopped.
func (l *loader) restart(n *yaml.Node, path, r string) (string, int) {
	policy, max, hasMax := strings.Cut(r, ":")
	switch policy {
	case "no", "always", "unless-stopped":
		if !hasMax {
			return policy, 0
		}
	case "on-failure":
		if !hasMax {
			return policy, 0
		}
		if v, err := strconv.Atoi(max); err == nil && v >= 0 {
			return policy, v
		}
		l.errorf(n, path, "invalid retry count in %q: want on-failure:N with N >= 0", r)
		return policy, 0
	}
	l.errorf(n, path, "unknown restart policy %q (no, always, on-failure[:N], unless-stopped)", r)
	return "", 0
}

// capabilities reads cap_add or cap_drop, canonicalizing the names.
func (l *loader) capabilities(n *yaml.Node, path string) []string {
	list, _ := l.strList(n, path)
	out := make([]string, 0, len(list))
	for i, c := range list {
		name, err := capabilityName(c)
		if err != nil {
			l.errorf(n, indexPath(path, i), "%v", err)
			continue
		}
		out = append(out, name)
	}
	return out
}

// securityOpts reads security_opt. A seccomp profile named by its file (seccomp:FILE or
// seccomp=FILE, relative to the project directory as compose resolves it) is read now and
// kept as seccomp=<the profile's JSON, compacted>, which is what Docker's CLI sends: the
// containers keep the profile and do not depend on the file, a change to the file changes
// the service's config hash (so up recreates its containers), and the model prints and
// loads back as one self-contained file. What the profile says is checked by the runtime,
// which compiles it, when it creates a container.
func (l *loader) securityOpts(n *yaml.Node, path string) []string {
	list, ok := l.strList(n, path)
	if !ok {
		return list
	}
	for i, o := range list {
		_, file, ok := seccompFile(o)
		if !ok {
			continue
		}
		node, p := n, path
		if n.Kind == yaml.SequenceNode {
			node, p = n.Content[i], indexPath(path, i)
		}
		file = l.paths.abs(file)
		data, err := os.ReadFile(file)
		if err != nil {
			l.errorf(node, p, "read seccomp profile: %v", err)
			continue
		}
		// Unmarshal, unlike Compact, reports where the syntax error is.
		if err := json.Unmarshal(data, new(json.RawMessage)); err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) && se.Offset > 0 {
				before := data[:se.Offset-1]
				err = fmt.Errorf("line %d, column %d: %w", 1+bytes.Count(before, []byte("\n")), len(before)-bytes.LastIndexByte(before, '\n'), err)
			}
			l.errorf(node, p, "seccomp profile %s: not JSON: %v", file, err)
			continue
		}
		var b bytes.Buffer
		json.Compact(&b, data) // valid JSON: cannot fail
		list[i] = "seccomp=" + b.String()
	}
	return list
}

// seccompFile returns the profile file a security option names (seccomp=FILE, or
// seccomp:FILE as compose files write it) and the option up to the file; ok is false for
// other options, Docker's names (unconfined, builtin) and a profile given as JSON.
func seccompFile(opt string) (prefix, file string, ok bool) {
	i := strings.IndexAny(opt, "=:")
	if i < 0 || opt[:i] != "seccomp" {
		return "", "", false
	}
	file = opt[i+1:]
	if file == "" || file == "unconfined" || file == "builtin" || strings.HasPrefix(file, "{") {
		return "", "", false
	}
	return opt[:i+1], file, true
}

// deploy reads the supported part of deploy: replicas and resources.limits. It returns
// the node of replicas, for errors.
func (l *loader) deploy(n *yaml.Node, path string, replicas, mem **int64, cpus **float64, pids **int64) *yaml.Node {
	var replicasNode *yaml.Node
	l.fields(n, path, keysDeploy, func(f string, _, v *yaml.Node, p string) {
		switch f {
		case "replicas":
			replicasNode = v
			if x, ok := l.integer(v, p, 0, math.MaxInt32); ok {
				*replicas = &x
			}
		case "resources":
			l.fields(v, p, keysResources, func(_ string, _, lv *yaml.Node, lp string) {
				l.fields(lv, lp, keysLimits, func(f string, _, v *yaml.Node, p string) {
					switch f {
					case "cpus":
						*cpus = l.cpus(v, p)
					case "memory":
						*mem = l.sizePtr(v, p)
					case "pids":
						if x, ok := l.integer(v, p, -1, math.MaxInt64); ok {
							*pids = &x
						}
					}
				})
			})
		}
	})
	return replicasNode
}

// serviceNetworks reads a service's networks (canonicalized to a mapping).
func (l *loader) serviceNetworks(n *yaml.Node, path string, sn *svcNodes) map[string]*ServiceNetwork {
	if n.Kind != yaml.MappingNode {
		l.errorf(n, path, "must be a list of networks or a mapping, not %s", kindName(n))
		return nil
	}
	out := map[string]*ServiceNetwork{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := joinPath(path, k.Value)
		if _, dup := out[k.Value]; dup {
			l.errorf(k, p, "network %q is listed twice", k.Value)
			continue
		}
		sn.networks[k.Value] = k
		if isNull(v) {
			out[k.Value] = nil
			continue
		}
		sv := &ServiceNetwork{}
		l.fields(v, p, keysSvcNetwork, func(f string, _, fv *yaml.Node, fp string) {
			switch f {
			case "aliases":
				sv.Aliases, _ = l.strList(fv, fp)
				for j, a := range sv.Aliases {
					if !hostName().MatchString(a) {
						l.errorf(fv, indexPath(fp, j), "invalid alias %q (a DNS name)", a)
					}
				}
			case "ipv4_address":
				if s, ok := l.str(fv, fp); ok {
					a, err := netipParse4(s)
					if err != nil {
						l.errorf(fv, fp, "%v", err)
						return
					}
					sv.IPv4Address = a
				}
			}
		})
		out[k.Value] = sv
	}
	return out
}

// extraHosts reads extra_hosts: a list of "host:ip" or "host=ip", or a mapping host: ip.
func (l *loader) extraHosts(n *yaml.Node, path string) []string {
	type entry struct {
		host, ip string
		node     *yaml.Node
		p        string
	}
	var entries []entry
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := joinPath(path, k.Value)
			if ip, ok := l.str(v, p); ok {
				entries = append(entries, entry{k.Value, ip, v, p})
			}
		}
	default:
		list, _ := l.strList(n, path)
		for i, e := range list {
			sep := strings.IndexAny(e, "=:")
			node := n
			if n.Kind == yaml.SequenceNode {
				node = n.Content[i]
			}
			if sep < 0 {
				l.errorf(node, indexPath(path, i), "must be HOST:IP, not %q", e)
				continue
			}
			entries = append(entries, entry{e[:sep], e[sep+1:], node, indexPath(path, i)})
		}
	}
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		ip := strings.TrimSuffix(strings.TrimPrefix(e.ip, "["), "]")
		if ip != "host-gateway" {
			a, err := parseHostIP(ip)
			if err != nil {
				l.errorf(e.node, e.p, "invalid address %q for host %q", e.ip, e.host)
				continue
			}
			ip = a
		}
		if !hostName().MatchString(e.host) {
			l.errorf(e.node, e.p, "invalid host name %q", e.host)
			continue
		}
		out = append(out, e.host+":"+ip)
	}
	return out
}

// ulimits reads ulimits: name: N or name: {soft, hard}.
func (l *loader) ulimits(n *yaml.Node, path string) map[string]Ulimit {
	if n.Kind != yaml.MappingNode {
		l.errorf(n, path, "must be a mapping, not %s", kindName(n))
		return nil
	}
	out := map[string]Ulimit{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := joinPath(path, k.Value)
		if !ulimitNames[k.Value] {
			l.errorf(k, p, "unknown ulimit %q", k.Value)
			continue
		}
		var u Ulimit
		if v.Kind == yaml.MappingNode {
			var soft, hard *int64
			l.fields(v, p, keysUlimit, func(f string, _, fv *yaml.Node, fp string) {
				if x, ok := l.integer(fv, fp, -1, math.MaxInt64); ok {
					if f == "soft" {
						soft = &x
					} else {
						hard = &x
					}
				}
			})
			if soft == nil || hard == nil {
				l.errorf(v, p, "needs both soft and hard")
				continue
			}
			u = Ulimit{Soft: *soft, Hard: *hard}
			if u.Hard >= 0 && (u.Soft > u.Hard || u.Soft < 0) {
				l.errorf(v, p, "soft limit %d exceeds hard limit %d", u.Soft, u.Hard)
				continue
			}
		} else if x, ok := l.integer(v, p, -1, math.MaxInt64); ok {
			u = Ulimit{Soft: x, Hard: x}
		} else {
			continue
		}
		out[k.Value] = u
	}
	return out
}

// resolveHome returns the user's home directory for ~ in paths.
func resolveHome(lookup lookupFunc) string {
	if h, ok := lookup("HOME"); ok && h != "" {
		return h
	}
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	return string(filepath.Separator)
}
