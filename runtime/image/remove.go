package image

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Tag points the tag target (name[:tag]) at the image src names. A tag that named another
// image moves, leaving that image untagged.
func (s *Store) Tag(src, target string) error {
	refs, err := canonicalRefs([]string{target})
	if err != nil {
		return err
	}
	if strings.Contains(refs[0], "@") {
		return fmt.Errorf("tag %s: %w: a tag cannot be a digest", target, ErrInvalidReference)
	}
	l, err := s.lock("store", true)
	if err != nil {
		return err
	}
	defer l.unlock()
	id, err := s.resolve(src)
	if err != nil {
		return err
	}
	all, err := s.readRefs()
	if err != nil {
		return err
	}
	all[refs[0]] = id.String()
	return writeJSONAtomic(s.refsPath(), all)
}

// RemoveOptions tune Remove.
type RemoveOptions struct {
	// Force removes an image with several tags when named by ID, and untags an image a
	// container uses (the image itself stays until no container uses it).
	Force bool
	// InUse tells whether a container uses the image with this ID; nil means none does.
	InUse func(id string) bool
}

// RemoveReport lists what a removal did, in Docker's terms.
type RemoveReport struct {
	Untagged []string // references removed
	Deleted  []string // image IDs, then layer chain IDs, removed
}

// Remove removes a reference or an image, as `docker rmi` does. Named by a tag while the
// image has other tags, only that tag goes. Otherwise the image goes with all its references
// and then every layer and blob no remaining image needs. An image with several tags named
// by ID needs Force (ErrMultipleReferences); an image a container uses is refused
// (ErrInUse), or with Force only untagged.
func (s *Store) Remove(ref string, opts RemoveOptions) (RemoveReport, error) {
	rep, deleted, err := s.removeRefs(ref, opts)
	if err != nil || !deleted {
		return rep, err
	}
	gc, err := s.collect()
	rep.Deleted = append(rep.Deleted, gc.Deleted...)
	return rep, err
}

// removeRefs does Remove's part under the store lock: references and the image record.
func (s *Store) removeRefs(ref string, opts RemoveOptions) (rep RemoveReport, deleted bool, err error) {
	l, err := s.lock("store", true)
	if err != nil {
		return rep, false, err
	}
	defer l.unlock()
	id, err := s.resolve(ref)
	if err != nil {
		return rep, false, err
	}
	all, err := s.readRefs()
	if err != nil {
		return rep, false, err
	}
	var tags, digests []string
	for r, target := range all {
		if target != id.String() {
			continue
		}
		if strings.Contains(r, "@") {
			digests = append(digests, r)
		} else {
			tags = append(tags, r)
		}
	}
	sort.Strings(tags)
	sort.Strings(digests)
	named := ""
	if _, isID := parseID(ref); !isID {
		if r, err := ParseReference(ref); err == nil && all[Canonical(r)] == id.String() {
			named = Canonical(r)
		}
	}

	deleted = true
	switch {
	case named != "" && !strings.Contains(named, "@") && len(tags) > 1:
		// One of several tags: untag only. (Named by ID or digest, an image with several
		// tags needs force.)
		delete(all, named)
		rep.Untagged = append(rep.Untagged, named)
		deleted = false
	case (named == "" || strings.Contains(named, "@")) && len(tags) > 1 && !opts.Force:
		return rep, false, fmt.Errorf("remove image %s: %w (%s); remove by tag or force", ref, ErrMultipleReferences, strings.Join(tags, ", "))
	case opts.InUse != nil && opts.InUse(id.String()):
		if !opts.Force {
			return rep, false, fmt.Errorf("remove image %s: %w", ref, ErrInUse)
		}
		// Forced: the references go, the image stays for the container that uses it.
		deleted = false
		fallthrough
	default:
		for _, r := range append(tags, digests...) {
			delete(all, r)
			rep.Untagged = append(rep.Untagged, r)
		}
	}
	if len(rep.Untagged) > 0 {
		if err := writeJSONAtomic(s.refsPath(), all); err != nil {
			return rep, false, err
		}
	}
	if deleted {
		if err := os.Remove(s.recordPath(id)); err != nil {
			return rep, false, fmt.Errorf("remove image record %s: %w", id, err)
		}
		rep.Deleted = append(rep.Deleted, id.String())
	}
	return rep, deleted, nil
}

// PruneOptions tune Prune.
type PruneOptions struct {
	// All removes every image no container uses, not only untagged ones.
	All bool
	// InUse tells whether a container uses the image with this ID; nil means none does.
	InUse func(id string) bool
}

// PruneReport lists what Prune removed.
type PruneReport struct {
	Deleted   []string // image IDs, then layer chain IDs
	Reclaimed int64    // bytes freed: unpacked layers and blobs
}

