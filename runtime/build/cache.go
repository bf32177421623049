package build

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stackhq/stack/internal/statefile"
)

// The build cache maps a step's key to the image that step produced. A key is the sha256
// of the parent image ID, the instruction after substitution, the build args in effect and,
// for COPY/ADD, the content of every copied file (paths, modes, bytes; not times or
// owners). Entries are small files under <root>/build-cache/, one per key, holding the
// image ID, written with CreateTemp + Rename so a crashed build never leaves half an entry.
// The images themselves live in the image store; an entry whose image is gone is a miss.

const cacheDirName = "build-cache"

// cacheDir is where the build cache of the store root lives.
func cacheDir(root string) string { return filepath.Join(root, cacheDirName) }

// stepKey computes a step's cache key.
func stepKey(parentID, instruction string, args map[string]string, contentDigest string) string {
	var b strings.Builder
	b.WriteString("v1\x00")
	b.WriteString(parentID)
	b.WriteString("\x00")
	b.WriteString(instruction)
	b.WriteString("\x00")
	names := make([]string, 0, len(args))
	for k := range args {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		b.WriteString(k)
		b.WriteString("=")
		b.WriteString(args[k])
		b.WriteString("\x00")
	}
	b.WriteString(contentDigest)
	return digestString(b.String())
}

// cacheGet returns the image ID stored for key, "" when there is none.
func cacheGet(root, key string) (string, error) {
	b, err := os.ReadFile(filepath.Join(cacheDir(root), key))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read build cache: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// cachePut records that key produced image id.
func cachePut(root, key, id string) error {
	dir := cacheDir(root)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create build cache: %w", err)
	}
	if err := statefile.Write(filepath.Join(dir, key), []byte(id+"\n"), 0o600); err != nil {
		return fmt.Errorf("write build cache: %w", err)
	}
	return nil
}

// PruneCache drops entries of the build cache of the store root and returns the keys of
// those it removed: with keep nil, every entry (and the temp files of interrupted writes);
// otherwise the entries whose image keep rejects. `stack image prune` passes "the image is
// still stored", so the cache never points at removed images: it follows the images, as
// Docker's classic builder cache (which is the intermediate images) does.
func PruneCache(root string, keep func(imageID string) bool) ([]string, error) {
	dir := cacheDir(root)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read build cache: %w", err)
	}
	var removed []string
	for _, e := range entries {
		if e.Name() == scratchDirName {
			continue // in use by running builds
		}
		tmp := strings.HasPrefix(e.Name(), ".") // statefile.Write's temporary files
		if keep != nil {
			if tmp {
				continue // maybe a running build's write
			}
			id, err := cacheGet(root, e.Name())
			if err != nil {
				return removed, err
			}
			if keep(id) {
				continue
			}
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return removed, fmt.Errorf("prune build cache: %w", err)
		}
		if !tmp {
			removed = append(removed, e.Name())
		}
	}
	return removed, nil
}
