package image

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// ParseReference parses name[:tag] or name@sha256:<hex> with Docker Hub normalization:
// "busybox" is docker.io/library/busybox:latest, "localhost/x" and any host with a dot or a
// port name their own registry.
func ParseReference(ref string) (name.Reference, error) {
	if ref == "" {
		return nil, fmt.Errorf("parse %q: %w", ref, ErrInvalidReference)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w: %v", ref, ErrInvalidReference, err)
	}
	return r, nil
}

// Canonical is the stored form of a reference, as RepoTags and RepoDigests spell it:
// "docker.io/library/busybox:latest", "localhost:5000/x@sha256:…". go-containerregistry
// spells Docker Hub "index.docker.io"; stored names use "docker.io", as Docker and Podman
// print it.
func Canonical(r name.Reference) string {
	if _, ok := r.(name.Digest); ok {
		return RepositoryName(r.Context()) + "@" + r.Identifier()
	}
	return RepositoryName(r.Context()) + ":" + r.Identifier()
}

// repoName is the canonical repository of r: "docker.io/library/busybox".
func RepositoryName(r name.Repository) string {
	reg := r.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	return reg + "/" + r.RepositoryStr()
}

// splitCanonical splits a stored reference into repository and tag or digest.
func splitCanonical(ref string) (repo, tag, digest string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		return ref[:i], "", ref[i+1:]
	}
	// The tag follows the last colon after the last slash (a registry port is before it).
	slash := strings.LastIndex(ref, "/")
	if i := strings.LastIndex(ref, ":"); i > slash {
		return ref[:i], ref[i+1:], ""
	}
	return ref, "", ""
}
