package image

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// CreateOptions describe a new image made of a parent and new layers, as a build step
// commits it.
type CreateOptions struct {
	Parent *Image // the base image; nil starts from scratch
	// Layers are paths of uncompressed layer tars (Docker-format whiteouts) to add on top of
	// the parent's layers, in order.
	Layers []string
	// Config is the new image's runtime config (replaces the parent's).
	Config v1.Config
	// History has one entry per build step, in order; EmptyLayer is set for steps that
	// changed only metadata. The non-empty entries must match Layers one to one; with no
	// History at all, one entry per layer is recorded.
	History []v1.History
	// Tags name the new image (name[:tag]); none makes an untagged image.
	Tags []string
}

// Create stores a new image: the parent's layers plus opts.Layers (each unpacked once and
// stored compressed), with opts.Config and the parent's history followed by opts.History.
// The new image records the parent's ID (Image.Parent).
// The Dockerfile builder commits each build result through Create.
func (s *Store) Create(ctx context.Context, opts CreateOptions) (*Image, error) {
	refs, err := canonicalRefs(opts.Tags)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	history := opts.History
	if len(history) == 0 {
		for range opts.Layers {
			history = append(history, v1.History{Created: v1.Time{Time: now}, CreatedBy: "stack create"})
		}
	}
	nonEmpty := 0
	for _, h := range history {
		if !h.EmptyLayer {
			nonEmpty++
		}
	}
	if nonEmpty != len(opts.Layers) {
		return nil, fmt.Errorf("create image: %d history entries with layers for %d layers", nonEmpty, len(opts.Layers))
	}

	cfg := v1.ConfigFile{Architecture: goruntime.GOARCH, OS: "linux", RootFS: v1.RootFS{Type: "layers"}}
	var descs []v1.Descriptor
	oci := false
	if opts.Parent != nil {
		cfg = *opts.Parent.Config.DeepCopy()
		m, err := s.readManifest(opts.Parent.Manifest)
		if err != nil {
			return nil, err
		}
		descs = append(descs, m.Layers...)
		oci = m.MediaType == types.OCIManifestSchema1
	}
	cfg.Created = v1.Time{Time: now}
	cfg.Config = opts.Config
	cfg.History = append(cfg.History, history...)

	w, err := s.beginWrite()
	if err != nil {
		return nil, err
	}
	defer w.unlock()
	parent := v1.Hash{}
	if ids := ChainIDs(cfg.RootFS.DiffIDs); len(ids) > 0 {
		parent = ids[len(ids)-1]
	}
	mediaType := types.DockerLayer
	if oci {
		mediaType = types.OCILayer
	}
	for _, path := range opts.Layers {
		l, err := s.storeLayer(ctx, layerJob{
			parent:    parent,
			mediaType: mediaType,
			open:      func(context.Context) (io.ReadCloser, error) { return os.Open(path) },
		})
		if err != nil {
			return nil, fmt.Errorf("create image: add layer %s: %w", path, err)
		}
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, l.DiffID)
		descs = append(descs, v1.Descriptor{MediaType: l.MediaType, Size: l.BlobSize, Digest: l.Blob})
		parent = l.ChainID
	}
	parentID := ""
	if opts.Parent != nil {
		parentID = opts.Parent.ID
	}
	return s.commitNew(cfg, descs, oci, refs, parentID)
}

// commitNew encodes a config made here, builds its manifest and commits the image with the
// given parent image ID ("" for none).
func (s *Store) commitNew(cfg v1.ConfigFile, layers []v1.Descriptor, oci bool, refs []string, parent string) (*Image, error) {
	rawConfig, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode image config: %w", err)
	}
	rawManifest, err := manifestFor(rawConfig, layers, oci)
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return s.commitImage(rawConfig, rawManifest, refs, parent)
}
