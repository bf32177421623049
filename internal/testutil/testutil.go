// Package testutil holds helpers shared by the integration and end-to-end tests: the root
// check, a busybox root filesystem built from Debian's busybox-static, and temp store roots.
package testutil

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// RequireRoot skips the test, visibly, when it does not run as root: integration and
// end-to-end tests need namespaces, mounts, cgroups and netlink.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIP: needs root (namespaces, mounts, cgroups); run `make integration` as root")
	}
}

// BusyboxPath returns the static busybox binary the test images are made of, skipping the
// test when Debian's busybox-static is not installed (make deps installs it).
func BusyboxPath(t testing.TB) string {
	t.Helper()
	const path = "/bin/busybox"
	f, err := elf.Open(path)
	if err != nil {
		t.Skip("SKIP: busybox-static is not installed (apt-get install busybox-static, or make deps)")
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Skip("SKIP: /bin/busybox is dynamically linked; install busybox-static (make deps)")
		}
	}
	return path
}

// BusyboxTar returns a root filesystem tarball: /bin/busybox with a symlink per applet, and
// a minimal /etc/passwd and /etc/group. `stack image import` turns it into an image.
func BusyboxTar(t testing.TB) []byte {
	t.Helper()
	bb := BusyboxPath(t)
	bin, err := os.ReadFile(bb)
	if err != nil {
		t.Fatalf("read busybox: %v", err)
	}
	out, err := exec.Command(bb, "--list").Output()
	if err != nil {
		t.Fatalf("busybox --list: %v", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64) {
		must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode}))
	}
	file := func(name string, mode int64, data []byte) {
		must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data))}))
		_, err := tw.Write(data)
		must(t, err)
	}
	for _, d := range []string{"bin", "etc", "dev", "proc", "sys", "root", "home", "var", "usr", "usr/bin"} {
		dir(d, 0o755)
	}
	dir("tmp", 0o1777)
	file("bin/busybox", 0o755, bin)
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" {
			continue
		}
		must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + applet, Linkname: "busybox", Mode: 0o777}))
	}
	file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\napp:x:1000:1000:app:/home/app:/bin/sh\n"))
	file("etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\napp:x:1000:\nstaff:x:50:app\n"))
	must(t, tw.Close())
	return buf.Bytes()
}

// TempRoot returns a fresh store root for one test, removed when the test ends.
func TempRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "stack-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Clean(dir)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
