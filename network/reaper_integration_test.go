//go:build integration

package network

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/stackhq/stack/internal/testutil"
	"github.com/vishvananda/netlink"
)

// eventually polls cond every 20 ms until it returns nil, or fails the test after d.
func eventually(t *testing.T, d time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reaperRunning reports whether the reaper that the pid file of network records runs.
func reaperRunning(m *Manager, network string) bool {
	_, ok := aliveFromPidFile(m.reaperPidFile(network))
	return ok
}

// An AutoRemove network outlives its last endpoint by the delay: a container connected
// meanwhile gets the same network (bridge and rules kept), one still connected when the
// delay is over keeps it, and once it has been idle for the delay the reaper removes it
// and exits.
func TestAutoRemoveNetworkLingers(t *testing.T) {
	ctx := context.Background()
	m := newManager(t)
	m.autoRemoveDelay = 400 * time.Millisecond
	n, err := m.Ensure(ctx, defaultNetworkConfig)
	must(t, err)
	ns := testutil.NewNetns(t)
	_, err = m.Connect(ctx, DefaultNetwork, "c1", ns, ConnectOptions{})
	must(t, err)
	must(t, m.Disconnect(ctx, DefaultNetwork, "c1"))
	if !reaperRunning(m, DefaultNetwork) {
		t.Fatal("no reaper after the last endpoint left")
	}
	_, err = m.Connect(ctx, DefaultNetwork, "c2", ns, ConnectOptions{})
	must(t, err)
	again, err := m.Get(DefaultNetwork)
	must(t, err)
	if !again.Created.Equal(n.Created) || again.Bridge != n.Bridge {
		t.Fatalf("the network was made again: %+v, was %+v", again, n)
	}

	// Still in use when the delay is over: the reaper leaves, the network stays.
	eventually(t, 5*time.Second, "the reaper of a network in use exits", func() error {
		if reaperRunning(m, DefaultNetwork) || len(roleProcesses(t, ReaperRole, filepath.Dir(m.st.dir))) > 0 {
			return errors.New("still running")
		}
		return nil
	})
	if _, err := m.Get(DefaultNetwork); err != nil {
		t.Fatalf("the network in use was removed: %v", err)
	}

	must(t, m.Disconnect(ctx, DefaultNetwork, "c2"))
	if _, err := m.Get(DefaultNetwork); err != nil {
		t.Fatalf("removed at once, not after the delay: %v", err)
	}
	eventually(t, 5*time.Second, "the idle network is removed", func() error {
		if _, err := m.Get(DefaultNetwork); !errors.Is(err, ErrNotFound) {
			return errors.New("still recorded")
		}
		if pids := roleProcesses(t, ReaperRole, filepath.Dir(m.st.dir)); len(pids) > 0 {
			return errors.New("reaper still running")
		}
		return nil
	})
	assertClean(t, m)
}

// Sweep leaves an idle AutoRemove network to its reaper while it runs, and removes the
// network itself once the reaper is gone (killed); Remove (network rm and prune) stops the
// reaper and removes the network at once.
func TestSweepAndRemoveWithReaper(t *testing.T) {
	ctx := context.Background()
	m := newManager(t)
	m.autoRemoveDelay = time.Hour
	linger := func() int {
		t.Helper()
		_, err := m.Ensure(ctx, defaultNetworkConfig)
		must(t, err)
		_, err = m.Connect(ctx, DefaultNetwork, "c1", testutil.NewNetns(t), ConnectOptions{})
		must(t, err)
		must(t, m.Disconnect(ctx, DefaultNetwork, "c1"))
		pid, ok := aliveFromPidFile(m.reaperPidFile(DefaultNetwork))
		if !ok {
			t.Fatal("no reaper after the last endpoint left")
		}
		return pid
	}
	pid := linger()
	must(t, m.Sweep(ctx, func(string) bool { return false }))
	if _, err := m.Get(DefaultNetwork); err != nil || !reaperRunning(m, DefaultNetwork) {
		t.Fatalf("Sweep took the network from its running reaper: %v", err)
	}
	must(t, syscall.Kill(pid, syscall.SIGKILL))
	eventually(t, 5*time.Second, "the killed reaper is gone", func() error {
		if processRunning(pid) {
			return errors.New("still running")
		}
		return nil
	})
	must(t, m.Sweep(ctx, func(string) bool { return false }))
	if _, err := m.Get(DefaultNetwork); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Sweep kept a network whose reaper died: %v", err)
	}
	assertClean(t, m)

	linger()
	must(t, m.Remove(ctx, DefaultNetwork))
	if pids := roleProcesses(t, ReaperRole, filepath.Dir(m.st.dir)); len(pids) > 0 {
		t.Errorf("reaper still running after Remove: %v", pids)
	}
	assertClean(t, m)
}

// A store root deleted while its default network lingers (a test's temporary root, a
// benchmark's) takes the network's kernel objects and its reaper with it: the reaper finds
// the record gone, deletes the bridge and the rules, and creates nothing in the root.
func TestReaperCleansUpDeletedRoot(t *testing.T) {
	testutil.RequireRoot(t)
	ctx := context.Background()
	root, err := os.MkdirTemp("", "stack-test-")
	must(t, err)
	m, err := Open(root, filepath.Join(root, "run"))
	must(t, err)
	m.autoRemoveDelay = time.Hour
	n, err := m.Ensure(ctx, defaultNetworkConfig)
	must(t, err)
	_, err = m.Connect(ctx, DefaultNetwork, "c1", testutil.NewNetns(t), ConnectOptions{})
	must(t, err)
	must(t, m.Disconnect(ctx, DefaultNetwork, "c1"))
	t.Cleanup(func() { // whatever the outcome: nothing of the root may stay
		_ = deleteLink(n.Bridge)
		_ = m.syncRules(nil, nil)
		_ = os.RemoveAll(root)
	})
	pid, ok := aliveFromPidFile(m.reaperPidFile(DefaultNetwork))
	if !ok {
		t.Fatal("no reaper after the last endpoint left")
	}
	start, err := procStartTime(pid)
	must(t, err)
	t.Cleanup(func() {
		if got, err := procStartTime(pid); err == nil && got == start {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})

	must(t, os.RemoveAll(root))
	deleted := time.Now()
	eventually(t, 2*time.Second, "the deleted root's network is gone from the host", func() error {
		if _, err := netlink.LinkByName(n.Bridge); err == nil {
			return errors.New("bridge " + n.Bridge + " still there")
		}
		c, err := nftables.New()
		if err != nil {
			return err
		}
		if tab, err := c.ListTableOfFamily(m.tableName(), nftables.TableFamilyIPv4); err == nil && tab != nil {
			return errors.New("table " + m.tableName() + " still there")
		}
		if got, err := procStartTime(pid); err == nil && got == start && processRunning(pid) {
			return errors.New("reaper still running")
		}
		return nil
	})
	t.Logf("gone %v after the root", time.Since(deleted).Round(time.Millisecond))
	if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the reaper made the root again: %v", err)
	}
}
