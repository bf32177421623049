//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// The default network outlives a `run --rm` for a few seconds, so the next run reuses it;
// a store root deleted meanwhile, as a test or a script deletes its temporary root, still
// leaves nothing on the host: its reaper removes the bridge and the rules, and exits.
func TestDefaultNetworkGoesWithItsRoot(t *testing.T) {
	e := newEnv(t)
	created := func() string {
		t.Helper()
		var nets []struct {
			Name      string
			Created   string
			Endpoints map[string]any
		}
		out := e.ok("network", "inspect", "stack")
		if err := json.Unmarshal([]byte(out), &nets); err != nil || len(nets) != 1 || len(nets[0].Endpoints) != 0 {
			t.Fatalf("network inspect stack: want the network without endpoints: %s (%v)", out, err)
		}
		return nets[0].Created
	}
	if out := e.ok("container", "run", "--rm", busybox, "sh", "-c", "ip -4 addr show eth0 | grep -c inet"); strings.TrimSpace(out) != "1" {
		t.Fatalf("no address on eth0 of the default network: %q", out)
	}
	first := created()
	e.ok("container", "run", "--rm", busybox, "true")
	if again := created(); again != first {
		t.Errorf("the default network was made again (created %s, then %s)", first, again)
	}
	if len(e.processes()) == 0 {
		t.Error("no reaper runs for the idle default network")
	}
	if err := os.RemoveAll(e.root); err != nil {
		t.Fatal(err)
	}
	if leaks := e.waitClean(2 * time.Second); len(leaks) > 0 {
		t.Fatalf("left on the host after the root was deleted:\n  %s", strings.Join(leaks, "\n  "))
	}
	if _, err := os.Stat(e.root); !os.IsNotExist(err) {
		t.Errorf("the root was made again after its deletion: %v", err)
	}
}
