package network

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Sweep repairs the store after crashes, given which containers are alive. In order:
//
//  1. endpoints of dead containers: delete their veth (if any survived), drop the lease;
//  2. published ports of dead containers;
//  3. networks left without endpoints: stop the DNS server, and remove AutoRemove networks
//     (bridge and record) unless their reaper runs (it removes them when their delay is
//     over; Remove does at once); networks with endpoints get their bridge and DNS server
//     (if they have one) back;
//  4. links of this store (by alias) that no record names: bridges of networks whose
//     record is gone, veths of endpoints never recorded or already dropped;
//  5. DNS servers and reapers of networks that no longer exist;
//  6. the nftables table, rebuilt from what remains (or deleted).
//
// It holds the store lock throughout. A Connect in progress has recorded its endpoint before
// it makes the veth, so the veth of a living container is kept even while it is being made.
func (m *Manager) Sweep(ctx context.Context, alive func(containerID string) bool) error {
	unlock, err := m.st.lock()
	if err != nil {
		return err
	}
	defer unlock()
	nets, err := m.st.listNetworks()
	if err != nil {
		return err
	}
	var errs []error
	keep := map[string]bool{}
	var remaining []*Network
	for _, n := range nets {
		changed := false
		for id, e := range n.Endpoints {
			if alive(id) {
				keep[e.HostVeth] = true
				continue
			}
			if err := deleteLink(e.HostVeth); err != nil {
				errs = append(errs, err)
				keep[e.HostVeth] = true
				continue
			}
			delete(n.Endpoints, id)
			changed = true
		}
		if changed {
			if err := m.st.saveEndpoints(n); err != nil {
				errs = append(errs, err)
			}
		}
		_, reaperRunning := aliveFromPidFile(m.reaperPidFile(n.Name))
		switch {
		case len(n.Endpoints) > 0:
			keep[n.Bridge] = true
			remaining = append(remaining, n)
			if err := m.ensureBridge(n); err != nil {
				errs = append(errs, err)
			} else if n.DNSEnabled {
				if err := m.ensureDNS(n); err != nil {
					errs = append(errs, err)
				}
			}
		case n.AutoRemove && !reaperRunning:
			if err := m.stopReaper(n.Name); err != nil { // the pid file of one that died
				errs = append(errs, err)
			}
			if n.DNSEnabled {
				if err := m.removeDNS(n.Name); err != nil {
					errs = append(errs, err)
				}
			}
			if err := deleteLink(n.Bridge); err != nil {
				errs = append(errs, err)
			}
			if err := m.st.deleteNetwork(n.Name); err != nil {
				errs = append(errs, err)
			}
		default:
			keep[n.Bridge] = true
			remaining = append(remaining, n)
			if n.DNSEnabled {
				if err := m.stopDNS(n.Name); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}

	ports, err := m.st.loadPorts()
	if err != nil {
		return err
	}
	portsChanged := false
	for id := range ports {
		if !alive(id) {
			delete(ports, id)
			portsChanged = true
		}
	}
	if portsChanged {
		if err := m.st.savePorts(ports); err != nil {
			errs = append(errs, err)
		}
	}

	links, err := m.ownLinks()
	if err != nil {
		errs = append(errs, err)
	}
	for name, l := range links {
		if keep[name] {
			continue
		}
		if err := netlink.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) { // gone meanwhile
			errs = append(errs, fmt.Errorf("sweep link %s: %w", name, err))
		}
	}

	for suffix, stop := range map[string]func(string) error{".dns.pid": m.removeDNS, ".reaper.pid": m.stopReaper} {
		pidFiles, _ := filepath.Glob(filepath.Join(m.runDir, "*"+suffix))
		for _, f := range pidFiles {
			name := strings.TrimSuffix(filepath.Base(f), suffix)
			if _, err := m.st.loadNetwork(name); errors.Is(err, ErrNotFound) {
				if err := stop(name); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}

	if err := m.syncRules(remaining, ports); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sweep networks: %w", err)
	}
	return nil
}
