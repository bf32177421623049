package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stackhq/stack/internal/testutil"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	src := openStore(t)
	ctx := context.Background()
	base, err := src.Import(ctx, bytes.NewReader(makeTar(t, dir("etc/"), file("etc/a", "a"))), "rt:base", []string{"CMD sh"})
	if err != nil {
		t.Fatal(err)
	}
	child, err := src.Create(ctx, CreateOptions{Parent: base, Layers: []string{writeTemp(t, makeTar(t, file("b", "b")))}, Tags: []string{"localhost/rt:child"}})
	if err != nil {
		t.Fatal(err)
	}
	var archive bytes.Buffer
	if err := src.Save(ctx, &archive, []string{"rt:base", "localhost/rt:child", child.ID}); err != nil {
		t.Fatal(err)
	}
	dst := openStore(t)
	imgs, err := dst.Load(ctx, bytes.NewReader(archive.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 2 {
		t.Fatalf("loaded %d images, want 2", len(imgs))
	}
	for _, want := range []*Image{base, child} {
		got, err := dst.Get(want.ID)
		if err != nil {
			t.Fatalf("Get %s after load: %v", want.ID, err)
		}
		if !equalStrings(got.RepoTags, want.RepoTags) || got.Manifest != want.Manifest || got.Size != want.Size {
			t.Errorf("loaded %s: tags %v manifest %s size %d; want %v %s %d", got.ID, got.RepoTags, got.Manifest, got.Size, want.RepoTags, want.Manifest, want.Size)
		}
	}

	// The same archive read as an OCI layout (by go-containerregistry) has the same images.
	dir := t.TempDir()
	if _, err := Unpack(bytes.NewReader(archive.Bytes()), dir); err != nil {
		t.Fatal(err)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	if len(im.Manifests) != 2 {
		t.Errorf("index.json has %d manifests, want 2 (one per tag)", len(im.Manifests))
	}
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := img.Layers(); err != nil {
			t.Fatal(err)
		}
		if d.Annotations[annotationImageName] == "" {
			t.Errorf("manifest %s has no name annotation", d.Digest)
		}
	}
	// …and as a docker-save archive by go-containerregistry's tarball reader.
	tag, _ := name.NewTag("localhost/rt:child")
	img, err := tarball.Image(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(archive.Bytes())), nil }, &tag)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := img.ConfigName(); id.String() != child.ID {
		t.Errorf("tarball reader sees %s, want %s", id, child.ID)
	}
}

func TestLoadDockerSaveUncompressedLayers(t *testing.T) {
	// A classic `docker save` archive: plain layer tars in <id>/layer.tar, written by
	// go-containerregistry's tarball writer with a plain-tar layer.
	img := testutil.BuildImage(t, v1.Config{Cmd: []string{"/x"}}, testutil.Tar(t, "x", "1"), testutil.Tar(t, "y", "2"))
	tag, _ := name.NewTag("example.com/app:v1")
	var gzArchive bytes.Buffer
	zw := gzip.NewWriter(&gzArchive)
	if err := tarball.Write(tag, img, zw); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	s := openStore(t)
	imgs, err := s.Load(context.Background(), &gzArchive)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.ConfigName()
	if len(imgs) != 1 || imgs[0].ID != want.String() || !equalStrings(imgs[0].RepoTags, []string{"example.com/app:v1"}) {
		t.Fatalf("loaded %+v", imgs)
	}
	// Loading again reuses the stored layers and blobs.
	var again bytes.Buffer
	if err := tarball.Write(tag, img, &again); err != nil {
		t.Fatal(err)
	}
	imgs2, err := s.Load(context.Background(), &again)
	if err != nil || imgs2[0].Manifest != imgs[0].Manifest {
		t.Errorf("second load: %v, manifest %s vs %s", err, imgs2[0].Manifest, imgs[0].Manifest)
	}
}

func TestLoadRejectsHostileArchives(t *testing.T) {
	s := openStore(t)
	manifest, _ := json.Marshal([]dockerArchiveEntry{{Config: "/etc/passwd", Layers: nil}})
	for name, archive := range map[string][]byte{
		"config outside": archiveOf(t, map[string]string{"manifest.json": string(manifest)}, nil),
		"config via symlink": archiveOf(t, map[string]string{"manifest.json": string(mustJSON(t, []dockerArchiveEntry{{Config: "cfg"}}))},
			map[string]string{"cfg": "/etc/passwd"}),
		"neither format": archiveOf(t, map[string]string{"hello": "x"}, nil),
	} {
		if _, err := s.Load(context.Background(), bytes.NewReader(archive)); err == nil {
			t.Errorf("%s: loaded", name)
		} else if name == "neither format" && !errors.Is(err, ErrUnsupportedArchive) {
			t.Errorf("%s: %v, want ErrUnsupportedArchive", name, err)
		}
	}
	if list, _ := s.List(); len(list) != 0 {
		t.Errorf("images stored from hostile archives: %v", list)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func archiveOf(t *testing.T, files, symlinks map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for n, body := range files {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: n, Mode: 0o644, Size: int64(len(body))})
		tw.Write([]byte(body))
	}
	for n, to := range symlinks {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: n, Linkname: to})
	}
	tw.Close()
	return buf.Bytes()
}

func TestLoadDiffIDMismatch(t *testing.T) {
	layer := makeTar(t, file("a", "a"))
	cfg := mustJSON(t, v1.ConfigFile{OS: "linux", Architecture: "amd64", RootFS: v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{{Algorithm: "sha256", Hex: sixtyFourA()}}}})
	manifest := mustJSON(t, []dockerArchiveEntry{{Config: "config.json", RepoTags: []string{"bad:1"}, Layers: []string{"layer.tar"}}})
	archive := archiveOf(t, map[string]string{"manifest.json": string(manifest), "config.json": string(cfg), "layer.tar": string(layer)}, nil)
	s := openStore(t)
	if _, err := s.Load(context.Background(), bytes.NewReader(archive)); !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("Load = %v, want ErrDigestMismatch", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(s.Root(), "layers")); len(entries) != 0 {
		t.Errorf("a layer with the wrong DiffID was stored: %v", entries)
	}
	assertNoTemp(t, s)
}
