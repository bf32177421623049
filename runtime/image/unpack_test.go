package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestUnpackHostile(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []tarEntry
		entry   string // the entry the error must name
	}{
		{"dotdot", []tarEntry{file("../escape", "x")}, "../escape"},
		{"dotdot nested", []tarEntry{dir("a/"), file("a/../../escape", "x")}, "a/../../escape"},
		{"absolute", []tarEntry{file("/etc/escape", "x")}, "/etc/escape"},
		{"symlink escape relative", []tarEntry{symlink("evil", "../../../../etc")}, "evil"},
		{"write through symlink", []tarEntry{symlink("link", "/tmp"), file("link/escape", "x")}, "link/escape"},
		{"write through nested symlink", []tarEntry{dir("a/"), symlink("a/b", "/"), file("a/b/c/escape", "x")}, "a/b/c/escape"},
		{"hardlink escape", []tarEntry{hardlink("h", "../../etc/passwd")}, "h"},
		{"hardlink absolute", []tarEntry{hardlink("h", "/etc/passwd")}, "h"},
		{"hardlink through symlink", []tarEntry{symlink("s", "/etc"), hardlink("h", "s/passwd")}, "h"},
		{"char device", []tarEntry{{hdr: tar.Header{Typeflag: tar.TypeChar, Name: "dev/mem", Devmajor: 1, Devminor: 1, Mode: 0o600}}}, "dev/mem"},
		{"block device", []tarEntry{{hdr: tar.Header{Typeflag: tar.TypeBlock, Name: "sda", Devmajor: 8, Mode: 0o600}}}, "sda"},
		{"whiteout dotdot", []tarEntry{file(".wh...", "")}, ".wh..."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outer := t.TempDir()
			root := filepath.Join(outer, "layer")
			if err := os.Mkdir(root, 0o755); err != nil {
				t.Fatal(err)
			}
			_, err := Unpack(bytes.NewReader(makeTar(t, tc.entries...)), root)
			if !errors.Is(err, ErrUnsafeEntry) {
				t.Fatalf("Unpack = %v, want ErrUnsafeEntry", err)
			}
			if !strings.Contains(err.Error(), "entry \""+tc.entry+"\"") {
				t.Errorf("error %q does not name entry %q", err, tc.entry)
			}
			// Nothing outside the layer directory.
			entries, _ := os.ReadDir(outer)
			if len(entries) != 1 {
				t.Errorf("written outside the layer: %v", entries)
			}
		})
	}
}

// TestUnpackRefusesSparseFiles: GNU tar's sparse entries, in PAX and old GNU form, are
// refused — a few bytes of map can declare petabytes of zeros.
func TestUnpackRefusesSparseFiles(t *testing.T) {
	gnuTar, err := exec.LookPath("tar")
	if err != nil {
		t.Skip("SKIP: no tar to make sparse archives with")
	}
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, 1<<30); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"pax", "gnu"} {
		archive := filepath.Join(dir, format+".tar")
		if out, err := exec.Command(gnuTar, "--sparse", "--format="+format, "-cf", archive, "-C", dir, "big").CombinedOutput(); err != nil {
			t.Fatalf("tar: %v %s", err, out)
		}
		f, err := os.Open(archive)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Unpack(f, t.TempDir())
		f.Close()
		if !errors.Is(err, ErrUnsafeEntry) || !strings.Contains(err.Error(), `entry "big"`) {
			t.Errorf("%s sparse: %v, want ErrUnsafeEntry naming big", format, err)
		}
	}
}

