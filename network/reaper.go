package network

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
)

// An AutoRemove network (DefaultNetwork) outlives its last endpoint by a delay, so that
// back-to-back `run --rm` reuse its bridge and rules: creating them and, above all, deleting
// them (the kernel waits for RCU grace periods to unregister a bridge and the netfilter
// hooks of the nftables table) costs more than the rest of a short container's network.
// Nothing may outlive the store, though, even a store root that a test or a script deletes
// right after its last container. So the last Disconnect starts a reaper, a hidden role of
// the stack binary (`stack netreap ROOT RUNDIR NETWORK BRIDGE DELAY`), detached like the DNS
// servers and recorded in <rundir>/networks/<name>.reaper.pid ("<pid> <start time>"). It
//
//	polls the network's record every reaperPoll   (a stat; the record changes with every
//	                                                endpoint, so its mtime is the last use)
//	record unchanged for DELAY, no endpoint        removes the network (bridge, record, rules)
//	an endpoint at that moment                     exits; the next last Disconnect starts
//	                                               another reaper
//	record gone                                    the store was deleted: deletes the bridge
//	                                               and the rules itself, and exits
//
// Decisions are taken under the store lock, where the Disconnect that would start another
// reaper checks for this one: a reaper that exits removes its pid file first. Remove stops
// the reaper before it deletes the record (and Sweep removes an idle AutoRemove network only
// when its reaper is gone), so a record that disappears under a running reaper means the
// store itself is gone. The reaper creates no file or directory (it must not re-create parts
// of a root that is being deleted; the store lock's file exists once a Disconnect took it,
// and a missing one means the store is going), and its errors go nowhere: a network it fails
// to remove stays, without a reaper, and the next Sweep removes it or says why.

// ReaperRole is the hidden first argument that makes the stack binary an AutoRemove network's
// reaper; main dispatches it to ReaperMain before anything else, as DNSRole.
const ReaperRole = "netreap"

// defaultAutoRemoveDelay is how long an AutoRemove network stays without endpoints before
// its reaper removes it: long enough for the next `run` of a script or a test, short enough
// that the bridge of an interactive run does not stay for long.
const defaultAutoRemoveDelay = 5 * time.Second

// reaperPoll bounds how long the bridge and the rules of a deleted store root survive it.
const reaperPoll = 100 * time.Millisecond

func (m *Manager) reaperPidFile(network string) string {
	return filepath.Join(m.runDir, network+".reaper.pid")
}

// ensureReaper starts the reaper of the AutoRemove network n, just left without endpoints,
// unless it runs. The caller holds the store lock.
func (m *Manager) ensureReaper(n *Network) error {
	pidFile := m.reaperPidFile(n.Name)
	if _, ok := aliveFromPidFile(pidFile); ok {
		return nil
	}
	cmd := exec.Command(m.Exe, ReaperRole, filepath.Dir(m.st.dir), filepath.Dir(m.runDir), n.Name, n.Bridge, m.autoRemoveDelay.String())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Dir = "/" // not the caller's directory, which it would keep busy
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start reaper of %s: %s: %w", n.Name, m.Exe, err)
	}
	go cmd.Wait() // reap it if it ends while this process lives
	if err := writePidFile(pidFile, cmd.Process.Pid); err != nil {
		_ = cmd.Process.Kill()
		return fmt.Errorf("start reaper of %s: %w", n.Name, err)
	}
	return nil
}

// stopReaper stops the reaper of a network, if it runs (unless it is this very process,
// removing the network itself), and removes its pid file. The caller holds the store lock.
func (m *Manager) stopReaper(network string) error {
	pidFile := m.reaperPidFile(network)
	if removeOwnPidFile(pidFile) {
		return nil
	}
	if err := stopRecorded(pidFile); err != nil {
		return fmt.Errorf("stop reaper of %s: %w", network, err)
	}
	return nil
}

// ReaperMain is the reaper role: args are the store root, its run directory, the network,
// its bridge and the delay (a time.Duration). It returns once the network is removed, in
// use again, or gone with its store.
func ReaperMain(args []string) error {
	if len(args) != 5 {
		return fmt.Errorf("usage: stack %s ROOT RUNDIR NETWORK BRIDGE DELAY: %w", ReaperRole, ErrInvalid)
	}
	delay, err := time.ParseDuration(args[4])
	if err != nil {
		return fmt.Errorf("reaper delay %q: %w", args[4], ErrInvalid)
	}
	m, err := managerAt(args[0], args[1]) // not Open: it would create the store's directories
	if err != nil {
		return err
	}
	return m.reap(args[2], args[3], delay)
}

// reap waits until the network has had no endpoint for delay and removes it (see the top of
// this file).
func (m *Manager) reap(network, bridge string, delay time.Duration) error {
	for {
		fi, err := os.Stat(m.st.networkPath(network))
		if errors.Is(err, fs.ErrNotExist) {
			return m.reapOrphan(network, bridge)
		}
		if err != nil {
			return err
		}
		if wait := delay - time.Since(fi.ModTime()); wait > 0 {
			time.Sleep(min(wait, reaperPoll))
			continue
		}
		if done, err := m.reapIdle(network, delay); done {
			return err
		}
	}
}

// reapIdle removes the network if it is still unused for delay, under the store lock. done
// is false when it was used meanwhile, or when its store is being deleted: reap goes on.
func (m *Manager) reapIdle(network string, delay time.Duration) (done bool, err error) {
	if _, err := os.Stat(m.st.lockPath()); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	unlock, err := m.st.lock()
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	defer unlock()
	n, err := m.st.loadNetwork(network)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	if len(n.Endpoints) > 0 {
		removeOwnPidFile(m.reaperPidFile(network))
		return true, nil
	}
	if fi, err := os.Stat(m.st.networkPath(network)); err == nil && time.Since(fi.ModTime()) < delay {
		return false, nil
	}
	return true, m.removeNetwork(n)
}

// reapOrphan removes what is left in the kernel of a network whose record is gone with its
// store: the bridge, if it is still this store's, and the store's rules, rebuilt from what
// is left of the store (nothing, once the deletion is through: the table goes). It takes no
// lock: the lock file would be created again in a directory that is being deleted.
func (m *Manager) reapOrphan(network, bridge string) error {
	defer removeOwnPidFile(m.reaperPidFile(network))
	link, err := netlink.LinkByName(bridge)
	if err != nil || link.Attrs().Alias != m.linkAlias(network, "") {
		return nil // removed with the record, or not ours
	}
	if err := deleteLink(bridge); err != nil {
		return err
	}
	nets, err := m.st.listNetworks()
	if err != nil {
		return m.syncRules(nil, nil)
	}
	ports, err := m.st.loadPorts()
	if err != nil {
		return m.syncRules(nil, nil)
	}
	return m.syncRules(nets, ports)
}
