// Package network connects containers: one Linux bridge per network with its own subnet,
// a veth pair per container and network, addresses from a pure IPAM with leases on disk,
// nftables rules for outbound NAT, isolation and published ports, and a small DNS server per
// network for service discovery (except on DefaultNetwork, whose containers use the host's
// resolvers, as on Docker's default bridge).
//
// Every decision a Manager makes is serialized by one flock(2) on the store directory
// (<root>/networks/.lock), across goroutines and processes, and every mutation follows the
// same order: decide (pure functions in ipam.go), record the decision on disk, then change
// the kernel, and undo both on error. A container's own veth pair is the exception to
// holding the lock while the kernel changes: it is made and deleted outside it (see Connect). A process killed in the middle leaves records that name
// what it created; Sweep, given which containers are alive, removes the rest.
package network

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/stackhq/stack/internal/statefile"
)

// Manager owns the networks of one store root.
type Manager struct {
	st           store
	runDir       string       // <rundir>/networks: DNS servers' pid and log files
	storeHash    string       // tags kernel objects (link aliases, nft table, rule comments)
	defaultStore bool         // the store at /var/lib/stack owns the plain `ip stack` table
	leases       leaseBatcher // groups the leases of concurrent Connects (lease.go)
	// autoRemoveDelay is how long an AutoRemove network outlives its last endpoint (reaper.go).
	autoRemoveDelay time.Duration
	// Exe is the binary started as `Exe dns <state file> <address>` for each network's DNS
	// server, and as `Exe netreap ...` for the reaper of an AutoRemove network; Open sets it
	// to the running executable, whose main must dispatch DNSRole to DNSMain and ReaperRole
	// to ReaperMain before anything else.
	Exe string
}

// Config describes a network to create.
type Config struct {
	Name string
	// Subnet and Gateway: "" chooses a free /24 from DefaultPools and its first address.
	Subnet, Gateway string
	// Internal networks have no route out: no default route, no masquerade, no forwarding.
	Internal bool
	Labels   map[string]string
	// Bridge names the bridge device; "" derives stk-<hash> (15 bytes is the kernel's limit).
	Bridge string
	// AutoRemove removes the network once it has had no endpoint for a few seconds (a
	// reaper process waits for that, see reaper.go; Remove, and Sweep when the reaper is
	// gone, do it at once): for networks stack creates implicitly, like DefaultNetwork.
	AutoRemove bool
	// DisableDNS gives the network no DNS server: its containers resolve through the host's
	// resolvers and find no one by name. DefaultNetwork is made so, as Docker's default
	// bridge is (only user-defined networks resolve container names there); it spares
	// every `run` on it the start of a server process.
	DisableDNS bool
}

// ConnectOptions tune one container's endpoint.
type ConnectOptions struct {
	// IfName is the interface name inside the container; "" picks the first free ethN.
	IfName string
	// Aliases and Hostname are the names the DNS server of the network answers for (the
	// caller passes the service name, the container name and the user's aliases).
	Aliases  []string
	Hostname string
	// PreferIP is used when free: a recreated container keeps its previous address.
	PreferIP netip.Addr
}

