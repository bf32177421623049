//go:build integration

package image

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sys/unix"

	"github.com/stackhq/stack/internal/testutil"
)

func pushTo(t *testing.T, ref string, img v1.Image) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
}

func integrationStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(testutil.TempRoot(t), "images"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRegistryPullMountOverlay pulls a busybox image and a three-layer image with whiteouts
// from Debian's docker-registry, then mounts the layers with overlayfs to check that
// whiteouts and opaque directories hide what they should and that busybox runs from it.
func TestRegistryPullMountOverlay(t *testing.T) {
	testutil.RequireRoot(t)
	host := testutil.Registry(t)
	bb := testutil.BusyboxImage(t)
	layered := testutil.BuildImage(t, v1.Config{Cmd: []string{"/bin/sh"}},
		testutil.BusyboxTar(t),
		testutil.Tar(t, "etc/", "", "etc/hidden", "lower", "etc/kept", "lower", "opq/", "", "opq/old", "lower"),
		testutil.Tar(t, "etc/", "", "etc/.wh.hidden", "", "opq/", "", "opq/.wh..wh..opq", "", "opq/new", "upper"))
	pushTo(t, host+"/test/busybox:latest", bb)
	pushTo(t, host+"/test/layered:1", layered)

	s := integrationStore(t)
	ctx := context.Background()
	img, err := s.Pull(ctx, host+"/test/busybox", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := bb.ConfigName(); img.ID != id.String() {
		t.Errorf("busybox ID %s, want %s", img.ID, id)
	}
	li, err := s.Pull(ctx, host+"/test/layered:1", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if li.Layers[0].Dir != img.Layers[0].Dir {
		t.Errorf("the shared busybox layer was unpacked twice")
	}

	mnt := filepath.Join(t.TempDir(), "merged")
	upper, work := filepath.Join(filepath.Dir(mnt), "upper"), filepath.Join(filepath.Dir(mnt), "work")
	for _, d := range []string{mnt, upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := "lowerdir=" + strings.Join(li.LowerDirs(), ":") + ",upperdir=" + upper + ",workdir=" + work
	if err := unix.Mount("overlay", mnt, "overlay", 0, opts); err != nil {
		t.Fatalf("mount overlay %s: %v", opts, err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })

	if _, err := os.Lstat(filepath.Join(mnt, "etc/hidden")); !os.IsNotExist(err) {
		t.Errorf("etc/hidden visible through its whiteout: %v", err)
	}
	if data, _ := os.ReadFile(filepath.Join(mnt, "etc/kept")); string(data) != "lower" {
		t.Errorf("etc/kept = %q", data)
	}
	if _, err := os.Lstat(filepath.Join(mnt, "opq/old")); !os.IsNotExist(err) {
		t.Errorf("opq/old visible under an opaque dir: %v", err)
	}
	if data, _ := os.ReadFile(filepath.Join(mnt, "opq/new")); string(data) != "upper" {
		t.Errorf("opq/new = %q", data)
	}
	out, err := exec.Command("chroot", mnt, "/bin/sh", "-c", "echo hello from $(basename $0)").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "hello from sh" {
		t.Errorf("busybox in the merged tree: %q %v", out, err)
	}

	// The store's sizes are real: busybox's layer is counted once in the total.
	total := TotalSize([]*Image{img, li})
	if want := li.Size; total != want {
		t.Errorf("TotalSize = %d, want %d (the layered image contains busybox's layer)", total, want)
	}
}

// TestSkopeoArchives: an archive skopeo makes from the registry (docker-archive and
// oci-archive) loads with the ID the registry has; an archive Save writes is accepted by
// skopeo in both of its readings and comes back with the same ID.
func TestSkopeoArchives(t *testing.T) {
	testutil.RequireRoot(t)
	if _, err := exec.LookPath("skopeo"); err != nil {
		t.Skip("SKIP: skopeo is not installed (make deps)")
	}
	host := testutil.Registry(t)
	src := testutil.BuildImage(t, v1.Config{Cmd: []string{"/bin/sh"}}, testutil.BusyboxTar(t), testutil.Tar(t, "etc/", "", "etc/motd", "hi"))
	pushTo(t, host+"/test/sk:1", src)
	wantID, _ := src.ConfigName()
	dir := t.TempDir()
	skopeo := func(args ...string) {
		t.Helper()
		cmd := exec.Command("skopeo", append([]string{"--insecure-policy"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ctx := context.Background()
	for _, c := range []struct{ transport, file, ref string }{
		{"docker-archive", "sk-docker.tar", "example.com/sk:docker"},
		{"oci-archive", "sk-oci.tar", "example.com/sk:oci"},
	} {
		archive := filepath.Join(dir, c.file)
		skopeo("copy", "--src-tls-verify=false", "docker://"+host+"/test/sk:1", c.transport+":"+archive+":"+c.ref)
		// Converting to OCI, skopeo rewrites the config (key order), so the archive's own
		// config digest is the ID to expect.
		rawConfig, err := exec.Command("skopeo", "inspect", "--config", "--raw", c.transport+":"+archive).Output()
		if err != nil {
			t.Fatalf("skopeo inspect: %v", err)
		}
		want, _, _ := v1.SHA256(bytes.NewReader(rawConfig))
		if c.transport == "docker-archive" && want != wantID {
			t.Fatalf("skopeo changed the config of a docker-archive: %s", rawConfig)
		}
		s := integrationStore(t)
		f, err := os.Open(archive)
		if err != nil {
			t.Fatal(err)
		}
		imgs, err := s.Load(ctx, f)
		f.Close()
		if err != nil {
			t.Fatalf("load %s: %v", c.transport, err)
		}
		if len(imgs) != 1 || imgs[0].ID != want.String() {
			t.Fatalf("load %s: %d images, ID %s, want %s", c.transport, len(imgs), imgs[0].ID, want)
		}
		if want := []string{c.ref}; !equalStrings(imgs[0].RepoTags, want) {
			t.Errorf("load %s: tags %v, want %v", c.transport, imgs[0].RepoTags, want)
		}

		// Save it again; skopeo reads our archive as docker-archive and as oci-archive.
		saved := filepath.Join(dir, "saved-"+c.file)
		var buf bytes.Buffer
		if err := s.Save(ctx, &buf, []string{c.ref}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(saved, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, tr := range []string{"docker-archive:" + saved, "oci-archive:" + saved} {
			skopeo("copy", "--dest-tls-verify=false", tr, "docker://"+host+"/roundtrip/"+c.transport+":1")
			back, err := integrationStore(t).Pull(ctx, host+"/roundtrip/"+c.transport+":1", PullOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if back.ID != want.String() {
				t.Errorf("%s through skopeo: ID %s, want %s", tr, back.ID, want)
			}
		}
	}
}

// TestImportBusyboxRoundTrip: the busybox rootfs imported, saved and loaded into another
// store keeps its ID, and busybox keeps its mode and owner.
func TestImportBusyboxRoundTrip(t *testing.T) {
	testutil.RequireRoot(t)
	s := integrationStore(t)
	ctx := context.Background()
	img, err := s.Import(ctx, bytes.NewReader(testutil.BusyboxTar(t)), "localhost/busybox:test", []string{`CMD ["/bin/sh"]`})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(img.Layers[0].Dir, "bin/busybox"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("bin/busybox: %v %v", fi, err)
	}
	var buf bytes.Buffer
	if err := s.Save(ctx, &buf, []string{"localhost/busybox:test"}); err != nil {
		t.Fatal(err)
	}
	other := integrationStore(t)
	imgs, err := other.Load(ctx, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || imgs[0].ID != img.ID || !equalStrings(imgs[0].RepoTags, img.RepoTags) {
		t.Errorf("round trip: %+v, want %s %v", imgs, img.ID, img.RepoTags)
	}
}
