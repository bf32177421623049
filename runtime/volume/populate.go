package volume

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Populate fills a volume from src (the image's content at the mount target, on the first
// mount only) as Docker does: when the volume was never populated and its data directory is
// empty, src is copied in with modes, owners, times and symlinks; either way the volume is
// marked populated, so later mounts never copy over what the containers wrote. A src that
// does not exist leaves the volume empty.
func (s *Store) Populate(name, src string) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	v, err := s.load(name)
	if err != nil {
		return err
	}
	if v.Populated {
		return nil
	}
	ents, err := os.ReadDir(v.Mountpoint)
	if err != nil {
		return fmt.Errorf("populate volume %s: %w", name, err)
	}
	if len(ents) == 0 {
		if fi, err := os.Lstat(src); err == nil && fi.IsDir() {
			if err := copyTree(src, v.Mountpoint); err != nil {
				return fmt.Errorf("populate volume %s from %s: %w", name, src, err)
			}
		} else if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("populate volume %s: %w", name, err)
		}
	}
	v.Populated = true
	return s.save(v)
}

// copyTree copies the contents of src into the existing directory dst, without following
// symlinks, preserving owner, mode and modification time; device nodes and fifos are
// recreated, sockets skipped.
func copyTree(src, dst string) error {
	if err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		switch mode := fi.Mode(); {
		case mode.IsDir():
			if rel != "." {
				if err := os.Mkdir(target, mode.Perm()); err != nil {
					return err
				}
			}
		case mode.IsRegular():
			if err := copyFile(path, target, mode.Perm()); err != nil {
				return err
			}
		case mode&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
		case mode&fs.ModeSocket != 0:
			return nil
		default:
			if err := unix.Mknod(target, st.Mode, int(st.Rdev)); err != nil {
				return &os.PathError{Op: "mknod", Path: target, Err: err}
			}
		}
		if err := os.Lchown(target, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			// chown clears setuid/setgid bits; set the full mode again.
			if err := unix.Chmod(target, st.Mode&0o7777); err != nil {
				return &os.PathError{Op: "chmod", Path: target, Err: err}
			}
		}
		ts := []unix.Timespec{unix.NsecToTimespec(st.Atim.Nano()), unix.NsecToTimespec(st.Mtim.Nano())}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, target, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &os.PathError{Op: "utimes", Path: target, Err: err}
		}
		return nil
	}); err != nil {
		return err
	}
	return nil
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// ResolveInRoot returns the host path of target inside the directory tree root, following
// symlinks the way the container would see them (an absolute link starts again at root).
// It refuses, with ErrEscape, a target with `..` components and any link that climbs above
// root: a volume or mount path must never reach outside the container's filesystem.
// Components that do not exist are appended as they are.
func ResolveInRoot(root, target string) (string, error) {
	if err := CheckTarget(target); err != nil {
		return "", err
	}
	var resolved []string // components below root, not links
	pending := strings.Split(strings.Trim(target, "/"), "/")
	missing := false // once a component does not exist, the rest is taken lexically
	for hops := 0; len(pending) > 0; {
		c := pending[0]
		pending = pending[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(resolved) == 0 {
				return "", fmt.Errorf("resolve %s in %s: a symlink leads above the root: %w", target, root, ErrEscape)
			}
			resolved = resolved[:len(resolved)-1]
			continue
		}
		if missing {
			resolved = append(resolved, c)
			continue
		}
		p := filepath.Join(append([]string{root}, append(resolved, c)...)...)
		fi, err := os.Lstat(p)
		if errors.Is(err, os.ErrNotExist) {
			missing = true
			resolved = append(resolved, c)
			continue
		}
		if err != nil {
			return "", fmt.Errorf("resolve %s in %s: %w", target, root, err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			resolved = append(resolved, c)
			continue
		}
		if hops++; hops > 40 {
			return "", fmt.Errorf("resolve %s in %s: too many symlinks: %w", target, root, ErrEscape)
		}
		link, err := os.Readlink(p)
		if err != nil {
			return "", fmt.Errorf("resolve %s in %s: %w", target, root, err)
		}
		if strings.HasPrefix(link, "/") {
			resolved = nil
		}
		pending = append(strings.Split(strings.Trim(link, "/"), "/"), pending...)
	}
	return filepath.Join(append([]string{root}, resolved...)...), nil
}
