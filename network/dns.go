package network

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

// Service discovery: one DNS server per network (DNSEnabled: all but DefaultNetwork), a
// hidden role of the stack binary started detached with the network's first endpoint
// (dnsproc.go), listening on the bridge's gateway address, port 53, UDP and TCP. Containers'
// resolv.conf names the gateways of those of their networks that have one.
//
//	query for NAME (A)         answer
//	an endpoint's alias or     every endpoint with that name, TTL 0 (so a recreated
//	hostname, any case         service is found at once; replicas share the service name)
//	same name, other type      NOERROR, no answer (the name exists: no NXDOMAIN)
//	PTR of a subnet address    the endpoint's first name, else NXDOMAIN
//	anything else              forwarded to the host's resolvers (/etc/resolv.conf), as
//	                           the host would resolve it; SERVFAIL if none answers
//
// The names come from the network's state file, re-read when its modification time or size
// changes (checked on each query: one stat), so the server keeps no state of its own.

// dnsTTL is the TTL of local answers: 0, because addresses change when services are recreated.
const dnsTTL = 0

// DNSServer answers for the endpoints of one network.
type DNSServer struct {
	stateFile string
	upstreams []string // host:port
	client    *dns.Client

	mu     sync.Mutex
	raw    []byte                  // the state file as last read
	byName map[string][]netip.Addr // lower-case FQDN → addresses
	byAddr map[netip.Addr]string   // address → first name (FQDN)
	subnet netip.Prefix
}

// NewDNSServer returns a server for the network recorded in stateFile that forwards other
// names to upstreams ("host:port").
func NewDNSServer(stateFile string, upstreams []string) *DNSServer {
	return &DNSServer{stateFile: stateFile, upstreams: upstreams, client: &dns.Client{Timeout: 2 * time.Second}}
}

// Serve answers on addr (ip:port) over UDP and TCP until ctx is done; ready is called once
// both sockets are bound (or with the error that prevented it).
func (s *DNSServer) Serve(ctx context.Context, addr string, ready func(error)) error {
	// The address can still be held for a moment by the server of a network just removed
	// (it exits within a second of its state file disappearing, and a gateway address is
	// reused by the next network of that subnet): binding is retried for a few seconds.
	var pc net.PacketConn
	var l net.Listener
	err := retryInUse(ctx, func() (err error) { pc, err = net.ListenPacket("udp", addr); return err })
	if err != nil {
		err = fmt.Errorf("listen on %s/udp: %w", addr, err)
		ready(err)
		return err
	}
	err = retryInUse(ctx, func() (err error) { l, err = net.Listen("tcp", addr); return err })
	if err != nil {
		pc.Close()
		err = fmt.Errorf("listen on %s/tcp: %w", addr, err)
		ready(err)
		return err
	}
	udp := &dns.Server{PacketConn: pc, Handler: s}
	tcp := &dns.Server{Listener: l, Handler: s}
	errc := make(chan error, 2)
	go func() { errc <- udp.ActivateAndServe() }()
	go func() { errc <- tcp.ActivateAndServe() }()
	ready(nil)
	select {
	case <-ctx.Done():
		udp.Shutdown()
		tcp.Shutdown()
		return nil
	case err := <-errc:
		udp.Shutdown()
		tcp.Shutdown()
		return fmt.Errorf("serve dns on %s: %w", addr, err)
	}
}

