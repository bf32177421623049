package network

import (
	"context"
	"net"
	"net/netip"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// freeUDPPort returns a port free on 127.0.0.1 for both UDP and TCP at the time of the call.
func freeUDPPort(t *testing.T) string {
	t.Helper()
	for range 20 {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := c.LocalAddr().String()
		l, err := net.Listen("tcp4", addr)
		c.Close()
		if err == nil {
			l.Close()
			return addr
		}
	}
	t.Fatal("no free port on 127.0.0.1")
	return ""
}

// startDNS serves the network state in file on 127.0.0.1 and returns its address.
func startDNS(t *testing.T, file string, upstreams []string) string {
	t.Helper()
	addr := freeUDPPort(t)
	ctx, cancel := context.WithCancel(context.Background())
	readyc := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = NewDNSServer(file, upstreams).Serve(ctx, addr, func(err error) { readyc <- err })
	}()
	t.Cleanup(func() { cancel(); <-done })
	if err := <-readyc; err != nil {
		t.Fatal(err)
	}
	return addr
}

func query(t *testing.T, addr, network, name string, qtype uint16) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 2 * time.Second}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("query %s %s over %s: %v", name, dns.TypeToString[qtype], network, err)
	}
	return r
}

func answers(r *dns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		switch v := rr.(type) {
		case *dns.A:
			out = append(out, v.A.String())
		case *dns.PTR:
			out = append(out, v.Ptr)
		}
	}
	sort.Strings(out)
	return out
}

func TestDNSServer(t *testing.T) {
	dir := t.TempDir()
	st := store{dir: dir}
	n := &Network{Name: "demo_default", Subnet: mp("10.89.7.0/24"), Gateway: ma("10.89.7.1"), Endpoints: map[string]*Endpoint{
		"c1": {ContainerID: "c1", IP: ma("10.89.7.2"), Aliases: []string{"web", "demo-web-1"}, Hostname: "web1"},
		"c2": {ContainerID: "c2", IP: ma("10.89.7.3"), Aliases: []string{"web", "demo-web-2"}},
		"c3": {ContainerID: "c3", IP: ma("10.89.7.4"), Aliases: []string{"DB"}},
	}}
	if err := st.saveNetwork(n); err != nil {
		t.Fatal(err)
	}

	// The upstream: a resolver on 127.0.0.1 that knows one outside name.
	upAddr := freeUDPPort(t)
	up := &dns.Server{Addr: upAddr, Net: "udp", Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		if r.Question[0].Name == "outside.example." {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: "outside.example.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.ParseIP("192.0.2.10")})
		} else {
			m.SetRcode(r, dns.RcodeNameError)
		}
		_ = w.WriteMsg(m)
	})}
	upReady := make(chan struct{})
	up.NotifyStartedFunc = func() { close(upReady) }
	go func() { _ = up.ListenAndServe() }()
	<-upReady
	t.Cleanup(func() { _ = up.Shutdown() })

	addr := startDNS(t, filepath.Join(dir, "demo_default.json"), []string{upAddr})
	for _, tt := range []struct {
		name  string
		qtype uint16
		want  []string
		rcode int
	}{
		{"web", dns.TypeA, []string{"10.89.7.2", "10.89.7.3"}, dns.RcodeSuccess}, // every replica
		{"demo-web-2", dns.TypeA, []string{"10.89.7.3"}, dns.RcodeSuccess},
		{"WEB1", dns.TypeA, []string{"10.89.7.2"}, dns.RcodeSuccess}, // hostname, any case
		{"db", dns.TypeA, []string{"10.89.7.4"}, dns.RcodeSuccess},
		{"db", dns.TypeAAAA, nil, dns.RcodeSuccess}, // exists, no IPv6: not NXDOMAIN
		{"2.7.89.10.in-addr.arpa", dns.TypePTR, []string{"web."}, dns.RcodeSuccess},
		{"9.7.89.10.in-addr.arpa", dns.TypePTR, nil, dns.RcodeNameError},
		{"outside.example", dns.TypeA, []string{"192.0.2.10"}, dns.RcodeSuccess}, // forwarded
		{"nowhere.example", dns.TypeA, nil, dns.RcodeNameError},
	} {
		for _, proto := range []string{"udp", "tcp"} {
			if proto == "tcp" && (tt.name == "outside.example" || tt.name == "nowhere.example") {
				continue // the test upstream only speaks UDP
			}
			r := query(t, addr, proto, tt.name, tt.qtype)
			if r.Rcode != tt.rcode || !equal(answers(r), tt.want) {
				t.Errorf("%s %s over %s: rcode %s, answers %v; want %s, %v", tt.name, dns.TypeToString[tt.qtype], proto,
					dns.RcodeToString[r.Rcode], answers(r), dns.RcodeToString[tt.rcode], tt.want)
			}
		}
	}

	// A recreated replica: the file changes, the next answer follows it.
	delete(n.Endpoints, "c2")
	n.Endpoints["c4"] = &Endpoint{ContainerID: "c4", IP: ma("10.89.7.9"), Aliases: []string{"web", "demo-web-2"}}
	if err := st.saveNetwork(n); err != nil {
		t.Fatal(err)
	}
	if got := answers(query(t, addr, "udp", "demo-web-2", dns.TypeA)); !equal(got, []string{"10.89.7.9"}) {
		t.Errorf("after recreate: demo-web-2 = %v, want [10.89.7.9]", got)
	}
}

func TestDNSServerNoUpstream(t *testing.T) {
	dir := t.TempDir()
	if err := (store{dir: dir}).saveNetwork(&Network{Name: "n", Subnet: mp("10.89.8.0/24")}); err != nil {
		t.Fatal(err)
	}
	addr := startDNS(t, filepath.Join(dir, "n.json"), nil)
	if r := query(t, addr, "udp", "elsewhere.example", dns.TypeA); r.Rcode != dns.RcodeServerFailure {
		t.Fatalf("rcode = %s, want SERVFAIL", dns.RcodeToString[r.Rcode])
	}
}

func TestHostResolvers(t *testing.T) {
	f := filepath.Join(t.TempDir(), "resolv.conf")
	writeFile(t, f, "# comment\nnameserver 10.89.0.1\nnameserver 192.0.2.53\nsearch example\n")
	got, err := HostResolvers(f, netip.MustParseAddr("10.89.0.1"))
	if err != nil || !equal(got, []string{"192.0.2.53:53"}) {
		t.Fatalf("HostResolvers = %v, %v", got, err)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestResolvConf(t *testing.T) {
	f := filepath.Join(t.TempDir(), "resolv.conf")
	writeFile(t, f, "nameserver 192.0.2.53\nsearch corp.example\noptions ndots:2\n")
	got, err := ResolvConf([]netip.Addr{ma("10.89.0.1"), ma("10.89.1.1")}, f)
	want := "# written by stack: the DNS servers of the container's networks\nnameserver 10.89.0.1\nnameserver 10.89.1.1\nsearch corp.example\noptions ndots:2\n"
	if err != nil || string(got) != want {
		t.Fatalf("ResolvConf = %q, %v\nwant %q", got, err, want)
	}
	if got, err := ResolvConf([]netip.Addr{ma("10.89.0.1")}, filepath.Join(t.TempDir(), "none")); err != nil || !strings.HasSuffix(string(got), "nameserver 10.89.0.1\n") {
		t.Fatalf("without a host resolv.conf: %q, %v", got, err)
	}
}
