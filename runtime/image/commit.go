package image

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/stackhq/stack/internal/statefile"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// beginWrite marks a write (pull, import, load, create) in progress until the returned lock
// is released: garbage collection waits for it, so blobs and layers stored but not yet
// referenced by an image record are never collected. When no other write runs, it first
// empties tmp/ of what writers that died left there.
func (s *Store) beginWrite() (*fileLock, error) {
	s.cleanTmp()
	return s.lock("gc", false)
}

// Hold marks a long write in progress until release is called: a Dockerfile build, whose
// step images stay untagged leaves (dangling) until the next step is committed on them.
// Garbage collection (Remove, Prune) waits for it, so the layers a running build stands on
// are never deleted under it; a prune meanwhile may still drop the records of its dangling
// step images (the build then records no parent for the next step, and misses its cache
// next time).
func (s *Store) Hold() (release func(), err error) {
	l, err := s.beginWrite()
	if err != nil {
		return nil, err
	}
	return l.unlock, nil
}

// putBlob stores data as a blob (if not already there) and returns its digest.
func (s *Store) putBlob(data []byte) (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(data))
	if err != nil {
		return h, err
	}
	if exists(s.blobPath(h)) {
		return h, nil
	}
	if err := statefile.WriteSync(s.blobPath(h), data, 0o600); err != nil {
		return h, fmt.Errorf("store blob %s: %w", h, err)
	}
	return h, nil
}

// commitImage stores the config and manifest blobs, writes the image record (with parent,
// the ID of the image it was made from, or "") and points refs (canonical tags and digest
// references) at the image. A tag that named another image moves to this one; the other
// image stays, untagged, as Docker does.
func (s *Store) commitImage(rawConfig, rawManifest []byte, refs []string, parent string) (*Image, error) {
	id, err := s.putBlob(rawConfig)
	if err != nil {
		return nil, err
	}
	mh, err := s.putBlob(rawManifest)
	if err != nil {
		return nil, err
	}
	l, err := s.lock("store", true)
	if err != nil {
		return nil, err
	}
	defer l.unlock()
	var rec record
	if err := statefile.ReadJSON(s.recordPath(id), &rec); err != nil {
		if !os.IsNotExist(err) {
			return nil, fmt.Errorf("read image record %s: %w", id, err)
		}
		rec = record{ID: id.String(), Manifest: mh, Added: time.Now().UTC(), Parent: parent}
		if err := statefile.WriteJSON(s.recordPath(id), rec, 0o600, true); err != nil {
			return nil, err
		}
	}
	all, err := s.readRefs()
	if err != nil {
		return nil, err
	}
	changed := false
	for _, r := range refs {
		if all[r] != id.String() {
			all[r] = id.String()
			changed = true
		}
	}
	if changed {
		if err := statefile.WriteJSON(s.refsPath(), all, 0o600, true); err != nil {
			return nil, err
		}
	}
	return s.load(id, all)
}

// canonicalRefs parses and normalizes references (tags); a bare name gets ":latest".
func canonicalRefs(tags []string) ([]string, error) {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		r, err := ParseReference(t)
		if err != nil {
			return nil, err
		}
		out = append(out, Canonical(r))
	}
	return out, nil
}

// manifestFor builds a Docker schema 2 (or OCI, when oci is set) manifest for a config and
// layers.
func manifestFor(rawConfig []byte, layers []v1.Descriptor, oci bool) ([]byte, error) {
	cfgHash, cfgSize, err := v1.SHA256(bytes.NewReader(rawConfig))
	if err != nil {
		return nil, err
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.DockerManifestSchema2,
		Config:        v1.Descriptor{MediaType: types.DockerConfigJSON, Size: cfgSize, Digest: cfgHash},
		Layers:        layers,
	}
	if oci {
		m.MediaType, m.Config.MediaType = types.OCIManifestSchema1, types.OCIConfigJSON
	}
	if m.Layers == nil {
		m.Layers = []v1.Descriptor{}
	}
	return json.Marshal(m)
}
