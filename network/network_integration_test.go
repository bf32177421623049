//go:build integration

package network

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/miekg/dns"
	"github.com/stackhq/stack/internal/testutil"
	"github.com/stackhq/stack/runtime"
	"github.com/vishvananda/netlink"
)

// The main goroutine keeps the main thread: tests move locked threads into namespaces and
// Go cannot retire the main thread, so it must never be one of them (/proc/self/net follows
// it).
func init() { goruntime.LockOSThread() }

// TestMain lets the test binary play the roles the Manager starts (DNS server, reaper), and
// the runtime's monitor and init for the tests that run containers.
func TestMain(m *testing.M) {
	runtime.RunRole(os.Args)
	roles := map[string]func([]string) error{DNSRole: DNSMain, ReaperRole: ReaperMain}
	if len(os.Args) > 1 && roles[os.Args[1]] != nil {
		if err := roles[os.Args[1]](os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if root := os.Getenv("STACK_TEST_CRASH_ROOT"); root != "" {
		crashHelper(root, os.Getenv("STACK_TEST_CRASH_NETNS"))
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// crashHelper creates, connects, publishes and tears down in a loop until it is killed.
func crashHelper(root, ns string) {
	ctx := context.Background()
	m, err := Open(root, filepath.Join(root, "run"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	for i := 0; ; i++ {
		id := "c" + strconv.Itoa(i)
		if _, err := m.Ensure(ctx, Config{Name: "crash", AutoRemove: true}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return
		}
		e, err := m.Connect(ctx, "crash", id, ns, ConnectOptions{Aliases: []string{"svc"}})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return
		}
		if _, err := m.Publish(ctx, id, e.IP, []Port{{ContainerPort: 80}}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return
		}
		_ = m.Unpublish(ctx, id)
		_ = m.Disconnect(ctx, "crash", id)
	}
}

// newManager returns a Manager on a temp root and checks, when the test ends, that removing
// everything leaves no link, rule, lease or DNS server behind.
func newManager(t *testing.T) *Manager {
	t.Helper()
	testutil.RequireRoot(t)
	root := testutil.TempRoot(t)
	m, err := Open(root, filepath.Join(root, "run"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		if err := m.Sweep(ctx, func(string) bool { return false }); err != nil {
			t.Errorf("sweep: %v", err)
		}
		nets, _ := m.List()
		for _, n := range nets {
			if err := m.Remove(ctx, n.Name); err != nil {
				t.Errorf("remove %s: %v", n.Name, err)
			}
		}
		assertClean(t, m)
	})
	return m
}

// assertClean fails unless the store has no kernel objects left.
func assertClean(t *testing.T, m *Manager) {
	t.Helper()
	links, err := m.ownLinks()
	if err != nil {
		t.Fatal(err)
	}
	for name := range links {
		t.Errorf("link %s left behind", name)
	}
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	if tab, err := c.ListTableOfFamily(m.tableName(), nftables.TableFamilyIPv4); err == nil && tab != nil {
		t.Errorf("nftables table %s left behind", m.tableName())
	}
	pids, _ := filepath.Glob(filepath.Join(m.runDir, "*.pid"))
	for _, p := range pids {
		t.Errorf("dns server or reaper %s left behind", p)
	}
	if nets, _ := m.List(); len(nets) > 0 {
		t.Errorf("%d network record(s) left behind", len(nets))
	}
}

// serveTCP answers every connection on port, inside the namespace at ns, with reply and the
// client's address.
func serveTCP(t *testing.T, ns string, port int, reply string) {
	t.Helper()
	var l net.Listener
	if err := testutil.InNetns(t, ns, func() (err error) {
		l, err = net.Listen("tcp4", ":"+strconv.Itoa(port))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "%s from %s\n", reply, c.RemoteAddr().(*net.TCPAddr).IP)
			c.Close()
		}
	}()
}

// serveUDPEcho echoes datagrams on port inside ns.
func serveUDPEcho(t *testing.T, ns string, port int) {
	t.Helper()
	var pc net.PacketConn
	if err := testutil.InNetns(t, ns, func() (err error) {
		pc, err = net.ListenPacket("udp4", ":"+strconv.Itoa(port))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(buf[:n], addr)
		}
	}()
}

// fetch connects to addr (from ns, or from the host when ns is "") and returns what it reads.
func fetch(t *testing.T, ns, addr string) (string, error) {
	t.Helper()
	var out string
	do := func() error {
		c, err := net.DialTimeout("tcp4", addr, 2*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		b, err := io.ReadAll(c)
		out = string(b)
		return err
	}
	if ns == "" {
		return out, do()
	}
	return out, testutil.InNetns(t, ns, do)
}

func udpRoundTrip(t *testing.T, ns, addr string) (string, error) {
	t.Helper()
	var out string
	do := func() error {
		c, err := net.Dial("udp4", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("ping")); err != nil {
			return err
		}
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		out = string(buf[:n])
		return err
	}
	if ns == "" {
		return out, do()
	}
	return out, testutil.InNetns(t, ns, do)
}

// outsideHost makes a test host "outside": a namespace joined to the host by a veth pair,
// 198.18.0.1/30 on the host end and 198.18.0.2/30 inside (RFC 2544 benchmark addresses, used
// by no one). Tests only ever talk to these two addresses.
func outsideHost(t *testing.T) (ns string, hostAddr, outsideAddr netip.Addr) {
	t.Helper()
	ns = testutil.NewNetns(t)
	hostAddr, outsideAddr = netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.0.2")
	la := netlink.NewLinkAttrs()
	la.Name = "stktesth0"
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "stktestp0"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = deleteLink("stktesth0") })
	host, _ := netlink.LinkByName("stktesth0")
	peer, _ := netlink.LinkByName("stktestp0")
	must(t, netlink.AddrAdd(host, &netlink.Addr{IPNet: ipNet(hostAddr, 30)}))
	must(t, netlink.LinkSetUp(host))
	nsh, err := nsHandle(ns)
	must(t, err)
	defer nsh.Close()
	fd, err := os.Open(ns)
	must(t, err)
	defer fd.Close()
	must(t, netlink.LinkSetNsFd(peer, int(fd.Fd())))
	p, err := nsh.LinkByName("stktestp0")
	must(t, err)
	must(t, nsh.AddrAdd(p, &netlink.Addr{IPNet: ipNet(outsideAddr, 30)}))
	must(t, nsh.LinkSetUp(p))
	return ns, hostAddr, outsideAddr
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestNetworkLifecycle(t *testing.T) {
	ctx := context.Background()
	m := newManager(t)
	n, err := m.Ensure(ctx, Config{Name: "app_default", Labels: map[string]string{"project": "app"}})
	must(t, err)
	if !n.Subnet.Addr().Is4() || n.Gateway != n.Subnet.Addr().Next() || len(n.Bridge) > 15 {
		t.Fatalf("network = %+v", n)
	}
	// Idempotent, and a second network gets a different subnet.
	again, err := m.Ensure(ctx, Config{Name: "app_default"})
	must(t, err)
	if again.Subnet != n.Subnet {
		t.Fatalf("Ensure again: subnet %s, was %s", again.Subnet, n.Subnet)
	}
	other, err := m.Ensure(ctx, Config{Name: "other"})
	must(t, err)
	if other.Subnet.Overlaps(n.Subnet) {
		t.Fatalf("subnets overlap: %s %s", other.Subnet, n.Subnet)
	}
	if _, err := m.Ensure(ctx, Config{Name: "app_default", Internal: true}); !errors.Is(err, ErrExists) {
		t.Fatalf("Ensure with another config: %v, want ErrExists", err)
	}
	if _, err := m.Ensure(ctx, Config{Name: "clash", Subnet: n.Subnet.String()}); !errors.Is(err, ErrSubnetConflict) {
		t.Fatalf("Ensure on a used subnet: %v, want ErrSubnetConflict", err)
	}

	ns1, ns2 := testutil.NewNetns(t), testutil.NewNetns(t)
	e1, err := m.Connect(ctx, "app_default", "c1", ns1, ConnectOptions{Aliases: []string{"web", "app-web-1"}})
	must(t, err)
	e2, err := m.Connect(ctx, "app_default", "c2", ns2, ConnectOptions{Aliases: []string{"client"}, Hostname: "cli"})
	must(t, err)
	if e1.IP == e2.IP || e1.IfName != "eth0" {
		t.Fatalf("endpoints %+v %+v", e1, e2)
	}
	if _, err := m.Connect(ctx, "app_default", "c1", ns1, ConnectOptions{}); err != nil {
		t.Fatalf("Connect is not idempotent: %v", err)
	}
	if err := m.Remove(ctx, "app_default"); !errors.Is(err, ErrInUse) {
		t.Fatalf("Remove with endpoints: %v, want ErrInUse", err)
	}

	// Container to container by address, and names through the network's DNS server.
	serveTCP(t, ns1, 8080, "hello")
	out, err := fetch(t, ns2, netip.AddrPortFrom(e1.IP, 8080).String())
	if err != nil || !strings.HasPrefix(out, "hello from "+e2.IP.String()) {
		t.Fatalf("c2 → c1: %q, %v", out, err)
	}
	var addrs []string
	must(t, testutil.InNetns(t, ns2, func() error {
		c := &dns.Client{Timeout: 2 * time.Second}
		q := new(dns.Msg)
		q.SetQuestion("web.", dns.TypeA)
		r, _, err := c.Exchange(q, netip.AddrPortFrom(n.Gateway, 53).String())
		if err != nil {
			return err
		}
		for _, rr := range r.Answer {
			addrs = append(addrs, rr.(*dns.A).A.String())
		}
		return nil
	}))
	if len(addrs) != 1 || addrs[0] != e1.IP.String() {
		t.Fatalf("web resolves to %v, want %s", addrs, e1.IP)
	}

	// A recreated container keeps its address when it asks for it.
	must(t, m.Disconnect(ctx, "app_default", "c1"))
	ns3 := testutil.NewNetns(t)
	e3, err := m.Connect(ctx, "app_default", "c3", ns3, ConnectOptions{PreferIP: e1.IP})
	must(t, err)
	if e3.IP != e1.IP {
		t.Fatalf("recreated container got %s, want %s", e3.IP, e1.IP)
	}

	// Removal: endpoints, then the networks.
	must(t, m.Disconnect(ctx, "app_default", "c2"))
	must(t, m.Disconnect(ctx, "app_default", "c3"))
	must(t, m.Remove(ctx, "app_default"))
	must(t, m.Remove(ctx, "other"))
	assertClean(t, m)
}

func TestPublishedPortsAndNAT(t *testing.T) {
	ctx := context.Background()
	m := newManager(t)
	outside, hostAddr, outsideAddr := outsideHost(t)
	_, err := m.Ensure(ctx, Config{Name: "pub"})
	must(t, err)
	ns := testutil.NewNetns(t)
	e, err := m.Connect(ctx, "pub", "web", ns, ConnectOptions{Aliases: []string{"web"}})
	must(t, err)
	serveTCP(t, ns, 80, "web")
	serveUDPEcho(t, ns, 5353)

	ports, err := m.Publish(ctx, "web", e.IP, []Port{{ContainerPort: 80}, {ContainerPort: 5353, Protocol: "udp"}})
	must(t, err)
	tcpPort, udpPort := ports[0].HostPort, ports[1].HostPort
	if tcpPort == 0 || udpPort == 0 {
		t.Fatalf("ephemeral ports not filled: %v", ports)
	}
	checkPublished := func(t *testing.T) {
		for _, tc := range []struct{ name, ns, addr string }{
			{"host via 127.0.0.1", "", "127.0.0.1:" + strconv.Itoa(int(tcpPort))},
			{"host via its own address", "", netip.AddrPortFrom(hostAddr, tcpPort).String()},
			{"outside host", outside, netip.AddrPortFrom(hostAddr, tcpPort).String()},
			{"the container itself (hairpin)", ns, netip.AddrPortFrom(hostAddr, tcpPort).String()},
		} {
			out, err := fetch(t, tc.ns, tc.addr)
			if err != nil || !strings.HasPrefix(out, "web from") {
				t.Errorf("%s (%s): %q, %v", tc.name, tc.addr, out, err)
			}
		}
		// Traffic from outside keeps its source address.
		if out, _ := fetch(t, outside, netip.AddrPortFrom(hostAddr, tcpPort).String()); !strings.Contains(out, "from "+outsideAddr.String()) {
			t.Errorf("outside client seen as %q, want %s", out, outsideAddr)
		}
		for _, tc := range []struct{ name, ns, addr string }{
			{"udp via 127.0.0.1", "", "127.0.0.1:" + strconv.Itoa(int(udpPort))},
			{"udp from outside", outside, netip.AddrPortFrom(hostAddr, udpPort).String()},
		} {
			if out, err := udpRoundTrip(t, tc.ns, tc.addr); err != nil || out != "ping" {
				t.Errorf("%s: %q, %v", tc.name, out, err)
			}
		}
		// Outbound NAT: the container reaches the outside host, masqueraded as the host.
		serveTCP(t, outside, 9090, "outside")
		if out, err := fetch(t, ns, netip.AddrPortFrom(outsideAddr, 9090).String()); err != nil || !strings.HasPrefix(out, "outside from "+hostAddr.String()) {
			t.Errorf("outbound: %q, %v", out, err)
		}
	}
	// A container of another network reaches the published port through the host address.
	_, err = m.Ensure(ctx, Config{Name: "pub2"})
	must(t, err)
	nsOther := testutil.NewNetns(t)
	_, err = m.Connect(ctx, "pub2", "other", nsOther, ConnectOptions{})
	must(t, err)
	if out, err := fetch(t, nsOther, netip.AddrPortFrom(hostAddr, tcpPort).String()); err != nil || !strings.HasPrefix(out, "web from") {
		t.Errorf("other network via the host address: %q, %v", out, err)
	}
	t.Run("plain host", checkPublished)
	t.Run("docker-like FORWARD drop policy", func(t *testing.T) {
		if !dockerLikeForwardDrop(t) {
			t.Skip("SKIP: an ip filter table exists already; not touching it")
		}
		// Without our rules in ip filter FORWARD, forwarded traffic is dropped.
		_, err := m.Ensure(ctx, Config{Name: "pub"}) // resyncs the rules
		must(t, err)
		checkPublished(t)
	})

	// A taken port is refused with its number and holder, and records nothing.
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	busy := uint16(l.Addr().(*net.TCPAddr).Port)
	_, err = m.Publish(ctx, "web", e.IP, []Port{{ContainerPort: 81, HostPort: busy}})
	if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), strconv.Itoa(int(busy))) || !strings.Contains(err.Error(), "pid") {
		t.Fatalf("publish on a taken port: %v", err)
	}
	if _, err := m.Publish(ctx, "other", e.IP, []Port{{ContainerPort: 80, HostPort: tcpPort}}); !errors.Is(err, ErrPortInUse) {
		t.Fatalf("publish a port another container has: %v", err)
	}
	if got, _ := m.Ports("web"); len(got) != 2 {
		t.Fatalf("ports after failed publishes: %v", got)
	}

	must(t, m.Unpublish(ctx, "web"))
	if _, err := fetch(t, "", "127.0.0.1:"+strconv.Itoa(int(tcpPort))); err == nil {
		t.Fatal("port still published after Unpublish")
	}
	must(t, m.Disconnect(ctx, "pub", "web"))
	must(t, m.Disconnect(ctx, "pub2", "other"))
}

// dockerLikeForwardDrop installs what Docker leaves on a host (iptables-nft's ip filter
// FORWARD with policy drop) for the rest of the test; false if an ip filter table exists.
func dockerLikeForwardDrop(t *testing.T) bool {
	t.Helper()
	c, err := nftables.New()
	must(t, err)
	if tab, err := c.ListTableOfFamily("filter", nftables.TableFamilyIPv4); err == nil && tab != nil {
		return false
	}
	tab := c.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: "filter"})
	c.AddChain(&nftables.Chain{Name: "FORWARD", Table: tab, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: policy(nftables.ChainPolicyDrop)})
	must(t, c.Flush())
	t.Cleanup(func() {
		c.DelTable(tab)
		if err := c.Flush(); err != nil {
			t.Errorf("delete test table ip filter: %v", err)
		}
	})
	return true
}

