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

// MarshalYAML writes the project as a canonical stack file.
func (p *Project) MarshalYAML() (any, error) {
	var n yaml.Node
	if err := n.Encode(p.doc()); err != nil {
		return nil, err
	}
	escapeDollars(&n)
	return &n, nil
}

// MarshalJSON writes the project as a canonical stack file in JSON.
func (p *Project) MarshalJSON() ([]byte, error) { return json.Marshal(p.doc()) }

// escapeDollars doubles every $ in string values, the inverse of interpolation.
func escapeDollars(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "$") {
		n.Value = strings.ReplaceAll(n.Value, "$", "$$")
	}
	for _, c := range n.Content {
		escapeDollars(c)
	}
}

// plainService has Service's fields without its marshal methods.
type plainService Service

type serviceDoc struct {
	*plainService   `yaml:",inline"`
	Entrypoint      *[]string       `yaml:"entrypoint,omitempty" json:"entrypoint,omitempty"`
	Command         *[]string       `yaml:"command,omitempty" json:"command,omitempty"`
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
