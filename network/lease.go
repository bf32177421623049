package network

import (
	"fmt"
	"net/netip"
	"sync"
)

// Leases are the part of Connect and Disconnect that must hold the store lock: reading a
// network's record, choosing a free address or dropping one, and writing the record back.
// When many containers of one `stack up` connect at once, taking the lock, reading and
// writing the record once for each of them makes them queue behind one another (and, on a
// busy host, behind every goroutine the scheduler runs in between). So the operations of
// one process are committed in groups: an operation joins the queue, and whoever gets to
// commit next takes the store lock once for everything queued by then, reads each network
// concerned once, applies the operations in order, writes each record once and hands every
// operation its own result. The store lock still serializes processes; within a group, an
// operation that fails (no free address) fails alone.

// leaseOp is one queued lease (Connect) or release (Disconnect, release set).
type leaseOp struct {
	network, containerID string
	release              bool
	// A lease's interface inside the container and its options.
	netnsPath, ifName string
	opts              ConnectOptions

	done chan leaseResult
}

// leaseResult is what a leaseOp gets back. For a lease: the network as recorded (shared
// by the group: read-only), the endpoint, and whether it is new (false: the container was
// already connected and e is its endpoint).
type leaseResult struct {
	n      *Network
	e      *Endpoint
	leased bool
	err    error
}

// leaseBatcher queues the operations of one Manager (see the comment above).
type leaseBatcher struct {
	mu     sync.Mutex // guards queue
	queue  []*leaseOp
	commit sync.Mutex // held by the goroutine committing a group
}

// batch queues op, commits the queue unless another goroutine already took op with its
// group, and returns op's result.
func (m *Manager) batch(op *leaseOp) leaseResult {
	op.done = make(chan leaseResult, 1)
	b := &m.leases
	b.mu.Lock()
	b.queue = append(b.queue, op)
	b.mu.Unlock()
	b.commit.Lock()
	b.mu.Lock()
	group := b.queue
	b.queue = nil
	b.mu.Unlock()
	if len(group) > 0 {
		m.commitLeases(group)
	}
	b.commit.Unlock()
	return <-op.done
}

// commitLeases applies a group under the store lock, network by network, and answers every
// operation. After releases, a network left without endpoints stops its DNS server (if it
// has one), or gets its reaper when it is AutoRemove.
func (m *Manager) commitLeases(group []*leaseOp) {
	unlock, err := m.st.lock()
	if err != nil {
		for _, op := range group {
			op.done <- leaseResult{err: err}
		}
		return
	}
	defer unlock()
	var order []string
	byNet := map[string][]*leaseOp{}
	for _, op := range group {
		if byNet[op.network] == nil {
			order = append(order, op.network)
		}
		byNet[op.network] = append(byNet[op.network], op)
	}
	for _, name := range order {
		m.commitNetwork(name, byNet[name])
	}
}

// commitNetwork applies the operations on one network (see commitLeases).
func (m *Manager) commitNetwork(name string, ops []*leaseOp) {
	results := make([]leaseResult, len(ops))
	answer := func() {
		for i, op := range ops {
			op.done <- results[i]
		}
	}
	defer answer()
	fail := func(err error) {
		for i := range results {
			if results[i].err == nil {
				results[i] = leaseResult{err: err}
			}
		}
	}
	n, err := m.st.loadNetwork(name)
	if err != nil {
		fail(err)
		return
	}
	changed, released, checked := false, false, false
	var bridgeErr error
	for i, op := range ops {
		if op.release {
			if _, ok := n.Endpoints[op.containerID]; ok { // else dropped meanwhile (Sweep)
				delete(n.Endpoints, op.containerID)
				changed, released = true, true
			}
			continue
		}
		if e, ok := n.Endpoints[op.containerID]; ok {
			results[i] = leaseResult{n: n, e: e}
			continue
		}
		if !checked { // once per group: a lease promises a bridge to plug into
			bridgeErr, checked = m.ensureBridge(n), true
		}
		if bridgeErr != nil {
			results[i] = leaseResult{err: bridgeErr}
			continue
		}
		ip, err := Allocate(n.Subnet, n.Gateway, n.LastIP, op.opts.PreferIP, func(a netip.Addr) bool {
			for _, e := range n.Endpoints {
				if e.IP == a {
					return true
				}
			}
			return false
		})
		if err != nil {
			results[i] = leaseResult{err: fmt.Errorf("connect %s to %s: %w", op.containerID, name, err)}
			continue
		}
		e := &Endpoint{ContainerID: op.containerID, IP: ip, IfName: op.ifName, NetnsPath: op.netnsPath,
			HostVeth: vethPrefix + shortHash(m.st.dir, name, op.containerID), Aliases: op.opts.Aliases, Hostname: op.opts.Hostname}
		n.Endpoints[op.containerID] = e
		n.LastIP = ip
		results[i] = leaseResult{n: n, e: e, leased: true}
		changed = true
	}
	if !changed {
		return
	}
	if err := m.st.saveEndpoints(n); err != nil {
		fail(err)
		return
	}
	if !released || len(n.Endpoints) > 0 {
		return
	}
	switch {
	case n.AutoRemove:
		// A reaper that cannot start leaves the network to be removed now, as it was
		// before networks lingered.
		if m.ensureReaper(n) != nil {
			err = m.removeNetwork(n)
		}
	case n.DNSEnabled:
		err = m.stopDNS(n.Name)
	}
	if err != nil {
		for i, op := range ops {
			if op.release {
				results[i] = leaseResult{err: err}
			}
		}
	}
}
