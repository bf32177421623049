package reconcile

import (
	"sort"
	"strconv"

	"github.com/stackhq/stack/spec"
)

// Labels stack puts on every container it creates for a project. Observe finds a project's
// containers by them, whichever command created them.
const (
	LabelProject    = "stack.project"
	LabelService    = "stack.service"
	LabelNumber     = "stack.number"
	LabelConfigHash = "stack.config-hash"
	LabelOneOff     = "stack.oneoff" // "true" for `stack run` containers, which up ignores
	// LabelConfigFiles lists the stack files (comma-separated, absolute) the container was
	// made from; `stack ls` shows them. It is not part of the config hash.
	LabelConfigFiles = "stack.config-files"
)

// DesiredFrom reduces a loaded project to what planning needs. imageID resolves a reference
// to the ID of the image the local store has for it, "" when it has none.
func DesiredFrom(p *spec.Project, imageID func(ref string) string) *Desired {
	d := &Desired{Project: p.Name}
	networks := map[string]DesiredNetwork{}
	volumes := map[string]DesiredVolume{}
	for _, s := range p.Services {
		ds := &DesiredService{
			Name:    s.Name,
			Hash:    s.ConfigHash(),
			Scale:   s.Scale,
			Image:   s.Image,
			ImageID: imageID(s.Image),
			Build:   s.Build != nil,

			ContainerName: s.ContainerName,
		}
		for _, name := range sortedKeys(s.DependsOn) {
			dep := s.DependsOn[name]
			ds.DependsOn = append(ds.DependsOn, Dependency{Service: name, Condition: Condition(dep.Condition), Restart: dep.Restart, Required: dep.Required})
		}
		for _, key := range sortedKeys(s.Networks) {
			n := p.Networks[key]
			ds.Networks = append(ds.Networks, n.Name)
			networks[n.Name] = DesiredNetwork{Name: n.Name, External: n.External}
		}
		for _, m := range s.Volumes {
			if m.Type != spec.MountVolume || m.Source == "" {
				continue
			}
			v := p.Volumes[m.Source]
			ds.Volumes = append(ds.Volumes, v.Name)
			volumes[v.Name] = DesiredVolume{Name: v.Name, External: v.External}
		}
		d.Services = append(d.Services, ds)
	}
	for _, name := range sortedKeys(networks) {
		d.Networks = append(d.Networks, networks[name])
	}
	for _, name := range sortedKeys(volumes) {
		d.Volumes = append(d.Volumes, volumes[name])
	}
	return d
}

// ContainerName is the name of replica n of a service: its container_name when it sets one
// (scale is then 1), else compose v2's "<project>-<service>-<n>".
func ContainerName(p *spec.Project, service string, n int) string {
	fixed := ""
	if s := p.Service(service); s != nil {
		fixed = s.ContainerName
	}
	return containerName(p.Name, service, fixed, n)
}

// containerName is the name of replica n of the desired service s, as ContainerName.
func (d *Desired) containerName(s *DesiredService, n int) string {
	return containerName(d.Project, s.Name, s.ContainerName, n)
}

func containerName(project, service, fixed string, n int) string {
	if fixed != "" {
		return fixed
	}
	return project + "-" + service + "-" + strconv.Itoa(n)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
