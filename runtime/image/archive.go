package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
)

// Image archive formats.
//
//	docker save:   manifest.json [{Config, RepoTags, Layers}] + the files it names
//	               (layers as plain or gzip tars, <id>/layer.tar or blobs/sha256/<hex>)
//	OCI layout:    oci-layout + index.json + blobs/<alg>/<hex>; the names are in the
//	               annotations io.containerd.image.name or org.opencontainers.image.ref.name
//
// Load reads both; Save writes one archive that is both (as Docker 25 does), so that
// `docker load`, `podman load` and `skopeo copy docker-archive:` / `oci-archive:` accept it.
const (
	annotationImageName = "io.containerd.image.name"
	annotationRefName   = "org.opencontainers.image.ref.name"
)

// dockerArchiveEntry is one element of a docker-save manifest.json.
type dockerArchiveEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// Load stores every image of an image archive (plain or compressed): a `docker save`
// archive or an OCI image layout. The archive is extracted into tmp/ with the layer
// unpacker's safety rules, and every file it names is resolved inside that directory
// (symlinks included), so a hostile archive cannot make Load read host files.
func (s *Store) Load(ctx context.Context, r io.Reader) ([]*Image, error) {
	w, err := s.beginWrite()
	if err != nil {
		return nil, err
	}
	defer w.unlock()
	dir, err := s.tempDir("load")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	dec, err := Decompress(r)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if _, err := Unpack(dec, dir); err != nil {
		return nil, fmt.Errorf("load: extract archive: %w", err)
	}
	switch {
	case exists(filepath.Join(dir, "manifest.json")):
		return s.loadDocker(ctx, dir)
	case exists(filepath.Join(dir, "index.json")):
		return s.loadOCI(ctx, dir)
	}
	return nil, fmt.Errorf("load: %w: no manifest.json or index.json", ErrUnsupportedArchive)
}

// archiveFile opens a file named by an archive, resolved inside the extracted directory.
func archiveFile(dir, name string) (*os.File, error) {
	p, err := securejoin.SecureJoin(dir, name)
	if err != nil {
		return nil, fmt.Errorf("resolve %s in archive: %w", name, err)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open %s in archive: %w", name, err)
	}
	return f, nil
}

