package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Docker-format whiteouts in layer tars, and the overlayfs forms they become on disk.
//
//	layer tar entry          unpacked as                      meaning
//	dir/.wh.name             dir/name: char device 0:0        name is deleted from lower layers
//	dir/.wh..wh..opq         dir: xattr trusted.overlay.opaque=y   dir hides lower layers' content
const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh." // aufs bookkeeping entries (.wh..wh.plnk, …): skipped
	whiteoutOpaque = ".wh..wh..opq"
	opaqueXattr    = "trusted.overlay.opaque"
	paxXattrPrefix = "SCHILY.xattr."
)

// unpacker extracts one layer tar into a fresh directory. The directory is private to this
// process (under tmp/), so the only adversary is the archive itself: every entry name is
// checked to stay inside the root, no entry is written through a symlink that an earlier entry
// planted, and hard links may only point at files of this layer.
type unpacker struct {
	root  string
	dirs  map[string]bool // relative paths verified or created as real directories
	chown bool            // only root can give files their owners
	size  int64
	buf   []byte
	// Directory modes and times are applied last: creating children changes a directory's
	// mtime, and a read-only directory mode would stop a non-root unpacker from filling it.
	dirMeta []*tar.Header

	// Small regular files are written by a few workers: creating an inode costs far more
	// than the bytes of a small file on some filesystems, and those costs overlap. A file is
	// handed over only when its parent is a verified directory and no entry of that name was
	// seen yet; every other entry first waits for the workers (drain), so the filesystem an
	// entry sees is the one the archive order gives it.
	seen     map[string]bool // relative paths of every entry so far
	jobs     chan fileJob
	workers  sync.WaitGroup
	inflight sync.WaitGroup // files handed over and not yet written
	mu       sync.Mutex
	werr     error // the first error of a worker
}

// fileJob is one small regular file for a worker, its content read from the archive.
type fileJob struct {
	hdr    *tar.Header
	target string
	data   []byte
}

const (
	fileWorkers  = 4
	parallelSize = 1 << 20 // larger files are written by the reading goroutine
)

// Unpack extracts the layer tar r into dir (an existing, empty directory), turning Docker
// whiteouts into overlayfs whiteouts, and returns the unpacked size (the sum of regular file
// sizes). A hostile entry — an absolute or ../ name, a write through a symlink, a hard link or
// relative symlink leading outside the layer, a device node — stops it with an error wrapping
// ErrUnsafeEntry that names the entry; nothing is written outside dir. Owners are kept when
// running as root, modes, times, xattrs and hard links always.
func Unpack(r io.Reader, dir string) (int64, error) {
	u := &unpacker{root: dir, dirs: map[string]bool{".": true}, chown: os.Geteuid() == 0,
		seen: map[string]bool{}, jobs: make(chan fileJob, 2*fileWorkers)}
	for range fileWorkers {
		u.workers.Add(1)
		go u.worker()
	}
	stopped := false
	stop := func() error {
		if !stopped {
			stopped = true
			close(u.jobs)
			u.workers.Wait()
		}
		return u.workerErr()
	}
	defer stop()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("read layer tar: %w", err)
		}
		if err := u.entry(tr, hdr); err != nil {
			return 0, err
		}
	}
	if err := stop(); err != nil {
		return 0, err
	}
	for i := len(u.dirMeta) - 1; i >= 0; i-- {
		hdr := u.dirMeta[i]
		rel, _ := cleanEntryName(hdr.Name)
		target := filepath.Join(u.root, rel)
		if err := os.Chmod(target, tarMode(hdr)); err != nil {
			return 0, fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
		if err := setTimes(target, hdr); err != nil {
			return 0, fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
	}
	return u.size, nil
}

// cleanEntryName returns the entry's path relative to the layer root, refusing absolute
// names and names that climb out of it.
func cleanEntryName(name string) (string, error) {
	if path.IsAbs(name) {
		return "", fmt.Errorf("entry %q: absolute path: %w", name, ErrUnsafeEntry)
	}
	clean := path.Clean(name)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("entry %q: path leads outside the layer: %w", name, ErrUnsafeEntry)
	}
	return clean, nil
}

