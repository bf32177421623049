package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/stackhq/stack/internal/statefile"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Store is the image store under one directory (<stack root>/images). It is safe for use
// by several goroutines and several processes at once (see the package comment).
type Store struct {
	root string
}

// Image is one stored image: its config as the registry or archive gave it, its references
// and its unpacked layers.
type Image struct {
	ID          string        // "sha256:<hex>", the digest of the config blob (Docker's image ID)
	RepoTags    []string      // normalized: "docker.io/library/busybox:latest", "localhost/x:1"
	RepoDigests []string      // "docker.io/library/busybox@sha256:…" (manifest digests)
	Config      v1.ConfigFile // the image config: Env, Cmd, Entrypoint, History, RootFS.DiffIDs…
	Layers      []Layer       // base first
	Size        int64         // sum of unpacked layer sizes
	Manifest    v1.Hash       // digest of the stored manifest
	Added       time.Time     // when the image was stored
	// Parent is the ID of the image this one was made from by Create (a Dockerfile step's
	// previous image), "" for pulled, imported and loaded images. Docker keeps the same
	// link: it hides untagged parents from listings and prunes them with their child.
	Parent string

	emptyDir string // the store's empty directory, the lowerdir of an image without layers
}

// Layer is one unpacked layer of an image.
type Layer struct {
	DiffID  v1.Hash // digest of the uncompressed layer tar
	ChainID v1.Hash // identity of this layer on top of its parents (the store key)
	Blob    v1.Hash // digest of the stored (compressed) layer blob
	Dir     string  // the unpacked files, usable as an overlayfs lowerdir
	Size    int64   // unpacked size in bytes
}

// record is what images/<id-hex>.json holds.
type record struct {
	ID       string    `json:"id"`
	Manifest v1.Hash   `json:"manifest"`
	Added    time.Time `json:"added"`
	Parent   string    `json:"parent,omitempty"` // image ID; see Image.Parent
}

// layerMeta is what layers/<chain-hex>/layer.json holds.
type layerMeta struct {
	DiffID    v1.Hash         `json:"diffID"`
	ChainID   v1.Hash         `json:"chainID"`
	Size      int64           `json:"size"`
	Blob      v1.Hash         `json:"blob"` // the blob it was first stored from
	MediaType types.MediaType `json:"mediaType"`
}

// Open opens (creating if needed) the image store at root, normally <stack root>/images.
// It is cheap — a stat when the store exists — since every container command opens the
// store: what dead writers left in tmp/ is removed by the next write (beginWrite) or
// garbage collection instead, which hold the locks that make that safe.
func Open(root string) (*Store, error) {
	s := &Store{root: filepath.Clean(root)}
	// empty/ is made last, with its mode set: once it is there, so is the rest.
	if fi, err := os.Stat(filepath.Join(s.root, "empty")); err == nil && fi.IsDir() && fi.Mode().Perm() == 0o755 {
		return s, nil
	}
	for _, d := range []string{"blobs/sha256", "layers", "images", "locks", "tmp", "empty"} {
		if err := os.MkdirAll(filepath.Join(s.root, d), 0o700); err != nil {
			return nil, fmt.Errorf("open image store: %w", err)
		}
	}
	// The empty lowerdir must be readable by container processes of any user.
	if err := os.Chmod(filepath.Join(s.root, "empty"), 0o755); err != nil {
		return nil, fmt.Errorf("open image store: %w", err)
	}
	return s, nil
}

// Root returns the store directory.
func (s *Store) Root() string { return s.root }

// cleanTmp removes what processes that died left in tmp/, when no write is running (the gc
// lock is free): then nothing in tmp/ is anyone's work in progress. A write calls it before
// it takes the gc lock shared (beginWrite).
func (s *Store) cleanTmp() {
	l, err := s.tryLock("gc")
	if err != nil || l == nil {
		return // a write is running; a later one cleans up
	}
	defer l.unlock()
	s.emptyTmp()
}

// emptyTmp removes everything in tmp/; the caller holds the gc lock exclusive.
func (s *Store) emptyTmp() {
	entries, err := os.ReadDir(filepath.Join(s.root, "tmp"))
	if err != nil {
		return
	}
	for _, e := range entries {
		os.RemoveAll(filepath.Join(s.root, "tmp", e.Name()))
	}
}

