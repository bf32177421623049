package build

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// copyOpts are the COPY/ADD flags that shape the written files.
type copyOpts struct {
	owner *owner       // --chown; nil keeps root:root (COPY) or the archive's owners (ADD)
	chmod *fs.FileMode // --chmod; nil keeps the source's permission bits
}

// hostPath resolves p (absolute inside rootfs) for writing its last component: the
// parent's symlinks are resolved inside rootfs, the last component is not followed, so an
// existing symlink there is replaced rather than written through.
func hostPath(rootfs, p string) (string, error) {
	parent, err := securejoin.SecureJoin(rootfs, path.Dir(p))
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", p, err)
	}
	return filepath.Join(parent, path.Base(p)), nil
}

// clearFor removes whatever non-directory is at hp so a new entry can take its place; an
// existing directory is kept when the new entry is a directory too.
func clearFor(hp string, dir bool) (exists bool, err error) {
	fi, err := os.Lstat(hp)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if fi.IsDir() && dir {
		return true, nil
	}
	if err := os.RemoveAll(hp); err != nil {
		return false, fmt.Errorf("replace %s: %w", hp, err)
	}
	return false, nil
}

// copyEntries writes the entries of one source at dst (absolute inside rootfs): a
// directory source's contents go below dst, a file becomes dst itself.
func copyEntries(rootfs, dst string, entries []entry, o copyOpts) error {
	own := owner{}
	if o.owner != nil {
		own = *o.owner
	}
	for _, e := range entries {
		target := path.Join(dst, e.rel)
		if e.rel == "." && e.info.IsDir() {
			if _, err := mkdirAll(rootfs, target, own); err != nil {
				return err
			}
			continue
		}
		if _, err := mkdirAll(rootfs, path.Dir(target), own); err != nil {
			return err
		}
		hp, err := hostPath(rootfs, target)
		if err != nil {
			return err
		}
		if err := writeEntry(hp, e, own, o.chmod); err != nil {
			return fmt.Errorf("copy %s: %w", e.rel, err)
		}
	}
	return nil
}

func writeEntry(hp string, e entry, own owner, chmod *fs.FileMode) error {
	mode := e.info.Mode()
	perm := mode & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	if chmod != nil {
		perm = *chmod
	}
	exists, err := clearFor(hp, mode.IsDir())
	if err != nil {
		return err
	}
	switch {
	case mode.IsDir():
		if !exists {
			if err := os.Mkdir(hp, 0o700); err != nil {
				return err
			}
		}
	case mode&fs.ModeSymlink != 0:
		if err := os.Symlink(e.link, hp); err != nil {
			return err
		}
		return os.Lchown(hp, own.uid, own.gid)
	case mode.IsRegular():
		if err := copyFile(hp, e.abs); err != nil {
			return err
		}
	default:
		return fmt.Errorf("file type %s: %w", mode.Type(), ErrUnsupported)
	}
	return setMeta(hp, own, perm, e.info.ModTime())
}

// setMeta applies owner, then mode (chown clears setuid bits), then times.
func setMeta(hp string, own owner, perm fs.FileMode, mtime time.Time) error {
	if err := os.Lchown(hp, own.uid, own.gid); err != nil {
		return err
	}
	if err := os.Chmod(hp, perm); err != nil {
		return err
	}
	return os.Chtimes(hp, mtime, mtime)
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return writeFile(dst, in)
}

func writeFile(dst string, r io.Reader) error {
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, r)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// archiveReader returns a reader of the tar stream in f when f is a tar archive (plain,
// gzip or bzip2), or ok false when it is not one, as Docker's ADD decides by content.
func archiveReader(f io.Reader) (io.Reader, bool, error) {
	br := bufio.NewReaderSize(f, 1024)
	magic, _ := br.Peek(6)
	var r io.Reader = br
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, false, nil
		}
		r = gz
	case bytes.HasPrefix(magic, []byte("BZh")):
		r = bzip2.NewReader(br)
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return nil, false, fmt.Errorf("xz-compressed archive: %w", ErrUnsupported)
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return nil, false, fmt.Errorf("zstd-compressed archive: %w", ErrUnsupported)
	}
	tb := bufio.NewReaderSize(r, 1024)
	hdr, err := tb.Peek(512)
	if err != nil || !bytes.Equal(hdr[257:262], []byte("ustar")) {
		return nil, false, nil
	}
	return tb, true, nil
}