func (u *unpacker) entry(tr *tar.Reader, hdr *tar.Header) error {
	rel, err := cleanEntryName(hdr.Name)
	if err != nil {
		return err
	}
	if rel == "." {
		if hdr.Typeflag != tar.TypeDir {
			return fmt.Errorf("entry %q: the layer root must be a directory: %w", hdr.Name, ErrUnsafeEntry)
		}
		return u.meta(u.root, hdr)
	}
	dir, base := path.Split(rel)
	dir = path.Clean(dir)
	target := filepath.Join(u.root, rel)
	if u.parallel(hdr, rel, dir, base) {
		u.seen[rel] = true
		u.size += hdr.Size
		if hdr.Size > parallelSize {
			return u.fileErr(hdr, u.file(tr, hdr, target, nil))
		}
		data := make([]byte, hdr.Size)
		if _, err := io.ReadFull(tr, data); err != nil {
			return fmt.Errorf("read layer tar: entry %q: %w", hdr.Name, err)
		}
		u.inflight.Add(1)
		u.jobs <- fileJob{hdr: hdr, target: target, data: data}
		return u.workerErr()
	}
	if err := u.drain(); err != nil {
		return err
	}
	u.seen[rel] = true
	if err := u.ensureDir(dir, hdr.Name, true); err != nil {
		return err
	}

	switch {
	case base == whiteoutOpaque:
		if err := unix.Lsetxattr(filepath.Join(u.root, dir), opaqueXattr, []byte("y"), 0); err != nil {
			return fmt.Errorf("entry %q: setxattr %s %s: %w", hdr.Name, filepath.Join(u.root, dir), opaqueXattr, err)
		}
		return nil
	case strings.HasPrefix(base, whiteoutMeta):
		return nil
	case strings.HasPrefix(base, whiteoutPrefix):
		name := base[len(whiteoutPrefix):]
		if name == "" || name == "." || name == ".." {
			return fmt.Errorf("entry %q: invalid whiteout: %w", hdr.Name, ErrUnsafeEntry)
		}
		wo := filepath.Join(u.root, dir, name)
		if err := u.removeExisting(wo); err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
		if err := unix.Mknod(wo, unix.S_IFCHR, 0); err != nil {
			return fmt.Errorf("entry %q: mknod %s c 0 0: %w", hdr.Name, wo, err)
		}
		return nil
	}

	return u.fileErr(hdr, u.create(tr, hdr, rel, target))
}

// fileErr names the entry in err, unless err is an ErrUnsafeEntry, which already does.
func (u *unpacker) fileErr(hdr *tar.Header, err error) error {
	if err == nil || errors.Is(err, ErrUnsafeEntry) {
		return err
	}
	return fmt.Errorf("entry %q: %w", hdr.Name, err)
}

// drain waits until the workers have written every file handed to them.
func (u *unpacker) drain() error {
	u.inflight.Wait()
	return u.workerErr()
}

// workerErr returns the first error of a worker, if any.
func (u *unpacker) workerErr() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.werr
}

// parallel tells whether the entry is a plain regular file that can be written while the
// workers write others: its parent is a directory already verified (so no path check is
// pending) and nothing of its name exists yet (so nothing needs replacing).
func (u *unpacker) parallel(hdr *tar.Header, rel, dir, base string) bool {
	return (hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeRegA) && !isSparse(hdr) &&
		!strings.HasPrefix(base, whiteoutPrefix) && u.dirs[dir] && !u.dirs[rel] && !u.seen[rel]
}

// worker writes the files handed to it until the jobs channel closes; after the first error
// it only drains the channel.
func (u *unpacker) worker() {
	defer u.workers.Done()
	for j := range u.jobs {
		if u.workerErr() != nil {
			u.inflight.Done()
			continue
		}
		if err := u.fileErr(j.hdr, u.file(nil, j.hdr, j.target, j.data)); err != nil {
			u.mu.Lock()
			if u.werr == nil {
				u.werr = err
			}
			u.mu.Unlock()
		}
		u.inflight.Done()
	}
}

// create makes one entry; when something already exists at target (an earlier entry of the
// same name), it is replaced, except that a directory entry over a directory only updates
// its metadata.
func (u *unpacker) create(tr *tar.Reader, hdr *tar.Header, rel, target string) error {
	for attempt := 0; ; attempt++ {
		err := u.make(tr, hdr, rel, target)
		if !errors.Is(err, unix.EEXIST) || attempt > 0 {
			return err
		}
		fi, lerr := os.Lstat(target)
		if lerr != nil {
			return lerr
		}
		if hdr.Typeflag == tar.TypeDir && fi.IsDir() {
			u.dirs[rel] = true
			u.dirMeta = append(u.dirMeta, hdr)
			return u.owner(target, hdr)
		}
		if err := u.removeExisting(target); err != nil {
			return err
		}
	}
}

// removeExisting removes whatever is at target. Removing a directory forgets every verified
// directory, since any of them may have been inside it.
func (u *unpacker) removeExisting(target string) error {
	fi, err := os.Lstat(target)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		u.dirs = map[string]bool{".": true}
		return os.RemoveAll(target)
	}
	return os.Remove(target)
}