func TestIsolationAndInternal(t *testing.T) {
	ctx := context.Background()
	m := newManager(t)
	outside, _, outsideAddr := outsideHost(t)
	serveTCP(t, outside, 9090, "outside")
	_, err := m.Ensure(ctx, Config{Name: "a"})
	must(t, err)
	_, err = m.Ensure(ctx, Config{Name: "b"})
	must(t, err)
	_, err = m.Ensure(ctx, Config{Name: "secret", Internal: true})
	must(t, err)
	nsA, nsB, nsI := testutil.NewNetns(t), testutil.NewNetns(t), testutil.NewNetns(t)
	ea, err := m.Connect(ctx, "a", "ca", nsA, ConnectOptions{})
	must(t, err)
	eb, err := m.Connect(ctx, "b", "cb", nsB, ConnectOptions{})
	must(t, err)
	_, err = m.Connect(ctx, "secret", "ci", nsI, ConnectOptions{})
	must(t, err)
	serveTCP(t, nsA, 80, "a")
	serveTCP(t, nsB, 80, "b")
	if out, err := fetch(t, nsB, netip.AddrPortFrom(ea.IP, 80).String()); err == nil {
		t.Errorf("network b reached network a: %q", out)
	}
	if out, err := fetch(t, nsA, netip.AddrPortFrom(eb.IP, 80).String()); err == nil {
		t.Errorf("network a reached network b: %q", out)
	}
	if out, err := fetch(t, nsI, netip.AddrPortFrom(outsideAddr, 9090).String()); err == nil {
		t.Errorf("internal network reached the outside: %q", out)
	}
	if _, err := fetch(t, nsA, netip.AddrPortFrom(outsideAddr, 9090).String()); err != nil {
		t.Errorf("network a cannot reach the outside: %v", err)
	}
	// The host still reaches every container directly (the benchmark's baseline path).
	if _, err := fetch(t, "", netip.AddrPortFrom(eb.IP, 80).String()); err != nil {
		t.Errorf("host cannot reach a container: %v", err)
	}
	// A second container on network a gets eth0 there; joining b gives it eth1.
	ns2 := testutil.NewNetns(t)
	_, err = m.Connect(ctx, "a", "multi", ns2, ConnectOptions{})
	must(t, err)
	e, err := m.Connect(ctx, "b", "multi", ns2, ConnectOptions{})
	must(t, err)
	if e.IfName != "eth1" {
		t.Errorf("second network interface = %s, want eth1", e.IfName)
	}
	if out, err := fetch(t, ns2, netip.AddrPortFrom(eb.IP, 80).String()); err != nil || !strings.HasPrefix(out, "b from") {
		t.Errorf("multi-homed container to b: %q, %v", out, err)
	}
}