func (s *Store) blobPath(h v1.Hash) string {
	return filepath.Join(s.root, "blobs", h.Algorithm, h.Hex)
}

func (s *Store) layerPath(chain v1.Hash) string {
	return filepath.Join(s.root, "layers", chain.Hex)
}

func (s *Store) recordPath(id v1.Hash) string {
	return filepath.Join(s.root, "images", id.Hex+".json")
}

func (s *Store) refsPath() string { return filepath.Join(s.root, "repositories.json") }

// Get finds an image by name[:tag], name@sha256:<hex>, full ID ("sha256:<hex>" or "<hex>")
// or a unique ID prefix of at least 12 hex digits. The error wraps ErrNotFound or
// ErrAmbiguous.
func (s *Store) Get(ref string) (*Image, error) {
	id, refs, err := s.resolveRefs(ref)
	if err != nil {
		return nil, err
	}
	if refs == nil {
		if refs, err = s.readRefs(); err != nil {
			return nil, err
		}
	}
	return s.load(id, refs)
}

// RunConfig is what a container is made from: the image's ID, its config, and its layer
// directories in overlayfs lowerdir order (top first; the store's empty directory for an
// image without layers).
type RunConfig struct {
	ID        string
	Config    v1.Config
	LowerDirs []string
}

// RunConfig finds an image as Get does and returns what creating a container needs. It
// reads only repositories.json (for a name) and the config blob, and checks that the image
// record and each layer directory exist; Get also reads the record, the manifest and each
// layer's layer.json, for references, sizes and blob digests that a container does not use.
func (s *Store) RunConfig(ref string) (*RunConfig, error) {
	id, _, err := s.resolveRefs(ref)
	if err != nil {
		return nil, err
	}
	// The record is what makes an image: without it (a removal in progress) the layers
	// may be collected, so the image is not there, as for Get.
	if _, err := os.Stat(s.recordPath(id)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("get image %s: %w", id, ErrNotFound)
		}
		return nil, fmt.Errorf("read image record %s: %w", id, err)
	}
	// Only the fields used are decoded (not the history, platform, ... of v1.ConfigFile).
	var cfg struct {
		Config v1.Config `json:"config"`
		RootFS struct {
			DiffIDs []v1.Hash `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := statefile.ReadJSON(s.blobPath(id), &cfg); err != nil {
		return nil, fmt.Errorf("read image config %s: %w", id, err)
	}
	rc := &RunConfig{ID: id.String(), Config: cfg.Config}
	if len(cfg.RootFS.DiffIDs) == 0 {
		rc.LowerDirs = []string{filepath.Join(s.root, "empty")}
		return rc, nil
	}
	chains := ChainIDs(cfg.RootFS.DiffIDs)
	rc.LowerDirs = make([]string, len(chains))
	for i, chain := range chains {
		dir := filepath.Join(s.layerPath(chain), "diff")
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("read layer %s of image %s: %w", chain, id, err)
		}
		rc.LowerDirs[len(chains)-1-i] = dir
	}
	return rc, nil
}

// resolve turns a reference or ID into an image ID.
func (s *Store) resolve(ref string) (v1.Hash, error) {
	id, _, err := s.resolveRefs(ref)
	return id, err
}

// resolveRefs is resolve; it also returns the references when it read them (nil when ref
// is a full ID), so that Get reads repositories.json once.
func (s *Store) resolveRefs(ref string) (v1.Hash, map[string]string, error) {
	if h, ok := parseID(ref); ok {
		if _, err := os.Stat(s.recordPath(h)); err == nil {
			return h, nil, nil
		}
		return v1.Hash{}, nil, fmt.Errorf("get image %s: %w", ref, ErrNotFound)
	}
	refs, err := s.readRefs()
	if err != nil {
		return v1.Hash{}, nil, err
	}
	if r, perr := ParseReference(ref); perr == nil {
		if id, ok := refs[Canonical(r)]; ok {
			h, err := v1.NewHash(id)
			return h, refs, err
		}
	}
	if isHex(ref) && len(ref) >= 12 {
		h, err := s.resolvePrefix(ref)
		return h, refs, err
	}
	return v1.Hash{}, nil, fmt.Errorf("get image %s: %w", ref, ErrNotFound)
}

func (s *Store) resolvePrefix(prefix string) (v1.Hash, error) {
	ids, err := s.ids()
	if err != nil {
		return v1.Hash{}, err
	}
	var found []v1.Hash
	for _, id := range ids {
		if strings.HasPrefix(id.Hex, prefix) {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 0:
		return v1.Hash{}, fmt.Errorf("get image %s: %w", prefix, ErrNotFound)
	case 1:
		return found[0], nil
	}
	return v1.Hash{}, fmt.Errorf("get image %s: %w", prefix, ErrAmbiguous)
}

// parseID accepts "sha256:<64 hex>" and "<64 hex>".
func parseID(s string) (v1.Hash, bool) {
	hexPart := strings.TrimPrefix(s, "sha256:")
	if len(hexPart) != 64 || !isHex(hexPart) {
		return v1.Hash{}, false
	}
	return v1.Hash{Algorithm: "sha256", Hex: hexPart}, true
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// List returns every stored image, newest first.
func (s *Store) List() ([]*Image, error) {
	ids, refs, err := s.idsAndRefs()
	if err != nil {
		return nil, err
	}
	imgs := make([]*Image, 0, len(ids))
	for _, id := range ids {
		img, err := s.load(id, refs)
		if errors.Is(err, ErrNotFound) {
			continue // removed while listing
		}
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, img)
	}
	sort.SliceStable(imgs, func(i, j int) bool {
		if !imgs[i].Config.Created.Time.Equal(imgs[j].Config.Created.Time) {
			return imgs[i].Config.Created.Time.After(imgs[j].Config.Created.Time)
		}
		return imgs[i].ID < imgs[j].ID
	})
	return imgs, nil
}

// idsAndRefs lists the image records and reads the references.
func (s *Store) idsAndRefs() ([]v1.Hash, map[string]string, error) {
	ids, err := s.ids()
	if err != nil {
		return nil, nil, err
	}
	refs, err := s.readRefs()
	return ids, refs, err
}

// ids lists the image records.
func (s *Store) ids() ([]v1.Hash, error) {
	entries, err := os.ReadDir(filepath.Join(s.root, "images"))
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var ids []v1.Hash
	for _, e := range entries {
		if h, ok := parseID(strings.TrimSuffix(e.Name(), ".json")); ok && strings.HasSuffix(e.Name(), ".json") {
			ids = append(ids, h)
		}
	}
	return ids, nil
}

// load reads one image: its record, manifest, config and layer metadata.
func (s *Store) load(id v1.Hash, refs map[string]string) (*Image, error) {
	var rec record
	if err := statefile.ReadJSON(s.recordPath(id), &rec); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("get image %s: %w", id, ErrNotFound)
		}
		return nil, fmt.Errorf("read image record %s: %w", id, err)
	}
	m, err := s.readManifest(rec.Manifest)
	if err != nil {
		return nil, err
	}
	var cfg v1.ConfigFile
	if err := statefile.ReadJSON(s.blobPath(id), &cfg); err != nil {
		return nil, fmt.Errorf("read image config %s: %w", id, err)
	}
	if len(m.Layers) != len(cfg.RootFS.DiffIDs) {
		return nil, fmt.Errorf("read image %s: manifest has %d layers, config %d diff IDs", id, len(m.Layers), len(cfg.RootFS.DiffIDs))
	}
	img := &Image{ID: id.String(), Config: cfg, Manifest: rec.Manifest, Added: rec.Added, Parent: rec.Parent, emptyDir: filepath.Join(s.root, "empty")}
	for i, chain := range ChainIDs(cfg.RootFS.DiffIDs) {
		var meta layerMeta
		if err := statefile.ReadJSON(filepath.Join(s.layerPath(chain), "layer.json"), &meta); err != nil {
			return nil, fmt.Errorf("read layer %s of image %s: %w", chain, id, err)
		}
		img.Layers = append(img.Layers, Layer{
			DiffID:  cfg.RootFS.DiffIDs[i],
			ChainID: chain,
			Blob:    m.Layers[i].Digest,
			Dir:     filepath.Join(s.layerPath(chain), "diff"),
			Size:    meta.Size,
		})
		img.Size += meta.Size
	}
	for ref, target := range refs {
		if target != img.ID {
			continue
		}
		if strings.Contains(ref, "@") {
			img.RepoDigests = append(img.RepoDigests, ref)
		} else {
			img.RepoTags = append(img.RepoTags, ref)
		}
	}
	sort.Strings(img.RepoTags)
	sort.Strings(img.RepoDigests)
	return img, nil
}

func (s *Store) readManifest(h v1.Hash) (*v1.Manifest, error) {
	f, err := os.Open(s.blobPath(h))
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", h, err)
	}
	defer f.Close()
	m, err := v1.ParseManifest(f)
	if err != nil {
		return nil, fmt.Errorf("parse manifest %s: %w", h, err)
	}
	return m, nil
}

// LowerDirs returns the layer directories in overlayfs lowerdir order, top layer first. An
// image without layers returns the store's one empty directory, since overlayfs needs at
// least one lower directory.
func (img *Image) LowerDirs() []string {
	if len(img.Layers) == 0 {
		return []string{img.emptyDir}
	}
	dirs := make([]string, len(img.Layers))
	for i, l := range img.Layers {
		dirs[len(img.Layers)-1-i] = l.Dir
	}
	return dirs
}

// ShortID is the first 12 hex digits of the ID, as image listings print it.
func (img *Image) ShortID() string {
	h := strings.TrimPrefix(img.ID, "sha256:")
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// TotalSize is the unpacked size of a set of images, each shared layer counted once.
func TotalSize(imgs []*Image) int64 {
	seen := map[v1.Hash]bool{}
	var n int64
	for _, img := range imgs {
		for _, l := range img.Layers {
			if !seen[l.ChainID] {
				seen[l.ChainID] = true
				n += l.Size
			}
		}
	}
	return n
}

// ChainIDs computes the chain ID of each layer: ChainID(L0) = DiffID(L0) and
// ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)), as the OCI image spec defines.
func ChainIDs(diffIDs []v1.Hash) []v1.Hash {
	out := make([]v1.Hash, len(diffIDs))
	for i, d := range diffIDs {
		if i == 0 {
			out[i] = d
			continue
		}
		h, _, _ := v1.SHA256(strings.NewReader(out[i-1].String() + " " + d.String()))
		out[i] = h
	}
	return out
}

// readRefs reads repositories.json: canonical reference → image ID.
func (s *Store) readRefs() (map[string]string, error) {
	refs := map[string]string{}
	if err := statefile.ReadJSON(s.refsPath(), &refs); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read references: %w", err)
	}
	return refs, nil
}

// fileLock is a held flock on a file under locks/.
type fileLock struct{ release func() }

// lock takes the flock named name under locks/, exclusive or shared, waiting for it.
func (s *Store) lock(name string, exclusive bool) (*fileLock, error) {
	take := statefile.LockShared
	if exclusive {
		take = statefile.Lock
	}
	release, err := take(filepath.Join(s.root, "locks", name))
	if err != nil {
		return nil, err
	}
	return &fileLock{release: release}, nil
}

// tryLock takes the flock named name exclusive if it is free at once; nil when it is held.
func (s *Store) tryLock(name string) (*fileLock, error) {
	release, ok, err := statefile.TryLock(filepath.Join(s.root, "locks", name))
	if !ok {
		return nil, err
	}
	return &fileLock{release: release}, nil
}

func (l *fileLock) unlock() {
	if l != nil {
		l.release()
	}
}

// tempDir creates a fresh directory under tmp/ for work in progress.
func (s *Store) tempDir(prefix string) (string, error) {
	dir, err := os.MkdirTemp(filepath.Join(s.root, "tmp"), prefix+"-")
	if err != nil {
		return "", fmt.Errorf("create temp dir: %w", err)
	}
	return dir, nil
}

// Intermediates returns the IDs of the intermediate images among imgs (a whole listing):
// those with no tag and no digest reference that are the parent of another image — the
// steps of a Dockerfile build. Docker's image listing hides them unless asked for all.
func Intermediates(imgs []*Image) map[string]bool {
	out := map[string]bool{}
	for _, img := range imgs {
		if img.Parent != "" {
			out[img.Parent] = true
		}
	}
	for _, img := range imgs {
		if len(img.RepoTags) > 0 || len(img.RepoDigests) > 0 {
			delete(out, img.ID)
		}
	}
	return out
}