func (u *unpacker) make(tr *tar.Reader, hdr *tar.Header, rel, target string) error {
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := unix.Mkdir(target, 0o700); err != nil {
			return fmt.Errorf("mkdir %s: %w", target, err)
		}
		u.dirs[rel] = true
		u.dirMeta = append(u.dirMeta, hdr)
		return u.owner(target, hdr)
	case tar.TypeReg, tar.TypeRegA:
		if isSparse(hdr) {
			return fmt.Errorf("entry %q: sparse file not allowed in a layer: %w", hdr.Name, ErrUnsafeEntry)
		}
		if err := u.file(tr, hdr, target, nil); err != nil {
			return err
		}
		u.size += hdr.Size
		return nil
	case tar.TypeSymlink:
		if !path.IsAbs(hdr.Linkname) {
			to := path.Join(path.Dir(rel), hdr.Linkname)
			if to == ".." || strings.HasPrefix(to, "../") {
				return fmt.Errorf("entry %q: symlink to %q leads outside the layer: %w", hdr.Name, hdr.Linkname, ErrUnsafeEntry)
			}
		}
		if err := unix.Symlink(hdr.Linkname, target); err != nil {
			return fmt.Errorf("symlink %s -> %s: %w", target, hdr.Linkname, err)
		}
	case tar.TypeLink:
		return u.link(hdr, target)
	case tar.TypeFifo:
		if err := unix.Mkfifo(target, 0o600); err != nil {
			return fmt.Errorf("mkfifo %s: %w", target, err)
		}
	case tar.TypeChar, tar.TypeBlock:
		return fmt.Errorf("entry %q: device node %d:%d not allowed in a layer: %w", hdr.Name, hdr.Devmajor, hdr.Devminor, ErrUnsafeEntry)
	case tar.TypeXGlobalHeader:
		return nil
	default:
		return fmt.Errorf("entry %q: unsupported tar entry type %q: %w", hdr.Name, hdr.Typeflag, ErrUnsafeEntry)
	}
	return u.meta(target, hdr)
}

// file writes a regular file, its content data or else read from r (only the reading
// goroutine passes r), and sets its owner and mode through its descriptor: the fewest system
// calls per file (open, write, fchown, fchmod, close, utimensat), since layers are mostly
// small files. A raw descriptor, not an *os.File, which would first try to register a
// regular file with the network poller.
func (u *unpacker) file(r io.Reader, hdr *tar.Header, target string, data []byte) error {
	fd, err := unix.Open(target, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return &os.PathError{Op: "open", Path: target, Err: err}
	}
	if r != nil {
		err = u.copy(fd, r)
	} else {
		err = writeAll(fd, data)
	}
	if err == nil {
		err = u.setOwnerMode(fd, hdr)
	}
	if cerr := unix.Close(fd); err == nil && cerr != nil {
		err = &os.PathError{Op: "close", Path: target, Err: cerr}
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", target, err)
	}
	if err := u.xattrs(target, hdr); err != nil {
		return err
	}
	return setTimes(target, hdr)
}

