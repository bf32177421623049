package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// tarEntry is one entry of a test tar.
type tarEntry struct {
	hdr  tar.Header
	body string
}

func file(name, body string) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body))}, body: body}
}

func dir(name string) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755}}
}

func symlink(name, to string) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: to, Mode: 0o777}}
}

func hardlink(name, to string) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: to}}
}

func makeTar(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "images"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "layer.tar")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestImportGetList(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	rootfs := makeTar(t, dir("bin/"), file("bin/hello", "hello world"), dir("etc/"), file("etc/passwd", "root:x:0:0::/root:/bin/sh\n"))
	img, err := s.Import(ctx, bytes.NewReader(rootfs), "busybox", []string{`CMD ["/bin/hello"]`, "ENV A=1 B=two", "WORKDIR /srv", "EXPOSE 80"})
	if err != nil {
		t.Fatal(err)
	}
	if got := img.RepoTags; !reflect.DeepEqual(got, []string{"docker.io/library/busybox:latest"}) {
		t.Errorf("RepoTags = %v", got)
	}
	if !reflect.DeepEqual(img.Config.Config.Cmd, []string{"/bin/hello"}) || img.Config.Config.WorkingDir != "/srv" {
		t.Errorf("config = %+v", img.Config.Config)
	}
	if !reflect.DeepEqual(img.Config.Config.Env, []string{"A=1", "B=two"}) {
		t.Errorf("Env = %v", img.Config.Config.Env)
	}
	if _, ok := img.Config.Config.ExposedPorts["80/tcp"]; !ok {
		t.Errorf("ExposedPorts = %v", img.Config.Config.ExposedPorts)
	}
	if len(img.Layers) != 1 || img.Size != int64(len("hello world")+len("root:x:0:0::/root:/bin/sh\n")) {
		t.Fatalf("layers %v size %d", img.Layers, img.Size)
	}
	data, err := os.ReadFile(filepath.Join(img.Layers[0].Dir, "bin/hello"))
	if err != nil || string(data) != "hello world" {
		t.Fatalf("unpacked file: %q %v", data, err)
	}
	wantDiff, _, _ := v1.SHA256(bytes.NewReader(rootfs))
	if img.Layers[0].DiffID != wantDiff || img.Layers[0].ChainID != wantDiff {
		t.Errorf("diffID %s chain %s, want %s", img.Layers[0].DiffID, img.Layers[0].ChainID, wantDiff)
	}
	cfgHash, _, _ := v1.SHA256(mustOpen(t, s.blobPath(v1.Hash{Algorithm: "sha256", Hex: strings.TrimPrefix(img.ID, "sha256:")})))
	if cfgHash.String() != img.ID {
		t.Errorf("ID %s is not the config digest %s", img.ID, cfgHash)
	}

	for _, ref := range []string{"busybox", "busybox:latest", "docker.io/library/busybox", "index.docker.io/library/busybox:latest", img.ID, strings.TrimPrefix(img.ID, "sha256:"), img.ShortID()} {
		got, err := s.Get(ref)
		if err != nil {
			t.Errorf("Get(%q): %v", ref, err)
			continue
		}
		if got.ID != img.ID {
			t.Errorf("Get(%q) = %s", ref, got.ID)
		}
	}
	for _, ref := range []string{"busybox:1", "other", "sha256:" + strings.Repeat("0", 64), "0123456789ab"} {
		if _, err := s.Get(ref); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", ref, err)
		}
	}
	list, err := s.List()
	if err != nil || len(list) != 1 || list[0].ID != img.ID {
		t.Fatalf("List = %v, %v", list, err)
	}
	if got := img.LowerDirs(); len(got) != 1 || got[0] != img.Layers[0].Dir {
		t.Errorf("LowerDirs = %v", got)
	}
}

