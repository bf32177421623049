//go:build integration

package engine

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/stackhq/stack/internal/statefile"
	"github.com/stackhq/stack/internal/testutil"
	"github.com/stackhq/stack/runtime"
	"github.com/stackhq/stack/runtime/image"
	"golang.org/x/sys/unix"
)

// As in cmd/stack: the main goroutine keeps the main thread (see runtime's TestMain).
func init() { goruntime.LockOSThread() }

// createLoopEnv makes the test binary a process that creates containers in the store root
// it names until it is killed (TestCreateKilledAnywhere).
const createLoopEnv = "STACK_TEST_CREATE_LOOP"

func TestMain(m *testing.M) {
	if root := os.Getenv(createLoopEnv); root != "" {
		e, err := Open(root)
		if err != nil {
			panic(err)
		}
		for i := 0; ; i++ {
			spec := runtime.Spec{Image: testImage, Cmd: []string{"/bin/true"}}
			if i%2 == 0 {
				spec.Name = "named"
			}
			if _, err := e.Create(context.Background(), spec, nil); err != nil && !errors.Is(err, runtime.ErrNameInUse) {
				panic(err)
			}
		}
	}
	os.Exit(m.Run())
}

const testImage = "localhost/busybox:test"

// newTestRoot returns a fresh store root with the busybox image imported.
func newTestRoot(tb testing.TB) string {
	tb.Helper()
	testutil.RequireRoot(tb)
	root := testutil.TempRoot(tb)
	imgs, err := image.Open(filepath.Join(root, "images"))
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := imgs.Import(context.Background(), bytes.NewReader(testutil.BusyboxTar(tb)), testImage, nil); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(runtime.RunDir(root)) })
	return root
}