// nameRE is compiled on first use: package initialisation runs in every process of the
// binary (each container's monitor and init), and the bounded repetition makes this one a
// large program (~60 KiB of heap).
var nameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`) })

// Open returns the Manager of the store at root; runDir is the volatile state directory
// (/run/stack for the default root, else <root>/run).
func Open(root, runDir string) (*Manager, error) {
	m, err := managerAt(root, runDir)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{m.st.dir, m.runDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open network store: %w", err)
		}
	}
	if m.Exe, err = os.Executable(); err != nil {
		return nil, fmt.Errorf("open network store: find own executable: %w", err)
	}
	return m, nil
}

// managerAt returns the Manager of the store at root without touching the disk (Open makes
// the store's directories; a reaper must not).
func managerAt(root, runDir string) (*Manager, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("open network store: %w", err)
	}
	dir := filepath.Join(root, "networks")
	return &Manager{
		st:              store{dir: dir},
		runDir:          filepath.Join(runDir, "networks"),
		storeHash:       shortHash(dir),
		defaultStore:    root == "/var/lib/stack",
		autoRemoveDelay: defaultAutoRemoveDelay,
	}, nil
}

// Get returns the stored network name.
func (m *Manager) Get(name string) (*Network, error) { return m.st.loadNetwork(name) }

// List returns every network of the store, by name.
func (m *Manager) List() ([]*Network, error) { return m.st.listNetworks() }

// Ensure returns the network cfg.Name, creating it when it does not exist: choose the subnet
// (free of every prefix routed on the host and of the store's other networks), record it,
// create the bridge, rebuild the rules. On an existing network it repairs the bridge and
// rules (after a reboot the bridge is gone, the record is not) and refuses a cfg whose
// explicit subnet, gateway or internal flag differ (ErrExists).
func (m *Manager) Ensure(ctx context.Context, cfg Config) (_ *Network, retErr error) {
	if !nameRE().MatchString(cfg.Name) {
		return nil, fmt.Errorf("network name %q: use letters, digits, '_', '.', '-' (at most 64): %w", cfg.Name, ErrInvalid)
	}
	unlock, err := m.st.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if n, err := m.st.loadNetwork(cfg.Name); err == nil {
		if err := sameConfig(n, cfg); err != nil {
			return nil, err
		}
		if err := m.ensureBridge(n); err != nil {
			return nil, err
		}
		return n, m.syncAll()
	}
	unlockSubnets, err := statefile.Lock(subnetLockPath)
	if err != nil {
		return nil, err
	}
	defer unlockSubnets()
	n, err := m.planNetwork(cfg)
	if err != nil {
		return nil, err
	}
	if err := m.st.saveNetwork(n); err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			_ = deleteLink(n.Bridge)
			_ = m.st.deleteNetwork(n.Name)
			_ = m.syncAll()
		}
	}()
	if err := m.ensureBridge(n); err != nil {
		return nil, fmt.Errorf("create network %s: %w", n.Name, err)
	}
	if err := m.syncAll(); err != nil {
		return nil, fmt.Errorf("create network %s: %w", n.Name, err)
	}
	return n, nil
}

func sameConfig(n *Network, cfg Config) error {
	differs := func(what string) error {
		return fmt.Errorf("network %s exists with another %s: %w", n.Name, what, ErrExists)
	}
	switch {
	case cfg.Subnet != "" && cfg.Subnet != n.Subnet.String():
		return differs("subnet (" + n.Subnet.String() + ")")
	case cfg.Gateway != "" && cfg.Gateway != n.Gateway.String():
		return differs("gateway (" + n.Gateway.String() + ")")
	case cfg.Internal != n.Internal:
		return differs("internal setting")
	case cfg.DisableDNS == n.DNSEnabled:
		return differs("DNS setting")
	}
	return nil
}

// planNetwork decides the subnet, gateway and bridge name of a new network.
func (m *Manager) planNetwork(cfg Config) (*Network, error) {
	used, err := hostPrefixes()
	if err != nil {
		return nil, err
	}
	nets, err := m.st.listNetworks()
	if err != nil {
		return nil, err
	}
	for _, o := range nets {
		used = append(used, o.Subnet)
	}
	n := &Network{Name: cfg.Name, Internal: cfg.Internal, AutoRemove: cfg.AutoRemove, DNSEnabled: !cfg.DisableDNS,
		Labels: cfg.Labels, Created: time.Now().UTC(), Endpoints: map[string]*Endpoint{}, Bridge: cfg.Bridge}
	if n.Bridge == "" {
		n.Bridge = bridgePrefix + shortHash(m.st.dir, cfg.Name)
	}
	if len(n.Bridge) > 15 {
		return nil, fmt.Errorf("bridge name %q: longer than 15 bytes: %w", n.Bridge, ErrInvalid)
	}
	var gw netip.Addr
	if cfg.Gateway != "" {
		if gw, err = netip.ParseAddr(cfg.Gateway); err != nil {
			return nil, fmt.Errorf("parse gateway %q: %w", cfg.Gateway, ErrInvalid)
		}
	}
	if cfg.Subnet == "" {
		if gw.IsValid() {
			return nil, fmt.Errorf("gateway %s without a subnet: %w", gw, ErrInvalid)
		}
		if n.Subnet, err = PlanSubnet(DefaultPools, DefaultSubnetBits, used); err != nil {
			return nil, err
		}
		n.Gateway = n.Subnet.Addr().Next()
		return n, nil
	}
	if n.Subnet, err = netip.ParsePrefix(cfg.Subnet); err != nil {
		return nil, fmt.Errorf("parse subnet %q: %w", cfg.Subnet, ErrInvalid)
	}
	if n.Gateway, err = CheckSubnet(n.Subnet, gw, used); err != nil {
		return nil, err
	}
	return n, nil
}

// Remove deletes a network without endpoints: reaper, DNS server (if any), bridge, record,
// rules.
func (m *Manager) Remove(ctx context.Context, name string) error {
	unlock, err := m.st.lock()
	if err != nil {
		return err
	}
	defer unlock()
	n, err := m.st.loadNetwork(name)
	if err != nil {
		return err
	}
	if len(n.Endpoints) > 0 {
		return fmt.Errorf("remove network %s: %d container(s) still connected: %w", name, len(n.Endpoints), ErrInUse)
	}
	return m.removeNetwork(n)
}

// removeNetwork tears n down; the caller holds the lock and has checked it has no endpoints.
// The reaper goes first: a record that disappears under it means a deleted store.
func (m *Manager) removeNetwork(n *Network) error {
	if n.AutoRemove {
		if err := m.stopReaper(n.Name); err != nil {
			return err
		}
	}
	if n.DNSEnabled {
		if err := m.removeDNS(n.Name); err != nil {
			return err
		}
	}
	if err := deleteLink(n.Bridge); err != nil {
		return fmt.Errorf("remove network %s: %w", n.Name, err)
	}
	if err := m.st.deleteNetwork(n.Name); err != nil {
		return err
	}
	return m.syncAll()
}

// Connect gives the container whose network namespace is pinned at netnsPath an interface
// on network: lease an address (recorded first), create and configure the veth pair, start
// the network's DNS server if it has one and it is not running. Connecting a container that already has an
// endpoint on the network returns that endpoint.
//
// Only the lease holds the store lock: it is the one decision several containers must not
// make at once. The veth pair (tens of milliseconds of kernel work) is made after the lock is
// released, so containers starting together are plugged in in parallel; their links cannot
// collide, the names derive from (store, network, container). The recorded endpoint keeps
// the network and its bridge in place meanwhile (Disconnect and Remove see it in use, Sweep
// keeps its veth), and a failure undoes it through Disconnect. The DNS server's start (an
// exec, tens of milliseconds, once per network) has a lock of its own (see ensureDNS).
func (m *Manager) Connect(ctx context.Context, network, containerID, netnsPath string, opts ConnectOptions) (_ *Endpoint, retErr error) {
	h, err := nsHandle(netnsPath)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	ifName := opts.IfName
	if ifName == "" {
		if ifName, err = nextIfName(h, netnsPath); err != nil {
			return nil, err
		}
	}
	r := m.batch(&leaseOp{network: network, containerID: containerID, netnsPath: netnsPath, ifName: ifName, opts: opts})
	if r.err != nil || !r.leased {
		return r.e, r.err
	}
	n, e := r.n, r.e
	defer func() {
		if retErr != nil {
			_ = m.Disconnect(context.WithoutCancel(ctx), network, containerID)
		}
	}()
	if err := m.createEndpointLinks(n, e, h); err != nil {
		return nil, fmt.Errorf("connect %s to %s: %w", containerID, network, err)
	}
	if !n.DNSEnabled {
		return e, nil
	}
	if err := m.ensureDNS(n); err != nil {
		return nil, fmt.Errorf("connect %s to %s: %w", containerID, network, err)
	}
	return e, nil
}

// Disconnect removes the container's endpoint: the veth pair (deleting the host end takes
// the container end with it), then the lease. The last endpoint stops the DNS server, or
// starts the reaper of an AutoRemove network.
//
// The veth is deleted without the store lock (the kernel's part takes tens of milliseconds,
// and containers removed together should not queue for it); the lease is dropped under the
// lock afterwards (see batch), so the record still names the link until it is gone.
func (m *Manager) Disconnect(ctx context.Context, network, containerID string) error {
	n, err := m.st.loadNetwork(network)
	if err != nil {
		return err
	}
	e, ok := n.Endpoints[containerID]
	if !ok {
		return fmt.Errorf("disconnect %s from %s: endpoint %w", containerID, network, ErrNotFound)
	}
	if err := deleteLink(e.HostVeth); err != nil {
		return fmt.Errorf("disconnect %s from %s: %w", containerID, network, err)
	}
	return m.batch(&leaseOp{network: network, containerID: containerID, release: true}).err
}

// syncAll rebuilds the nftables table from the stored networks and ports.
func (m *Manager) syncAll() error {
	nets, err := m.st.listNetworks()
	if err != nil {
		return err
	}
	ports, err := m.st.loadPorts()
	if err != nil {
		return err
	}
	return m.syncRules(nets, ports)
}
