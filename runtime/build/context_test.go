package build

import (
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// copiedPaths lists what COPY <src> would copy, relative to the context.
func copiedPaths(t *testing.T, c *srcFS, src string) []string {
	t.Helper()
	list, err := c.sources(src)
	if err != nil {
		t.Fatalf("sources(%q): %v", src, err)
	}
	var out []string
	for _, s := range list {
		entries, err := c.walk(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !e.info.IsDir() {
				out = append(out, filepath.ToSlash(filepath.Join(s.rel, e.rel)))
			}
		}
	}
	sort.Strings(out)
	return out
}

// The rules are Docker's (moby/patternmatcher): later lines win, ! re-includes, a
// directory match excludes everything below it, ** matches any number of directories.
func TestDockerignoreRules(t *testing.T) {
	dir := writeTree(t, map[string]string{
		".dockerignore":       "# comment\n*.log\n!keep.log\nbuild/\n**/*.tmp\n/docs/*.md\n!docs/README.md\nvendor\n!vendor/keep/\n",
		"Dockerfile":          "FROM scratch\n",
		"a.log":               "",
		"keep.log":            "",
		"main.go":             "",
		"build/out":           "",
		"x/y/z.tmp":           "",
		"x/y/z.go":            "",
		"docs/guide.md":       "",
		"docs/README.md":      "",
		"docs/sub/deep.md":    "",
		"vendor/lib/a.go":     "",
		"vendor/keep/k.go":    "",
		"sub/a.log":           "",
		"sub/vendor/lib/b.go": "",
	})
	c, err := openContext(dir, filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	got := copiedPaths(t, c, ".")
	want := []string{".dockerignore", "Dockerfile", "docs/README.md", "docs/sub/deep.md", "keep.log", "main.go", "sub/a.log", "sub/vendor/lib/b.go", "vendor/keep/k.go", "x/y/z.go"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("copied:\n got %q\nwant %q", got, want)
	}
	if _, err := c.sources("a.log"); !errors.Is(err, ErrSourceNotFound) {
		t.Errorf("ignored file named directly: %v", err)
	}
	if _, err := c.sources("build/out"); !errors.Is(err, ErrSourceNotFound) {
		t.Errorf("file below an ignored directory: %v", err)
	}
}

func TestDockerfileSpecificIgnore(t *testing.T) {
	dir := writeTree(t, map[string]string{
		".dockerignore":                 "a\n",
		"build.Dockerfile":              "FROM scratch\n",
		"build.Dockerfile.dockerignore": "b\n",
		"a":                             "",
		"b":                             "",
	})
	c, err := openContext(dir, filepath.Join(dir, "build.Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if got := copiedPaths(t, c, "a"); !reflect.DeepEqual(got, []string{"a"}) {
		t.Errorf("a: %q", got)
	}
	if _, err := c.sources("b"); !errors.Is(err, ErrSourceNotFound) {
		t.Errorf("b should be ignored by build.Dockerfile.dockerignore: %v", err)
	}
}

func TestSourcesGlobsAndEscapes(t *testing.T) {
	dir := writeTree(t, map[string]string{"a.txt": "", "b.txt": "", "c.md": "", "d/e.txt": "", "d/f/g.txt": ""})
	if err := os.Symlink("../../etc", filepath.Join(dir, "escape")); err != nil {
		t.Fatal(err)
	}
	c, err := openContext(dir, filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if got := copiedPaths(t, c, "*.txt"); !reflect.DeepEqual(got, []string{"a.txt", "b.txt"}) {
		t.Errorf("*.txt: %q", got)
	}
	if got := copiedPaths(t, c, "d/*/g.txt"); !reflect.DeepEqual(got, []string{"d/f/g.txt"}) {
		t.Errorf("d/*/g.txt: %q", got)
	}
	if got := copiedPaths(t, c, "/d/./f/../e.txt"); !reflect.DeepEqual(got, []string{"d/e.txt"}) {
		t.Errorf("cleaned path: %q", got)
	}
	if _, err := c.sources("../outside"); !errors.Is(err, ErrOutsideContext) {
		t.Errorf("../outside: %v", err)
	}
	// a symlink pointing out of the context resolves inside it (to a missing path)
	if _, err := c.sources("escape/passwd"); !errors.Is(err, ErrSourceNotFound) {
		t.Errorf("symlink escape: %v", err)
	}
	if _, err := c.sources("*.none"); !errors.Is(err, ErrSourceNotFound) {
		t.Errorf("glob without match: %v", err)
	}
}

func digestOf(t *testing.T, dir string) [32]byte {
	t.Helper()
	c, err := openContext(dir, filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.sources(".")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := c.walk(list[0])
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if err := hashEntries(h, entries); err != nil {
		t.Fatal(err)
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

func TestContentDigest(t *testing.T) {
	dir := writeTree(t, map[string]string{"a": "1", "d/b": "2"})
	base := digestOf(t, dir)
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "a"), old, old); err != nil {
		t.Fatal(err)
	}
	if digestOf(t, dir) != base {
		t.Error("a new mtime changed the digest")
	}
	if err := os.WriteFile(filepath.Join(dir, "a"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	changed := digestOf(t, dir)
	if changed == base {
		t.Error("new content kept the digest")
	}
	if err := os.Chmod(filepath.Join(dir, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	if digestOf(t, dir) == changed {
		t.Error("a new mode kept the digest")
	}
	if err := os.Rename(filepath.Join(dir, "d/b"), filepath.Join(dir, "d/c")); err != nil {
		t.Fatal(err)
	}
	if digestOf(t, dir) == changed {
		t.Error("a rename kept the digest")
	}
}

func TestStepKey(t *testing.T) {
	k := stepKey("sha256:p", "COPY a /a", map[string]string{"A": "1", "B": "2"}, "d")
	if k != stepKey("sha256:p", "COPY a /a", map[string]string{"B": "2", "A": "1"}, "d") {
		t.Error("key depends on map order")
	}
	for name, other := range map[string]string{
		"parent":      stepKey("sha256:q", "COPY a /a", map[string]string{"A": "1", "B": "2"}, "d"),
		"instruction": stepKey("sha256:p", "COPY a /b", map[string]string{"A": "1", "B": "2"}, "d"),
		"arg value":   stepKey("sha256:p", "COPY a /a", map[string]string{"A": "1", "B": "3"}, "d"),
		"arg set":     stepKey("sha256:p", "COPY a /a", map[string]string{"A": "1"}, "d"),
		"content":     stepKey("sha256:p", "COPY a /a", map[string]string{"A": "1", "B": "2"}, "e"),
		"boundary":    stepKey("sha256:p", "COPY a /a", map[string]string{"A": "1", "B": "2d"}, ""),
	} {
		if other == k {
			t.Errorf("key ignores the %s", name)
		}
	}
}

func TestCacheStore(t *testing.T) {
	root := t.TempDir()
	if id, err := cacheGet(root, "k"); err != nil || id != "" {
		t.Fatalf("empty cache: %q %v", id, err)
	}
	if err := cachePut(root, "k", "sha256:abc"); err != nil {
		t.Fatal(err)
	}
	if id, err := cacheGet(root, "k"); err != nil || id != "sha256:abc" {
		t.Fatalf("get: %q %v", id, err)
	}
	if err := cachePut(root, "gone", "sha256:def"); err != nil {
		t.Fatal(err)
	}
	// Selective: only the entry whose image is gone.
	stored := func(id string) bool { return id == "sha256:abc" }
	if keys, err := PruneCache(root, stored); err != nil || !reflect.DeepEqual(keys, []string{"gone"}) {
		t.Fatalf("PruneCache(stored) = %v, %v", keys, err)
	}
	if id, _ := cacheGet(root, "k"); id != "sha256:abc" {
		t.Error("an entry of a stored image was pruned")
	}
	if keys, err := PruneCache(root, nil); err != nil || !reflect.DeepEqual(keys, []string{"k"}) {
		t.Fatalf("PruneCache(nil) = %v, %v", keys, err)
	}
	if id, _ := cacheGet(root, "k"); id != "" {
		t.Error("entry survived prune")
	}
	if keys, err := PruneCache(t.TempDir(), nil); err != nil || len(keys) != 0 {
		t.Errorf("prune of no cache: %v %v", keys, err)
	}
}
