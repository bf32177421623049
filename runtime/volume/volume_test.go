package volume

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/stackhq/stack/runtime"
)

func TestParseVolumeFlag(t *testing.T) {
	base := "/srv/app"
	tests := []struct {
		spec string
		want Mount
		err  error
	}{
		{"/data", Mount{Type: TypeVolume, Target: "/data"}, nil},
		{"db:/var/lib/db", Mount{Type: TypeVolume, Source: "db", Target: "/var/lib/db"}, nil},
		{"db:/var/lib/db:ro,nocopy", Mount{Type: TypeVolume, Source: "db", Target: "/var/lib/db", ReadOnly: true, NoCopy: true}, nil},
		{"/etc/hosts:/h:ro", Mount{Type: TypeBind, Source: "/etc/hosts", Target: "/h", ReadOnly: true, CreateHostPath: true}, nil},
		{"./conf:/conf", Mount{Type: TypeBind, Source: "/srv/app/conf", Target: "/conf", CreateHostPath: true}, nil},
		{"../up:/up:rw", Mount{Type: TypeBind, Source: "/srv/up", Target: "/up", CreateHostPath: true}, nil},
		{".:/src", Mount{Type: TypeBind, Source: "/srv/app", Target: "/src", CreateHostPath: true}, nil},
		{"db:relative", Mount{}, ErrInvalid},
		{"db:/x/../etc", Mount{}, ErrEscape},
		{"db:/x:z", Mount{}, ErrInvalid},
		{"/a:/b:ro:extra", Mount{}, ErrInvalid},
		{"bad name!:/x", Mount{}, ErrInvalid},
		{"db:/", Mount{}, ErrInvalid},
	}
	for _, tt := range tests {
		got, err := ParseVolumeFlag(tt.spec, base)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("ParseVolumeFlag(%q) err = %v, want %v", tt.spec, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseVolumeFlag(%q) = %+v, %v; want %+v", tt.spec, got, err, tt.want)
		}
	}
}

func TestParseMountFlag(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		spec string
		want Mount
		err  error
	}{
		{"type=bind,source=" + dir + ",target=/d,readonly", Mount{Type: TypeBind, Source: dir, Target: "/d", ReadOnly: true}, nil},
		{"type=bind,src=.,dst=/d,ro=false", Mount{Type: TypeBind, Source: dir, Target: "/d"}, nil},
		{"type=volume,source=data,target=/data,volume-nocopy", Mount{Type: TypeVolume, Source: "data", Target: "/data", NoCopy: true}, nil},
		{"target=/anon", Mount{Type: TypeVolume, Target: "/anon"}, nil},
		{"type=tmpfs,destination=/run,tmpfs-size=64m,tmpfs-mode=1770", Mount{Type: TypeTmpfs, Target: "/run", TmpfsSize: 64 << 20, TmpfsMode: 0o770 | os.ModeSticky}, nil},
		{"type=bind,source=" + dir + "/missing,target=/d", Mount{}, ErrInvalid}, // not created for --mount
		{"type=bind,target=/d", Mount{}, ErrInvalid},
		{"type=nfs,target=/d", Mount{}, ErrInvalid},
		{"type=bind,source=" + dir + ",target=/d,tmpfs-size=1m", Mount{}, ErrInvalid},
		{"type=tmpfs,target=/t,bogus=1", Mount{}, ErrInvalid},
		{"type=tmpfs,target=/t,ro=maybe", Mount{}, ErrInvalid},
		{"type=volume,source=v,target=/a/../b", Mount{}, ErrEscape},
	}
	for _, tt := range tests {
		got, err := ParseMountFlag(tt.spec, dir)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("ParseMountFlag(%q) err = %v, want %v", tt.spec, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseMountFlag(%q) = %+v, %v; want %+v", tt.spec, got, err, tt.want)
		}
	}
}

