package build

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// srcFS is a tree COPY and ADD read from: the build context seen through .dockerignore, or
// the root filesystem of a stage or image (COPY --from), which ignores nothing.
type srcFS struct {
	root string
	pm   *patternmatcher.PatternMatcher // nil: nothing is ignored
}

// openContext opens the build context dir with its ignore rules: <Dockerfile>.dockerignore
// beside the Dockerfile when it exists (as buildkit does), else <dir>/.dockerignore.
func openContext(dir, dockerfile string) (*srcFS, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolve context %s: %w", dir, err)
	}
	if fi, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("open context: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("open context %s: not a directory", dir)
	}
	c := &srcFS{root: abs}
	for _, name := range []string{dockerfile + ".dockerignore", filepath.Join(abs, ".dockerignore")} {
		f, err := os.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("open ignore file: %w", err)
		}
		patterns, err := ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		if c.pm, err = patternmatcher.New(patterns); err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		break
	}
	return c, nil
}

// ignored reports whether rel (slash-separated, relative to the root) is excluded, using
// the parent's result as Docker does when it walks the context.
func (c *srcFS) ignored(rel string, parent patternmatcher.MatchInfo) (bool, patternmatcher.MatchInfo, error) {
	if c.pm == nil {
		return false, parent, nil
	}
	return c.pm.MatchesUsingParentResults(filepath.FromSlash(rel), parent)
}

// ignoredPath checks rel against the rules, its parents included, and returns the match
// state for walking below it.
func (c *srcFS) ignoredPath(rel string) (bool, patternmatcher.MatchInfo, error) {
	var info patternmatcher.MatchInfo
	if c.pm == nil || rel == "." {
		return false, info, nil
	}
	parts := strings.Split(rel, "/")
	m := false
	for i := range parts {
		var err error
		if m, info, err = c.ignored(strings.Join(parts[:i+1], "/"), info); err != nil {
			return false, info, err
		}
	}
	return m, info, nil
}

// source is one COPY/ADD source after glob expansion.
type source struct {
	rel  string      // slash path relative to the root
	abs  string      // on disk, symlinks in it resolved inside the root
	info os.FileInfo // of abs (the source itself is followed when a symlink)
}

// sources expands one COPY/ADD source (a path or glob relative to the root) into the
// entries it names, ignored ones left out.
func (c *srcFS) sources(src string) ([]source, error) {
	clean := path.Clean("/" + filepath.ToSlash(src))
	if strings.HasPrefix(path.Clean(filepath.ToSlash(src)), "../") {
		return nil, fmt.Errorf("%s: %w", src, ErrOutsideContext)
	}
	var rels []string
	if strings.ContainsAny(clean, "*?[") {
		matches, err := c.glob(strings.TrimPrefix(clean, "/"))
		if err != nil {
			return nil, err
		}
		rels = matches
	} else {
		rels = []string{strings.TrimPrefix(clean, "/")}
		if rels[0] == "" {
			rels[0] = "."
		}
	}
	var out []source
	for _, rel := range rels {
		ign, _, err := c.ignoredPath(rel)
		if err != nil {
			return nil, err
		}
		if ign {
			continue
		}
		abs, err := securejoin.SecureJoin(c.root, rel)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", src, err)
		}
		fi, err := os.Stat(abs)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("stat %s: %w", src, err)
		}
		out = append(out, source{rel: rel, abs: abs, info: fi})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: %w", src, ErrSourceNotFound)
	}
	return out, nil
}

// glob matches pattern component by component below the root, never leaving it.
func (c *srcFS) glob(pattern string) ([]string, error) {
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, fmt.Errorf("bad pattern %q: %w", pattern, err)
	}
	parts := strings.Split(pattern, "/")
	cur := []string{"."}
	for _, part := range parts {
		var next []string
		for _, dir := range cur {
			if !strings.ContainsAny(part, "*?[") {
				next = append(next, path.Join(dir, part))
				continue
			}
			abs, err := securejoin.SecureJoin(c.root, dir)
			if err != nil {
				return nil, err
			}
			entries, err := os.ReadDir(abs)
			if err != nil {
				continue // not a directory or gone: no match below it
			}
			for _, e := range entries {
				if ok, _ := path.Match(part, e.Name()); ok {
					next = append(next, path.Join(dir, e.Name()))
				}
			}
		}
		cur = next
	}
	sort.Strings(cur)
	return cur, nil
}

// entry is one file, directory or symlink below a source, as COPY writes it.
type entry struct {
	rel  string // slash path relative to the source ("." for the source itself)
	abs  string
	info os.FileInfo // Lstat: symlinks inside a source are copied as symlinks
	link string      // symlink target
}

// walk lists src and, for a directory, everything below it that is not ignored, in
// lexical order, parents before children.
func (c *srcFS) walk(src source) ([]entry, error) {
	top := entry{rel: ".", abs: src.abs, info: src.info}
	if !src.info.IsDir() {
		return []entry{top}, nil
	}
	out := []entry{top}
	var rec func(dir, rel string, parent patternmatcher.MatchInfo) error
	rec = func(dir, rel string, parent patternmatcher.MatchInfo) error {
		des, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("read %s: %w", dir, err)
		}
		for _, de := range des {
			crel := path.Join(rel, de.Name())
			ctxRel := path.Join(src.rel, crel)
			ign, mi, err := c.ignored(ctxRel, parent)
			if err != nil {
				return err
			}
			abs := filepath.Join(dir, de.Name())
			if ign {
				// a later "!pattern" may re-include something below an ignored directory
				if de.IsDir() && c.pm.Exclusions() {
					if err := rec(abs, crel, mi); err != nil {
						return err
					}
				}
				continue
			}
			fi, err := os.Lstat(abs)
			if err != nil {
				return fmt.Errorf("stat %s: %w", abs, err)
			}
			e := entry{rel: crel, abs: abs, info: fi}
			if fi.Mode()&fs.ModeSymlink != 0 {
				if e.link, err = os.Readlink(abs); err != nil {
					return fmt.Errorf("read link %s: %w", abs, err)
				}
			}
			out = append(out, e)
			if fi.IsDir() {
				if err := rec(abs, crel, mi); err != nil {
					return err
				}
			}
		}
		return nil
	}
	_, info, err := c.ignoredPath(src.rel)
	if err != nil {
		return nil, err
	}
	if err := rec(src.abs, ".", info); err != nil {
		return nil, err
	}
	return out, nil
}

// hashEntries writes to h what of the entries ends up in the image: relative path, type,
// permission bits, symlink target and file content. Times and owners are left out: the
// cache must hit after a fresh checkout.
func hashEntries(h io.Writer, entries []entry) error {
	for _, e := range entries {
		fmt.Fprintf(h, "%s\x00%o\x00%s\x00%d\x00", e.rel, e.info.Mode()&(fs.ModeType|fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky), e.link, e.info.Size())
		if !e.info.Mode().IsRegular() {
			continue
		}
		f, err := os.Open(e.abs)
		if err != nil {
			return fmt.Errorf("hash %s: %w", e.rel, err)
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("hash %s: %w", e.rel, err)
		}
	}
	return nil
}

// digestString is the hex sha256 of s.
func digestString(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
