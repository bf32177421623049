package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
)

// hashVersion prefixes every config hash. Bump it when the hashed form changes, so that
// containers labelled with an older hash are recognized as such rather than silently
// compared with a hash computed differently.
const hashVersion = "v1:"

// ConfigHash returns a digest of everything in the service whose change requires its
// containers to be recreated. It is stable across key order, formatting, list order of
// set-like keys (ports, expose, volumes, capabilities, extra_hosts, security_opt) and the
// source of interpolated values. It leaves out what changes without recreation: the name,
// scale (replicas come and go), depends_on (start order), profiles, the position in the
// file, and build (the image a build produces is compared by its ID, not by how it was
// built).
func (s *Service) ConfigHash() string {
	c := *s
	c.Name, c.Scale, c.Pos, c.DependsOn, c.Profiles, c.Build = "", 0, Position{}, nil, nil, nil
	c.Ports = slices.Clone(s.Ports)
	slices.SortFunc(c.Ports, comparePorts)
	c.Expose = slices.Clone(s.Expose)
	slices.SortFunc(c.Expose, comparePorts)
	c.Volumes = slices.Clone(s.Volumes)
	slices.SortFunc(c.Volumes, func(a, b Mount) int { return strings.Compare(a.Target, b.Target) })
	for _, list := range []*[]string{&c.CapAdd, &c.CapDrop, &c.ExtraHosts, &c.SecurityOpt} {
		*list = slices.Clone(*list)
		slices.Sort(*list)
	}
	data, err := json.Marshal(&c)
	if err != nil {
		// Every field of Service marshals; this cannot happen.
		panic("spec: marshal service for hashing: " + err.Error())
	}
	sum := sha256.Sum256(data)
	return hashVersion + hex.EncodeToString(sum[:])
}

func comparePorts(a, b Port) int {
	if a.Target != b.Target {
		return int(a.Target) - int(b.Target)
	}
	if a.Published != b.Published {
		return int(a.Published) - int(b.Published)
	}
	if c := strings.Compare(a.Protocol, b.Protocol); c != 0 {
		return c
	}
	return strings.Compare(a.HostIP, b.HostIP)
}
