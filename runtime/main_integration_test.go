//go:build integration

package runtime

import (
	"bytes"
	"context"
	"os"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/stackhq/stack/internal/testutil"
)

// The main goroutine keeps the main thread, as in cmd/stack: exec and netns creation move
// locked threads into other namespaces and let them die, which Go cannot do to the main
// thread (it would stay, in the container's mount namespace, as the process's /proc/self).
func init() { goruntime.LockOSThread() }

func TestMain(m *testing.M) {
	RunRole(os.Args)
	os.Exit(m.Run())
}

const testImage = "localhost/busybox:test"

// newTestManager returns a Manager on a fresh store root with the busybox image imported;
// every container is removed (forcefully) when the test ends.
func newTestManager(t *testing.T) *Manager {
	t.Helper()
	testutil.RequireRoot(t)
	root := testutil.TempRoot(t)
	m, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.images.Import(context.Background(), bytes.NewReader(testutil.BusyboxTar(t)), testImage, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cs, _ := m.List(ListOptions{All: true})
		for _, c := range cs {
			if err := m.Remove(context.Background(), c.ID, RemoveOptions{Force: true}); err != nil {
				t.Errorf("cleanup: remove %s: %v", c.Name, err)
			}
		}
		os.RemoveAll(RunDir(root))
	})
	return m
}

// runOutput runs cmd in a new busybox container (spec tweaks applied) to completion and
// returns its exit code and combined log output.
func runOutput(t *testing.T, m *Manager, tweak func(*Spec), cmd ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	spec := Spec{Image: testImage, Cmd: cmd}
	if tweak != nil {
		tweak(&spec)
	}
	c, err := m.Create(ctx, spec)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	wait, err := m.StartWait(ctx, c.ID)
	if err != nil {
		t.Fatalf("start %v: %v", cmd, err)
	}
	code, err := wait(ctx)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	var out bytes.Buffer
	if err := m.Logs(ctx, c.ID, LogOptions{Tail: -1}, &out, &out); err != nil {
		t.Fatalf("logs: %v", err)
	}
	return code, out.String()
}

func TestRunEcho(t *testing.T) {
	m := newTestManager(t)
	code, out := runOutput(t, m, nil, "echo", "hello")
	if code != 0 || out != "hello\n" {
		t.Fatalf("code %d, output %q", code, out)
	}
}
