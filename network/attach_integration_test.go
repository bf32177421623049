//go:build integration

package network

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackhq/stack/internal/testutil"
	"github.com/stackhq/stack/runtime"
	"github.com/stackhq/stack/runtime/image"
)

const attachTestImage = "localhost/busybox:attach"

// newAttachedRuntime returns a runtime on the root of m, with busybox imported and m
// attaching its containers; every container is removed when the test ends, before m's own
// cleanup checks that nothing is left.
func newAttachedRuntime(t *testing.T, m *Manager) *runtime.Manager {
	t.Helper()
	root := filepath.Dir(m.st.dir)
	images, err := image.Open(filepath.Join(root, "images"))
	must(t, err)
	_, err = images.Import(context.Background(), bytes.NewReader(testutil.BusyboxTar(t)), attachTestImage, nil)
	must(t, err)
	rt, err := runtime.New(root)
	must(t, err)
	rt.Network = &Attacher{Networks: m}
	t.Cleanup(func() {
		cs, _ := rt.List(runtime.ListOptions{All: true})
		for _, c := range cs {
			if err := rt.Remove(context.Background(), c.ID, runtime.RemoveOptions{Force: true}); err != nil {
				t.Errorf("cleanup: remove %s: %v", c.Name, err)
			}
		}
	})
	return rt
}

// runAttached runs sh -c script in a busybox container on networks and returns its exit
// code and output; the container stays (stopped) until the test ends.
func runAttached(t *testing.T, rt *runtime.Manager, name string, networks []string, script string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	spec := runtime.Spec{Name: name, Image: attachTestImage, Cmd: []string{"sh", "-c", script}}
	for _, n := range networks {
		spec.Networks = append(spec.Networks, runtime.NetworkAttachment{Name: n})
	}
	c, err := rt.Create(ctx, spec)
	must(t, err)
	wait, err := rt.StartWait(ctx, c.ID)
	must(t, err)
	code, err := wait(ctx)
	must(t, err)
	var out bytes.Buffer
	must(t, rt.Logs(ctx, c.ID, runtime.LogOptions{Tail: -1}, &out, &out))
	return code, out.String()
}

// hostNameservers returns the nameserver lines of the host's resolv.conf that a container
// can reach: loopback resolvers are the host's own, unreachable from the container.
func hostNameservers(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("/etc/resolv.conf")
	must(t, err)
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) >= 2 && fs[0] == "nameserver" && !strings.HasPrefix(fs[1], "127.") && fs[1] != "::1" {
			out = append(out, "nameserver "+fs[1])
		}
	}
	must(t, sc.Err())
	return out
}

// nameserverLines returns the nameserver lines of out.
func nameserverLines(out string) []string {
	var ns []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "nameserver ") {
			ns = append(ns, strings.TrimSpace(l))
		}
	}
	return ns
}

// A container on the default network, as with Docker's default bridge, gets an address and
// its gateway, and the host's resolvers: the network has no DNS server, and none is started.
func TestDefaultNetworkUsesHostResolvers(t *testing.T) {
	m := newManager(t)
	rt := newAttachedRuntime(t, m)
	code, out := runAttached(t, rt, "plain", []string{DefaultNetwork},
		`ip -4 addr show eth0 | grep inet && ping -c 1 -W 2 "$(ip route | awk '/^default/ {print $3}')" >/dev/null && echo reached && cat /etc/resolv.conf`)
	if code != 0 || !strings.Contains(out, "reached") {
		t.Fatalf("exit %d, want an address and the gateway reached:\n%s", code, out)
	}
	n, err := m.Get(DefaultNetwork)
	must(t, err)
	if !strings.Contains(out, "inet "+n.Subnet.Addr().Next().Next().String()+"/24") {
		t.Errorf("no address of %s on eth0:\n%s", n.Subnet, out)
	}
	if got, want := nameserverLines(out), hostNameservers(t); strings.Join(got, ";") != strings.Join(want, ";") {
		t.Errorf("resolv.conf nameservers %q, want the host's %q", got, want)
	}
	if n.DNSEnabled {
		t.Error("the default network is recorded with a DNS server")
	}
	if pids := roleProcesses(t, DNSRole, m.st.dir); len(pids) > 0 {
		t.Errorf("dns servers run for the default network: %v", pids)
	}
	if _, err := os.Stat(m.dnsPidFile(DefaultNetwork)); !os.IsNotExist(err) {
		t.Errorf("dns pid file of the default network: %v", err)
	}
}

// A container on a user-defined network (here beside the default one) names that network's
// DNS server alone, which resolves the other containers of the network by name.
func TestUserNetworkKeepsDNS(t *testing.T) {
	ctx := context.Background()
	m := newManager(t)
	rt := newAttachedRuntime(t, m)
	n, err := m.Ensure(ctx, Config{Name: "user"})
	must(t, err)
	if !n.DNSEnabled {
		t.Fatal("a user-defined network is recorded without a DNS server")
	}
	if code, out := runAttached(t, rt, "first", []string{"user"}, "true"); code != 0 {
		t.Fatalf("first container: exit %d: %s", code, out)
	}
	code, out := runAttached(t, rt, "second", []string{DefaultNetwork, "user"}, "cat /etc/resolv.conf && nslookup first")
	if code != 0 {
		t.Fatalf("exit %d, want first resolved:\n%s", code, out)
	}
	if got := nameserverLines(out); len(got) != 1 || got[0] != "nameserver "+n.Gateway.String() {
		t.Errorf("resolv.conf nameservers %q, want only the user network's gateway %s", got, n.Gateway)
	}
	first := n.Subnet.Addr().Next().Next().String()
	if !strings.Contains(out, "Address: "+first) && !strings.Contains(out, "Address 1: "+first) {
		t.Errorf("first (%s) not resolved:\n%s", first, out)
	}
	if pids := roleProcesses(t, DNSRole, m.st.dir); len(pids) != 1 {
		t.Errorf("%d dns servers run, want 1 (the user network's)", len(pids))
	}
}