func readArchiveFile(dir, name string) ([]byte, error) {
	f, err := archiveFile(dir, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func (s *Store) loadDocker(ctx context.Context, dir string) ([]*Image, error) {
	data, err := readArchiveFile(dir, "manifest.json")
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	var entries []dockerArchiveEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("load: decode manifest.json: %w", err)
	}
	var out []*Image
	for _, e := range entries {
		img, err := s.loadDockerImage(ctx, dir, e)
		if err != nil {
			return out, fmt.Errorf("load %s: %w", e.Config, err)
		}
		out = append(out, img)
	}
	return out, nil
}

func (s *Store) loadDockerImage(ctx context.Context, dir string, e dockerArchiveEntry) (*Image, error) {
	rawConfig, err := readArchiveFile(dir, e.Config)
	if err != nil {
		return nil, err
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(rawConfig))
	if err != nil {
		return nil, fmt.Errorf("parse config: %w", err)
	}
	if len(cfg.RootFS.DiffIDs) != len(e.Layers) {
		return nil, fmt.Errorf("%d layers for %d diff IDs", len(e.Layers), len(cfg.RootFS.DiffIDs))
	}
	refs, err := canonicalRefs(e.RepoTags)
	if err != nil {
		return nil, err
	}
	chains := ChainIDs(cfg.RootFS.DiffIDs)
	descs := make([]v1.Descriptor, len(e.Layers))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(3)
	for i, name := range e.Layers {
		parent := v1.Hash{}
		if i > 0 {
			parent = chains[i-1]
		}
		g.Go(func() error {
			compressed, err := isCompressed(dir, name)
			if err != nil {
				return err
			}
			l, err := s.storeLayer(gctx, layerJob{
				parent:     parent,
				diffID:     cfg.RootFS.DiffIDs[i],
				compressed: compressed,
				open:       func(context.Context) (io.ReadCloser, error) { return archiveFile(dir, name) },
			})
			if err != nil {
				return fmt.Errorf("layer %s: %w", name, err)
			}
			descs[i] = v1.Descriptor{MediaType: l.MediaType, Size: l.BlobSize, Digest: l.Blob}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	rawManifest, err := manifestFor(rawConfig, descs, false)
	if err != nil {
		return nil, err
	}
	return s.commitImage(rawConfig, rawManifest, refs, "")
}

// isCompressed tells a gzip or zstd layer file from a plain tar.
func isCompressed(dir, name string) (bool, error) {
	f, err := archiveFile(dir, name)
	if err != nil {
		return false, err
	}
	defer f.Close()
	magic := make([]byte, 4)
	n, _ := io.ReadFull(f, magic)
	magic = magic[:n]
	return bytes.HasPrefix(magic, []byte{0x1f, 0x8b}) || bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}), nil
}

func (s *Store) loadOCI(ctx context.Context, dir string) ([]*Image, error) {
	data, err := readArchiveFile(dir, "index.json")
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("load: decode index.json: %w", err)
	}
	platform := v1.Platform{OS: "linux", Architecture: goruntime.GOARCH}
	var out []*Image
	for _, d := range idx.Manifests {
		var refs []string
		if n := ociRefName(d.Annotations); n != "" {
			if refs, err = canonicalRefs([]string{n}); err != nil {
				return out, fmt.Errorf("load: %w", err)
			}
		}
		if d.MediaType.IsIndex() {
			raw, err := readBlob(dir, d.Digest)
			if err != nil {
				return out, fmt.Errorf("load: %w", err)
			}
			child, err := v1.ParseIndexManifest(bytes.NewReader(raw))
			if err != nil {
				return out, fmt.Errorf("load: decode index %s: %w", d.Digest, err)
			}
			picked, err := pickPlatform(child, platform)
			if err != nil {
				return out, fmt.Errorf("load: index %s: %w", d.Digest, err)
			}
			d = picked
		}
		img, err := s.loadOCIImage(ctx, dir, d.Digest, refs)
		if err != nil {
			return out, fmt.Errorf("load %s: %w", d.Digest, err)
		}
		out = append(out, img)
	}
	return out, nil
}

// ociRefName returns a full image name from OCI annotations: containerd's full name, or the
// standard ref.name when it is a full reference (a bare tag names no repository).
func ociRefName(ann map[string]string) string {
	if n := ann[annotationImageName]; n != "" {
		return n
	}
	if n := ann[annotationRefName]; n != "" {
		if _, err := ParseReference(n); err == nil && strings.ContainsAny(n, ":/") {
			return n
		}
	}
	return ""
}

// readBlob reads a blob of an OCI layout and verifies its digest.
func readBlob(dir string, h v1.Hash) ([]byte, error) {
	data, err := readArchiveFile(dir, filepath.Join("blobs", h.Algorithm, h.Hex))
	if err != nil {
		return nil, err
	}
	got, _, err := v1.SHA256(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if got != h {
		return nil, fmt.Errorf("blob %s: got %s: %w", h, got, ErrDigestMismatch)
	}
	return data, nil
}

func (s *Store) loadOCIImage(ctx context.Context, dir string, digest v1.Hash, refs []string) (*Image, error) {
	rawManifest, err := readBlob(dir, digest)
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(rawManifest))
	if err != nil {
		return nil, fmt.Errorf("parse manifest: %w", err)
	}
	rawConfig, err := readBlob(dir, m.Config.Digest)
	if err != nil {
		return nil, err
	}
	cfg, err := checkConfig(rawConfig, m)
	if err != nil {
		return nil, err
	}
	chains := ChainIDs(cfg.RootFS.DiffIDs)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(3)
	for i, d := range m.Layers {
		parent := v1.Hash{}
		if i > 0 {
			parent = chains[i-1]
		}
		g.Go(func() error {
			_, err := s.storeLayer(gctx, layerJob{
				parent:     parent,
				diffID:     cfg.RootFS.DiffIDs[i],
				blob:       d.Digest,
				mediaType:  d.MediaType,
				compressed: true,
				open: func(context.Context) (io.ReadCloser, error) {
					return archiveFile(dir, filepath.Join("blobs", d.Digest.Algorithm, d.Digest.Hex))
				},
			})
			if err != nil {
				return fmt.Errorf("layer %s: %w", d.Digest, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return s.commitImage(rawConfig, rawManifest, refs, "")
}

// Save writes the images refs name (tags, digests or IDs) as one archive that is both a
// docker-save archive and an OCI image layout. An image named by a tag carries that tag;
// named by ID or digest it carries none, as `docker save` does.
func (s *Store) Save(ctx context.Context, w io.Writer, refs []string) error {
	type saved struct {
		img  *Image
		tags []string
	}
	var images []*saved
	byID := map[string]*saved{}
	for _, ref := range refs {
		img, err := s.Get(ref)
		if err != nil {
			return err
		}
		sv, ok := byID[img.ID]
		if !ok {
			sv = &saved{img: img}
			byID[img.ID] = sv
			images = append(images, sv)
		}
		if _, isID := parseID(ref); !isID {
			if r, err := ParseReference(ref); err == nil {
				if c := Canonical(r); !strings.Contains(c, "@") && !slices.Contains(sv.tags, c) {
					sv.tags = append(sv.tags, c)
				}
			}
		}
	}

	bw := bufio.NewWriterSize(w, 1<<20)
	tw := tar.NewWriter(bw)
	written := map[v1.Hash]bool{}
	now := time.Now()
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "blobs/", Mode: 0o755, ModTime: now}); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "blobs/sha256/", Mode: 0o755, ModTime: now}); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	var manifest []dockerArchiveEntry
	var index v1.IndexManifest
	index.SchemaVersion, index.MediaType = 2, types.OCIImageIndex
	for _, sv := range images {
		if err := ctx.Err(); err != nil {
			return err
		}
		m, err := s.readManifest(sv.img.Manifest)
		if err != nil {
			return err
		}
		entry := dockerArchiveEntry{Config: "blobs/sha256/" + m.Config.Digest.Hex, RepoTags: sv.tags}
		blobs := []v1.Hash{sv.img.Manifest, m.Config.Digest}
		for _, l := range m.Layers {
			entry.Layers = append(entry.Layers, "blobs/sha256/"+l.Digest.Hex)
			blobs = append(blobs, l.Digest)
		}
		for _, h := range blobs {
			if written[h] {
				continue
			}
			if err := s.writeBlobEntry(tw, h, now); err != nil {
				return fmt.Errorf("save %s: %w", sv.img.ID, err)
			}
			written[h] = true
		}
		manifest = append(manifest, entry)
		fi, err := os.Stat(s.blobPath(sv.img.Manifest))
		if err != nil {
			return fmt.Errorf("save %s: %w", sv.img.ID, err)
		}
		desc := v1.Descriptor{MediaType: m.MediaType, Digest: sv.img.Manifest, Size: fi.Size()}
		if desc.MediaType == "" {
			desc.MediaType = types.OCIManifestSchema1
		}
		if len(sv.tags) == 0 {
			index.Manifests = append(index.Manifests, desc)
		}
		for _, t := range sv.tags {
			d := desc
			_, tag, _ := splitCanonical(t)
			d.Annotations = map[string]string{annotationImageName: t, annotationRefName: tag}
			index.Manifests = append(index.Manifests, d)
		}
	}
	files := []struct {
		name string
		v    any
	}{
		{"oci-layout", map[string]string{"imageLayoutVersion": "1.0.0"}},
		{"index.json", index},
		{"manifest.json", manifest},
	}
	for _, f := range files {
		data, err := json.Marshal(f.v)
		if err != nil {
			return fmt.Errorf("save: encode %s: %w", f.name, err)
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644, Size: int64(len(data)), ModTime: now}); err != nil {
			return fmt.Errorf("save: %w", err)
		}
		if _, err := tw.Write(data); err != nil {
			return fmt.Errorf("save: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	return nil
}

// writeBlobEntry copies a stored blob into the archive as blobs/sha256/<hex>.
func (s *Store) writeBlobEntry(tw *tar.Writer, h v1.Hash, mtime time.Time) error {
	f, err := os.Open(s.blobPath(h))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob %s is missing from the store", h)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "blobs/sha256/" + h.Hex, Mode: 0o644, Size: fi.Size(), ModTime: mtime}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}
