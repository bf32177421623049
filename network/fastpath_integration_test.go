//go:build integration

package network

import (
	"context"
	"errors"
	"fmt"
	stdnet "net"
	"net/netip"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sync/errgroup"

	"github.com/stackhq/stack/internal/testutil"
)

// markForward appends a rule with a comment to the store's forward chain, which survives
// only as long as the table is not rebuilt.
func markForward(t *testing.T, m *Manager) {
	t.Helper()
	c, err := nftables.New()
	must(t, err)
	tab := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: m.tableName()}
	c.AddRule(&nftables.Rule{Table: tab, Chain: &nftables.Chain{Name: "forward", Table: tab},
		Exprs: []expr.Any{&expr.Counter{}}, UserData: comment("test-marker")})
	must(t, c.Flush())
}

// marked reports whether the marker rule of markForward is still there.
func marked(t *testing.T, m *Manager) bool {
	t.Helper()
	c, err := nftables.New()
	must(t, err)
	tab := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: m.tableName()}
	rules, err := c.GetRules(tab, &nftables.Chain{Name: "forward", Table: tab})
	must(t, err)
	for _, r := range rules {
		if got, _ := userdata.GetString(r.UserData, userdata.TypeComment); got == "test-marker" {
			return true
		}
	}
	return false
}

// TestRulesRebuiltOnlyOnChange: syncing an unchanged state keeps the table; a changed
// state, or a table deleted behind the store's back, is rebuilt.
func TestRulesRebuiltOnlyOnChange(t *testing.T) {
	ctx := context.Background()
	m := newManager(t)
	_, err := m.Ensure(ctx, Config{Name: "rules"})
	must(t, err)
	markForward(t, m)
	must(t, m.syncAll())
	if !marked(t, m) {
		t.Error("an unchanged state rebuilt the table")
	}

	ns := testutil.NewNetns(t)
	e, err := m.Connect(ctx, "rules", "c1", ns, ConnectOptions{})
	must(t, err)
	if !marked(t, m) {
		t.Error("connecting a container (no ports) rebuilt the table")
	}
	_, err = m.Publish(ctx, "c1", e.IP, []Port{{ContainerPort: 80}})
	must(t, err)
	if marked(t, m) {
		t.Error("publishing a port left the old table in place")
	}

	c, err := nftables.New()
	must(t, err)
	c.DelTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: m.tableName()})
	must(t, c.Flush())
	must(t, m.Sweep(ctx, func(id string) bool { return id == "c1" }))
	if _, err := c.ListTableOfFamily(m.tableName(), nftables.TableFamilyIPv4); err != nil {
		t.Errorf("Sweep did not rebuild a table deleted behind its back: %v", err)
	}
	must(t, m.Unpublish(ctx, "c1"))
	must(t, m.Disconnect(ctx, "rules", "c1"))
}

// TestConnectConcurrently connects containers to one network from many goroutines at once
// (as `stack up` does): every one gets its own address and a working interface, one DNS
// server runs; disconnecting them at once leaves no veth, lease or server behind.
func TestConnectConcurrently(t *testing.T) {
	ctx := context.Background()
	m := newManager(t)
	_, err := m.Ensure(ctx, Config{Name: "par"})
	must(t, err)
	const n = 8
	nss := make([]string, n)
	for i := range nss {
		nss[i] = testutil.NewNetns(t)
	}
	var g errgroup.Group
	for i := range n {
		g.Go(func() error {
			_, err := m.Connect(ctx, "par", fmt.Sprintf("c%d", i), nss[i], ConnectOptions{Aliases: []string{fmt.Sprintf("svc%d", i)}})
			return err
		})
	}
	must(t, g.Wait())
	net, err := m.Get("par")
	must(t, err)
	seen := map[netip.Addr]bool{}
	for id, e := range net.Endpoints {
		if seen[e.IP] {
			t.Errorf("address %s leased twice (%s)", e.IP, id)
		}
		seen[e.IP] = true
	}
	if len(seen) != n {
		t.Fatalf("%d endpoints recorded, want %d", len(seen), n)
	}
	links, err := m.ownLinks()
	must(t, err)
	for _, e := range net.Endpoints {
		if _, ok := links[e.HostVeth]; !ok {
			t.Errorf("veth %s of %s missing", e.HostVeth, e.ContainerID)
		}
		h, err := nsHandle(e.NetnsPath)
		must(t, err)
		l, err := h.LinkByName(e.IfName)
		if err != nil {
			t.Errorf("%s has no %s: %v", e.ContainerID, e.IfName, err)
		} else if addrs, _ := h.AddrList(l, 0); len(addrs) == 0 || !addrs[0].IP.Equal(net4(e.IP)) {
			t.Errorf("%s: %s has addresses %v, want %s", e.ContainerID, e.IfName, addrs, e.IP)
		}
		h.Close()
	}
	if pids := roleProcesses(t, DNSRole, m.st.dir); len(pids) != 1 {
		t.Errorf("%d dns servers run for the network, want 1", len(pids))
	}
	for i := range n {
		g.Go(func() error { return m.Disconnect(ctx, "par", fmt.Sprintf("c%d", i)) })
	}
	must(t, g.Wait())
	if net, err = m.Get("par"); err != nil || len(net.Endpoints) != 0 {
		t.Errorf("endpoints left after disconnecting all: %v, %v", net, err)
	}
	links, err = m.ownLinks()
	must(t, err)
	for name := range links {
		if name != net.Bridge {
			t.Errorf("link %s left behind", name)
		}
	}
	if _, ok := aliveFromPidFile(m.dnsPidFile("par")); ok {
		t.Error("dns server still runs without endpoints")
	}
}

func net4(a netip.Addr) stdnet.IP { b := a.As4(); return stdnet.IP(b[:]) }

// TestConnectConcurrentlyExhausted: when more containers connect at once than the subnet
// has addresses, the surplus fails alone (the leases are committed in groups) and leaves
// nothing behind; the others are connected.
func TestConnectConcurrentlyExhausted(t *testing.T) {
	ctx := context.Background()
	m := newManager(t)
	_, err := m.Ensure(ctx, Config{Name: "tiny", Subnet: "198.19.255.0/29"}) // gateway + 5
	must(t, err)
	const n = 8
	nss := make([]string, n)
	for i := range nss {
		nss[i] = testutil.NewNetns(t)
	}
	errs := make([]error, n)
	var g errgroup.Group
	for i := range n {
		g.Go(func() error {
			_, errs[i] = m.Connect(ctx, "tiny", fmt.Sprintf("c%d", i), nss[i], ConnectOptions{})
			return nil
		})
	}
	must(t, g.Wait())
	failed := 0
	for i, err := range errs {
		if err != nil {
			failed++
			if !errors.Is(err, ErrExhausted) {
				t.Errorf("c%d: %v, want %v", i, err, ErrExhausted)
			}
		}
	}
	net, err := m.Get("tiny")
	must(t, err)
	if failed != 3 || len(net.Endpoints) != 5 {
		t.Errorf("%d connects failed and %d endpoints recorded, want 3 and 5", failed, len(net.Endpoints))
	}
	links, err := m.ownLinks()
	must(t, err)
	if len(links) != 1+len(net.Endpoints) { // the bridge and one veth per endpoint
		t.Errorf("%d links for %d endpoints: %v", len(links), len(net.Endpoints), links)
	}
	for id := range net.Endpoints {
		must(t, m.Disconnect(ctx, "tiny", id))
	}
}