// Prune removes untagged images (with All: all images) that no container uses, then the
// layers and blobs no remaining image needs.
func (s *Store) Prune(opts PruneOptions) (PruneReport, error) {
	deleted, err := s.pruneRecords(opts)
	if err != nil {
		return PruneReport{Deleted: deleted}, err
	}
	rep, err := s.collect()
	rep.Deleted = append(deleted, rep.Deleted...)
	return rep, err
}

// pruneRecords does Prune's part under the store lock: references and image records.
func (s *Store) pruneRecords(opts PruneOptions) ([]string, error) {
	l, err := s.lock("store", true)
	if err != nil {
		return nil, err
	}
	defer l.unlock()
	ids, err := s.ids()
	if err != nil {
		return nil, err
	}
	all, err := s.readRefs()
	if err != nil {
		return nil, err
	}
	tagged := map[string]bool{}
	for r, id := range all {
		if !strings.Contains(r, "@") {
			tagged[id] = true
		}
	}
	var deleted []string
	changed := false
	for _, id := range ids {
		if (tagged[id.String()] && !opts.All) || (opts.InUse != nil && opts.InUse(id.String())) {
			continue
		}
		for r, target := range all {
			if target == id.String() {
				delete(all, r)
				changed = true
			}
		}
		if changed {
			// References go first: a reference to a missing record would break Get.
			if err := writeJSONAtomic(s.refsPath(), all); err != nil {
				return deleted, err
			}
			changed = false
		}
		if err := os.Remove(s.recordPath(id)); err != nil {
			return deleted, fmt.Errorf("remove image record %s: %w", id, err)
		}
		deleted = append(deleted, id.String())
	}
	return deleted, nil
}

// collect removes the layers and blobs that no image record references. It waits for
// running writes (pulls, loads, imports, builds) to finish first — their content is stored
// before the record that references it — and holds the store lock so no record appears
// meanwhile. A layer directory is renamed into tmp/ before it is deleted, so it disappears
// whole even if the deletion is interrupted.
func (s *Store) collect() (PruneReport, error) {
	var rep PruneReport
	gcl, err := s.lock("gc", true)
	if err != nil {
		return rep, err
	}
	defer gcl.unlock()
	l, err := s.lock("store", true)
	if err != nil {
		return rep, err
	}
	defer l.unlock()

	ids, err := s.ids()
	if err != nil {
		return rep, err
	}
	blobs, chains := map[string]bool{}, map[string]bool{}
	for _, id := range ids {
		var rec record
		if err := readJSON(s.recordPath(id), &rec); err != nil {
			return rep, fmt.Errorf("read image record %s: %w", id, err)
		}
		m, err := s.readManifest(rec.Manifest)
		if err != nil {
			return rep, err
		}
		var cfg v1.ConfigFile
		if err := readJSON(s.blobPath(id), &cfg); err != nil {
			return rep, fmt.Errorf("read image config %s: %w", id, err)
		}
		blobs[id.Hex], blobs[rec.Manifest.Hex] = true, true
		for _, d := range m.Layers {
			blobs[d.Digest.Hex] = true
		}
		for _, c := range ChainIDs(cfg.RootFS.DiffIDs) {
			chains[c.Hex] = true
		}
	}

	layers, err := os.ReadDir(filepath.Join(s.root, "layers"))
	if err != nil {
		return rep, fmt.Errorf("list layers: %w", err)
	}
	for _, e := range layers {
		if chains[e.Name()] {
			continue
		}
		var meta layerMeta
		dir := filepath.Join(s.root, "layers", e.Name())
		_ = readJSON(filepath.Join(dir, "layer.json"), &meta)
		tmp := filepath.Join(s.root, "tmp", "gc-"+e.Name())
		if err := os.Rename(dir, tmp); err != nil {
			return rep, fmt.Errorf("remove layer %s: %w", e.Name(), err)
		}
		if err := os.RemoveAll(tmp); err != nil {
			return rep, fmt.Errorf("remove layer %s: %w", e.Name(), err)
		}
		// No writer holds or waits for a lock now (they all hold the gc lock shared).
		os.Remove(filepath.Join(s.root, "locks", "layer-"+e.Name()))
		rep.Deleted = append(rep.Deleted, "sha256:"+e.Name())
		rep.Reclaimed += meta.Size
	}
	blobDir := filepath.Join(s.root, "blobs", "sha256")
	entries, err := os.ReadDir(blobDir)
	if err != nil {
		return rep, fmt.Errorf("list blobs: %w", err)
	}
	for _, e := range entries {
		if blobs[e.Name()] || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if fi, err := e.Info(); err == nil {
			rep.Reclaimed += fi.Size()
		}
		if err := os.Remove(filepath.Join(blobDir, e.Name())); err != nil {
			return rep, fmt.Errorf("remove blob %s: %w", e.Name(), err)
		}
		os.Remove(filepath.Join(s.root, "locks", "blob-"+e.Name()))
	}
	return rep, nil
}
