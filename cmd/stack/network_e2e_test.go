//go:build e2e

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackhq/stack/internal/testutil"
	"github.com/stackhq/stack/network"
)

func TestNetworkCLI(t *testing.T) {
	testutil.RequireRoot(t)
	root := testutil.TempRoot(t)
	t.Cleanup(func() { testutil.Stack(t, root, "network", "prune", "-f") })
	if out, errOut, code := testutil.Stack(t, root, "network", "create", "--subnet", "10.89.250.0/24", "--label", "team=a", "e2enet"); code != 0 || out != "e2enet\n" {
		t.Fatalf("create: %q %q %d", out, errOut, code)
	}
	if _, _, code := testutil.Stack(t, root, "network", "create", "e2enet"); code != 0 {
		t.Fatalf("create again: exit %d, want 0 (idempotent)", code)
	}
	if _, errOut, code := testutil.Stack(t, root, "network", "create", "--internal", "e2enet"); code != 1 || !strings.Contains(errOut, "exists with another internal setting") {
		t.Fatalf("create with another config: %q %d", errOut, code)
	}
	out, _, _ := testutil.Stack(t, root, "network", "ls", "--format", "json")
	var nets []struct {
		Name, Subnet, Gateway, Bridge string
		Labels                        map[string]string
		DNSEnabled                    bool
	}
	if err := json.Unmarshal([]byte(out), &nets); err != nil || len(nets) != 1 || nets[0].Subnet != "10.89.250.0/24" ||
		nets[0].Gateway != "10.89.250.1" || nets[0].Labels["team"] != "a" || !nets[0].DNSEnabled {
		t.Fatalf("ls --format json: %s (%v)", out, err)
	}
	if _, errOut, code := testutil.Stack(t, root, "network", "ls", "--format", "yaml"); code != 1 || !strings.Contains(errOut, "--format") {
		t.Fatalf("bad --format: %q %d", errOut, code)
	}
	if out, _, code := testutil.Stack(t, root, "network", "rm", "e2enet"); code != 0 || out != "e2enet\n" {
		t.Fatalf("rm: %q %d", out, code)
	}
	if _, errOut, code := testutil.Stack(t, root, "network", "inspect", "e2enet"); code != 1 || !strings.Contains(errOut, "not found") {
		t.Fatalf("inspect after rm: %q %d", errOut, code)
	}
}

// The default network has no DNS server, as Docker's default bridge: inspect says so, its
// containers get the host's resolvers and no DNS server process runs for the root. It stays
// a moment after its last container, with its reaper, until network prune removes both.
func TestNetworkDefaultCLI(t *testing.T) {
	root := containerRoot(t)
	if _, errOut, code := testutil.Stack(t, root, "container", "run", "-d", "--name", "web", e2eImage, "sleep", "60"); code != 0 {
		t.Fatalf("run -d: %q %d", errOut, code)
	}
	out, errOut, code := testutil.Stack(t, root, "network", "inspect", "stack")
	var nets []struct {
		Name       string
		DNSEnabled *bool
		Endpoints  map[string]any
	}
	if err := json.Unmarshal([]byte(out), &nets); code != 0 || err != nil || len(nets) != 1 || nets[0].DNSEnabled == nil || *nets[0].DNSEnabled || len(nets[0].Endpoints) != 1 {
		t.Fatalf("inspect stack: want dnsEnabled false and one endpoint: %s %s (%v)", out, errOut, err)
	}
	resolv, _, code := testutil.Stack(t, root, "container", "exec", "web", "cat", "/etc/resolv.conf")
	host, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, l := range strings.Split(string(host), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "nameserver" && !strings.HasPrefix(f[1], "127.") && f[1] != "::1" {
			want = append(want, l)
		}
	}
	var got []string
	for _, l := range strings.Split(resolv, "\n") {
		if strings.HasPrefix(l, "nameserver") {
			got = append(got, l)
		}
	}
	if code != 0 || strings.Join(got, ";") != strings.Join(want, ";") {
		t.Errorf("resolv.conf in the container: %q, want the host's nameservers %q", resolv, want)
	}
	if p := rootProcesses(root, network.DNSRole); len(p) > 0 {
		t.Errorf("a DNS server runs for the root: %q", p)
	}
	if _, _, code := testutil.Stack(t, root, "container", "rm", "-f", "web"); code != 0 {
		t.Fatalf("rm -f web: exit %d", code)
	}
	if out, _, code := testutil.Stack(t, root, "network", "inspect", "stack"); code != 0 || strings.Contains(out, "containerID") {
		t.Errorf("inspect after the last container: want the network without endpoints: %s %d", out, code)
	}
	if p := rootProcesses(root, network.ReaperRole); len(p) != 1 {
		t.Errorf("reapers of the idle default network: %q, want one", p)
	}
	if out, _, code := testutil.Stack(t, root, "network", "prune", "-f"); code != 0 || out != "stack\n" {
		t.Errorf("network prune: %q %d", out, code)
	}
	if p := rootProcesses(root, network.ReaperRole); len(p) > 0 {
		t.Errorf("a reaper survives network prune: %q", p)
	}
}

// rootProcesses returns the command lines of the stack processes playing role for the store
// at root (the network's roles name the root, or a file under it, first).
func rootProcesses(root, role string) []string {
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		args := strings.Split(string(b), "\x00")
		if err == nil && len(args) > 2 && args[1] == role && (args[2] == root || strings.HasPrefix(args[2], root+"/")) {
			out = append(out, strings.Join(args, " "))
		}
	}
	return out
}

func TestVolumeCLI(t *testing.T) {
	testutil.RequireRoot(t)
	root := testutil.TempRoot(t)
	if out, _, code := testutil.Stack(t, root, "volume", "create", "--label", "k=v", "data"); code != 0 || out != "data\n" {
		t.Fatalf("create: %q %d", out, code)
	}
	anon, _, code := testutil.Stack(t, root, "volume", "create")
	if code != 0 || len(strings.TrimSpace(anon)) != 64 {
		t.Fatalf("create anonymous: %q %d", anon, code)
	}
	out, _, _ := testutil.Stack(t, root, "volume", "inspect", "data")
	var vols []struct {
		Name, Mountpoint string
		Labels           map[string]string
	}
	if err := json.Unmarshal([]byte(out), &vols); err != nil || len(vols) != 1 || vols[0].Labels["k"] != "v" {
		t.Fatalf("inspect: %s (%v)", out, err)
	}
	if err := os.WriteFile(vols[0].Mountpoint+"/f", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _, _ := testutil.Stack(t, root, "volume", "prune", "-f"); out != anon {
		t.Fatalf("prune: %q, want only the anonymous volume %q", out, anon)
	}
	if out, _, _ := testutil.Stack(t, root, "volume", "ls", "-q"); out != "data\n" {
		t.Fatalf("ls -q after prune: %q", out)
	}
	if out, _, code := testutil.Stack(t, root, "volume", "rm", "data"); code != 0 || out != "data\n" {
		t.Fatalf("rm: %q %d", out, code)
	}
	if _, err := os.Stat(vols[0].Mountpoint); !os.IsNotExist(err) {
		t.Fatalf("data left after rm: %v", err)
	}
}