func mustOpen(t *testing.T, p string) *os.File {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestImportSameContentStoredOnce(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	rootfs := makeTar(t, file("a", "1"))
	a, err := s.Import(ctx, bytes.NewReader(rootfs), "localhost/x:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Import(ctx, bytes.NewReader(rootfs), "localhost/x:2", nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Layers[0].Dir != b.Layers[0].Dir {
		t.Errorf("same layer unpacked twice: %s, %s", a.Layers[0].Dir, b.Layers[0].Dir)
	}
	entries, _ := os.ReadDir(filepath.Join(s.Root(), "layers"))
	if len(entries) != 1 {
		t.Errorf("%d layer dirs, want 1", len(entries))
	}
	got, err := s.Get("localhost/x:1")
	if err != nil || !reflect.DeepEqual(got.RepoTags, []string{"localhost/x:1"}) {
		t.Errorf("Get localhost/x:1 = %+v, %v", got, err)
	}
	tmp, _ := os.ReadDir(filepath.Join(s.Root(), "tmp"))
	if len(tmp) != 0 {
		t.Errorf("tmp/ not empty: %v", tmp)
	}
}

func TestCreateOnParentWithWhiteouts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIP: the opaque-directory xattr (trusted.overlay.opaque) needs root")
	}
	s := openStore(t)
	ctx := context.Background()
	base, err := s.Import(ctx, bytes.NewReader(makeTar(t, dir("etc/"), file("etc/a", "a"), file("etc/b", "b"), dir("var/"), file("var/x", "x"))), "base", []string{"CMD sh"})
	if err != nil {
		t.Fatal(err)
	}
	layer := writeTemp(t, makeTar(t, dir("etc/"), file("etc/.wh.a", ""), dir("var/"), file("var/.wh..wh..opq", ""), file("var/y", "y"), file("new", "n")))
	cfg := base.Config.Config
	cfg.Cmd = []string{"/new"}
	img, err := s.Create(ctx, CreateOptions{
		Parent: base,
		Layers: []string{layer},
		Config: cfg,
		History: []v1.History{
			{CreatedBy: "RUN change", Created: v1.Time{}},
			{CreatedBy: "CMD [\"/new\"]", EmptyLayer: true},
		},
		Tags: []string{"child:1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Layers) != 2 || img.Layers[0].ChainID != base.Layers[0].ChainID {
		t.Fatalf("layers = %+v", img.Layers)
	}
	if want := ChainIDs([]v1.Hash{img.Layers[0].DiffID, img.Layers[1].DiffID})[1]; img.Layers[1].ChainID != want {
		t.Errorf("chain ID %s, want %s", img.Layers[1].ChainID, want)
	}
	if len(img.Config.History) != 3 || !reflect.DeepEqual(img.Config.Config.Cmd, []string{"/new"}) {
		t.Errorf("history %v cmd %v", img.Config.History, img.Config.Config.Cmd)
	}
	top := img.Layers[1].Dir
	fi, err := os.Lstat(filepath.Join(top, "etc/a"))
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Errorf("etc/a is not a whiteout device: %v %v", fi, err)
	}
	if v, err := getXattr(filepath.Join(top, "var"), opaqueXattr); err != nil || v != "y" {
		t.Errorf("var opaque xattr = %q, %v", v, err)
	}
	if dirs := img.LowerDirs(); len(dirs) != 2 || dirs[0] != top {
		t.Errorf("LowerDirs = %v", dirs)
	}

	// The differ turns the overlayfs forms back into Docker whiteouts.
	var buf bytes.Buffer
	if err := WriteDiff(&buf, top); err != nil {
		t.Fatal(err)
	}
	names := tarNames(t, buf.Bytes())
	for _, want := range []string{"etc/.wh.a", "var/.wh..wh..opq", "var/y", "new"} {
		if !names[want] {
			t.Errorf("diff lacks %s: %v", want, names)
		}
	}
}

func TestCreateScratchNoLayers(t *testing.T) {
	s := openStore(t)
	img, err := s.Create(context.Background(), CreateOptions{Config: v1.Config{Cmd: []string{"x"}}, History: []v1.History{{CreatedBy: "CMD x", EmptyLayer: true}}})
	if err != nil {
		t.Fatal(err)
	}
	dirs := img.LowerDirs()
	if len(dirs) != 1 {
		t.Fatalf("LowerDirs = %v", dirs)
	}
	if entries, err := os.ReadDir(dirs[0]); err != nil || len(entries) != 0 {
		t.Errorf("empty lowerdir: %v %v", entries, err)
	}
	if _, err := s.Create(context.Background(), CreateOptions{Layers: []string{"x"}}); err == nil {
		t.Error("Create with a layer and a mismatched history: no error")
	}
}

