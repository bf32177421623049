package build

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// A filesystem step (COPY, ADD, WORKDIR) works on a scratch overlay: the image so far as
// read-only lower layers, a fresh upper directory that collects exactly the step's
// changes, mounted at merged/. The step writes through merged/ (symlinks in destination
// paths resolve inside it, parent directories are copied up with their metadata, deleted
// files become whiteouts), then the upper directory is written out as the layer tar.
//
//	<root>/build-cache/scratch/<random>/
//	    lower/   empty lower layer for images without layers (FROM scratch)
//	    upper/   the step's changes
//	    work/    overlayfs work directory (same filesystem as upper/)
//	    merged/  the mount point
//
// Mount order: the directories are created first, then the overlay is mounted; Close
// unmounts before removing anything, so a failure never deletes through a live mount.

const scratchDirName = "scratch"

// scratchFS is the overlay one filesystem step writes to.
type scratchFS struct {
	dir     string
	merged  string
	upper   string
	mounted bool
}

// mountScratch mounts a scratch overlay over lowers (top layer first).
func mountScratch(root string, lowers []string) (_ *scratchFS, retErr error) {
	base := filepath.Join(cacheDir(root), scratchDirName)
	if err := os.MkdirAll(base, 0o700); err != nil {
		return nil, fmt.Errorf("create scratch dir: %w", err)
	}
	dir, err := os.MkdirTemp(base, "step-")
	if err != nil {
		return nil, fmt.Errorf("create scratch dir: %w", err)
	}
	s := &scratchFS{dir: dir, merged: filepath.Join(dir, "merged"), upper: filepath.Join(dir, "upper")}
	defer func() {
		if retErr != nil {
			s.Close()
		}
	}()
	work := filepath.Join(dir, "work")
	for _, d := range []string{s.merged, s.upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, fmt.Errorf("create scratch dir: %w", err)
		}
	}
	if len(lowers) == 0 {
		empty := filepath.Join(dir, "lower")
		if err := os.Mkdir(empty, 0o755); err != nil {
			return nil, fmt.Errorf("create scratch dir: %w", err)
		}
		lowers = []string{empty}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", strings.Join(lowers, ":"), s.upper, work)
	if err := unix.Mount("overlay", s.merged, "overlay", 0, opts); err != nil {
		return nil, &os.SyscallError{Syscall: fmt.Sprintf("mount overlay on %s (%s)", s.merged, opts), Err: err}
	}
	s.mounted = true
	return s, nil
}

// Close unmounts the overlay and removes the scratch directory.
func (s *scratchFS) Close() error {
	if s.mounted {
		if err := unix.Unmount(s.merged, unix.MNT_DETACH); err != nil {
			return &os.SyscallError{Syscall: "umount " + s.merged, Err: err}
		}
		s.mounted = false
	}
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("remove scratch dir: %w", err)
	}
	return nil
}

// owner is a uid:gid pair; -1 keeps what the source has.
type owner struct{ uid, gid int }

// resolveOwner turns a --chown or USER value ("name", "uid", "name:group", "uid:gid")
// into numeric ids, names looked up in rootfs's /etc/passwd and /etc/group.
func resolveOwner(rootfs, spec string) (owner, error) {
	user, group, hasGroup := strings.Cut(spec, ":")
	uid, pwGid, err := lookupID(rootfs, "/etc/passwd", user)
	if err != nil {
		return owner{}, err
	}
	gid := pwGid
	if hasGroup {
		if gid, _, err = lookupID(rootfs, "/etc/group", group); err != nil {
			return owner{}, err
		}
	} else if gid < 0 {
		gid = uid // a numeric user with no passwd entry: Docker uses the same number
	}
	return owner{uid: uid, gid: gid}, nil
}

// lookupID finds name in a passwd or group file of rootfs; a number is taken as is. It
// returns the id and, for passwd, the primary group (-1 when not known).
func lookupID(rootfs, file, name string) (int, int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		if file == "/etc/passwd" {
			if _, gid, err := scanIDFile(rootfs, file, func(f []string) bool { return f[2] == name }); err == nil {
				return n, gid, nil
			}
		}
		return n, -1, nil
	}
	id, gid, err := scanIDFile(rootfs, file, func(f []string) bool { return f[0] == name })
	if err != nil {
		return 0, 0, fmt.Errorf("look up %q in %s: %w", name, file, err)
	}
	return id, gid, nil
}

func scanIDFile(rootfs, file string, match func([]string) bool) (int, int, error) {
	p, err := securejoin.SecureJoin(rootfs, file)
	if err != nil {
		return 0, 0, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, ErrUnknownUser
	}
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 3 || !match(fields) {
			continue
		}
		id, err := strconv.Atoi(fields[2])
		if err != nil {
			continue
		}
		gid := -1
		if len(fields) > 3 {
			if g, err := strconv.Atoi(fields[3]); err == nil {
				gid = g
			}
		}
		return id, gid, nil
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	return 0, 0, ErrUnknownUser
}

// mkdirAll creates dir (an absolute path inside rootfs) and missing parents, owned by o,
// mode 0755, resolving symlinks inside rootfs. It returns the path on the host.
func mkdirAll(rootfs, dir string, o owner) (string, error) {
	p, err := securejoin.SecureJoin(rootfs, dir)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", dir, err)
	}
	rel, err := filepath.Rel(rootfs, p)
	if err != nil {
		return "", err
	}
	cur := rootfs
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		if part == "." || part == "" {
			continue
		}
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		if err == nil {
			if !fi.IsDir() {
				return "", fmt.Errorf("create %s: %s is not a directory", dir, strings.TrimPrefix(cur, rootfs))
			}
			continue
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		if err := os.Mkdir(cur, 0o755); err != nil {
			return "", fmt.Errorf("create %s: %w", dir, err)
		}
		if o.uid > 0 || o.gid > 0 {
			if err := os.Lchown(cur, o.uid, o.gid); err != nil {
				return "", fmt.Errorf("chown %s: %w", dir, err)
			}
		}
	}
	return p, nil
}

// isDir reports whether p (an absolute path inside rootfs) is a directory there.
func isDir(rootfs, p string) bool {
	hp, err := securejoin.SecureJoin(rootfs, p)
	if err != nil {
		return false
	}
	fi, err := os.Stat(hp)
	return err == nil && fi.IsDir()
}