// TestSweepAfterCrash leaves what a process killed in the middle of Connect and Publish
// would: a lease, a veth, a published port, a bridge of a network whose record was never
// written, a DNS server; Sweep removes all of it.
func TestSweepAfterCrash(t *testing.T) {
	ctx := context.Background()
	m := newManager(t)
	_, err := m.Ensure(ctx, Config{Name: "auto", AutoRemove: true})
	must(t, err)
	_, err = m.Ensure(ctx, Config{Name: "kept"})
	must(t, err)
	nsDead, nsAlive := testutil.NewNetns(t), testutil.NewNetns(t)
	dead, err := m.Connect(ctx, "auto", "dead", nsDead, ConnectOptions{})
	must(t, err)
	_, err = m.Connect(ctx, "kept", "alive", nsAlive, ConnectOptions{})
	must(t, err)
	_, err = m.Publish(ctx, "dead", dead.IP, []Port{{ContainerPort: 80}})
	must(t, err)
	// A bridge created just before a crash, its record never written.
	la := netlink.NewLinkAttrs()
	la.Name = "stk-crashed0"
	must(t, netlink.LinkAdd(&netlink.Bridge{LinkAttrs: la}))
	t.Cleanup(func() { _ = deleteLink("stk-crashed0") })
	ghost, err := netlink.LinkByName("stk-crashed0")
	must(t, err)
	must(t, netlink.LinkSetAlias(ghost, m.linkAlias("ghost", "")))

	must(t, m.Sweep(ctx, func(id string) bool { return id == "alive" }))
	if _, err := m.Get("auto"); !errors.Is(err, ErrNotFound) {
		t.Errorf("auto-remove network without endpoints survived: %v", err)
	}
	kept, err := m.Get("kept")
	must(t, err)
	if _, ok := kept.Endpoints["alive"]; !ok {
		t.Error("the live container lost its endpoint")
	}
	links, err := m.ownLinks()
	must(t, err)
	for name := range links {
		if name == dead.HostVeth || name == "stk-crashed0" {
			t.Errorf("link %s survived the sweep", name)
		}
	}
	if p, _ := m.Ports("dead"); len(p) != 0 {
		t.Errorf("ports of a dead container survived: %v", p)
	}
	must(t, m.Disconnect(ctx, "kept", "alive"))
}

