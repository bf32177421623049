package network

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/stackhq/stack/internal/statefile"
)

// On-disk state, under <root>/networks:
//
//	.lock             flock(2) taken (exclusive) by every mutation, across processes
//	<name>.json       one Network: its config, subnet and every endpoint (its leases)
//	ports.json        published ports, by container ID
//
// Every file is written through internal/statefile (temporary file + rename), so a reader (the DNS server re-reads the
// network file when it changes) sees the old or the new content, never a torn one; only a
// network's creation is flushed to disk first (leases and ports die with the kernel objects
// they describe, see saveEndpoints). State is
// written before the kernel objects it describes are created and removed after they are
// deleted: a crash in between leaves a record that Sweep can act on, never an orphan
// without one.

// Network is one bridge network as stored on disk.
type Network struct {
	Name       string            `json:"name"`
	Bridge     string            `json:"bridge"`
	Subnet     netip.Prefix      `json:"subnet"`
	Gateway    netip.Addr        `json:"gateway"`
	Internal   bool              `json:"internal,omitempty"`
	AutoRemove bool              `json:"autoRemove,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	Created    time.Time         `json:"created"`
	// DNSEnabled networks run a DNS server that answers for their containers' names
	// (dns.go). It is written even when false, so `network inspect` shows which networks
	// have none (the default network: its containers use the host's resolvers).
	DNSEnabled bool `json:"dnsEnabled"`
	// LastIP is the address handed out most recently (Allocate searches after it).
	LastIP netip.Addr `json:"lastIP,omitzero"`
	// Endpoints by container ID: the network's leases.
	Endpoints map[string]*Endpoint `json:"endpoints,omitempty"`
}

// Endpoint is one container's interface on a network.
type Endpoint struct {
	ContainerID string     `json:"containerID"`
	IP          netip.Addr `json:"ip"`
	IfName      string     `json:"ifName"`
	HostVeth    string     `json:"hostVeth"`
	Aliases     []string   `json:"aliases,omitempty"`
	Hostname    string     `json:"hostname,omitempty"`
	NetnsPath   string     `json:"netns"`
}

// Names returns the DNS names the endpoint answers to on its network.
func (e *Endpoint) Names() []string {
	names := append([]string{}, e.Aliases...)
	if e.Hostname != "" {
		names = append(names, e.Hostname)
	}
	return names
}

// sortedEndpoints returns the endpoints ordered by address (stable output and DNS answers).
func (n *Network) sortedEndpoints() []*Endpoint {
	eps := make([]*Endpoint, 0, len(n.Endpoints))
	for _, e := range n.Endpoints {
		eps = append(eps, e)
	}
	sort.Slice(eps, func(i, j int) bool { return eps[i].IP.Less(eps[j].IP) })
	return eps
}

// store reads and writes the files under one directory.
type store struct{ dir string }

// lock takes the exclusive lock of the store; the returned function releases it. Each call
// opens its own file description, so goroutines of one process exclude each other too.
func (s store) lock() (func(), error) { return statefile.Lock(s.lockPath()) }

func (s store) lockPath() string { return filepath.Join(s.dir, ".lock") }

// subnetLockPath is the lock every store on the host takes while it chooses a subnet and
// gives the new bridge its address. The routing table that PlanSubnet checks is the host's,
// shared by every store (each test has its own root): two stores reading it at once would
// both find the same subnet free. Taken inside the store's lock, never the other way round.
const subnetLockPath = "/run/stack-subnets.lock"

func (s store) networkPath(name string) string { return filepath.Join(s.dir, name+".json") }

func (s store) loadNetwork(name string) (*Network, error) {
	// Records written before DNSEnabled existed lack it, and every network had DNS then.
	n := Network{DNSEnabled: true}
	if err := statefile.ReadJSON(s.networkPath(name), &n); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("network %s: %w", name, ErrNotFound)
		}
		return nil, err
	}
	if n.Endpoints == nil {
		n.Endpoints = map[string]*Endpoint{}
	}
	return &n, nil
}

// saveNetwork writes a network's record durably (fsync before the rename): a network the
// user created must survive a power loss.
func (s store) saveNetwork(n *Network) error {
	return statefile.WriteJSON(s.networkPath(n.Name), n, 0o600, true)
}

// saveEndpoints writes a network's record after a change of its endpoints only, without the
// fsync: leases describe veths and namespaces, which a power loss takes with it, and Sweep
// reconciles them with the living containers anyway. Connecting and disconnecting do this
// under the store lock, where a disk flush would make every container wait for it.
func (s store) saveEndpoints(n *Network) error {
	return statefile.WriteJSON(s.networkPath(n.Name), n, 0o600, false)
}

func (s store) deleteNetwork(name string) error {
	if err := os.Remove(s.networkPath(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove network state: %w", err)
	}
	return nil
}

func (s store) listNetworks() ([]*Network, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	var out []*Network
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || name == "ports" || strings.HasPrefix(name, ".") {
			continue
		}
		n, err := s.loadNetwork(name)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// publishedSet is what ports.json holds for one container.
type publishedSet struct {
	IP    netip.Addr `json:"ip"`
	Ports []Port     `json:"ports"`
}

func (s store) loadPorts() (map[string]publishedSet, error) {
	m := map[string]publishedSet{}
	if err := statefile.ReadJSON(filepath.Join(s.dir, "ports.json"), &m); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return m, nil
}

func (s store) savePorts(m map[string]publishedSet) error {
	return statefile.WriteJSON(filepath.Join(s.dir, "ports.json"), m, 0o600, false) // volatile, as leases are
}
