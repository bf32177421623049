package image

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stackhq/stack/internal/statefile"

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
	return statefile.WriteJSON(s.refsPath(), all, 0o600, true)
}

// RemoveOptions tune Remove.
type RemoveOptions struct {
	// Force removes an image with several tags when named by ID, and untags an image a
	// container uses (the image itself stays until no container uses it).
	Force bool
	// NoPrune keeps the untagged parents of a removed image (docker rmi --no-prune).
	NoPrune bool
	// InUse tells whether a container uses the image with this ID; nil means none does.
	InUse func(id string) bool
}

// RemoveReport lists what a removal did, in Docker's terms.
type RemoveReport struct {
	Untagged []string // references removed
	Deleted  []string // image IDs, then layer chain IDs, removed
}

// Remove removes a reference or an image, as `docker rmi` does:
//
//	named by             image has                    result
//	a tag                other tags                   that tag goes
//	a tag                a container using it         ErrInUse; with Force its tags go, it stays
//	a tag                child images                 its tags go; it stays (an intermediate)
//	ID or digest         child images                 ErrHasChildren, even with Force
//	ID or digest         several tags                 ErrMultipleReferences; with Force as below
//	ID or digest         a container using it         ErrInUse; with Force its tags go, it stays
//	anything else                                     the image and its references go
//
// Once an image goes, so do its parents (Image.Parent) that are left untagged, unused and
// without other children — the steps of a Dockerfile build — unless NoPrune is set; then
// every layer and blob no remaining image needs. Unlike Docker, an image a container uses is
// never deleted, even with Force: the container's root filesystem is made of its layers.
func (s *Store) Remove(ref string, opts RemoveOptions) (RemoveReport, error) {
	rep, err := s.removeRefs(ref, opts)
	if err != nil || len(rep.Deleted) == 0 {
		return rep, err
	}
	gc, err := s.collect()
	rep.Deleted = append(rep.Deleted, gc.Deleted...)
	return rep, err
}

// removeRefs does Remove's part under the store lock: references and image records.
func (s *Store) removeRefs(ref string, opts RemoveOptions) (rep RemoveReport, err error) {
	l, err := s.lock("store", true)
	if err != nil {
		return rep, err
	}
	defer l.unlock()
	id, err := s.resolve(ref)
	if err != nil {
		return rep, err
	}
	g, err := s.graph()
	if err != nil {
		return rep, err
	}
	tags, digests := g.refsOf(id.String())
	named := ""
	if _, isID := parseID(ref); !isID {
		if r, err := ParseReference(ref); err == nil && g.refs[Canonical(r)] == id.String() {
			named = Canonical(r)
		}
	}
	byTag := named != "" && !strings.Contains(named, "@")
	inUse := opts.InUse != nil && opts.InUse(id.String())
	hasChildren := g.children[id.String()] > 0

	keep := false // untag only
	switch {
	case byTag && len(tags) > 1:
		// One of several tags: untag only. (Named by ID or digest, an image with several
		// tags needs force.)
		delete(g.refs, named)
		rep.Untagged = append(rep.Untagged, named)
		return rep, s.writeRefs(g.refs)
	case !byTag && hasChildren:
		return rep, fmt.Errorf("remove image %s: %w", ref, ErrHasChildren)
	case !byTag && len(tags) > 1 && !opts.Force:
		return rep, fmt.Errorf("remove image %s: %w (%s); remove by tag or force", ref, ErrMultipleReferences, strings.Join(tags, ", "))
	case inUse && !opts.Force:
		return rep, fmt.Errorf("remove image %s: %w", ref, ErrInUse)
	case inUse || hasChildren:
		// Forced while a container uses it, or the last tag of an image other images were
		// made from: the references go, the image stays.
		keep = true
	}
	for _, r := range append(tags, digests...) {
		delete(g.refs, r)
		rep.Untagged = append(rep.Untagged, r)
	}
	if len(rep.Untagged) > 0 {
		// References go first: a reference to a missing record would break Get.
		if err := s.writeRefs(g.refs); err != nil {
			return rep, err
		}
	}
	if keep {
		return rep, nil
	}
	if err := s.deleteRecord(id.String(), g); err != nil {
		return rep, err
	}
	rep.Deleted = append(rep.Deleted, id.String())
	if opts.NoPrune {
		return rep, nil
	}
	for p := g.parent[id.String()]; p != "" && g.prunable(p, opts.InUse); p = g.parent[p] {
		if err := s.deleteRecord(p, g); err != nil {
			return rep, err
		}
		rep.Deleted = append(rep.Deleted, p)
	}
	return rep, nil
}

// imageGraph is the store's records as Remove and Prune see them: references, parents and
// how many images each image is the parent of.
type imageGraph struct {
	ids      []string          // every image ID, in directory order
	refs     map[string]string // reference → image ID (repositories.json)
	parent   map[string]string // image ID → parent image ID; only parents that exist
	children map[string]int    // image ID → number of images whose parent it is
}