func tarNames(t *testing.T, data []byte) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names[strings.TrimSuffix(h.Name, "/")] = true
	}
	return names
}

func TestParseReferenceCanonical(t *testing.T) {
	for in, want := range map[string]string{
		"busybox":                        "docker.io/library/busybox:latest",
		"library/busybox:1.36":           "docker.io/library/busybox:1.36",
		"docker.io/me/app":               "docker.io/me/app:latest",
		"localhost/x:1":                  "localhost/x:1",
		"localhost:5000/a/b:c":           "localhost:5000/a/b:c",
		"127.0.0.1:5000/x":               "127.0.0.1:5000/x:latest",
		"busybox@sha256:" + sixtyFourA(): "docker.io/library/busybox@sha256:" + sixtyFourA(),
	} {
		r, err := ParseReference(in)
		if err != nil {
			t.Errorf("ParseReference(%q): %v", in, err)
			continue
		}
		if got := Canonical(r); got != want {
			t.Errorf("Canonical(%q) = %q, want %q", in, got, want)
		}
	}
	for _, bad := range []string{"", "UPPER", "a b", "x@sha256:12"} {
		if _, err := ParseReference(bad); !errors.Is(err, ErrInvalidReference) {
			t.Errorf("ParseReference(%q) = %v, want ErrInvalidReference", bad, err)
		}
	}
}

func sixtyFourA() string { return strings.Repeat("a", 64) }

