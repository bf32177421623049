//go:build integration

package runtime

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/stackhq/stack/internal/testutil"
)

// v1Used is the v1 controllers a container's group is expected in, whatever its limits.
var v1Used = []string{"cpu", "cpuacct", "devices", "freezer", "memory", "pids"}

// requireV1 skips the test on a pure cgroup2 host, where there is one tree and no device files.
func requireV1(t *testing.T) {
	t.Helper()
	testutil.RequireRoot(t)
	if unified() {
		t.Skip("SKIP: the host is pure cgroup2; these tests are about the v1 hierarchies")
	}
}

// testCgroupID returns an id for a cgroup of the test's own; whatever is left of it is
// removed when the test ends.
func testCgroupID(t *testing.T, name string) string {
	id := fmt.Sprintf("test-%d-%s", os.Getpid(), name)
	t.Cleanup(func() { removeEmptyCgroup(id) })
	return id
}

// hierarchiesWith returns the directories under /sys/fs/cgroup (each a v1 hierarchy, named
// after its controllers, or the unified tree) that hold the cgroup id.
func hierarchiesWith(t *testing.T, id string) []string {
	t.Helper()
	ents, err := os.ReadDir(cgroupMountpoint)
	if err != nil {
		t.Fatal(err)
	}
	var in []string
	for _, e := range ents {
		if !e.IsDir() {
			continue // a symlink to co-mounted controllers ("cpu" -> "cpu,cpuacct")
		}
		if _, err := os.Lstat(filepath.Join(cgroupMountpoint, e.Name(), cgroupParent, id)); err == nil {
			in = append(in, e.Name())
		}
	}
	return in
}

// wantHierarchies is the directories under /sys/fs/cgroup that should hold a container's
// group: those of the controllers in v1Used (one for co-mounted ones).
func wantHierarchies(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(cgroupMountpoint)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range ents {
		if e.IsDir() && slices.ContainsFunc(strings.Split(e.Name(), ","), func(c string) bool { return slices.Contains(v1Used, c) }) {
			want = append(want, e.Name())
		}
	}
	return want
}

func readCgroupFile(t *testing.T, controller, id, file string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(cgroupMountpoint, controller, cgroupParent, id, file))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

func TestCgroupHierarchies(t *testing.T) {
	requireV1(t)
	id := testCgroupID(t, "hierarchies")
	if _, err := createCgroup(id, &Spec{Memory: 64 << 20, CPUs: 0.5, PidsLimit: 33}); err != nil {
		t.Fatal(err)
	}
	want := wantHierarchies(t)
	if got := hierarchiesWith(t, id); !slices.Equal(got, want) {
		t.Fatalf("group in %v, want exactly %v", got, want)
	}
	// Everything that works on a container's cgroup afterwards sees the same set.
	cg, err := loadCgroup(id)
	if err != nil {
		t.Fatal(err)
	}
	var loaded []string
	for _, s := range cg.v1.Subsystems() {
		loaded = append(loaded, string(s.Name()))
	}
	slices.Sort(loaded)
	if !slices.Equal(loaded, v1Used) {
		t.Errorf("loaded with %v, want %v", loaded, v1Used)
	}
	if pids, err := cg.pids(); err != nil || len(pids) != 0 {
		t.Errorf("pids of an empty group: %v %v", pids, err)
	}
	if err := cg.freeze(); err != nil {
		t.Error(err)
	}
	if err := cg.thaw(); err != nil {
		t.Error(err)
	}
	if !removeEmptyCgroup(id) {
		t.Fatal("removeEmptyCgroup failed on an empty group")
	}
	if left := hierarchiesWith(t, id); len(left) != 0 {
		t.Errorf("left in %v after removal", left)
	}
	if _, err := loadCgroup(id); err == nil {
		t.Error("a removed cgroup loads")
	}
}

func TestCgroupLimits(t *testing.T) {
	requireV1(t)
	id := testCgroupID(t, "limits")
	if _, err := createCgroup(id, &Spec{Memory: 64 << 20, CPUs: 0.5, PidsLimit: 33}); err != nil {
		t.Fatal(err)
	}
	want := map[[2]string]string{
		{"memory", "memory.limit_in_bytes"}: "67108864",
		{"cpu", "cpu.cfs_quota_us"}:         "50000",
		{"cpu", "cpu.cfs_period_us"}:        "100000",
		{"pids", "pids.max"}:                "33",
	}
	if fileExists(filepath.Join(cgroupMountpoint, "memory", "memory.memsw.limit_in_bytes")) {
		want[[2]string{"memory", "memory.memsw.limit_in_bytes"}] = "67108864" // no swap
	}
	for f, v := range want {
		if got := readCgroupFile(t, f[0], id, f[1]); got != v {
			t.Errorf("%s = %s, want %s", f[1], got, v)
		}
	}
	// Unlimited is the kernel's default, nothing written.
	id = testCgroupID(t, "nolimits")
	if _, err := createCgroup(id, &Spec{}); err != nil {
		t.Fatal(err)
	}
	if q, p := readCgroupFile(t, "cpu", id, "cpu.cfs_quota_us"), readCgroupFile(t, "pids", id, "pids.max"); q != "-1" || p != "max" {
		t.Errorf("unlimited: cpu.cfs_quota_us %s, pids.max %s", q, p)
	}
}