func TestParseTmpfsFlag(t *testing.T) {
	got, err := ParseTmpfsFlag("/cache:size=1g,mode=700")
	if want := (Mount{Type: TypeTmpfs, Target: "/cache", TmpfsSize: 1 << 30, TmpfsMode: 0o700}); err != nil || got != want {
		t.Fatalf("ParseTmpfsFlag = %+v, %v; want %+v", got, err, want)
	}
	if got, err := ParseTmpfsFlag("/t"); err != nil || got != (Mount{Type: TypeTmpfs, Target: "/t"}) {
		t.Fatalf("ParseTmpfsFlag(/t) = %+v, %v", got, err)
	}
	for _, bad := range []string{"/t:size=-1", "/t:size=lots", "/t:mode=999", "/t:noexec", "t"} {
		if _, err := ParseTmpfsFlag(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseTmpfsFlag(%q) err = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestResolveInRoot(t *testing.T) {
	root := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "usr/share/data"), 0o755))
	must(t, os.Symlink("/usr/share/data", filepath.Join(root, "abs")))           // absolute: stays in root
	must(t, os.Symlink("usr/share", filepath.Join(root, "rel")))                 // relative, inside
	must(t, os.Symlink("../../../../etc", filepath.Join(root, "usr/escape")))    // climbs out
	must(t, os.Symlink("loop", filepath.Join(root, "loop")))                     // cycle
	must(t, os.Symlink("missing/../../..", filepath.Join(root, "usr/dangling"))) // climbs out lexically
	for _, tt := range []struct {
		target, want string
		err          error
	}{
		{"/usr/share/data", "usr/share/data", nil},
		{"/abs", "usr/share/data", nil},
		{"/abs/new/dir", "usr/share/data/new/dir", nil},
		{"/rel/data", "usr/share/data", nil},
		{"/not/there", "not/there", nil},
		{"/usr/escape", "", ErrEscape},
		{"/usr/escape/passwd", "", ErrEscape},
		{"/usr/dangling", "", ErrEscape},
		{"/loop", "", ErrEscape},
		{"/usr/../etc", "", ErrEscape},
		{"relative", "", ErrInvalid},
	} {
		got, err := ResolveInRoot(root, tt.target)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("ResolveInRoot(%s) = %q, %v; want %v", tt.target, got, err, tt.err)
			}
			continue
		}
		if want := filepath.Join(root, tt.want); err != nil || got != want {
			t.Errorf("ResolveInRoot(%s) = %q, %v; want %q", tt.target, got, err, want)
		}
	}
}

func TestStoreLifecycle(t *testing.T) {
	s, err := Open(t.TempDir())
	must(t, err)
	v, err := s.Create("data", map[string]string{"project": "p"})
	must(t, err)
	if again, err := s.Create("data", nil); err != nil || again.Name != "data" || again.Labels["project"] != "p" {
		t.Fatalf("Create is not idempotent: %+v, %v", again, err)
	}
	if _, err := s.Create("no/slash", nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Create(no/slash) err = %v", err)
	}
	if _, err := s.Acquire("data", "c1", nil); err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(filepath.Join(v.Mountpoint, "keep"), []byte("x"), 0o644))
	if err := s.Remove("data"); !errors.Is(err, ErrInUse) {
		t.Fatalf("Remove of a volume in use: %v, want ErrInUse", err)
	}
	anon, err := s.Acquire("", "c1", nil)
	must(t, err)
	if !anon.Anonymous || len(anon.Name) != 64 {
		t.Fatalf("anonymous volume = %+v", anon)
	}
	unused, err := s.Create("unused", nil)
	must(t, err)

	// rm without -v: anonymous volumes stay; prune takes the unused anonymous ones only.
	must(t, s.Release("c1", false))
	if got, err := s.Prune(false); err != nil || !reflect.DeepEqual(got, []string{anon.Name}) {
		t.Fatalf("Prune(false) = %v, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(v.Mountpoint, "keep")); err != nil {
		t.Fatalf("data of a named volume lost: %v", err)
	}
	if got, err := s.Prune(true); err != nil || !reflect.DeepEqual(got, []string{"data", unused.Name}) {
		t.Fatalf("Prune(true) = %v, %v", got, err)
	}
	if vols, _ := s.List(); len(vols) != 0 {
		t.Fatalf("volumes left: %v", vols)
	}
	if _, err := s.Get("data"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after prune: %v", err)
	}
}

func TestReleaseRemovesAnonymousWithV(t *testing.T) {
	s, err := Open(t.TempDir())
	must(t, err)
	anon, err := s.Acquire("", "c1", nil)
	must(t, err)
	_, err = s.Acquire("named", "c1", nil)
	must(t, err)
	_, err = s.Acquire("named", "c2", nil)
	must(t, err)
	must(t, s.Release("c1", true))
	if _, err := s.Get(anon.Name); !errors.Is(err, ErrNotFound) {
		t.Fatalf("anonymous volume survived rm -v: %v", err)
	}
	named, err := s.Get("named")
	if err != nil || !reflect.DeepEqual(named.Users, []string{"c2"}) {
		t.Fatalf("named volume = %+v, %v", named, err)
	}
	must(t, s.Sweep(func(id string) bool { return false }))
	if named, _ := s.Get("named"); len(named.Users) != 0 {
		t.Fatalf("Sweep kept dead users: %v", named.Users)
	}
}