// retryInUse calls listen until it does not fail with EADDRINUSE, for at most 3 seconds.
func retryInUse(ctx context.Context, listen func() error) error {
	deadline := time.Now().Add(3 * time.Second)
	for {
		err := listen()
		if !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// reload re-reads the state file when its content changed since the last read. Content,
// not the modification time and size: two saves within one tick of the file system's
// clock can leave both alike (a recreated replica with an address of the same length).
func (s *DNSServer) reload() {
	data, err := os.ReadFile(s.stateFile)
	if err != nil || bytes.Equal(data, s.raw) {
		return
	}
	var n Network
	if err := json.Unmarshal(data, &n); err != nil {
		return // keep the previous names; the next query tries again
	}
	s.raw, s.subnet = data, n.Subnet
	s.byName, s.byAddr = map[string][]netip.Addr{}, map[netip.Addr]string{}
	for _, e := range n.sortedEndpoints() {
		for _, name := range e.Names() {
			fq := dns.Fqdn(strings.ToLower(name))
			if _, ok := s.byAddr[e.IP]; !ok {
				s.byAddr[e.IP] = fq
			}
			if !containsAddr(s.byName[fq], e.IP) {
				s.byName[fq] = append(s.byName[fq], e.IP)
			}
		}
	}
}

func containsAddr(list []netip.Addr, a netip.Addr) bool {
	for _, b := range list {
		if a == b {
			return true
		}
	}
	return false
}

// ServeDNS implements dns.Handler.
func (s *DNSServer) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	if len(req.Question) != 1 {
		reply := new(dns.Msg)
		reply.SetRcode(req, dns.RcodeFormatError)
		_ = w.WriteMsg(reply)
		return
	}
	if reply := s.answerLocal(req); reply != nil {
		_ = w.WriteMsg(reply)
		return
	}
	_ = w.WriteMsg(s.forward(req, w.RemoteAddr().Network()))
}

// answerLocal answers from the endpoints, or returns nil for a name that is not ours.
func (s *DNSServer) answerLocal(req *dns.Msg) *dns.Msg {
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	s.mu.Lock()
	s.reload()
	addrs := s.byName[name]
	ptrName, isPTR, inSubnet := s.lookupPTR(q)
	s.mu.Unlock()

	reply := new(dns.Msg)
	reply.SetReply(req)
	reply.Authoritative = true
	reply.RecursionAvailable = true
	switch {
	case len(addrs) > 0:
		if q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY {
			for _, a := range addrs {
				reply.Answer = append(reply.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: dnsTTL},
					A:   net.IP(a.AsSlice()),
				})
			}
		}
		return reply
	case isPTR && ptrName != "":
		reply.Answer = append(reply.Answer, &dns.PTR{
			Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: dnsTTL},
			Ptr: ptrName,
		})
		return reply
	case isPTR && inSubnet:
		reply.SetRcode(req, dns.RcodeNameError)
		return reply
	}
	return nil
}

// lookupPTR resolves a reverse query for an address of the subnet; the caller holds s.mu.
func (s *DNSServer) lookupPTR(q dns.Question) (name string, isPTR, inSubnet bool) {
	if q.Qtype != dns.TypePTR {
		return "", false, false
	}
	labels := dns.SplitDomainName(strings.ToLower(q.Name))
	if len(labels) != 6 || labels[4] != "in-addr" || labels[5] != "arpa" {
		return "", false, false
	}
	a, err := netip.ParseAddr(labels[3] + "." + labels[2] + "." + labels[1] + "." + labels[0])
	if err != nil || !s.subnet.Contains(a) {
		return "", false, false
	}
	return s.byAddr[a], true, true
}

// forward asks the upstreams in turn, over the client's transport.
func (s *DNSServer) forward(req *dns.Msg, transport string) *dns.Msg {
	c := *s.client
	if strings.HasPrefix(transport, "tcp") {
		c.Net = "tcp"
	}
	for _, up := range s.upstreams {
		resp, _, err := c.Exchange(req, up)
		if err == nil && resp != nil {
			return resp
		}
	}
	fail := new(dns.Msg)
	fail.SetRcode(req, dns.RcodeServerFailure)
	return fail
}

// HostResolvers returns the nameservers of a resolv.conf as host:53, leaving out skip (a
// server must not forward to itself).
func HostResolvers(resolvConf string, skip netip.Addr) ([]string, error) {
	cfg, err := dns.ClientConfigFromFile(resolvConf)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("read %s: %w", resolvConf, err)
	}
	var out []string
	for _, s := range cfg.Servers {
		if a, err := netip.ParseAddr(s); err == nil && a == skip {
			continue
		}
		out = append(out, net.JoinHostPort(s, cfg.Port))
	}
	return out, nil
}
