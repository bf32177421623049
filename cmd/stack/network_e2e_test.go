//go:build e2e

package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stackhq/stack/internal/testutil"
)

func TestNetworkCLI(t *testing.T) {
	testutil.RequireRoot(t)
	root := testutil.TempRoot(t)
	t.Cleanup(func() { testutil.Stack(t, root, "network", "prune") })
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
	}
	if err := json.Unmarshal([]byte(out), &nets); err != nil || len(nets) != 1 || nets[0].Subnet != "10.89.250.0/24" ||
		nets[0].Gateway != "10.89.250.1" || nets[0].Labels["team"] != "a" {
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
	if out, _, _ := testutil.Stack(t, root, "volume", "prune"); out != anon {
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