func TestResolveAndFill(t *testing.T) {
	s, err := Open(t.TempDir())
	must(t, err)
	img := t.TempDir() // the container's mounted rootfs
	must(t, os.MkdirAll(filepath.Join(img, "var/lib/app/sub"), 0o750))
	must(t, os.WriteFile(filepath.Join(img, "var/lib/app/sub/seed"), []byte("from image"), 0o640))
	must(t, os.Symlink("sub/seed", filepath.Join(img, "var/lib/app/link")))
	must(t, os.MkdirAll(filepath.Join(img, "skip"), 0o755))
	must(t, os.WriteFile(filepath.Join(img, "skip/f"), []byte("x"), 0o644))
	must(t, os.Symlink("../../../../../../etc", filepath.Join(img, "evil")))
	bindDir := filepath.Join(t.TempDir(), "created")

	mounts := []Mount{
		{Type: TypeVolume, Source: "appdata", Target: "/var/lib/app"},
		{Type: TypeVolume, Target: "/skip", NoCopy: true},
		{Type: TypeBind, Source: bindDir, Target: "/b", CreateHostPath: true, ReadOnly: true},
		{Type: TypeTmpfs, Target: "/t", TmpfsSize: 1 << 20},
	}
	got, names, err := s.Resolve(mounts, nil)
	must(t, err)
	v, _ := s.Get("appdata")
	anon, _ := s.Get(names[1])
	want := []runtime.Mount{
		{Type: TypeBind, Source: v.Mountpoint, Target: "/var/lib/app"},
		{Type: TypeBind, Source: anon.Mountpoint, Target: "/skip"},
		{Type: TypeBind, Source: bindDir, Target: "/b", ReadOnly: true},
		{Type: TypeTmpfs, Target: "/t", TmpfsSize: 1 << 20},
	}
	if !reflect.DeepEqual(got, want) || len(names) != 2 || names[0] != "appdata" {
		t.Fatalf("Resolve = %+v, %v\nwant %+v", got, names, want)
	}
	if _, err := os.Stat(bindDir); err != nil {
		t.Fatalf("bind source not created: %v", err)
	}
	must(t, s.Fill(img, got))
	if b, err := os.ReadFile(filepath.Join(v.Mountpoint, "sub/seed")); err != nil || string(b) != "from image" {
		t.Fatalf("volume not filled: %q, %v", b, err)
	}
	if fi, err := os.Stat(filepath.Join(v.Mountpoint, "sub")); err != nil || fi.Mode().Perm() != 0o750 {
		t.Fatalf("mode not kept: %v, %v", fi, err)
	}
	if l, err := os.Readlink(filepath.Join(v.Mountpoint, "link")); err != nil || l != "sub/seed" {
		t.Fatalf("symlink not kept: %q, %v", l, err)
	}
	if ents, _ := os.ReadDir(anon.Mountpoint); len(ents) != 0 {
		t.Fatalf("nocopy volume was filled: %v", ents)
	}

	// Data written by the container survives, and is never overwritten by the image again.
	must(t, os.Remove(filepath.Join(v.Mountpoint, "sub/seed")))
	must(t, s.Fill(img, got))
	if _, err := os.Stat(filepath.Join(v.Mountpoint, "sub/seed")); !os.IsNotExist(err) {
		t.Fatalf("volume filled a second time: %v", err)
	}

	// A target reached through a symlink that points outside the image is refused.
	got, names, err = s.Resolve([]Mount{{Type: TypeVolume, Target: "/evil/x"}}, nil)
	must(t, err)
	if err := s.Fill(img, got); !errors.Is(err, ErrEscape) {
		t.Fatalf("escaping volume target: %v, want ErrEscape", err)
	}
	// The container is never created: its anonymous volume goes again.
	must(t, s.Forget(names))
	if _, err := s.Get(names[0]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Forget left %s: %v", names[0], err)
	}
}

func TestResolveRefusesMissingBind(t *testing.T) {
	s, err := Open(t.TempDir())
	must(t, err)
	_, _, err = s.Resolve([]Mount{{Type: TypeVolume, Target: "/a"}, {Type: TypeBind, Source: "/does/not/exist", Target: "/b"}}, nil)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("missing --mount bind source: %v", err)
	}
	if vols, _ := s.List(); len(vols) != 0 {
		t.Fatalf("anonymous volume left after a failed Resolve: %v", vols)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