func TestCgroupDeviceAllowList(t *testing.T) {
	requireV1(t)
	id := testCgroupID(t, "devices")
	if _, err := createCgroup(id, &Spec{}); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(readCgroupFile(t, "devices", id, "devices.list"), "\n")
	want := slices.Clone(dockerDeviceRules)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("devices.list:\n%s\nwant Docker's default:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	id = testCgroupID(t, "privileged")
	if _, err := createCgroup(id, &Spec{Privileged: true}); err != nil {
		t.Fatal(err)
	}
	if got := readCgroupFile(t, "devices", id, "devices.list"); got != "a *:* rwm" {
		t.Errorf("privileged devices.list: %q", got)
	}
}

// TestCgroupDevicesEnforced checks the allow-list from inside a container: creating a
// node is allowed, opening one outside the list (here /dev/fuse's numbers) is not.
func TestCgroupDevicesEnforced(t *testing.T) {
	requireV1(t)
	m := newTestManager(t)
	code, out := runOutput(t, m, nil, "sh", "-c", `mknod /fuse c 10 229 && echo made; head -c1 /fuse; echo x > /dev/null && echo null`)
	if code != 0 || !strings.Contains(out, "made\n") || !strings.Contains(out, "Operation not permitted") || !strings.Contains(out, "null\n") {
		t.Errorf("exit %d, output %q: want the node made, its opening refused, /dev/null writable", code, out)
	}
}

// TestCgroupRemoveOldLayout removes groups the way older versions created them, in every
// hierarchy (blkio, cpuset and systemd's named one included): empty, and with a process
// left in them.
func TestCgroupRemoveOldLayout(t *testing.T) {
	requireV1(t)
	createOld := func(id string) cgroup1.Cgroup {
		t.Helper()
		cg, err := cgroup1.New(cgroup1.StaticPath(cgroupParent+"/"+id), resources(&Spec{}), cgroup1.WithHierarchy(v1Hierarchy))
		if err != nil {
			t.Fatal(err)
		}
		in := hierarchiesWith(t, id)
		for _, h := range []string{"blkio", "cpuset", "systemd"} {
			if fileExists(filepath.Join(cgroupMountpoint, h)) && !slices.Contains(in, h) {
				t.Fatalf("old layout not in %s: %v", h, in)
			}
		}
		return cg
	}

	id := testCgroupID(t, "old-empty")
	createOld(id)
	if !removeEmptyCgroup(id) {
		t.Error("removeEmptyCgroup failed on an empty old-layout group")
	}
	if left := hierarchiesWith(t, id); len(left) != 0 {
		t.Errorf("left in %v", left)
	}

	// A process in every hierarchy: teardown kills it and removes them all.
	id = testCgroupID(t, "old-busy")
	cg := createOld(id)
	cmd := exec.Command("sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }() // reaps it, so it leaves the groups
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	if err := cg.Add(cgroup1.Process{Pid: cmd.Process.Pid}); err != nil {
		t.Fatal(err)
	}
	c := &Container{ID: id, dir: t.TempDir()}
	if err := c.teardown(); err != nil {
		t.Fatal(err)
	}
	if left := hierarchiesWith(t, id); len(left) != 0 {
		t.Errorf("left in %v after teardown", left)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Error("the process in the old-layout group survived teardown")
	}
}

// BenchmarkCgroupCreateRemove is a container's cgroup from creation to removal, as a start
// and the monitor's teardown do it: without limits (`run --rm IMAGE /bin/true`) and with
// memory, CPU and pids limits.
func BenchmarkCgroupCreateRemove(b *testing.B) {
	testutil.RequireRoot(b)
	for _, bc := range []struct {
		name string
		spec Spec
	}{
		{"Defaults", Spec{}},
		{"Limits", Spec{Memory: 64 << 20, CPUs: 0.5, PidsLimit: 100}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				id := fmt.Sprintf("bench-%d-%d", os.Getpid(), i)
				if _, err := createCgroup(id, &bc.spec); err != nil {
					b.Fatal(err)
				}
				if !removeEmptyCgroup(id) {
					b.Fatalf("cgroup %s not removed", id)
				}
			}
		})
	}
}