// BenchmarkCreatePath is the CLI's own work in `stack container run --rm --network none
// IMAGE /bin/true` before the start takes the container's lock: open the stores of the
// root, create the container (image resolved, name reserved, directory laid out), open its
// log. The container is removed outside the timed part.
//
//	go test -tags integration -run '^$' -bench CreatePath -benchmem ./engine/
func BenchmarkCreatePath(b *testing.B) {
	root := newTestRoot(b)
	ctx := context.Background()
	spec := runtime.Spec{Image: testImage, Cmd: []string{"/bin/true"}, AutoRemove: true}
	b.ReportAllocs()
	for b.Loop() {
		e, err := Open(root)
		if err != nil {
			b.Fatal(err)
		}
		c, err := e.Create(ctx, spec, nil)
		if err != nil {
			b.Fatal(err)
		}
		f, err := os.Open(c.LogPath())
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
		b.StopTimer()
		if err := e.Remove(ctx, c.ID, runtime.RemoveOptions{Force: true}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkOpen is engine.Open alone, which every container command runs.
//
//	go test -tags integration -run '^$' -bench 'Open$' -benchmem ./engine/
func BenchmarkOpen(b *testing.B) {
	root := newTestRoot(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Open(root); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCreateKilledAnywhere: processes creating containers are killed (SIGKILL) at random
// moments; once their leftovers are old enough to be told from creates at work, Sweep
// leaves only whole containers — each directory has its state, each name links to a
// container that carries it — and every one of them can be removed.
func TestCreateKilledAnywhere(t *testing.T) {
	root := newTestRoot(t)
	ctx := context.Background()
	containers := filepath.Join(root, "containers")
	complete := func() bool {
		m, _ := filepath.Glob(filepath.Join(containers, "*", "state.json"))
		return len(m) > 0
	}
	for i := 0; i < 40 || !complete(); i++ {
		if i == 100 {
			t.Fatal("no create finished in 100 tries")
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), createLoopEnv+"="+root)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(5+rand.IntN(15+i)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
	}
	dirs, names := ageIncomplete(t, containers)
	t.Logf("left by the killed creates: %d directories, %d names", dirs, names)
	e, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	cs, err := e.Containers.List(runtime.ListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{} // ID → name
	for _, c := range cs {
		ids[c.ID] = c.Name
	}
	ents, _ := os.ReadDir(containers)
	for _, ent := range ents {
		if _, ok := ids[ent.Name()]; !ok && ent.Name() != "by-name" {
			t.Errorf("left after Sweep: %s (no container)", ent.Name())
		}
	}
	links, _ := os.ReadDir(filepath.Join(containers, "by-name"))
	for _, l := range links {
		id, _ := os.Readlink(filepath.Join(containers, "by-name", l.Name()))
		if ids[id] != l.Name() {
			t.Errorf("name %s links to %.12s, which is not a container of that name", l.Name(), id)
		}
	}
	for _, c := range cs {
		if err := e.Remove(ctx, c.ID, runtime.RemoveOptions{Force: true}); err != nil {
			t.Errorf("remove %s: %v", c.Name, err)
		}
	}
	ents, _ = os.ReadDir(containers)
	links, _ = os.ReadDir(filepath.Join(containers, "by-name"))
	if len(ents) != 1 || len(links) != 0 {
		t.Errorf("after removing every container: %d entries, %d names", len(ents), len(links))
	}
}

// ageIncomplete makes what has no state.json under containers/ (directories, and the
// names linking to them or to nothing) two minutes old, as if that long had passed.
func ageIncomplete(t *testing.T, containers string) (dirs, names int) {
	t.Helper()
	old := unix.NsecToTimespec(time.Now().Add(-2 * time.Minute).UnixNano())
	age := func(p string) {
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{old, old}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatal(err)
		}
	}
	complete := func(id string) bool {
		_, err := os.Stat(filepath.Join(containers, id, "state.json"))
		return err == nil
	}
	ents, _ := os.ReadDir(containers)
	for _, ent := range ents {
		if ent.Name() != "by-name" && !complete(ent.Name()) {
			age(filepath.Join(containers, ent.Name()))
			dirs++
		}
	}
	links, _ := os.ReadDir(filepath.Join(containers, "by-name"))
	for _, l := range links {
		if id, _ := os.Readlink(filepath.Join(containers, "by-name", l.Name())); !complete(id) {
			age(filepath.Join(containers, "by-name", l.Name()))
			names++
		}
	}
	return dirs, names
}

// TestSweepKeepsCreateAtWork: a container directory without state.json whose lock is held
// is a create at work: Sweep keeps it and its name, and the name cannot be taken; once the
// lock is free (the create died) Sweep removes both, or a create of the name takes it over.
func TestSweepKeepsCreateAtWork(t *testing.T) {
	root := newTestRoot(t)
	ctx := context.Background()
	e, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	containers := filepath.Join(root, "containers")
	// What a create has done once it reserved the name "web" (see runtime.Manager.Create).
	atWork := func(id string) (unlock func()) {
		t.Helper()
		if err := os.Mkdir(filepath.Join(containers, id), 0o700); err != nil {
			t.Fatal(err)
		}
		unlock, err := statefile.Lock(filepath.Join(containers, id, "lock"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(id, filepath.Join(containers, "by-name", "web")); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(containers, id, "hosts"), []byte("127.0.0.1\tloc"), 0o644); err != nil {
			t.Fatal(err)
		}
		return unlock
	}
	id := strings.Repeat("ab", 32)
	unlock := atWork(id)
	ageIncomplete(t, containers)
	if err := e.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(containers, id, "hosts")); err != nil {
		t.Fatalf("Sweep removed a create at work: %v", err)
	}
	if _, err := e.Create(ctx, runtime.Spec{Name: "web", Image: testImage, Cmd: []string{"true"}}, nil); !errors.Is(err, runtime.ErrNameInUse) {
		t.Fatalf("create of a name a create at work holds: %v, want ErrNameInUse", err)
	}
	unlock() // the create died
	if err := e.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(containers, id)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory of a dead create kept: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(containers, "by-name", "web")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("name of a dead create kept: %v", err)
	}

	// Without a Sweep, a create of the name takes it over from the dead one.
	id2 := strings.Repeat("cd", 32)
	atWork(id2)()
	c, err := e.Create(ctx, runtime.Spec{Name: "web", Image: testImage, Cmd: []string{"true"}}, nil)
	if err != nil {
		t.Fatalf("create of a name a dead create held: %v", err)
	}
	if err := e.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(containers, id2)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory of a dead create kept: %v", err)
	}
	if got, err := e.Containers.Get("web"); err != nil || got.ID != c.ID {
		t.Errorf("web after Sweep: %v %v, want %.12s", got, err, c.ID)
	}
	if err := e.Remove(ctx, c.ID, runtime.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
}