// graph reads the image records into an imageGraph. The caller holds the store lock.
func (s *Store) graph() (*imageGraph, error) {
	ids, refs, err := s.idsAndRefs()
	if err != nil {
		return nil, err
	}
	g := &imageGraph{refs: refs, parent: map[string]string{}, children: map[string]int{}}
	exists := map[string]bool{}
	for _, id := range ids {
		g.ids = append(g.ids, id.String())
		exists[id.String()] = true
	}
	for _, id := range ids {
		var rec record
		if err := statefile.ReadJSON(s.recordPath(id), &rec); err != nil {
			return nil, fmt.Errorf("read image record %s: %w", id, err)
		}
		if rec.Parent != "" && exists[rec.Parent] {
			g.parent[id.String()] = rec.Parent
			g.children[rec.Parent]++
		}
	}
	return g, nil
}

// refsOf returns the tags and the digest references of an image, sorted.
func (g *imageGraph) refsOf(id string) (tags, digests []string) {
	for r, target := range g.refs {
		if target != id {
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
	return tags, digests
}

// prunable tells whether an image may go with its removed child: no references at all, no
// container using it and no other children (Docker stops at the first one that may not).
func (g *imageGraph) prunable(id string, inUse func(string) bool) bool {
	tags, digests := g.refsOf(id)
	return len(tags) == 0 && len(digests) == 0 && g.children[id] == 0 && (inUse == nil || !inUse(id))
}

// deleteRecord removes an image record whose references are gone and updates g.
func (s *Store) deleteRecord(id string, g *imageGraph) error {
	h, err := v1.NewHash(id)
	if err != nil {
		return fmt.Errorf("remove image record %s: %w", id, err)
	}
	if err := os.Remove(s.recordPath(h)); err != nil {
		return fmt.Errorf("remove image record %s: %w", id, err)
	}
	if p, ok := g.parent[id]; ok {
		g.children[p]--
	}
	return nil
}

// writeRefs writes repositories.json.
func (s *Store) writeRefs(refs map[string]string) error {
	return statefile.WriteJSON(s.refsPath(), refs, 0o600, true)
}

// PruneOptions tune Prune.
type PruneOptions struct {
	// All removes every image no container uses, not only dangling ones.
	All bool
	// InUse tells whether a container uses the image with this ID; nil means none does.
	InUse func(id string) bool
}

// PruneReport lists what Prune removed.
type PruneReport struct {
	Untagged  []string // references removed (digest references of dangling images; with All, tags)
	Deleted   []string // image IDs, then layer chain IDs
	Reclaimed int64    // bytes freed: unpacked layers and blobs
}

// Prune removes, as `docker image prune` does, the dangling images — no tag, and not the
// parent of another image — or with All every image, then the layers and blobs no remaining
// image needs. An image a container uses is never removed, nor are its parents. Removing an
// image can leave its parent dangling (the steps of a removed build): that parent goes too,
// so what remains has no dangling image (with All: no image no container needs).
func (s *Store) Prune(opts PruneOptions) (PruneReport, error) {
	rep, err := s.pruneRecords(opts)
	if err != nil {
		return rep, err
	}
	gc, err := s.collect()
	rep.Deleted = append(rep.Deleted, gc.Deleted...)
	rep.Reclaimed = gc.Reclaimed
	return rep, err
}

// pruneRecords does Prune's part under the store lock: references and image records. It
// removes leaves until none qualifies, so a chain of build steps goes child first.
func (s *Store) pruneRecords(opts PruneOptions) (PruneReport, error) {
	var rep PruneReport
	l, err := s.lock("store", true)
	if err != nil {
		return rep, err
	}
	defer l.unlock()
	g, err := s.graph()
	if err != nil {
		return rep, err
	}
	gone := map[string]bool{}
	for progress := true; progress; {
		progress = false
		for _, id := range g.ids {
			if gone[id] || g.children[id] > 0 || (opts.InUse != nil && opts.InUse(id)) {
				continue
			}
			tags, digests := g.refsOf(id)
			if len(tags) > 0 && !opts.All {
				continue
			}
			if refs := append(tags, digests...); len(refs) > 0 {
				for _, r := range refs {
					delete(g.refs, r)
				}
				// References go first: a reference to a missing record would break Get.
				if err := s.writeRefs(g.refs); err != nil {
					return rep, err
				}
				rep.Untagged = append(rep.Untagged, refs...)
			}
			if err := s.deleteRecord(id, g); err != nil {
				return rep, err
			}
			gone[id] = true
			rep.Deleted = append(rep.Deleted, id)
			progress = true
		}
	}
	return rep, nil
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
	s.emptyTmp() // no write runs: what is in tmp/ was left by dead ones
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
		if err := statefile.ReadJSON(s.recordPath(id), &rec); err != nil {
			return rep, fmt.Errorf("read image record %s: %w", id, err)
		}
		m, err := s.readManifest(rec.Manifest)
		if err != nil {
			return rep, err
		}
		var cfg v1.ConfigFile
		if err := statefile.ReadJSON(s.blobPath(id), &cfg); err != nil {
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
		_ = statefile.ReadJSON(filepath.Join(dir, "layer.json"), &meta)
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