// copy copies the entry's content from r into fd through the reading goroutine's buffer.
func (u *unpacker) copy(fd int, r io.Reader) error {
	if u.buf == nil {
		u.buf = make([]byte, 1<<20)
	}
	for {
		n, err := r.Read(u.buf)
		if werr := writeAll(fd, u.buf[:n]); werr != nil {
			return werr
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// writeAll writes all of b to fd.
func writeAll(fd int, b []byte) error {
	for off := 0; off < len(b); {
		w, err := unix.Write(fd, b[off:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		off += w
	}
	return nil
}

// setOwnerMode sets owner (chown clears setuid and setgid, so it goes first) and mode.
func (u *unpacker) setOwnerMode(fd int, hdr *tar.Header) error {
	if u.chown {
		if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
			return fmt.Errorf("fchown %d:%d: %w", hdr.Uid, hdr.Gid, err)
		}
	}
	if err := unix.Fchmod(fd, unixMode(tarMode(hdr))); err != nil {
		return fmt.Errorf("fchmod %o: %w", tarMode(hdr), err)
	}
	return nil
}

// unixMode converts permission, setuid, setgid and sticky bits to their chmod(2) values.
func unixMode(m os.FileMode) uint32 {
	mode := uint32(m.Perm())
	if m&os.ModeSetuid != 0 {
		mode |= unix.S_ISUID
	}
	if m&os.ModeSetgid != 0 {
		mode |= unix.S_ISGID
	}
	if m&os.ModeSticky != 0 {
		mode |= unix.S_ISVTX
	}
	return mode
}

// isSparse tells a GNU sparse file in PAX form (type 'S', the old form, is refused as an
// unsupported type). Image tools never write sparse entries, and a few hundred bytes of
// sparse map can declare a file of petabytes of zeros: a bomb, so it is refused.
func isSparse(hdr *tar.Header) bool {
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// link makes a hard link to an earlier entry of this layer. The link target must be a
// non-directory inside the layer, reached without crossing a symlink.
func (u *unpacker) link(hdr *tar.Header, target string) error {
	rel, err := cleanEntryName(hdr.Linkname)
	if err != nil || rel == "." {
		return fmt.Errorf("entry %q: hard link to %q leads outside the layer: %w", hdr.Name, hdr.Linkname, ErrUnsafeEntry)
	}
	if err := u.ensureDir(path.Dir(rel), hdr.Name, false); err != nil {
		return err
	}
	from := filepath.Join(u.root, rel)
	fi, err := os.Lstat(from)
	if err != nil {
		return fmt.Errorf("entry %q: hard link target %q: %w", hdr.Name, hdr.Linkname, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("entry %q: hard link to directory %q: %w", hdr.Name, hdr.Linkname, ErrUnsafeEntry)
	}
	// linkat without AT_SYMLINK_FOLLOW links a symlink itself, never what it points to.
	if err := unix.Linkat(unix.AT_FDCWD, from, unix.AT_FDCWD, target, 0); err != nil {
		return fmt.Errorf("link %s %s: %w", from, target, err)
	}
	return nil
}

// ensureDir checks that every component of dir (relative to the root) is a real directory,
// creating missing ones when create is set. A symlink on the way means an earlier entry tries
// to redirect this one: refused.
func (u *unpacker) ensureDir(dir, entry string, create bool) error {
	if u.dirs[dir] {
		return nil
	}
	p := ""
	for _, comp := range strings.Split(dir, "/") {
		p = path.Join(p, comp)
		if u.dirs[p] {
			continue
		}
		full := filepath.Join(u.root, p)
		fi, err := os.Lstat(full)
		switch {
		case errors.Is(err, os.ErrNotExist) && create:
			if err := unix.Mkdir(full, 0o755); err != nil {
				return fmt.Errorf("entry %q: mkdir %s: %w", entry, full, err)
			}
		case err != nil:
			return fmt.Errorf("entry %q: %w", entry, err)
		case fi.Mode()&os.ModeSymlink != 0:
			return fmt.Errorf("entry %q: path goes through symlink %q: %w", entry, p, ErrUnsafeEntry)
		case !fi.IsDir():
			return fmt.Errorf("entry %q: parent %q is not a directory: %w", entry, p, ErrUnsafeEntry)
		}
		u.dirs[p] = true
	}
	return nil
}

// meta applies owner, mode, xattrs and times to a non-directory entry (directories get
// their owner now and their mode and times at the end). Owner goes first: chown clears the
// setuid and setgid bits.
func (u *unpacker) meta(target string, hdr *tar.Header) error {
	if target == u.root {
		u.dirMeta = append(u.dirMeta, hdr)
		return u.owner(target, hdr)
	}
	if err := u.owner(target, hdr); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeSymlink {
		if err := os.Chmod(target, tarMode(hdr)); err != nil {
			return err
		}
	}
	return setTimes(target, hdr)
}

// owner sets the owner (as root) and the xattrs of target.
func (u *unpacker) owner(target string, hdr *tar.Header) error {
	if u.chown {
		if err := unix.Lchown(target, hdr.Uid, hdr.Gid); err != nil {
			return fmt.Errorf("lchown %s %d:%d: %w", target, hdr.Uid, hdr.Gid, err)
		}
	}
	return u.xattrs(target, hdr)
}

// xattrs sets the extended attributes the entry carries (PAX SCHILY.xattr.* records).
func (u *unpacker) xattrs(target string, hdr *tar.Header) error {
	for k, v := range hdr.PAXRecords {
		if !strings.HasPrefix(k, paxXattrPrefix) {
			continue
		}
		attr := k[len(paxXattrPrefix):]
		if err := unix.Lsetxattr(target, attr, []byte(v), 0); err != nil {
			return fmt.Errorf("setxattr %s %s: %w", target, attr, err)
		}
	}
	return nil
}

// tarMode is the entry's permission bits with setuid, setgid and sticky.
func tarMode(hdr *tar.Header) os.FileMode {
	return hdr.FileInfo().Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)
}

// setTimes sets access and modification times without following a symlink.
func setTimes(target string, hdr *tar.Header) error {
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = hdr.ModTime
	}
	ts := []unix.Timespec{timespec(atime), timespec(hdr.ModTime)}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, target, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times of %s: %w", target, err)
	}
	return nil
}

func timespec(t time.Time) unix.Timespec {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	return unix.NsecToTimespec(t.UnixNano())
}