func TestApplyChanges(t *testing.T) {
	var cfg v1.Config
	err := ApplyChanges(&cfg, []string{
		"ENTRYPOINT /bin/sh -c",
		`CMD ["echo", "hi"]`,
		`ENV GREETING="hello world" X=1`,
		"ENV OLD style value",
		`LABEL a=b "c d"=e`,
		"USER 1000:1000",
		"VOLUME /data /cache",
		"STOPSIGNAL SIGINT",
		"EXPOSE 53/udp 80",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := v1.Config{
		Entrypoint:   []string{"/bin/sh", "-c", "/bin/sh -c"},
		Cmd:          []string{"echo", "hi"},
		Env:          []string{"GREETING=hello world", "X=1", "OLD=style value"},
		Labels:       map[string]string{"a": "b", "c d": "e"},
		User:         "1000:1000",
		Volumes:      map[string]struct{}{"/data": {}, "/cache": {}},
		StopSignal:   "SIGINT",
		ExposedPorts: map[string]struct{}{"53/udp": {}, "80/tcp": {}},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}
	for _, bad := range []string{"FROM x", "CMD", `CMD ["x"`, `ENV A="x`} {
		if err := ApplyChanges(&cfg, []string{bad}); !errors.Is(err, ErrInvalidChange) {
			t.Errorf("ApplyChanges(%q) = %v, want ErrInvalidChange", bad, err)
		}
	}
}

// TestWriteCleansTmpOnlyWhenNoWriteRuns: Open leaves tmp/ alone (every command opens the
// store); a write that starts when no other runs, or garbage collection, empties it.
func TestWriteCleansTmpOnlyWhenNoWriteRuns(t *testing.T) {
	root := filepath.Join(t.TempDir(), "images")
	s := openStoreAt(t, root)
	stale := filepath.Join(root, "tmp", "layer-stale")
	mkStale := func() {
		t.Helper()
		if err := os.Mkdir(stale, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	w, err := s.beginWrite() // a write in progress in "another process"
	if err != nil {
		t.Fatal(err)
	}
	mkStale() // what a dead writer left
	w2, err := openStoreAt(t, root).beginWrite()
	if err != nil {
		t.Fatal(err)
	}
	w2.unlock()
	if _, err := os.Stat(stale); err != nil {
		t.Fatalf("tmp/ emptied while a write was running: %v", err)
	}
	w.unlock()
	openStoreAt(t, root)
	if _, err := os.Stat(stale); err != nil {
		t.Fatalf("Open emptied tmp/: %v", err)
	}
	w, err = openStoreAt(t, root).beginWrite()
	if err != nil {
		t.Fatal(err)
	}
	w.unlock()
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale tmp entry kept by a write: %v", err)
	}
	mkStale()
	if _, err := s.Prune(PruneOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale tmp entry kept by a prune: %v", err)
	}
}

// TestOpenRepairs: a store whose directories were partly made (or removed) is completed.
func TestOpenRepairs(t *testing.T) {
	root := filepath.Join(t.TempDir(), "images")
	openStoreAt(t, root)
	for _, d := range []string{"layers", "empty"} {
		if err := os.Remove(filepath.Join(root, d)); err != nil {
			t.Fatal(err)
		}
	}
	openStoreAt(t, root)
	for _, d := range []string{"layers", "empty"} {
		if fi, err := os.Stat(filepath.Join(root, d)); err != nil || !fi.IsDir() {
			t.Errorf("%s: %v", d, err)
		}
	}
	if fi, _ := os.Stat(filepath.Join(root, "empty")); fi.Mode().Perm() != 0o755 {
		t.Errorf("empty/ mode %v", fi.Mode())
	}
}

// TestRunConfig: RunConfig finds what Get finds, with the same config and lower
// directories, and fails as Get does.
func TestRunConfig(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	base, err := s.Import(ctx, bytes.NewReader(makeTar(t, file("a", "1"))), "base:1", []string{`ENTRYPOINT ["/a"]`, "USER app", "VOLUME /data", "STOPSIGNAL SIGINT"})
	if err != nil {
		t.Fatal(err)
	}
	top, err := s.Create(ctx, CreateOptions{Parent: base, Layers: []string{writeTemp(t, makeTar(t, file("b", "2")))},
		Config: base.Config.Config, Tags: []string{"top:1"}, History: []v1.History{{CreatedBy: "COPY b"}}})
	if err != nil {
		t.Fatal(err)
	}
	scratch, err := s.Create(ctx, CreateOptions{Config: v1.Config{Cmd: []string{"x"}}, History: []v1.History{{CreatedBy: "CMD x", EmptyLayer: true}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"base:1", "docker.io/library/top:1", top.ID, strings.TrimPrefix(top.ID, "sha256:"), top.ShortID(), scratch.ID} {
		img, err := s.Get(ref)
		if err != nil {
			t.Fatalf("Get(%q): %v", ref, err)
		}
		rc, err := s.RunConfig(ref)
		if err != nil {
			t.Fatalf("RunConfig(%q): %v", ref, err)
		}
		if rc.ID != img.ID || !reflect.DeepEqual(rc.Config, img.Config.Config) || !reflect.DeepEqual(rc.LowerDirs, img.LowerDirs()) {
			t.Errorf("RunConfig(%q) = %+v, Get has %s %+v %v", ref, rc, img.ID, img.Config.Config, img.LowerDirs())
		}
	}
	for _, ref := range []string{"top:2", "other", "sha256:" + strings.Repeat("0", 64), "0123456789ab"} {
		if _, err := s.RunConfig(ref); !errors.Is(err, ErrNotFound) {
			t.Errorf("RunConfig(%q) = %v, want ErrNotFound", ref, err)
		}
	}
	// A layer missing from the store: both fail.
	if err := os.RemoveAll(top.Layers[1].Dir); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RunConfig("top:1"); err == nil {
		t.Error("RunConfig of an image with a missing layer: no error")
	}
	// The record gone (a removal midway): not found, as for Get.
	if err := os.Remove(s.recordPath(v1.Hash{Algorithm: "sha256", Hex: strings.TrimPrefix(base.ID, "sha256:")})); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("base:1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get without a record: %v", err)
	}
	if _, err := s.RunConfig("base:1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RunConfig without a record: %v, want ErrNotFound", err)
	}
}

func openStoreAt(t *testing.T, root string) *Store {
	t.Helper()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
