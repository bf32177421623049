package spec

import (
	"encoding/json"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The YAML and JSON forms of a project are compose files in canonical form: every port and
// mount in long syntax, sizes in bytes, durations as strings. The YAML form loads back
// into the same project (a literal $ is written as $$ so that it survives interpolation).

type projectDoc struct {
	Name     string              `yaml:"name" json:"name"`
	Services map[string]*Service `yaml:"services" json:"services"`
	Networks map[string]*Network `yaml:"networks,omitempty" json:"networks,omitempty"`
	Volumes  map[string]*Volume  `yaml:"volumes,omitempty" json:"volumes,omitempty"`
}

func (p *Project) doc() projectDoc {
	d := projectDoc{Name: p.Name, Services: make(map[string]*Service, len(p.Services)), Networks: p.Networks, Volumes: p.Volumes}
	for _, s := range p.Services {
		d.Services[s.Name] = s
	}
	return d
}

// MarshalYAML writes the project as a canonical stack file. The tree is built from the
// JSON form (the same fields and names), which sidesteps yaml.v3's encoding of strings
// that start with a line break (a block scalar it cannot read back).
func (p *Project) MarshalYAML() (any, error) {
	data, err := json.Marshal(p.doc())
	if err != nil {
		return nil, err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return nil, err
	}
	root := n.Content[0]
	restyle(root, false)
	return root, nil
}

// MarshalJSON writes the project as a canonical stack file in JSON.
func (p *Project) MarshalJSON() ([]byte, error) { return json.Marshal(p.doc()) }

// restyle prepares a tree parsed from JSON for YAML output: plain style where it reads
// back the same, double quotes for text that starts with blank space, and every $ in a
// value (not a key) doubled, the inverse of interpolation.
func restyle(n *yaml.Node, key bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		if !key {
			n.Value = strings.ReplaceAll(n.Value, "$", "$$")
		}
		n.Style = 0
		if n.Value != "" && strings.IndexAny(n.Value[:1], " \t\n\r") == 0 {
			n.Style = yaml.DoubleQuotedStyle
		}
	case yaml.MappingNode:
		n.Style = 0
		for i, c := range n.Content {
			restyle(c, i%2 == 0)
		}
	default:
		n.Style = 0
		for _, c := range n.Content {
			restyle(c, false)
		}
	}
}

// plainService has Service's fields without its marshal methods.
type plainService Service

type serviceDoc struct {
	*plainService   `yaml:",inline"`
	Entrypoint      *[]string       `yaml:"entrypoint,omitempty" json:"entrypoint,omitempty"`
	Command         *[]string       `yaml:"command,omitempty" json:"command,omitempty"`
	Expose          []string        `yaml:"expose,omitempty" json:"expose,omitempty"`
	Healthcheck     *healthcheckDoc `yaml:"healthcheck,omitempty" json:"healthcheck,omitempty"`
	Restart         string          `yaml:"restart,omitempty" json:"restart,omitempty"`
	StopGracePeriod string          `yaml:"stop_grace_period,omitempty" json:"stop_grace_period,omitempty"`
}

type healthcheckDoc struct {
	Test          []string `yaml:"test,omitempty" json:"test,omitempty"`
	Interval      string   `yaml:"interval,omitempty" json:"interval,omitempty"`
	Timeout       string   `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	StartPeriod   string   `yaml:"start_period,omitempty" json:"start_period,omitempty"`
	StartInterval string   `yaml:"start_interval,omitempty" json:"start_interval,omitempty"`
	Retries       *int     `yaml:"retries,omitempty" json:"retries,omitempty"`
	Disable       bool     `yaml:"disable,omitempty" json:"disable,omitempty"`
}

func (s *Service) doc() serviceDoc {
	d := serviceDoc{plainService: (*plainService)(s)}
	if s.Entrypoint != nil {
		d.Entrypoint = &s.Entrypoint
	}
	if s.Command != nil {
		d.Command = &s.Command
	}
	for _, e := range s.Expose {
		port := strconv.Itoa(int(e.Target))
		if e.Protocol != "tcp" {
			port += "/" + e.Protocol
		}
		d.Expose = append(d.Expose, port)
	}
	if h := s.Healthcheck; h != nil {
		if h.Disable {
			d.Healthcheck = &healthcheckDoc{Disable: true}
		} else {
			retries := h.Retries
			d.Healthcheck = &healthcheckDoc{Test: h.Test, Interval: h.Interval.String(), Timeout: h.Timeout.String(),
				StartPeriod: h.StartPeriod.String(), StartInterval: h.StartInterval.String(), Retries: &retries}
		}
	}
	d.Restart = s.Restart
	if s.Restart == "on-failure" && s.RestartMaxRetries > 0 {
		d.Restart += ":" + strconv.Itoa(s.RestartMaxRetries)
	}
	if s.StopGracePeriod != nil {
		d.StopGracePeriod = s.StopGracePeriod.String()
	}
	return d
}

// MarshalYAML writes the service in canonical compose form.
func (s *Service) MarshalYAML() (any, error) { return s.doc(), nil }

// MarshalJSON writes the service in canonical compose form.
func (s *Service) MarshalJSON() ([]byte, error) { return json.Marshal(s.doc()) }

type mountDoc struct {
	Type     string    `yaml:"type" json:"type"`
	Source   string    `yaml:"source,omitempty" json:"source,omitempty"`
	Target   string    `yaml:"target" json:"target"`
	ReadOnly bool      `yaml:"read_only,omitempty" json:"read_only,omitempty"`
	Bind     *bindDoc  `yaml:"bind,omitempty" json:"bind,omitempty"`
	Tmpfs    *tmpfsDoc `yaml:"tmpfs,omitempty" json:"tmpfs,omitempty"`
}

type bindDoc struct {
	CreateHostPath bool `yaml:"create_host_path" json:"create_host_path"`
}

type tmpfsDoc struct {
	Size int64  `yaml:"size,omitempty" json:"size,omitempty"`
	Mode string `yaml:"mode,omitempty" json:"mode,omitempty"`
}

func (m Mount) doc() mountDoc {
	d := mountDoc{Type: m.Type, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly}
	if m.CreateHostPath {
		d.Bind = &bindDoc{CreateHostPath: true}
	}
	if m.TmpfsSize != 0 || m.TmpfsMode != 0 {
		d.Tmpfs = &tmpfsDoc{Size: m.TmpfsSize}
		if m.TmpfsMode != 0 {
			d.Tmpfs.Mode = formatMode(m.TmpfsMode)
		}
	}
	return d
}

// MarshalYAML writes the mount in compose's long syntax.
func (m Mount) MarshalYAML() (any, error) { return m.doc(), nil }

// MarshalJSON writes the mount in compose's long syntax.
func (m Mount) MarshalJSON() ([]byte, error) { return json.Marshal(m.doc()) }