// TestKillMidCreate kills (SIGKILL) a process that creates networks, endpoints and published
// ports, at different moments; Sweep then leaves nothing behind but an idle network whose
// reaper runs, which Remove (network prune) takes.
func TestKillMidCreate(t *testing.T) {
	m := newManager(t)
	root := filepath.Dir(m.st.dir)
	exe, err := os.Executable()
	must(t, err)
	for _, delay := range []time.Duration{2, 5, 10, 20, 40, 80, 160} {
		ns := testutil.NewNetns(t) // a fresh namespace each time: a killed Connect may leave an interface in it
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), "STACK_TEST_CRASH_ROOT="+root, "STACK_TEST_CRASH_NETNS="+ns)
		must(t, cmd.Start())
		time.Sleep(delay * time.Millisecond) // the kill lands at a different step each time
		must(t, cmd.Process.Kill())
		_ = cmd.Wait()
	}
	ctx := context.Background()
	must(t, m.Sweep(ctx, func(string) bool { return false }))
	if _, err := m.Get("crash"); err == nil && !reaperRunning(m, "crash") {
		t.Error("Sweep kept an idle auto-remove network without a reaper")
	}
	if err := m.Remove(ctx, "crash"); err != nil && !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	assertClean(t, m)
	// A DNS server or a reaper whose starter died before it recorded it exits once its
	// network's state is gone.
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := append(roleProcesses(t, DNSRole, m.st.dir), roleProcesses(t, ReaperRole, root)...)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dns servers or reapers still running: %v", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// roleProcesses returns the pids of the processes playing role (DNSRole, ReaperRole) whose
// first argument is path or a file under it.
func roleProcesses(t *testing.T, role, path string) []string {
	t.Helper()
	var out []string
	files, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) > 2 && args[1] == role && (args[2] == path || strings.HasPrefix(args[2], path+"/")) {
			pid := strings.Split(f, "/")[2]
			if p, _ := strconv.Atoi(pid); processRunning(p) {
				out = append(out, pid)
			}
		}
	}
	return out
}
