package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// On-disk state, under <root>/networks:
//
//	.lock             flock(2) taken (exclusive) by every mutation, across processes
//	<name>.json       one Network: its config, subnet and every endpoint (its leases)
//	ports.json        published ports, by container ID
//
// Every file is written with CreateTemp + Rename, so a reader (the DNS server re-reads the
// network file when it changes) sees the old or the new content, never a torn one. State is
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
func (s store) lock() (func(), error) { return lockFile(filepath.Join(s.dir, ".lock")) }

// subnetLockPath is the lock every store on the host takes while it chooses a subnet and
// gives the new bridge its address. The routing table that PlanSubnet checks is the host's,
// shared by every store (each test has its own root): two stores reading it at once would
// both find the same subnet free. Taken inside the store's lock, never the other way round.
const subnetLockPath = "/run/stack-subnets.lock"

// lockFile takes an exclusive flock on path, creating the file.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open network lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil
}

func (s store) networkPath(name string) string { return filepath.Join(s.dir, name+".json") }

func (s store) loadNetwork(name string) (*Network, error) {
	var n Network
	if err := readJSON(s.networkPath(name), &n); err != nil {
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

func (s store) saveNetwork(n *Network) error { return writeJSON(s.networkPath(n.Name), n) }

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
	if err := readJSON(filepath.Join(s.dir, "ports.json"), &m); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return m, nil
}

func (s store) savePorts(m map[string]publishedSet) error {
	return writeJSON(filepath.Join(s.dir, "ports.json"), m)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// writeJSON replaces path atomically: CreateTemp in the same directory, write, fsync, rename.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return replaceFile(path, append(b, '\n'), true)
}

// replaceFile replaces path with data through a temporary file of its own in the same
// directory and a rename (fsynced first when sync is set), so concurrent writers never
// share a temporary file and readers see the old or the new content.
func replaceFile(path string, data []byte, sync bool) (retErr error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if retErr != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("sync %s: %w", path, err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("rename %s: %w", path, err)
	}
	return nil
}