// isArchive reports whether the file at p is a tar archive ADD extracts.
func isArchive(p string) (bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, ok, err := archiveReader(f)
	return ok, err
}

// extractArchive unpacks the tar archive at src into dst (absolute inside rootfs), every
// path kept inside rootfs. Owners come from the archive unless o.owner is set.
func extractArchive(rootfs, dst, src string, o copyOpts) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	r, ok, err := archiveReader(f)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s: not a tar archive", src)
	}
	base := owner{}
	if o.owner != nil {
		base = *o.owner
	}
	if _, err := mkdirAll(rootfs, dst, base); err != nil {
		return err
	}
	tr := tar.NewReader(r)
	var dirs []*tar.Header
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read archive %s: %w", filepath.Base(src), err)
		}
		name := path.Clean("/" + h.Name)
		if name == "/" {
			continue
		}
		target := path.Join(dst, name)
		if _, err := mkdirAll(rootfs, path.Dir(target), base); err != nil {
			return err
		}
		hp, err := hostPath(rootfs, target)
		if err != nil {
			return err
		}
		own := owner{uid: h.Uid, gid: h.Gid}
		if o.owner != nil {
			own = *o.owner
		}
		exists, err := clearFor(hp, h.Typeflag == tar.TypeDir)
		if err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if !exists {
				if err := os.Mkdir(hp, 0o700); err != nil {
					return err
				}
			}
			dirs = append(dirs, h)
			continue // times and modes after the contents are written
		case tar.TypeReg:
			if err := writeFile(hp, tr); err != nil {
				return fmt.Errorf("extract %s: %w", h.Name, err)
			}
		case tar.TypeSymlink:
			if err := os.Symlink(h.Linkname, hp); err != nil {
				return fmt.Errorf("extract %s: %w", h.Name, err)
			}
			if err := os.Lchown(hp, own.uid, own.gid); err != nil {
				return err
			}
			continue
		case tar.TypeLink:
			old, err := securejoin.SecureJoin(rootfs, path.Join(dst, path.Clean("/"+h.Linkname)))
			if err != nil {
				return err
			}
			if err := os.Link(old, hp); err != nil {
				return fmt.Errorf("extract %s: %w", h.Name, err)
			}
			continue
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			mode := uint32(h.Mode & 0o7777)
			switch h.Typeflag {
			case tar.TypeChar:
				mode |= unix.S_IFCHR
			case tar.TypeBlock:
				mode |= unix.S_IFBLK
			default:
				mode |= unix.S_IFIFO
			}
			if err := unix.Mknod(hp, mode, int(unix.Mkdev(uint32(h.Devmajor), uint32(h.Devminor)))); err != nil {
				return &os.SyscallError{Syscall: "mknod " + hp, Err: err}
			}
		default:
			continue // pax/GNU metadata entries carry no file
		}
		perm := fs.FileMode(h.Mode) & fs.ModePerm
		perm |= modeBits(h.Mode)
		if o.chmod != nil {
			perm = *o.chmod
		}
		if err := setMeta(hp, own, perm, h.ModTime); err != nil {
			return fmt.Errorf("extract %s: %w", h.Name, err)
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		h := dirs[i]
		hp, err := hostPath(rootfs, path.Join(dst, path.Clean("/"+h.Name)))
		if err != nil {
			return err
		}
		own := owner{uid: h.Uid, gid: h.Gid}
		if o.owner != nil {
			own = *o.owner
		}
		perm := fs.FileMode(h.Mode)&fs.ModePerm | modeBits(h.Mode)
		if err := setMeta(hp, own, perm, h.ModTime); err != nil {
			return fmt.Errorf("extract %s: %w", h.Name, err)
		}
	}
	return nil
}

// modeBits converts the setuid/setgid/sticky bits of a tar mode to fs.FileMode.
func modeBits(m int64) fs.FileMode {
	var out fs.FileMode
	if m&0o4000 != 0 {
		out |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		out |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		out |= fs.ModeSticky
	}
	return out
}
