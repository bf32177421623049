package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// WriteDiff writes the overlayfs upper directory upperDir as a Docker-format layer tar:
// whiteout devices (char 0:0) become ".wh.<name>" entries and directories marked opaque
// (xattr trusted.overlay.opaque=y) get a ".wh..wh..opq" entry, the reverse of Unpack. Entries
// are in lexical order, so the same tree gives the same tar; owners, modes, times, xattrs
// (other than overlayfs' own trusted.overlay.*) and hard links are kept.
func WriteDiff(w io.Writer, upperDir string) error {
	tw := tar.NewWriter(w)
	links := map[uint64]string{} // inode → first path written, for hard links
	buf := make([]byte, 1<<20)
	err := filepath.WalkDir(upperDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == upperDir {
			return nil
		}
		rel, err := filepath.Rel(upperDir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st, _ := fi.Sys().(*syscall.Stat_t)
		if fi.Mode()&fs.ModeCharDevice != 0 && st != nil && st.Rdev == 0 {
			dir, base := filepath.Split(rel)
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: dir + whiteoutPrefix + base, Mode: 0o600, ModTime: fi.ModTime(), Format: tar.FormatPAX})
		}
		link := ""
		if fi.Mode()&os.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return fmt.Errorf("diff %s: %w", p, err)
		}
		hdr.Name = rel
		hdr.Format = tar.FormatPAX
		// Access and change times vary with every read; only the mtime belongs to the content.
		hdr.Uname, hdr.Gname = "", ""
		hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
		if fi.IsDir() {
			hdr.Name += "/"
		}
		xattrs, opaque, err := readXattrs(p)
		if err != nil {
			return err
		}
		for k, v := range xattrs {
			if hdr.PAXRecords == nil {
				hdr.PAXRecords = map[string]string{}
			}
			hdr.PAXRecords[paxXattrPrefix+k] = v
		}
		if fi.Mode().IsRegular() && st != nil && st.Nlink > 1 {
			if first, ok := links[st.Ino]; ok {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			} else {
				links[st.Ino] = rel
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("diff %s: %w", p, err)
		}
		if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.CopyBuffer(tw, struct{ io.Reader }{f}, buf)
			f.Close()
			if err != nil {
				return fmt.Errorf("diff %s: %w", p, err)
			}
		}
		if opaque {
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel + "/" + whiteoutOpaque, Mode: 0o600, ModTime: fi.ModTime(), Format: tar.FormatPAX})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write diff of %s: %w", upperDir, err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write diff of %s: %w", upperDir, err)
	}
	return nil
}

// readXattrs returns the extended attributes of p, without overlayfs' own, and whether p is
// an opaque directory.
func readXattrs(p string) (map[string]string, bool, error) {
	size, err := unix.Llistxattr(p, nil)
	if errors.Is(err, unix.ENOTSUP) || size == 0 {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("listxattr %s: %w", p, err)
	}
	names := make([]byte, size)
	if size, err = unix.Llistxattr(p, names); err != nil {
		return nil, false, fmt.Errorf("listxattr %s: %w", p, err)
	}
	out := map[string]string{}
	opaque := false
	for _, name := range strings.Split(strings.TrimRight(string(names[:size]), "\x00"), "\x00") {
		if name == "" {
			continue
		}
		val, err := getXattr(p, name)
		if err != nil {
			return nil, false, err
		}
		if strings.HasPrefix(name, "trusted.overlay.") {
			if name == opaqueXattr && val == "y" {
				opaque = true
			}
			continue
		}
		out[name] = val
	}
	return out, opaque, nil
}

func getXattr(p, name string) (string, error) {
	size, err := unix.Lgetxattr(p, name, nil)
	if err != nil {
		return "", fmt.Errorf("getxattr %s %s: %w", p, name, err)
	}
	val := make([]byte, size)
	if size, err = unix.Lgetxattr(p, name, val); err != nil {
		return "", fmt.Errorf("getxattr %s %s: %w", p, name, err)
	}
	return string(val[:size]), nil
}