func TestUnpackKeepsMetadata(t *testing.T) {
	root := t.TempDir()
	mtime := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	suid := file("bin/su", "su")
	suid.hdr.Mode = 0o4755
	suid.hdr.Uid, suid.hdr.Gid = 1000, 50
	suid.hdr.ModTime = mtime
	x := file("x", "data")
	x.hdr.PAXRecords = map[string]string{paxXattrPrefix + "user.test": "v"}
	x.hdr.Format = tar.FormatPAX
	d := dir("ro/")
	d.hdr.Mode = 0o555
	d.hdr.ModTime = mtime
	tmp := dir("tmp/")
	tmp.hdr.Mode = 0o1777
	entries := []tarEntry{dir("bin/"), suid, hardlink("bin/su2", "bin/su"), x, d, file("ro/f", "f"), tmp,
		symlink("bin/sh", "busybox"), {hdr: tar.Header{Typeflag: tar.TypeFifo, Name: "fifo", Mode: 0o600}},
		file("dup", "one"), file("dup", "two")}
	size, err := Unpack(bytes.NewReader(makeTar(t, entries...)), root)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(len("su") + len("data") + len("f") + len("one") + len("two")); size != want {
		t.Errorf("size = %d, want %d", size, want)
	}
	fi, err := os.Lstat(filepath.Join(root, "bin/su"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSetuid == 0 || fi.Mode().Perm() != 0o755 {
		t.Errorf("bin/su mode = %v", fi.Mode())
	}
	if !fi.ModTime().Equal(mtime) {
		t.Errorf("bin/su mtime = %v", fi.ModTime())
	}
	st := fi.Sys().(*syscall.Stat_t)
	if os.Geteuid() == 0 && (st.Uid != 1000 || st.Gid != 50) {
		t.Errorf("bin/su owner = %d:%d", st.Uid, st.Gid)
	}
	if st.Nlink != 2 {
		t.Errorf("bin/su nlink = %d, want 2 (hard link kept)", st.Nlink)
	}
	if v, err := getXattr(filepath.Join(root, "x"), "user.test"); err != nil || v != "v" {
		if !errors.Is(err, unix.ENOTSUP) {
			t.Errorf("xattr = %q, %v", v, err)
		}
	}
	if fi, _ := os.Stat(filepath.Join(root, "ro")); fi.Mode().Perm() != 0o555 || !fi.ModTime().Equal(mtime) {
		t.Errorf("ro = %v %v", fi.Mode(), fi.ModTime())
	}
	if fi, _ := os.Stat(filepath.Join(root, "tmp")); fi.Mode()&os.ModeSticky == 0 {
		t.Errorf("tmp mode = %v", fi.Mode())
	}
	if to, _ := os.Readlink(filepath.Join(root, "bin/sh")); to != "busybox" {
		t.Errorf("bin/sh -> %q", to)
	}
	if fi, _ := os.Lstat(filepath.Join(root, "fifo")); fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("fifo mode = %v", fi.Mode())
	}
	if data, _ := os.ReadFile(filepath.Join(root, "dup")); string(data) != "two" {
		t.Errorf("dup = %q, want the later entry", data)
	}
}

func TestUnpackReplacesDirWithSymlinkSafely(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	// A directory, replaced by a symlink pointing outside, then written through: refused.
	_, err := Unpack(bytes.NewReader(makeTar(t, dir("a/"), dir("a/b/"), symlink("a", outside), file("a/b/x", "x"))), root)
	if !errors.Is(err, ErrUnsafeEntry) {
		t.Fatalf("Unpack = %v, want ErrUnsafeEntry", err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("wrote outside: %v", entries)
	}
}

func TestWriteDiffRoundTrip(t *testing.T) {
	src := t.TempDir()
	entries := []tarEntry{dir("d/"), file("d/f", "content"), hardlink("d/g", "d/f"), symlink("l", "d/f"), file("e", "")}
	if _, err := Unpack(bytes.NewReader(makeTar(t, entries...)), src); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteDiff(&buf, src); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := WriteDiff(&again, src); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("WriteDiff of the same tree differs between runs")
	}
	dst := t.TempDir()
	if _, err := Unpack(bytes.NewReader(buf.Bytes()), dst); err != nil {
		t.Fatal(err)
	}
	a, _ := os.Stat(filepath.Join(dst, "d/f"))
	b, _ := os.Stat(filepath.Join(dst, "d/g"))
	if !os.SameFile(a, b) {
		t.Error("hard link lost in the round trip")
	}
	if data, _ := os.ReadFile(filepath.Join(dst, "l")); string(data) != "content" {
		t.Errorf("l reads %q", data)
	}
}

// FuzzUnpack feeds arbitrary archives to the unpacker: it may fail, but must not panic nor
// write outside its directory.
func FuzzUnpack(f *testing.F) {
	f.Add(makeTar(f, dir("a/"), file("a/b", "x"), symlink("c", "a"), hardlink("d", "a/b"), file(".wh.e", "")))
	f.Add(makeTar(f, symlink("s", "/"), file("s/x", "x")))
	f.Add(makeTar(f, file("../x", "x")))
	base := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		outer, err := os.MkdirTemp(base, "fuzz-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(outer)
		root := filepath.Join(outer, "layer")
		if err := os.Mkdir(root, 0o755); err != nil {
			t.Fatal(err)
		}
		_, _ = Unpack(bytes.NewReader(data), root)
		if entries, _ := os.ReadDir(outer); len(entries) != 1 {
			t.Fatalf("written outside the layer: %v", entries)
		}
	})
}

// TestUnpackKeepsArchiveOrderAcrossWorkers checks that small files written by the workers
// are in place before later entries that depend on them: a hard link to a file just handed
// over, a repeated name (the later entry wins), and a file whose name a directory reused.
func TestUnpackKeepsArchiveOrderAcrossWorkers(t *testing.T) {
	entries := []tarEntry{dir("d/")}
	for i := range 50 {
		entries = append(entries, file(fmt.Sprintf("d/f%02d", i), "first"))
	}
	entries = append(entries, hardlink("d/link", "d/f49"), file("d/f10", "second"), file("d/x", "x"), dir("d/x/"), file("d/x/y", "y"))
	root := t.TempDir()
	size, err := Unpack(bytes.NewReader(makeTar(t, entries...)), root)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(50*len("first") + len("second") + 2); size != want {
		t.Errorf("size = %d, want %d", size, want)
	}
	for name, want := range map[string]string{"d/f00": "first", "d/f10": "second", "d/link": "first", "d/x/y": "y"} {
		if data, err := os.ReadFile(filepath.Join(root, name)); err != nil || string(data) != want {
			t.Errorf("%s = %q, %v; want %q", name, data, err, want)
		}
	}
}
