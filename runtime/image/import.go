package image

import (
	"context"
	"fmt"
	"io"
	goruntime "runtime"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Import makes a one-layer image from a root filesystem tarball (plain, gzip, bzip2 or zstd),
// as `docker import` does, with Dockerfile-style changes applied to its config (see
// ApplyChanges). ref names the image; empty leaves it untagged.
func (s *Store) Import(ctx context.Context, r io.Reader, ref string, changes []string) (*Image, error) {
	var refs []string
	if ref != "" {
		var err error
		if refs, err = canonicalRefs([]string{ref}); err != nil {
			return nil, err
		}
	}
	now := time.Now().UTC()
	cfg := v1.ConfigFile{
		Architecture: goruntime.GOARCH,
		OS:           "linux",
		Created:      v1.Time{Time: now},
		RootFS:       v1.RootFS{Type: "layers"},
		History:      []v1.History{{Created: v1.Time{Time: now}, CreatedBy: "stack image import", Comment: "Imported from tarball"}},
	}
	if err := ApplyChanges(&cfg.Config, changes); err != nil {
		return nil, err
	}
	w, err := s.beginWrite()
	if err != nil {
		return nil, err
	}
	defer w.unlock()
	l, err := s.storeLayer(ctx, layerJob{open: func(context.Context) (io.ReadCloser, error) { return Decompress(r) }})
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	cfg.RootFS.DiffIDs = []v1.Hash{l.DiffID}
	return s.commitNew(cfg, []v1.Descriptor{{MediaType: l.MediaType, Size: l.BlobSize, Digest: l.Blob}}, false, refs, "")
}
